/**
 * Files at rest: DATA_DIR holds password hashes, TOTP secrets and the development signing key,
 * so after the real server has started it is 0700 and the database (with its -wal and -shm
 * files) and the key are 0600, whatever the umask; modes an older run left looser are tightened,
 * and the server says so. (The blob folder under DATA_DIR has its own spec, in test/blobs.)
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../scripts/wait.ts';
import { send } from '../support/api.ts';
import { startServerProcess } from './server-process.ts';

const modeOf = (path: string) => `0${(statSync(path).mode & 0o777).toString(8)}`;

/** The modes expected, written out by hand. */
function expectedModes(dataDir: string, development: boolean): Record<string, string> {
  return {
    [dataDir]: '0700',
    [join(dataDir, 'bastion.sqlite')]: '0600',
    [join(dataDir, 'bastion.sqlite-wal')]: '0600',
    [join(dataDir, 'bastion.sqlite-shm')]: '0600',
    ...(development ? { [join(dataDir, 'dev-signing-keys.json')]: '0600' } : {}),
  };
}

const actualModes = (expected: Record<string, string>) => Object.fromEntries(Object.keys(expected).map((path) => [path, modeOf(path)]));

describe('files at rest under DATA_DIR', function () {
  this.timeout(60_000);

  for (const umask of ['000', '022']) {
    for (const env of ['development', 'test'] as const) {
      it(`are private after start-up on a new DATA_DIR (umask ${umask}, APP_ENV=${env})`, async function () {
        // a DATA_DIR two levels below anything that exists: every folder made is private
        const parent = mkdtempSync(join(tmpdir(), 'bastion-at-rest-'));
        const dataDir = join(parent, 'made', 'data');
        const server = await startServerProcess(dataDir, { umask, env: { APP_ENV: env } });
        try {
          // a request writes (the rate limiter's buckets), so the -wal and -shm files are in use
          const response = await send(server.url, 'GET', '/items');
          assert.equal(response.status, 401);
          const expected = { ...expectedModes(dataDir, env === 'development'), [join(parent, 'made')]: '0700' };
          assert.deepEqual(actualModes(expected), expected);
        } finally {
          await server.stop();
        }
      });
    }
  }

  it('tightens, and logs, the looser modes an older run left on an existing DATA_DIR', async function () {
    const dataDir = mkdtempSync(join(tmpdir(), 'bastion-at-rest-'));
    const first = await startServerProcess(dataDir, { umask: '022' });
    await first.stop();
    const loose = [
      [dataDir, 0o755],
      [join(dataDir, 'bastion.sqlite'), 0o644],
      [join(dataDir, 'bastion.sqlite-wal'), 0o644],
      [join(dataDir, 'bastion.sqlite-shm'), 0o666],
      [join(dataDir, 'dev-signing-keys.json'), 0o644],
    ] as const;
    for (const [path, mode] of loose) {
      // -wal and -shm are gone after a clean stop: left behind as by a crash, empty
      if (path.endsWith('-wal') || path.endsWith('-shm')) writeFileSync(path, '');
      chmodSync(path, mode);
    }
    const server = await startServerProcess(dataDir, { umask: '000' });
    try {
      const expected = expectedModes(dataDir, true);
      assert.deepEqual(actualModes(expected), expected);
      // the logger writes on its own schedule, possibly after the line saying it listens
      const said = () => server.stdout() + server.stderr();
      await waitFor(() => loose.every(([path]) => said().includes(path)), {
        timeoutMs: 5_000,
        what: () => `the server to name every path it tightened (${loose.map(([path]) => path).join(', ')}):\n${said()}`,
      });
      assert.equal((await send(server.url, 'GET', '/items')).status, 401, 'and serves as usual');
    } finally {
      await server.stop();
    }
  });

  it('leaves a shared folder (sticky, as /tmp) as it is, and keeps the database in it private', async function () {
    const shared = mkdtempSync(join(tmpdir(), 'bastion-at-rest-'));
    chmodSync(shared, 0o1777);
    mkdirSync(join(shared, 'keys'), { mode: 0o700 });
    const server = await startServerProcess(join(shared, 'keys'), { umask: '000', env: { SQLITE_PATH: join(shared, 'bastion.sqlite') } });
    try {
      assert.equal(statSync(shared).mode & 0o7777, 0o1777, 'the shared folder keeps its mode');
      assert.equal(modeOf(join(shared, 'bastion.sqlite')), '0600');
    } finally {
      await server.stop();
      rmSync(shared, { recursive: true, force: true });
    }
  });
});
