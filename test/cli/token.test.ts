/** `npm run token`: a signed token for local use, never in production. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAccessTokenVerifier } from '../../functions/src/auth/tokens.ts';
import { loadConfig } from '../../functions/src/config/index.ts';
import { generateSigningKey } from '../../functions/src/config/signing-keys.ts';

function runToken(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', 'functions/src/cli/token.ts', ...args], {
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
  });
}

describe('npm run token', function () {
  it('prints a token the API accepts, with the asked roles and MFA', async function () {
    const env = {
      APP_ENV: 'development',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'bastion-token-')),
      AUTH_SIGNING_KEYS: JSON.stringify({ keys: [await generateSigningKey()] }),
    };
    const run = runToken(['--sub', 'alice', '--roles', 'user,admin', '--mfa'], env);
    assert.equal(run.status, 0, run.stderr);
    const claims = await createAccessTokenVerifier((await loadConfig(env)).auth)(run.stdout.trim());
    assert.equal(claims.sub, 'alice');
    assert.deepEqual(claims.roles, ['user', 'admin']);
    assert.deepEqual(claims.amr, ['pwd', 'mfa']);
  });

  it('refuses when the environment says production', async function () {
    const run = runToken(['--sub', 'alice'], {
      APP_ENV: 'production',
      AUTH_ISSUER: 'https://auth.example.com',
      AUTH_AUDIENCE: 'example-api',
      AUTH_SIGNING_KEYS: JSON.stringify({ keys: [await generateSigningKey()] }),
    });
    assert.notEqual(run.status, 0);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /production/);
  });

  it('refuses unknown roles and a missing subject', async function () {
    const env = { APP_ENV: 'development', DATA_DIR: mkdtempSync(join(tmpdir(), 'bastion-token-')) };
    assert.match(runToken(['--sub', 'alice', '--roles', 'root'], env).stderr, /unknown role/);
    assert.match(runToken([], env).stderr, /usage/);
  });
});
