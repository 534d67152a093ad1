/**
 * The password-strength checker: zxcvbn-ts in one worker thread, started on the first check
 * and reused, never keeping the process alive; a worker that hangs or crashes costs one clear
 * 503 (password_check_unavailable, Retry-After), never a request left waiting, and the next
 * check gets a fresh worker; checks beyond its line are refused with 503 auth_busy. Broken
 * workers are stand-ins started by the spec (`spawn`); the real one is password-worker.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import ts from 'typescript';
import { AuthBusyError, PasswordCheckUnavailableError } from '../../functions/src/auth/busy-errors.ts';
import { createStrengthChecker, spawnPasswordWorker, type StrengthChecker } from '../../functions/src/auth/password-strength.ts';
import type { PasswordWorkerData } from '../../functions/src/auth/password-worker.ts';
import { headersFor } from '../../functions/src/pipeline/error-mapper.ts';

const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url));

/** Stand-in workers: one that never answers, one that throws on its first message, one that exits. */
const HANGS = 'setInterval(() => {}, 1000);';
const THROWS = "require('node:worker_threads').parentPort.on('message', () => { throw new Error('zxcvbn blew up'); });";
const EXITS = "require('node:worker_threads').parentPort.on('message', () => process.exit(3));";

/** Starts `kinds` in turn (then real workers), and remembers every worker it started. */
function spawner(...kinds: string[]) {
  const started: Worker[] = [];
  const spawn = (data: PasswordWorkerData) => {
    const code = kinds.shift();
    const worker = code === undefined ? spawnPasswordWorker(data) : new Worker(code, { eval: true });
    started.push(worker);
    return worker;
  };
  return { spawn, started };
}

function isUnavailable(error: unknown): boolean {
  assert.ok(error instanceof PasswordCheckUnavailableError, String(error));
  assert.equal(error.status, 503);
  assert.equal(error.code, 'password_check_unavailable');
  assert.match(headersFor(error)['Retry-After'] ?? '', /^[1-9][0-9]*$/);
  return true;
}

function isBusy(error: unknown): boolean {
  assert.ok(error instanceof AuthBusyError, String(error));
  assert.equal(error.status, 503);
  assert.equal(error.code, 'auth_busy');
  assert.match(headersFor(error)['Retry-After'] ?? '', /^[1-9][0-9]*$/);
  return true;
}

const exited = (worker: Worker) => new Promise<number>((resolve) => worker.once('exit', resolve));

