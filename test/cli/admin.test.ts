/** `npm run admin`: the first admin, on the configured store, also beside a running server. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { findAccountByEmail } from '../../functions/src/auth/accounts.ts';
import { disableAccount } from '../../functions/src/auth/account-status.ts';
import { ADMIN_COUNTER, COUNTERS } from '../../functions/src/auth/roles.ts';
import { verifyPassword } from '../../functions/src/auth/passwords.ts';
import { issueAccessToken } from '../../functions/src/auth/tokens.ts';
import { loadConfig } from '../../functions/src/config/index.ts';
import { SqliteDocumentStore } from '../../functions/src/store/sqlite.ts';
import { waitFor } from '../../scripts/wait.ts';
import { send } from '../support/api.ts';
import { hasStackTrace, runAdmin as runAdminBeside, startServerProcess, type ServerProcess } from '../store/server-process.ts';

describe('npm run admin', function () {
  let dataDir: string;

  beforeEach(function () {
    dataDir = mkdtempSync(join(tmpdir(), 'bastion-admin-'));
  });

  function runAdmin(args: string[], input?: string) {
    return spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', 'functions/src/cli/admin.ts', ...args], {
      env: { PATH: process.env.PATH, APP_ENV: 'development', DATA_DIR: dataDir, STORE_DRIVER: 'sqlite' },
      encoding: 'utf8',
      input,
    });
  }

  async function withStore<T>(use: (store: SqliteDocumentStore) => Promise<T>): Promise<T> {
    const store = new SqliteDocumentStore({ path: join(dataDir, 'bastion.sqlite') });
    try {
      return await use(store);
    } finally {
      await store.close();
    }
  }
  const stored = (email: string) => withStore((store) => findAccountByEmail(store, email));

  it('creates the account from a password on stdin and makes it an admin', async function () {
    const run = runAdmin(['--email', 'Root@Example.com', '--password-stdin'], 'correct horse battery staple\n');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /now an admin/);
    const account = await stored('root@example.com');
    assert.deepEqual(account?.roles, ['user', 'admin']);
    assert.equal(await verifyPassword('correct horse battery staple', account.passwordHash), true);
  });

  it('promotes an existing account, and says so when it already is an admin', async function () {
    runAdmin(['--email', 'root@example.com', '--password-stdin'], 'correct horse battery staple');
    const again = runAdmin(['--email', 'root@example.com']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /already an admin/);
  });

  it('enables an account an admin had disabled, counted as an admin again: the way back in', async function () {
    runAdmin(['--email', 'root@example.com', '--password-stdin'], 'correct horse battery staple');
    runAdmin(['--email', 'deputy@example.com', '--password-stdin'], 'correct horse battery staple');
    const { id } = (await stored('root@example.com'))!;
    assert.equal((await withStore((store) => disableAccount(store, id)))?.changed, true);
    const run = runAdmin(['--email', 'root@example.com']);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /was disabled: enabled again/);
    assert.equal((await stored('root@example.com'))?.disabled, false);
    assert.equal((await withStore((store) => store.get<{ count: number }>(COUNTERS, ADMIN_COUNTER)))?.count, 2, 'counted as an admin again');
  });

  it('refuses a weak password, a missing password and a malformed email, changing nothing', async function () {
    const weak = runAdmin(['--email', 'root@example.com', '--password-stdin'], 'password1234');
    assert.equal(weak.status, 2);
    assert.match(weak.stderr, /password refused/);
    const missing = runAdmin(['--email', 'root@example.com']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /--password-stdin/);
    assert.equal(runAdmin(['--email', 'not-an-email']).status, 2);
    assert.equal(await stored('root@example.com'), null);
  });
});

describe('npm run admin beside a running server (npm start) on the same DATA_DIR', function () {
  this.timeout(60_000);
  const PASSWORD = 'correct horse battery staple';
  let dataDir: string;
  let server: ServerProcess | undefined;

  beforeEach(function () {
    dataDir = mkdtempSync(join(tmpdir(), 'bastion-admin-beside-'));
  });

  afterEach(async function () {
    await server?.stop();
    server = undefined;
  });

  /** A user's token the server accepts: signed with the development key the server made in DATA_DIR. */
  async function userToken(): Promise<string> {
    const config = await loadConfig({ APP_ENV: 'development', DATA_DIR: dataDir });
    return issueAccessToken(config.auth, { sub: 'writer', roles: ['user'], amr: ['pwd'], emailVerified: true });
  }

  const newItem = { name: 'Desk lamp', description: 'warm light for late work' };

  async function withStore<T>(use: (store: SqliteDocumentStore) => Promise<T>): Promise<T> {
    const store = new SqliteDocumentStore({ path: join(dataDir, 'bastion.sqlite') });
    try {
      return await use(store);
    } finally {
      await store.close();
    }
  }
  const stored = (email: string) => withStore((store) => findAccountByEmail(store, email));

  it('creates and promotes accounts while the server is under write load, and both succeed', async function () {
    server = await startServerProcess(dataDir);
    const token = await userToken();
    const statuses: number[] = [];
    let stop = false;
    const writer = async () => {
      while (!stop) statuses.push((await send(server!.url, 'POST', '/items', { token, body: newItem })).status);
    };
    const writers = Array.from({ length: 4 }, writer);
    try {
      await waitFor(() => statuses.length >= 20, { timeoutMs: 20_000, what: 'the write load to be under way' });
      const runs = [];
      for (const [args, input] of [
        [['--email', 'root@example.com', '--password-stdin'], PASSWORD],
        [['--email', 'root@example.com'], undefined],
        [['--email', 'ops@example.com', '--password-stdin'], PASSWORD],
      ] as const) {
        const before = statuses.length;
        const run = await runAdminBeside(dataDir, [...args], input === undefined ? {} : { input });
        runs.push({ run, writesMeanwhile: statuses.length - before });
      }
      for (const { run, writesMeanwhile } of runs) {
        assert.equal(run.status, 0, run.stderr);
        assert.equal(hasStackTrace(run.stderr), false, run.stderr);
        assert.ok(writesMeanwhile > 0, 'the server kept writing while the CLI ran');
      }
      assert.match(runs[0]!.run.stdout, /now an admin/);
      assert.match(runs[1]!.run.stdout, /already an admin/);
    } finally {
      stop = true;
      await Promise.all(writers);
    }
    assert.deepEqual([...new Set(statuses)], [201], 'every write of the server succeeded');
    assert.ok(server.running);
    assert.deepEqual((await stored('root@example.com'))?.roles, ['user', 'admin']);
    assert.deepEqual((await stored('ops@example.com'))?.roles, ['user', 'admin']);
  });

  it('says in words, with exit status 1 and no stack, that a lock was held past the timeout; the server answers 503 meanwhile', async function () {
    server = await startServerProcess(dataDir, { env: { STORE_DEADLINE_MS: '300' } });
    const token = await userToken();
    const holder = new DatabaseSync(join(dataDir, 'bastion.sqlite'), { timeout: 5000 });
    holder.exec('BEGIN IMMEDIATE'); // another writer (a sqlite3 shell, say) that keeps its transaction open
    try {
      const run = await runAdminBeside(dataDir, ['--email', 'root@example.com', '--password-stdin'], { input: PASSWORD, env: { STORE_DEADLINE_MS: '300' } });
      assert.equal(run.status, 1, run.stderr);
      assert.match(run.stderr, /^admin: .*locked/);
      assert.match(run.stderr, /npm start/);
      assert.equal(hasStackTrace(run.stderr), false, run.stderr);
      const busy = await send(server.url, 'POST', '/items', { token, body: newItem });
      assert.equal(busy.status, 503, busy.text);
      assert.equal(JSON.parse(busy.text).error.code, 'store_unavailable');
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    const free = await send(server.url, 'POST', '/items', { token, body: newItem });
    assert.equal(free.status, 201, free.text);
    const again = await runAdminBeside(dataDir, ['--email', 'root@example.com', '--password-stdin'], { input: PASSWORD });
    assert.equal(again.status, 0, again.stderr);
    assert.ok(server.running);
  });
});
