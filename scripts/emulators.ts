/**
 * `npm run emulators`: the whole stack under the Firebase Emulator Suite, as `firebase deploy`
 * would put it in the cloud — the Functions emulator running the built functions (on this
 * process's Node 22), the Hosting emulator serving web/dist with firebase.json's rewrites and
 * headers, and Firestore and Cloud Storage emulators.
 *
 * Firestore and Storage are firebase-tools' own where they can run (their jars downloaded, by
 * `firebase setup:emulators:firestore` / `:storage` on a machine with internet, and Java 21).
 * Otherwise Firestore is the Google Cloud SDK's emulator and Storage the Storage emulator's own
 * API server without its rules runtime (scripts/storage-emulator.cjs); the functions reach
 * them through FIRESTORE_EMULATOR_HOST and STORAGE_EMULATOR_HOST exactly as they reach
 * firebase-tools' own. `--firestore=firebase|cloud-sdk` and `--storage=firebase|api-server`
 * choose explicitly.
 *
 * It prepares what the functions need locally and says so: a development signing key in
 * functions/.secret.local and emulator values in functions/.env.local (both git-ignored, and
 * ignored by `firebase deploy`). `test:emulators` (scripts/test-emulators.ts) starts the same
 * stack and runs the end-to-end specifications against it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateSigningKey } from '../functions/src/config/signing-keys.ts';
import { generateTotpKeys } from '../functions/src/config/totp-keys.ts';
import { REGION } from '../functions/src/deploy/options.ts';
import { REPOSITORY, ensureFirebaseTools, hermeticEnv } from './firebase-tools.ts';
import { freePort, isListening } from './loopback.ts';
import { waitFor } from './wait.ts';

export const PROJECT_ID = 'demo-bastion';
const FUNCTIONS_DIR = join(REPOSITORY, 'functions');
/** Where the Cloud SDK puts its Firestore emulator (`gcloud components install cloud-firestore-emulator`); CLOUD_FIRESTORE_EMULATOR overrides. */
export const CLOUD_SDK_FIRESTORE = process.env.CLOUD_FIRESTORE_EMULATOR ?? '/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud_firestore_emulator';

interface Address {
  host: string;
  port: number;
}

const firebaseJson = () => JSON.parse(readFileSync(join(REPOSITORY, 'firebase.json'), 'utf8')) as { emulators: Record<string, Address> };

export interface StackOptions {
  firestore?: 'auto' | 'firebase' | 'cloud-sdk';
  storage?: 'auto' | 'firebase' | 'api-server';
  /** Extra environment for every process of the stack; the functions see it below functions/.env* (firebase-tools' order). */
  env?: Record<string, string>;
  /** Every line the stack prints. */
  onLine?: (line: string) => void;
}

