/**
 * The README's curl recipe for a signed request, run as it is written (bash, openssl, curl)
 * against the API on loopback: what a reader copies works.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { startApi, type TestApi } from '../support/api.ts';
import { skipBecause } from '../support/skip.ts';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The shell block after the recipe's marker. */
function recipe(): string {
  const marked = README.split('<!-- signed-request recipe -->')[1];
  const block = /```sh\n([\s\S]*?)```/.exec(marked ?? '');
  assert.ok(block, 'the README has the recipe');
  return block[1]!;
}

describe("the README's curl recipe for a signed request", function () {
  let api: TestApi;

  before(async function () {
    const missing = ['bash', 'curl', 'openssl'].filter((tool) => !existsSync(`/usr/bin/${tool}`));
    if (missing.length > 0) skipBecause(this, `${missing.join(', ')} not installed`);
    api = await startApi();
  });

  after(async function () {
    await api?.close();
  });

  it('creates an item, signed as the credential', async function () {
    const admin = await api.token({ sub: 'root', roles: ['admin'], mfa: true, authTime: Math.floor(Date.now() / 1000) });
    const created = await api.request('POST', '/auth/service-credentials', { token: admin, body: { name: 'the recipe', roles: ['user'] } });
    assert.equal(created.status, 201, created.text);
    const { keyId } = created.json.credential as { keyId: string };
    const run = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', recipe()], {
      env: { PATH: process.env.PATH, API: api.url, KEY_ID: keyId, SECRET: created.json.secret as string },
    });
    const item = JSON.parse(run.stdout) as { name: string; ownerId: string };
    assert.deepEqual([item.name, item.ownerId], ['Nightly report', `service:${keyId}`], run.stdout);
  });
});