describe('password strength checker (zxcvbn-ts in a worker thread)', function () {
  this.timeout(30_000);
  let checker: StrengthChecker | undefined;

  afterEach(async function () {
    await checker?.close();
    checker = undefined;
  });

  it('starts no worker before the first check, then one for every later check', async function () {
    const { spawn, started } = spawner();
    checker = createStrengthChecker({ spawn });
    assert.equal(started.length, 0);
    const weak = await checker.check('password1234', []);
    const strong = await checker.check('kX9#mP2$vL8@nQ4!', []);
    assert.ok(weak.score < 4, 'a common password scores low');
    assert.equal(strong.score, 4);
    assert.ok(weak.warning, 'with a warning for the person');
    assert.equal(started.length, 1, 'one worker, reused');
  });

  it('answers a check that overruns its deadline with 503, ends that worker, and starts a fresh one', async function () {
    const { spawn, started } = spawner(HANGS);
    checker = createStrengthChecker({ spawn, deadlineMs: 2000 });
    const asked = performance.now();
    await assert.rejects(checker.check('kX9#mP2$vL8@nQ4!', []), isUnavailable);
    assert.ok(performance.now() - asked < 2000 + 3000, 'answered at the deadline, not left waiting');
    await exited(started[0]!); // ended, not left spinning
    assert.equal((await checker.check('kX9#mP2$vL8@nQ4!', [])).score, 4);
    assert.equal(started.length, 2);
  });

  it('answers 503 when the worker throws or exits mid-check, and starts a fresh one', async function () {
    const { spawn, started } = spawner(THROWS, EXITS);
    checker = createStrengthChecker({ spawn });
    await assert.rejects(checker.check('kX9#mP2$vL8@nQ4!', []), isUnavailable);
    await assert.rejects(checker.check('kX9#mP2$vL8@nQ4!', []), isUnavailable);
    assert.equal((await checker.check('kX9#mP2$vL8@nQ4!', [])).score, 4);
    assert.equal(started.length, 3);
  });

  it('survives a worker that dies between checks', async function () {
    const { spawn, started } = spawner(
      "require('node:worker_threads').parentPort.once('message', (m) => { require('node:worker_threads').parentPort.postMessage({ id: m.id, score: 4, warning: null, suggestions: [] }); setTimeout(() => { throw new Error('later'); }, 10); });",
    );
    checker = createStrengthChecker({ spawn });
    assert.equal((await checker.check('kX9#mP2$vL8@nQ4!', [])).score, 4);
    await exited(started[0]!); // its uncaught error did not reach this process
    assert.equal((await checker.check('kX9#mP2$vL8@nQ4!', [])).score, 4);
    assert.equal(started.length, 2);
  });

  it('refuses checks beyond its line at once with 503 auth_busy, and those that waited too long', async function () {
    const { spawn } = spawner(HANGS);
    checker = createStrengthChecker({ spawn, deadlineMs: 5000, maxWaiting: 1, maxWaitMs: 200 });
    const running = checker.check('first in line 1', []);
    const waiting = checker.check('second in line 2', []);
    await assert.rejects(checker.check('third in line 3', []), isBusy);
    await assert.rejects(waiting, isBusy); // after 200 ms in line
    await checker.close();
    await assert.rejects(running, isUnavailable);
  });

  it('refuses unknown options at construction', function () {
    assert.throws(() => createStrengthChecker({ deadline: 100 } as never), /unknown strength-checker option: deadline/);
    assert.throws(() => createStrengthChecker({ maxLength: 0 }), /maxLength/);
  });

  it('never keeps the process alive, and still gives a waiting process its verdict', function () {
    // Nothing but a verdict to wait for: the process prints it, then exits by itself.
    const script = `
      import { judgePassword } from ${JSON.stringify(new URL('../../functions/src/auth/password-policy.ts', import.meta.url).href)};
      judgePassword('kX9#mP2$vL8@nQ4!').then((verdict) => console.log(JSON.stringify(verdict)));
    `;
    const run = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 25_000 });
    assert.equal(run.error, undefined, 'exited by itself (no timeout)');
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), '{"ok":true}');
  });

  it("finds its worker from tsc's output (.js) as from the sources (.ts)", function () {
    // The auth modules as tsc emits them for functions/lib (ES modules, relative imports rewritten to .js),
    // in a folder inside the repository so that node_modules resolve as they do from lib.
    const out = join(REPOSITORY, 'test', '.artifacts', `lib-${process.pid}`);
    const sources = ['auth/password-strength.ts', 'auth/password-worker.ts', 'work-queue.ts', 'auth/busy-errors.ts', 'errors/api-error.ts', 'errors/catalog.ts'];
    try {
      for (const source of sources) {
        const text = ts.sys.readFile(join(REPOSITORY, 'functions', 'src', source))!;
        const { outputText } = ts.transpileModule(text, {
          compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2023, rewriteRelativeImportExtensions: true, verbatimModuleSyntax: true },
          fileName: source,
        });
        const target = join(out, source.replace(/\.ts$/, '.js'));
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, outputText);
      }
      writeFileSync(join(out, 'package.json'), '{ "type": "module" }');
      const built = `./${relative(REPOSITORY, join(out, 'auth', 'password-strength.js'))}`;
      const script = `
        import { createStrengthChecker } from ${JSON.stringify(built)};
        const checker = createStrengthChecker();
        console.log((await checker.check('kX9#mP2$vL8@nQ4!', [])).score);
      `;
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: REPOSITORY, encoding: 'utf8', timeout: 25_000 });
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout.trim(), '4');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