export interface EmulatorStack {
  projectId: string;
  /** The Hosting emulator: the web app, and the API through its rewrites. */
  hostingUrl: string;
  /** A function's own URL, as the Functions emulator serves it. */
  functionUrl(name: 'auth' | 'items' | 'uploads'): string;
  /** What a client of the stack's Firestore and Storage sets (FIRESTORE_EMULATOR_HOST, STORAGE_EMULATOR_HOST). */
  clientEnv: Record<string, string>;
  /** How Firestore and Storage were provided. */
  provided: { firestore: string; storage: string };
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Java

function javaMajor(java: string): number | undefined {
  const run = spawnSync(java, ['-version'], { encoding: 'utf8' });
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${run.stderr}${run.stdout}`);
  if (!match) return undefined;
  const major = Number(match[1]);
  return major === 1 ? Number(match[2]) : major; // "1.8.0" is Java 8
}

/** A java of at least `minimum`: JAVA_HOME's, the one on PATH, or one under /usr/lib/jvm. */
export function findJava(minimum: number): string | undefined {
  const candidates = [
    process.env.JAVA_HOME && join(process.env.JAVA_HOME, 'bin', 'java'),
    ...(process.env.PATH ?? '').split(':').map((dir) => join(dir, 'java')),
    ...(existsSync('/usr/lib/jvm') ? readdirSync('/usr/lib/jvm').map((dir) => join('/usr/lib/jvm', dir, 'bin', 'java')) : []),
  ].filter((path): path is string => Boolean(path) && existsSync(path!));
  return candidates.find((java) => (javaMajor(java) ?? 0) >= minimum);
}

/** firebase-tools runs its Java emulators with the `java` on PATH, and wants 21 or newer. */
const FIREBASE_JAVA = 21;

function firebaseJar(firebaseTools: string, emulator: 'firestore' | 'storage'): string {
  const info = JSON.parse(readFileSync(join(firebaseTools, 'lib', 'emulator', 'downloadableEmulatorInfo.json'), 'utf8')) as Record<
    string,
    { downloadPathRelativeToCacheDir: string }
  >;
  const cache = process.env.FIREBASE_EMULATORS_PATH ?? join(homedir(), '.cache', 'firebase', 'emulators');
  return join(cache, info[emulator]!.downloadPathRelativeToCacheDir);
}

// ---------------------------------------------------------------------------------------------
// Local configuration

/**
 * functions/.secret.local and functions/.env.local, written once and said so. Values already
 * there are the user's and stay.
 */
export async function prepareLocalConfig(say: (line: string) => void, folder = FUNCTIONS_DIR): Promise<void> {
  const secretLocal = join(folder, '.secret.local');
  const envLocal = join(folder, '.env.local');
  // Each secret the functions declare, added when missing (a file from an older checkout may lack the newer ones).
  const present = existsSync(secretLocal) ? readFileSync(secretLocal, 'utf8') : '';
  const missing: [string, () => Promise<string>][] = (
    [
      ['AUTH_SIGNING_KEYS', async () => JSON.stringify({ keys: [await generateSigningKey('emulator-')] })],
      ['AUTH_TOTP_KEYS', async () => generateTotpKeys('emulator')],
    ] as [string, () => Promise<string>][]
  ).filter(([name]) => !new RegExp(`^${name}=`, 'm').test(present));
  if (missing.length > 0) {
    const lines = await Promise.all(missing.map(async ([name, make]) => `${name}=${await make()}\n`));
    const separator = present && !present.endsWith('\n') ? '\n' : '';
    writeFileSync(secretLocal, present + separator + lines.join(''), { mode: 0o600 });
    chmodSync(secretLocal, 0o600);
    say(`!! wrote functions/.secret.local: DEVELOPMENT keys (${missing.map(([name]) => name).join(', ')}) for the Functions emulator.`);
    say('!! It is git-ignored and never deployed; production keys are set with firebase functions:secrets:set.');
  }
  if (!existsSync(envLocal)) {
    const { hosting } = firebaseJson().emulators;
    const site = `http://${hosting!.host}:${hosting!.port}`;
    writeFileSync(
      envLocal,
      [
        '# Written by npm run emulators: values for the Firebase Emulator Suite only.',
        '# Git-ignored, and not deployed (firebase.json ignores *.local). Deployed values go in .env.<project-id>.',
        `AUTH_ISSUER=${site}`,
        'AUTH_AUDIENCE=bastion-emulator',
        `CORS_ORIGINS=${site},http://localhost:${hosting!.port}`,
        // The web app the mailed links open (the outbox, functions/.data/outbox, holds the mail).
        `APP_URL=${site}`,
        '',
      ].join('\n'),
    );
    say('wrote functions/.env.local: emulator values (AUTH_ISSUER, AUTH_AUDIENCE, CORS_ORIGINS, APP_URL).');
  }
}

// ---------------------------------------------------------------------------------------------
// Processes

interface Started {
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts a process in a group of its own and resolves once a line matches `ready` (rejects if it
 * exits or takes too long). Stopping sends the group SIGINT, then SIGKILL after `graceMs` (the
 * Cloud SDK's Firestore emulator shuts its server down on SIGINT but its JVM lingers).
 */
function startProcess(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  onLine: (line: string) => void,
  { timeoutMs = 120_000, graceMs = 3000 }: { timeoutMs?: number; graceMs?: number } = {},
): Promise<Started> {
  const child = spawn(command, args, { cwd: REPOSITORY, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const force = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // gone already
        }
      }, graceMs);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      try {
        process.kill(-child.pid!, 'SIGINT'); // the whole group: a wrapper script and its java
      } catch {
        resolve();
      }
    });
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => fail(new Error(`${name} did not become ready within ${timeoutMs / 1000} s`)), timeoutMs);
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stop().then(() => reject(error));
    };
    let pending = '';
    const read = (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        onLine(`[${name}] ${line}`);
        if (!settled && ready.test(line)) {
          settled = true;
          clearTimeout(timer);
          resolve({ child, stop });
        }
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('error', (error) => fail(error));
    child.once('exit', (code, signal) => fail(new Error(`${name} exited (${signal ?? code}) before it was ready`)));
  });
}

