/** `npm start`: every function on one local port, on the embedded store, started as a user would. */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { send } from './support/api.ts';
import { png } from './support/images.ts';
import { fileForm } from './support/multipart.ts';

const NODE_ARGS = ['--disable-warning=ExperimentalWarning'];

function start(env: Record<string, string>): { child: ChildProcess; output: Promise<{ url: string; stderr: string }> } {
  const child = spawn(process.execPath, [...NODE_ARGS, 'functions/src/server.ts'], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const output = new Promise<{ url: string; stderr: string }>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const url = /listening on (http:\/\/\S+)/.exec(stdout)?.[1];
      if (url) resolve({ url, stderr });
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
  });
  return { child, output };
}

describe('npm start (local server)', function () {
  let child: ChildProcess | undefined;
  afterEach(function () {
    child?.kill();
  });

  it('serves every function on one port, on the embedded store, with a generated dev key it warns about', async function () {
    const dataDir = mkdtempSync(join(tmpdir(), 'bastion-start-'));
    const env = { PORT: '0', DATA_DIR: dataDir };
    const started = start(env);
    child = started.child;
    const { url, stderr } = await started.output;
    assert.match(stderr, /DEVELOPMENT signing key/);

    const token = spawnSync(process.execPath, [...NODE_ARGS, 'functions/src/cli/token.ts', '--sub', 'alice'], {
      env: { PATH: process.env.PATH, ...env },
      encoding: 'utf8',
    }).stdout.trim();
    const created = await send(url, 'POST', '/items', { token, body: { name: 'Desk lamp', description: 'Warm light' } });
    assert.equal(created.status, 201, created.text);
    const listed = await send(url, 'GET', '/items', { token });
    assert.equal(listed.json.items[0].id, created.json.id);
    assert.equal((await send(url, 'GET', '/auth/.well-known/jwks.json')).status, 200);
    const form = fileForm('picture.png', 'image/png', png());
    const uploaded = await send(url, 'POST', '/uploads', { token, raw: form.body, headers: { 'content-type': form.contentType } });
    assert.equal(uploaded.status, 201, uploaded.text);
    // On the local-disk blob driver, under DATA_DIR.
    assert.ok(existsSync(join(dataDir, 'blobs', 'uploads', 'alice', `${uploaded.json.id}.png`)));
  });

  it('refuses to start in production without its secrets, and says which', async function () {
    const run = spawnSync(process.execPath, [...NODE_ARGS, 'functions/src/server.ts'], {
      env: { PATH: process.env.PATH, APP_ENV: 'production', PORT: '0' },
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /AUTH_ISSUER/);
    assert.match(run.stderr, /AUTH_SIGNING_KEYS/);
  });
});
