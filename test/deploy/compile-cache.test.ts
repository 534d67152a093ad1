/**
 * The deploy-time compile cache (functions/src/compile-cache.ts, deploy/warm-compile-cache.ts):
 * `gcp-build`'s warm pass writes V8's compiled code for what the functions load, and a fresh
 * instance finds it and compiles from it — Node's own log of the cache says which entries it
 * accepted. Without the directory, the instance runs as before and writes nothing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const NODE_ARGS = ['--disable-warning=ExperimentalWarning'];

/** A fresh process that enables the cache in `directory`, as the entry does, then loads `specifiers`. */
function freshInstance(directory: string, specifiers: string[]) {
  const script = `
const { useCompileCache } = await import('./functions/src/compile-cache.ts');
useCompileCache(process.argv[1]);
for (const specifier of process.argv.slice(2)) await import(specifier);
const { getCompileCacheDir } = await import('node:module');
process.stdout.write(JSON.stringify({ directory: getCompileCacheDir() ?? null }));`;
  const run = spawnSync(process.execPath, [...NODE_ARGS, '--input-type=module', '-e', script, directory, ...specifiers], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NODE_DEBUG_NATIVE: 'COMPILE_CACHE', METADATA_SERVER_DETECTION: 'none' },
  });
  assert.equal(run.status, 0, run.stderr);
  const accepted = [...run.stderr.matchAll(/cache for (?:file:\/\/)?(\S+) was accepted/g)].map((match) => match[1]!);
  return { directory: (JSON.parse(run.stdout) as { directory: string | null }).directory, accepted, log: run.stderr };
}

describe('the deploy-time compile cache (gcp-build)', function () {
  this.timeout(60_000);
  let directory: string;

  before(function () {
    directory = mkdtempSync(join(tmpdir(), 'bastion-compile-cache-'));
    const warm = spawnSync(process.execPath, [...NODE_ARGS, 'functions/src/deploy/warm-compile-cache.ts', directory], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, METADATA_SERVER_DETECTION: 'none' },
    });
    assert.equal(warm.status, 0, warm.stderr);
  });

  after(function () {
    rmSync(directory, { recursive: true, force: true });
  });

  it("is what a fresh instance compiles from: the function's routes, the pipeline, the Firestore client", function () {
    const instance = freshInstance(directory, ['./functions/src/items/routes.ts', './functions/src/app.ts', 'firebase-admin/firestore']);
    assert.ok(instance.directory?.startsWith(directory), `the cache in use: ${instance.directory}`);
    for (const module of [
      'functions/src/items/routes.ts',
      'functions/src/pipeline/compose.ts',
      'node_modules/zod/index.js',
      'node_modules/@google-cloud/firestore/build/src/index.js',
    ]) {
      assert.ok(
        instance.accepted.some((path) => path.endsWith(module)),
        `${module} compiled from the cache`,
      );
    }
    assert.doesNotMatch(instance.log, /was rejected|mismatch/);
  });

  it('changes nothing where there is none: no cache enabled, no directory written', function () {
    const missing = join(directory, 'absent');
    const instance = freshInstance(missing, ['./functions/src/items/routes.ts']);
    assert.equal(instance.directory, null);
    assert.deepEqual(instance.accepted, []);
    assert.equal(existsSync(missing), false);
  });
});
