/**
 * What `npm run emulators` prepares for the Functions emulator: a development signing key in
 * functions/.secret.local and emulator values in functions/.env.local — said so, kept when
 * already there, and never committed or deployed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSigningKeys } from '../../functions/src/config/signing-keys.ts';
import { parseTotpKeys } from '../../functions/src/config/totp-keys.ts';
import { prepareLocalConfig } from '../../scripts/emulators.ts';

const firebase = JSON.parse(readFileSync(new URL('../../firebase.json', import.meta.url), 'utf8'));

/** KEY=value lines, as firebase-tools reads .env files (values here hold no newline). */
function dotenv(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

describe('the local configuration npm run emulators prepares', function () {
  it('writes a private development key set and the Hosting emulator values, and says so', async function () {
    const folder = mkdtempSync(join(tmpdir(), 'bastion-functions-'));
    const said: string[] = [];
    await prepareLocalConfig((line) => said.push(line), folder);

    const secret = dotenv(readFileSync(join(folder, '.secret.local'), 'utf8'));
    const keys = parseSigningKeys(secret.AUTH_SIGNING_KEYS!);
    assert.ok(keys.current.d, 'a private signing key');
    assert.ok(parseTotpKeys(secret.AUTH_TOTP_KEYS!).current.key.length === 32, 'a TOTP sealing key');
    assert.equal(statSync(join(folder, '.secret.local')).mode & 0o777, 0o600);

    const env = dotenv(readFileSync(join(folder, '.env.local'), 'utf8'));
    const site = `http://${firebase.emulators.hosting.host}:${firebase.emulators.hosting.port}`;
    assert.equal(env.AUTH_ISSUER, site);
    assert.ok(env.CORS_ORIGINS!.split(',').includes(site));
    assert.equal(env.APP_URL, site, 'mailed links open the web app behind Hosting');
    assert.ok(said.some((line) => /DEVELOPMENT keys .*AUTH_SIGNING_KEYS/.test(line)));
    assert.ok(said.some((line) => line.includes('.env.local')));
  });

  it('keeps what is already there', async function () {
    const folder = mkdtempSync(join(tmpdir(), 'bastion-functions-'));
    writeFileSync(join(folder, '.secret.local'), 'AUTH_SIGNING_KEYS=mine\nAUTH_TOTP_KEYS=mine too\n');
    writeFileSync(join(folder, '.env.local'), 'AUTH_AUDIENCE=mine\n');
    const said: string[] = [];
    await prepareLocalConfig((line) => said.push(line), folder);
    assert.equal(readFileSync(join(folder, '.secret.local'), 'utf8'), 'AUTH_SIGNING_KEYS=mine\nAUTH_TOTP_KEYS=mine too\n');
    assert.equal(readFileSync(join(folder, '.env.local'), 'utf8'), 'AUTH_AUDIENCE=mine\n');
    assert.deepEqual(said, []);
  });

  it('adds a secret an older file lacks, keeping the rest', async function () {
    const folder = mkdtempSync(join(tmpdir(), 'bastion-functions-'));
    writeFileSync(join(folder, '.secret.local'), 'AUTH_SIGNING_KEYS=mine\n');
    const said: string[] = [];
    await prepareLocalConfig((line) => said.push(line), folder);
    const secret = dotenv(readFileSync(join(folder, '.secret.local'), 'utf8'));
    assert.equal(secret.AUTH_SIGNING_KEYS, 'mine');
    assert.ok(parseTotpKeys(secret.AUTH_TOTP_KEYS!));
    assert.ok(said.some((line) => line.includes('AUTH_TOTP_KEYS')));
  });

  it('cannot be committed or deployed: git ignores *.local, and so does firebase deploy', function () {
    for (const file of ['functions/.secret.local', 'functions/.env.local', 'functions/.env.demo-bastion.local']) {
      // Exits non-zero when the path is not ignored.
      assert.doesNotThrow(() => execFileSync('git', ['check-ignore', '-q', '--no-index', file]), file);
    }
    assert.ok(firebase.functions[0].ignore.includes('*.local'));
  });
});
