/**
 * `npm run test:emulators`: a mocha global fixture that starts the whole stack of
 * `npm run emulators` (scripts/emulators.ts) before the specs and stops it after, so the
 * end-to-end specs (test/emulators) and the browser specs (test/web) run against the Functions
 * and Hosting emulators over real HTTP. Loaded with `--require`; without it, those specs run
 * against the local server (test/web) or report as skipped (test/emulators).
 *
 * The stack's own output is kept in test/.artifacts/emulators.log; the functions' structured
 * log lines are parsed from it, so specs can read them as they read the local server's.
 */
import { mkdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startEmulatorStack, type EmulatorStack } from '../../scripts/emulators.ts';

const ARTIFACTS = fileURLToPath(new URL('../.artifacts/', import.meta.url));
const LOG_FILE = `${ARTIFACTS}emulators.log`;
/** The functions' outbox (MAIL_OUTBOX_DIR) on the stack: what they mail, as .eml files. */
export const OUTBOX = `${ARTIFACTS}outbox`;

let stack: EmulatorStack | undefined;
const output: string[] = [];
const functionLogs: Record<string, any>[] = [];

/** The running stack under `npm run test:emulators`; undefined under `npm test`. */
export function emulatorStack(): EmulatorStack | undefined {
  return stack;
}

/** Every line the stack has printed so far (the emulators', firebase-tools', the functions'). */
export function emulatorOutput(): readonly string[] {
  return output;
}

/** The functions' log entries so far (Cloud Logging's structured lines, as the emulator prints them). */
export function emulatorFunctionLogs(): Record<string, any>[] {
  return functionLogs;
}

/**
 * The Functions emulator prints each function's stdout line as `>  <line>`; ours are Cloud
 * Logging's JSON, with the entry's fields under `metadata`.
 */
function collect(line: string): void {
  output.push(line);
  appendFileSync(LOG_FILE, `${line}\n`);
  const json = /^\[firebase\] >\s+(\{.*\})\s*$/.exec(line)?.[1];
  if (!json) return;
  try {
    const entry = JSON.parse(json) as Record<string, any>;
    functionLogs.push({ ...entry, ...entry.metadata });
  } catch {
    // not one of ours
  }
}

export async function mochaGlobalSetup(): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(LOG_FILE, '');
  rmSync(OUTBOX, { recursive: true, force: true });
  const started = Date.now();
  stack = await startEmulatorStack({
    onLine: collect,
    // Every request reaches the functions from the one loopback address (the emulators append
    // no X-Forwarded-For), so the specs share one identity: generous per-IP and per-user limits.
    // Login brute-force limits keep their defaults.
    env: {
      // The mail the functions send, for the specs to read (test/support/outbox.ts).
      MAIL_OUTBOX_DIR: OUTBOX,
      RATE_LIMIT_GLOBAL_PER_MINUTE: '100000',
      RATE_LIMIT_API_PER_MINUTE: '100000',
      RATE_LIMIT_CREATE_PER_MINUTE: '100000',
      LOG_LEVEL: 'debug',
    },
  });
  // The specs' own clients (Firestore, Storage) talk to the stack's emulators.
  Object.assign(process.env, stack.clientEnv);
  process.stdout.write(
    `  emulator stack up in ${((Date.now() - started) / 1000).toFixed(1)} s: Hosting ${stack.hostingUrl}; ` +
      `Firestore: ${stack.provided.firestore}; Storage: ${stack.provided.storage} (log: test/.artifacts/emulators.log)\n`,
  );
}

export async function mochaGlobalTeardown(): Promise<void> {
  await stack?.stop();
}
