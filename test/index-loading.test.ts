/**
 * Each deployed function loads only itself: a fresh process imports the entry (index.ts) as
 * Cloud Functions does, calls one exported function once (which loads its pipeline and routes
 * the way index.ts's lazy load does), and records every module the process resolved (a
 * `module.registerHooks` resolve hook, installed before the entry is imported). The oracle is
 * written here by hand: which folders and packages each function must never load. Once more
 * configured as deployed (Firestore, Cloud Storage, Cloud Logging): the Firestore client loads,
 * Cloud Logging's client never does (logs are structured lines on stdout), nor Cloud Storage's
 * before a first blob operation.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateSigningKey } from '../functions/src/config/signing-keys.ts';
import { freePort } from '../scripts/loopback.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = pathToFileURL(join(root, 'functions/src/index.ts')).href;

/** Runs in the child: records what resolves, then serves one request through `name`. */
const child = `
import { registerHooks } from 'node:module';
const resolved = new Set();
registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); resolved.add(result.url); return result; } });
const { createServer } = await import('node:http');
const [entry, name, path] = process.argv.slice(1);
const exported = await import(entry);
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => { req.rawBody = Buffer.concat(chunks); void exported[name](req, res); });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const response = await fetch('http://127.0.0.1:' + server.address().port + path);
await response.arrayBuffer();
server.close();
process.stdout.write(JSON.stringify({ status: response.status, resolved: [...resolved] }));
process.exit(0);
`;

interface Loaded {
  status: number;
  /** Source modules, relative to functions/src (e.g. `auth/tokens.ts`). */
  sources: string[];
  /** Packages, by name (e.g. `@zxcvbn-ts/core`, `qrcode`). */
  packages: Set<string>;
}

let env: NodeJS.ProcessEnv;

