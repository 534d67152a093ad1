/**
 * Stopping drains instead of cutting: on SIGTERM (or SIGINT) the server stops accepting
 * connections, closes the ones with nothing in flight at once, lets every request in flight
 * finish and answers it with `Connection: close`, then closes the stores (the SQLite WAL is
 * checkpointed away) and exits 0; past its deadline it cuts what is left and exits all the same.
 * `npm start` hands the signal to the server, so stopping npm stops the server too.
 *
 * "In flight" is shown, not assumed: each slow request asks `Expect: 100-continue`, and node
 * sends the 100 only once it has handed the request to the pipeline.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, isListening } from '../../scripts/loopback.ts';
import { loadConfig } from '../../functions/src/config/index.ts';
import { openStore } from '../../functions/src/store/index.ts';
import { png } from '../support/images.ts';
import { fileForm } from '../support/multipart.ts';
import { openRaw, parseResponse, startLocalServer, type LocalServer, type RawConnection } from './support.ts';

const NODE_ARGS = ['--disable-warning=ExperimentalWarning'];
const ITEM = Buffer.from(JSON.stringify({ name: 'Desk lamp', description: 'Warm light' }));

/** A request whose headers and first half of body are sent, and which the server has taken up. */
interface SlowRequest {
  connection: RawConnection;
  /** Sends the rest of the body. */
  finish(): void;
}