/**
 * firebase-tools' Auth emulator alone (pure Node: it runs here), on free loopback ports, with a
 * configuration of its own: for the specs of Firebase Auth ID tokens. Its address is what
 * FIREBASE_AUTH_EMULATOR_HOST takes.
 */
export async function startAuthEmulator(firebaseTools: string, say: (line: string) => void = () => undefined): Promise<{ host: string; stop(): Promise<void> }> {
  const folder = mkdtempSync(join(tmpdir(), 'bastion-auth-emulator-'));
  const [port, hub, logging] = [await freePort(), await freePort(), await freePort()];
  const at = (p: number) => ({ host: '127.0.0.1', port: p });
  writeFileSync(
    join(folder, 'firebase.json'),
    JSON.stringify({ emulators: { singleProjectMode: true, auth: at(port), hub: at(hub), logging: at(logging), ui: { enabled: false } } }),
  );
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? folder, ...(await hermeticEnv()) };
  const started = await startProcess(
    'auth emulator',
    process.execPath,
    [join(firebaseTools, 'lib', 'bin', 'firebase.js'), 'emulators:start', '--only', 'auth', '--project', PROJECT_ID, '--config', join(folder, 'firebase.json')],
    env,
    /All emulators ready/,
    say,
    { timeoutMs: 120_000, graceMs: 5000 },
  );
  return { host: `127.0.0.1:${port}`, stop: () => started.stop() };
}

// ---------------------------------------------------------------------------------------------
// The stack

function build(say: (line: string) => void): void {
  say('building the functions (functions/lib) and the web app (web/dist)');
  const tsc = join(REPOSITORY, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const args of [[tsc, '-p', FUNCTIONS_DIR], [join(REPOSITORY, 'web', 'build.ts')]]) {
    const run = spawnSync(process.execPath, args, { cwd: REPOSITORY, stdio: ['ignore', 'inherit', 'inherit'] });
    if (run.status !== 0) throw new Error(`build failed: node ${args.join(' ')}`);
  }
}