function load(name: 'auth' | 'items' | 'uploads', path: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Loaded> {
  return new Promise((resolve, reject) => {
    const run = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', child, entry, name, path], {
      cwd: root,
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    run.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    run.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    run.on('error', reject);
    run.on('close', (code) => {
      if (code !== 0) return reject(new Error(`the child exited with ${code}:\n${stderr}`));
      const { status, resolved } = JSON.parse(stdout) as { status: number; resolved: string[] };
      const src = pathToFileURL(join(root, 'functions/src/')).href;
      const sources = resolved.filter((url) => url.startsWith(src)).map((url) => url.slice(src.length));
      const packages = new Set(
        resolved.flatMap((url) => {
          const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
          return match ? [match[1]!] : [];
        }),
      );
      resolve({ status, sources, packages });
    });
  });
}

/** The auth code that is not shared infrastructure: passwords, MFA, accounts, sessions, its handlers and routes. */
const AUTH_ONLY = [
  'auth/account-data.ts',
  'auth/accounts.ts',
  'auth/audit.ts',
  'auth/brute-force.ts',
  'auth/challenges.ts',
  'auth/device-tokens.ts',
  'auth/devices.ts',
  'auth/email-change.ts',
  'auth/email-verification.ts',
  'auth/handlers.ts',
  'auth/link-tokens.ts',
  'auth/mail-limits.ts',
  'auth/mfa.ts',
  'auth/password-policy.ts',
  'auth/password-reset.ts',
  'auth/password-strength.ts',
  'auth/password-worker.ts',
  'auth/passwords.ts',
  'auth/routes.ts',
  'auth/schemas.ts',
  'auth/sessions.ts',
  'auth/totp-secrets.ts',
];
const AUTH_PACKAGES = ['@zxcvbn-ts/core', '@zxcvbn-ts/language-common', '@zxcvbn-ts/language-en', 'qrcode', 'otpauth', 'bowser', 'nodemailer'];
/** What the uploads function alone needs: multipart parsing, type sniffing, image decoding. */
const UPLOADS_PACKAGES = ['busboy', 'file-type', 'image-size', 'sharp', 'content-disposition'];
/** The Cloud Logging client: deployed, logs are structured lines on stdout (logger.ts), so no function loads it. */
const CLOUD_LOGGING_PACKAGES = ['@google-cloud/logging-winston', '@google-cloud/logging', '@google-cloud/logging-api'];

/**
 * A deployed instance's configuration: the platform's names for the function it serves
 * (Cloud Run's reserved variables), the Firestore driver (on a closed port, with a short
 * deadline: the first store call fails, 503), Cloud Storage, Cloud Logging, and nothing that
 * may reach beyond loopback.
 */
async function deployedEnv(name: 'auth' | 'items' | 'uploads'): Promise<NodeJS.ProcessEnv> {
  const port = await freePort();
  return {
    FUNCTION_TARGET: name,
    FUNCTION_SIGNATURE_TYPE: 'http',
    K_SERVICE: name,
    K_REVISION: `${name}-00001`,
    STORE_DRIVER: 'firestore',
    FIRESTORE_EMULATOR_HOST: `127.0.0.1:${port}`,
    STORE_DEADLINE_MS: '100',
    GCLOUD_PROJECT: 'demo-index-loading',
    BLOB_DRIVER: 'cloud-storage',
    STORAGE_BUCKET: 'demo-index-loading',
    LOG_TARGET: 'cloud-logging',
    METADATA_SERVER_DETECTION: 'none',
    GCE_METADATA_HOST: `127.0.0.1:${port}`,
  };
}

function assertNone(loaded: Loaded, { sources = [], folders = [], packages = [] }: { sources?: string[]; folders?: string[]; packages?: string[] }) {
  const bad = [
    ...loaded.sources.filter((source) => sources.includes(source) || folders.some((folder) => source.startsWith(folder))),
    ...packages.filter((name) => loaded.packages.has(name)),
  ];
  assert.deepEqual(bad, [], `loaded what it must not: ${bad.join(', ')}`);
}

describe('each deployed function loads only its own code (functions/src/index.ts, fresh processes)', function () {
  this.timeout(60_000);

  before(async function () {
    env = {
      ...process.env,
      APP_ENV: 'test',
      SQLITE_PATH: ':memory:',
      BLOB_DIR: mkdtempSync(join(tmpdir(), 'bastion-loading-blobs-')),
      AUTH_SIGNING_KEYS: JSON.stringify({ keys: [await generateSigningKey()] }),
      LOG_LEVEL: 'error',
    };
    for (const name of ['STORE_DRIVER', 'FIRESTORE_EMULATOR_HOST', 'K_SERVICE', 'FUNCTION_TARGET', 'LOG_TARGET']) delete env[name];
  });

  it("items: its pipeline and routes, and neither auth's own code nor uploads' nor the documents", async function () {
    const loaded = await load('items', '/items');
    assert.equal(loaded.status, 401, 'the request went through the pipeline (no token)');
    assertNone(loaded, { sources: [...AUTH_ONLY, 'routes.ts'], folders: ['uploads/', 'docs/'], packages: [...AUTH_PACKAGES, ...UPLOADS_PACKAGES] });
    assert.ok(loaded.sources.includes('auth/tokens.ts'), 'token verification, shared by every function, loads');
    assert.ok(loaded.sources.includes('items/routes.ts') && loaded.sources.includes('items/handlers.ts'), 'it loaded its own routes');
  });

  it("uploads: its pipeline and routes, and neither auth's own code nor items' nor the documents", async function () {
    const loaded = await load('uploads', '/uploads');
    assert.equal(loaded.status, 401, 'the request went through the pipeline (no token)');
    assertNone(loaded, { sources: [...AUTH_ONLY, 'routes.ts'], folders: ['items/', 'docs/'], packages: AUTH_PACKAGES });
    assert.ok(loaded.sources.includes('uploads/routes.ts') && loaded.sources.includes('uploads/handlers.ts'), 'it loaded its own routes');
  });

  it("auth: its routes and the documentation route, and neither items' nor uploads' code until the document is asked for", async function () {
    const loaded = await load('auth', '/auth/.well-known/jwks.json');
    assert.equal(loaded.status, 200);
    assertNone(loaded, { sources: ['routes.ts'], folders: ['items/', 'uploads/'], packages: UPLOADS_PACKAGES });
    assert.ok(loaded.sources.includes('auth/routes.ts') && loaded.sources.includes('docs/routes.ts'), 'it loaded its own routes');
  });

  it("deployed (Firestore, Cloud Storage, Cloud Logging), items and uploads load the Firestore client and neither firebase-functions nor Cloud Logging's client nor Cloud Storage's", async function () {
    for (const [name, others, otherPackages] of [
      ['items', ['uploads/', 'docs/'], UPLOADS_PACKAGES],
      ['uploads', ['items/', 'docs/'], []],
    ] as const) {
      const loaded = await load(name, `/${name}`, await deployedEnv(name));
      assert.equal(loaded.status, 503, `${name}: the store is unreachable, and said so`);
      assert.ok(loaded.packages.has('@google-cloud/firestore'), `${name}: the Firestore driver loaded`);
      // Cloud Storage's client loads on the first blob operation, which this request never reaches.
      assertNone(loaded, {
        sources: [...AUTH_ONLY, 'routes.ts', 'blobs/cloud-storage.ts'],
        folders: [...others],
        // The instance serves one HTTP function: its export is the plain handler (index.ts).
        packages: ['firebase-functions', ...CLOUD_LOGGING_PACKAGES, '@google-cloud/storage', ...AUTH_PACKAGES, ...otherPackages],
      });
    }
  });

  it('auth serves the OpenAPI document of every function, loading their routes on that request', async function () {
    const loaded = await load('auth', '/auth/openapi.json');
    assert.equal(loaded.status, 200);
    for (const source of ['items/routes.ts', 'uploads/routes.ts']) assert.ok(loaded.sources.includes(source), source);
  });

  it('declares every function for whoever reads the declarations (deploy, the emulator), even with a FUNCTION_TARGET in the environment', async function () {
    const declarations = (extraEnv: NodeJS.ProcessEnv) => {
      const script = `const e = await import(process.argv[1]); process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(e).map(([k, v]) => [k, Boolean(v?.__endpoint)]))));`;
      const run = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script, entry], {
        cwd: root,
        env: { ...env, ...extraEnv },
        encoding: 'utf8',
      });
      assert.equal(run.status, 0, run.stderr);
      return JSON.parse(run.stdout) as Record<string, boolean>;
    };
    const all = { auth: true, items: true, reconcile: true, retryMail: true, uploads: true };
    assert.deepEqual(declarations({}), all);
    // firebase-tools' discovery: the control API (deploy, the emulator) or a manifest file.
    assert.deepEqual(declarations({ FUNCTION_TARGET: 'items', FUNCTION_SIGNATURE_TYPE: 'http', FUNCTIONS_CONTROL_API: 'true' }), all);
    assert.deepEqual(declarations({ FUNCTION_TARGET: 'items', FUNCTION_SIGNATURE_TYPE: 'http', FUNCTIONS_MANIFEST_OUTPUT_PATH: join(tmpdir(), 'manifest.json') }), all);
    // A scheduled function's instance runs firebase-functions' handler.
    assert.deepEqual(declarations({ FUNCTION_TARGET: 'reconcile', FUNCTION_SIGNATURE_TYPE: 'cloudevent' }), all);
    // Serving an HTTP function (the FUNCTION_TARGET firebase deploy sets; Cloud Run adds the signature type): plain handlers, nothing declared.
    const serving = { auth: false, items: false, reconcile: false, retryMail: false, uploads: false };
    assert.deepEqual(declarations({ FUNCTION_TARGET: 'items', FUNCTION_SIGNATURE_TYPE: 'http' }), serving);
    assert.deepEqual(declarations({ FUNCTION_TARGET: 'uploads' }), serving);
  });

  it("loads with require(), as the Functions emulator's runtime loads it (so no top-level await), declaring or serving", function () {
    for (const extraEnv of [{}, { FUNCTION_TARGET: 'items', FUNCTION_SIGNATURE_TYPE: 'http' }]) {
      const script = `const e = require(process.argv[1]); process.stdout.write(typeof e.items);`;
      const run = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '-e', script, fileURLToPath(entry)], {
        cwd: root,
        env: { ...env, ...extraEnv },
        encoding: 'utf8',
      });
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout, 'function');
    }
  });
});