async function slowRequest(port: number, path: string, token: string, contentType: string, body: Buffer): Promise<SlowRequest> {
  const connection = await openRaw(port);
  const half = Math.floor(body.length / 2);
  connection.socket.write(
    `POST ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nContent-Type: ${contentType}\r\n` +
      `Content-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
  );
  connection.socket.write(body.subarray(0, half));
  await connection.receivedMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
  return { connection, finish: () => connection.socket.write(body.subarray(half)) };
}

const slowCreate = (port: number, token: string) => slowRequest(port, '/items', token, 'application/json', ITEM);
function slowUpload(port: number, token: string): Promise<SlowRequest> {
  const form = fileForm('picture.png', 'image/png', png());
  return slowRequest(port, '/uploads', token, form.contentType, form.body);
}

/** Polls for evidence (every few ms, up to a generous bound), instead of sleeping a fixed time. */
async function eventually(what: string, check: () => Promise<boolean> | boolean, withinMs = 5_000): Promise<void> {
  for (const deadline = Date.now() + withinMs; !(await check());) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function assertAnswered(request: SlowRequest, status: number): Promise<void> {
  assert.notEqual(await request.connection.closed(), undefined, 'closed after its answer');
  const response = parseResponse(request.connection.received());
  assert.equal(response.status, status, response.body);
  assert.equal(response.headers.connection, 'close');
}

describe('shutdown', function () {
  describe('RunningServer.shutdown (in process)', function () {
    let server: LocalServer | undefined;

    afterEach(async function () {
      await server?.close();
      server = undefined;
    });

    it('closes idle connections at once, refuses new ones, and lets requests in flight finish with Connection: close', async function () {
      server = await startLocalServer();
      const token = await server.token();
      const fresh = await openRaw(server.port); // connected, sent nothing (a browser's preconnect)
      const keptAlive = await openRaw(server.port);
      keptAlive.socket.write('GET /auth/.well-known/jwks.json HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await keptAlive.receivedMatch(/\{"keys"/);
      const halfway = await openRaw(server.port); // its request is still coming
      halfway.socket.write('GET /auth/.well-known/jwks.json HTTP/1.1\r\n');
      const creates = await Promise.all(Array.from({ length: 3 }, () => slowCreate(server!.port, token)));
      await eventually('all six connections accepted', async () => (await connections(server!)) === 6);

      const done = server.running.shutdown({ deadlineMs: 10_000 });
      assert.notEqual(await fresh.closed(2_000), undefined, 'the connection that sent nothing is closed');
      assert.notEqual(await keptAlive.closed(2_000), undefined, 'the idle keep-alive connection is closed');
      assert.equal(fresh.received(), '');
      await eventually('new connections refused', async () => !(await isListening(server!.port)));
      for (const create of creates) assert.equal(await create.connection.closed(1), undefined, 'in flight: still open');

      halfway.socket.write('Host: localhost\r\n\r\n');
      for (const create of creates) create.finish();
      for (const create of creates) await assertAnswered(create, 201);
      assert.notEqual(await halfway.closed(), undefined);
      assert.equal(parseResponse(halfway.received()).headers.connection, 'close');
      assert.deepEqual(await done, { cut: 0, unfinished: 0 });
      assert.equal((await server.runtime.store.query('items', { limit: 10 })).documents.length, 3);
    });

    it('cuts what is still in flight when the deadline passes', async function () {
      server = await startLocalServer();
      const stuck = await slowCreate(server.port, await server.token());
      const started = performance.now();
      assert.deepEqual(await server.running.shutdown({ deadlineMs: 300 }), { cut: 1, unfinished: 1 });
      assert.ok(performance.now() - started >= 250, 'waited for the deadline');
      assert.notEqual(await stuck.connection.closed(2_000), undefined);
      assert.doesNotMatch(stuck.connection.received(), /201/);
    });

    it('cuts at once when its signal aborts (a second Ctrl-C)', async function () {
      server = await startLocalServer();
      const stuck = await slowCreate(server.port, await server.token());
      const now = new AbortController();
      const done = server.running.shutdown({ deadlineMs: 60_000, signal: now.signal });
      now.abort();
      assert.equal((await done).cut, 1);
      assert.notEqual(await stuck.connection.closed(2_000), undefined);
    });
  });

  describe('the process, on SIGTERM', function () {
    let child: ChildProcess | undefined;
    let serverPid: number | undefined;
    let dataDir: string | undefined;

    afterEach(function () {
      child?.kill('SIGKILL');
      if (serverPid !== undefined && alive(serverPid)) process.kill(serverPid, 'SIGKILL');
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      child = serverPid = dataDir = undefined;
    });

    async function launch(command: string, args: string[], extraEnv: Record<string, string> = {}) {
      dataDir = mkdtempSync(join(tmpdir(), 'bastion-shutdown-'));
      const port = await freePort();
      const env: Record<string, string> = {
        PATH: process.env.PATH!,
        HOME: process.env.HOME ?? tmpdir(),
        PORT: String(port),
        DATA_DIR: dataDir,
        RATE_LIMIT_CREATE_PER_MINUTE: '1000',
        RATE_LIMIT_API_PER_MINUTE: '1000',
        ...extraEnv,
      };
      const started = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      child = started;
      let stdout = '';
      let stderr = '';
      const exited = new Promise<number | null>((resolve) => started.once('exit', (code) => resolve(code)));
      const pid = await new Promise<number>((resolve, reject) => {
        started.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString('utf8');
          const line = stdout.split('\n').find((text) => text.includes('"message":"listening"'));
          if (line) resolve(JSON.parse(line).pid as number);
        });
        started.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
        void exited.then((code) => reject(new Error(`exited with ${code}: ${stderr}`)));
      });
      serverPid = pid;
      const token = spawnSync(process.execPath, [...NODE_ARGS, 'functions/src/cli/token.ts', '--sub', 'alice'], { env, encoding: 'utf8' }).stdout.trim();
      return { port, pid, env, token, exited, stderr: () => stderr };
    }

    /** The stores were closed: SQLite checkpoints its WAL and removes it on close, and only then. */
    async function assertDatabaseClosed(env: Record<string, string>): Promise<{ items: number; uploads: number }> {
      const config = await loadConfig(env);
      assert.ok(existsSync(config.store.sqlitePath), 'the database exists');
      assert.equal(existsSync(`${config.store.sqlitePath}-wal`), false, 'the WAL was checkpointed and removed: the database was closed');
      const store = await openStore(config.store); // and another process can take it
      try {
        const count = async (collection: string) => (await store.query(collection, { limit: 100 })).documents.length;
        return { items: await count('items'), uploads: await count('uploads') };
      } finally {
        await store.close();
      }
    }

    it('finishes every request in flight, refuses new connections, closes the database and exits 0', async function () {
      const { port, env, token, exited } = await launch(process.execPath, [...NODE_ARGS, 'functions/src/server.ts']);
      const keptAlive = await openRaw(port);
      keptAlive.socket.write('GET /auth/.well-known/jwks.json HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await keptAlive.receivedMatch(/\{"keys"/);
      const creates = await Promise.all(Array.from({ length: 6 }, () => slowCreate(port, token)));
      const uploads = await Promise.all(Array.from({ length: 3 }, () => slowUpload(port, token)));

      child!.kill('SIGTERM');
      assert.notEqual(await keptAlive.closed(3_000), undefined, 'the idle keep-alive connection is closed at once');
      await eventually('new connections refused', async () => !(await isListening(port)));
      for (const request of [...creates, ...uploads]) request.finish();
      for (const create of creates) await assertAnswered(create, 201);
      for (const upload of uploads) await assertAnswered(upload, 201);

      assert.equal(await exited, 0);
      assert.deepEqual(await assertDatabaseClosed(env), { items: 6, uploads: 3 });
    });

    it('past SHUTDOWN_GRACE_SECONDS, cuts what is left and still exits 0 with the database closed', async function () {
      const { port, env, token, exited } = await launch(process.execPath, [...NODE_ARGS, 'functions/src/server.ts'], { SHUTDOWN_GRACE_SECONDS: '1' });
      const stuck = await slowCreate(port, token);
      const signalled = performance.now();
      child!.kill('SIGTERM');
      assert.equal(await exited, 0);
      const took = performance.now() - signalled;
      assert.ok(took >= 900 && took < 8_000, `exited ${Math.round(took)} ms after SIGTERM`);
      assert.notEqual(await stuck.connection.closed(2_000), undefined);
      assert.doesNotMatch(stuck.connection.received(), /201/);
      assert.deepEqual(await assertDatabaseClosed(env), { items: 0, uploads: 0 });
    });

    it('through `npm start`: SIGTERM to npm reaches the server, which stops (no orphan)', async function () {
      // Without the web build (prestart): it is not what this is about, and it rewrites web/dist.
      const { port, pid, env, exited } = await launch('npm', ['start'], { npm_config_ignore_scripts: 'true', npm_config_update_notifier: 'false' });
      assert.ok(await isListening(port));
      child!.kill('SIGTERM');
      await exited;
      await eventually('the server process is gone', () => !alive(pid), 10_000);
      assert.equal(await isListening(port), false, 'nothing answers on the port');
      await assertDatabaseClosed(env);
    });
  });
});

function connections(server: LocalServer): Promise<number> {
  return new Promise((resolve, reject) => server.running.server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
}
