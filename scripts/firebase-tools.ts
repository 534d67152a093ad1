/**
 * The Firebase CLI the emulator stack runs: one pinned version, installed on first use from the
 * npm registry without install scripts (it needs none to emulate), and run with this process's
 * Node — so the Functions emulator runs the functions on Node 22 whatever `node` the machine
 * has (it runs them on the Node that runs the CLI when their major version matches).
 *
 * Also what a Firebase tool must be told on this machine and in CI: no metadata-server probes,
 * no update checks, no message-of-the-day fetch. Nothing may leave loopback.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freePort } from './loopback.ts';

export const FIREBASE_TOOLS_VERSION = '15.34.2';

export const REPOSITORY = fileURLToPath(new URL('..', import.meta.url));

/** Where the pinned CLI lives: FIREBASE_TOOLS_DIR, or a folder of the repository's own (git-ignored). */
export function firebaseToolsPrefix(): string {
  return process.env.FIREBASE_TOOLS_DIR ?? join(REPOSITORY, '.ci', 'firebase-tools');
}

const cliFolder = () => join(firebaseToolsPrefix(), 'node_modules', 'firebase-tools');
const installedVersion = (): string | undefined => {
  try {
    return (JSON.parse(readFileSync(join(cliFolder(), 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
};

/** The CLI's package folder if the pinned version is installed. */
export function installedFirebaseTools(): string | undefined {
  return installedVersion() === FIREBASE_TOOLS_VERSION ? cliFolder() : undefined;
}

/** The CLI's package folder, installing the pinned version first if it is not there. */
export function ensureFirebaseTools(log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): string {
  const prefix = firebaseToolsPrefix();
  const folder = cliFolder();
  const installed = installedVersion;
  if (installed() === FIREBASE_TOOLS_VERSION) return folder;
  log(`installing firebase-tools@${FIREBASE_TOOLS_VERSION} into ${prefix} (once; --ignore-scripts)`);
  const npm = process.env.npm_execpath && existsSync(process.env.npm_execpath) ? [process.execPath, process.env.npm_execpath] : ['npm'];
  execFileSync(
    npm[0]!,
    [...npm.slice(1), 'install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--ignore-scripts', '--prefix', prefix, `firebase-tools@${FIREBASE_TOOLS_VERSION}`],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  if (installed() !== FIREBASE_TOOLS_VERSION) throw new Error(`could not install firebase-tools@${FIREBASE_TOOLS_VERSION} into ${prefix}`);
  return folder;
}

/** The environment every Firebase or Google Cloud tool gets here: nothing reaches past loopback. */
export async function hermeticEnv(): Promise<Record<string, string>> {
  return {
    // google-auth-library and gcp-metadata: never look for the metadata server (169.254.169.254);
    // where they would, a loopback port nothing listens on.
    METADATA_SERVER_DETECTION: 'none',
    GCE_METADATA_HOST: `127.0.0.1:${await freePort()}`,
    GCE_METADATA_IP: `127.0.0.1:${await freePort()}`,
    // firebase-tools skips its message-of-the-day fetch under CI, and update-notifier its check.
    CI: 'true',
    NO_UPDATE_NOTIFIER: '1',
    // The Functions emulator asks npm for firebase-functions' latest version (`npm show`): from the cache only.
    npm_config_offline: 'true',
  };
}

// `node scripts/firebase-tools.ts`: installs the pinned CLI if needed and prints its folder (.ci/run).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`${ensureFirebaseTools()}\n`);
}