export async function startEmulatorStack(options: StackOptions = {}): Promise<EmulatorStack> {
  const onLine = options.onLine ?? ((line: string) => process.stdout.write(`${line}\n`));
  const say = (line: string) => onLine(`[bastion] ${line}`);
  const ports = firebaseJson().emulators;
  const wanted: Address[] = ['hub', 'functions', 'hosting', 'firestore', 'storage'].map((name) => ports[name]!).filter(Boolean);
  const busy = (await Promise.all(wanted.map(async (a) => ((await isListening(a.port, a.host)) ? `${a.host}:${a.port}` : undefined)))).filter(Boolean);
  if (busy.length > 0) throw new Error(`ports already in use: ${busy.join(', ')} (is another emulator stack running?)`);

  build(say);
  await prepareLocalConfig(say);
  const firebaseTools = ensureFirebaseTools(say);
  const hermetic = await hermeticEnv();
  const running: Started[] = [];
  const stop = async () => {
    for (const started of running.reverse()) await started.stop();
  };

  try {
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, ...hermetic, GCLOUD_PROJECT: PROJECT_ID };
    const only = ['functions', 'hosting'];
    const clientEnv: Record<string, string> = { ...hermetic, GCLOUD_PROJECT: PROJECT_ID };
    const firestoreAt = `${ports.firestore!.host}:${ports.firestore!.port}`;
    const storageAt = `http://${ports.storage!.host}:${ports.storage!.port}`;
    const provided = { firestore: '', storage: '' };

    // Firestore
    const java21 = findJava(FIREBASE_JAVA);
    const ownFirestore = existsSync(firebaseJar(firebaseTools, 'firestore')) && java21;
    const firestore = options.firestore && options.firestore !== 'auto' ? options.firestore : ownFirestore || !existsSync(CLOUD_SDK_FIRESTORE) ? 'firebase' : 'cloud-sdk';
    if (firestore === 'firebase') {
      only.push('firestore');
      provided.firestore = "firebase-tools' own Firestore emulator";
    } else {
      const java = findJava(11);
      if (!java) throw new Error('the Cloud SDK Firestore emulator needs Java 11 or newer');
      running.push(
        await startProcess(
          'firestore',
          CLOUD_SDK_FIRESTORE,
          ['start', `--host=${ports.firestore!.host}`, `--port=${ports.firestore!.port}`],
          { ...env, JAVA: java },
          /API endpoint/,
          onLine,
        ),
      );
      env.FIRESTORE_EMULATOR_HOST = firestoreAt;
      provided.firestore = `the Cloud SDK's Firestore emulator (${java})`;
    }
    clientEnv.FIRESTORE_EMULATOR_HOST = firestoreAt;

    // Cloud Storage
    const ownStorage = existsSync(firebaseJar(firebaseTools, 'storage')) && java21;
    const storage = options.storage && options.storage !== 'auto' ? options.storage : ownStorage ? 'firebase' : 'api-server';
    if (storage === 'firebase') {
      only.push('storage');
      provided.storage = "firebase-tools' own Storage emulator";
    } else {
      running.push(
        await startProcess(
          'storage',
          process.execPath,
          [join(REPOSITORY, 'scripts', 'storage-emulator.cjs'), String(ports.storage!.port), firebaseTools],
          env,
          /storage emulator ready/,
          onLine,
        ),
      );
      env.STORAGE_EMULATOR_HOST = storageAt;
      provided.storage = "the Storage emulator's API server (firebase-tools' own code, without the rules runtime)";
    }
    clientEnv.STORAGE_EMULATOR_HOST = storageAt;

    // firebase-tools runs its Java emulators with the java on PATH.
    if (java21 && only.some((name) => name === 'firestore' || name === 'storage')) {
      env.PATH = `${join(java21, '..')}:${env.PATH}`;
    }
    say(`Firestore: ${provided.firestore}; Storage: ${provided.storage}`);
    running.push(
      await startProcess(
        'firebase',
        process.execPath,
        [join(firebaseTools, 'lib', 'bin', 'firebase.js'), 'emulators:start', '--only', only.join(','), '--project', PROJECT_ID],
        env,
        /All emulators ready/,
        onLine,
        // It stops its own emulators first.
        { timeoutMs: 180_000, graceMs: 15_000 },
      ),
    );

    const hostingUrl = `http://${ports.hosting!.host}:${ports.hosting!.port}`;
    const functionUrl = (name: string) => `http://${ports.functions!.host}:${ports.functions!.port}/${PROJECT_ID}/${REGION}/${name}`;
    // The functions load on their first request: wait until each answers through Hosting.
    for (const path of ['/auth/.well-known/jwks.json', '/items', '/uploads']) {
      const answers = () =>
        fetch(`${hostingUrl}${path}`).then(
          (response) => [200, 401].includes(response.status),
          () => false,
        );
      await waitFor(answers, { timeoutMs: 60_000, what: `${path} through Hosting`, intervalMs: 250 });
    }
    return { projectId: PROJECT_ID, hostingUrl, functionUrl, clientEnv, provided, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function main(): Promise<void> {
  const flag = (name: string) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1];
  const stack = await startEmulatorStack({
    firestore: flag('firestore') as StackOptions['firestore'],
    storage: flag('storage') as StackOptions['storage'],
  });
  const shown = [
    '',
    'bastion under the Firebase Emulator Suite',
    `  web app and API (Hosting):  ${stack.hostingUrl}/   ·   API contract: ${stack.hostingUrl}/openapi.json`,
    `  functions' own URLs:        ${stack.functionUrl('auth')}  (and /items, /uploads)`,
    `  Firestore:                  ${stack.clientEnv.FIRESTORE_EMULATOR_HOST}  (${stack.provided.firestore})`,
    `  Cloud Storage:              ${stack.clientEnv.STORAGE_EMULATOR_HOST}  (${stack.provided.storage})`,
    `  first admin:                FIRESTORE_EMULATOR_HOST=${stack.clientEnv.FIRESTORE_EMULATOR_HOST} GCLOUD_PROJECT=${stack.projectId} npm run admin -- --email you@example.com`,
    '  Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(shown.join('\n'));
  const stop = () => void stack.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main().catch((error: unknown) => {
    process.stderr.write(`emulators: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
