/** `npm run admin`: the first admin, on the configured store. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findAccountByEmail } from '../../functions/src/auth/accounts.ts';
import { verifyPassword } from '../../functions/src/auth/passwords.ts';
import { SqliteDocumentStore } from '../../functions/src/store/sqlite.ts';

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

  async function stored(email: string) {
    const store = new SqliteDocumentStore({ path: join(dataDir, 'bastion.sqlite') });
    try {
      return await findAccountByEmail(store, email);
    } finally {
      await store.close();
    }
  }

  it('creates the account from a password on stdin and makes it an admin', async function () {
    const run = runAdmin(['--email', 'Root@Example.com', '--password-stdin'], 'correct horse battery staple\n');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /now an admin/);
    const account = await stored('root@example.com');
    assert.deepEqual(account?.roles, ['user', 'admin']);
    assert.equal(await verifyPassword('correct horse battery staple', account!.passwordHash), true);
  });

  it('promotes an existing account, and says so when it already is an admin', async function () {
    runAdmin(['--email', 'root@example.com', '--password-stdin'], 'correct horse battery staple');
    const again = runAdmin(['--email', 'root@example.com']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /already an admin/);
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
