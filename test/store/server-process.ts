/**
 * The real server (`node functions/src/server.ts`, as `npm start` runs it) as a child process on
 * a DATA_DIR of the spec's own, and the CLI beside it: for specs about what several processes,
 * or the process's own files, come to. Not a spec itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../scripts/loopback.ts';
import { waitFor } from '../../scripts/wait.ts';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Generous limits: these specs load the server on purpose. */
const SERVER_ENV: Record<string, string> = {
  APP_ENV: 'development',
  STORE_DRIVER: 'sqlite',
  BLOB_DRIVER: 'disk',
  RATE_LIMIT_GLOBAL_PER_MINUTE: '1000000',
  RATE_LIMIT_API_PER_MINUTE: '1000000',
  RATE_LIMIT_CREATE_PER_MINUTE: '1000000',
  LOG_LEVEL: 'warn',
};

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface ProcessOptions {
  env?: Record<string, string>;
  /** Run under this umask (octal, as the shell's `umask`). */
  umask?: string;
  input?: string;
  /** Run as this user (only root may ask). */
  user?: { uid: number; gid: number };
}

/** `node <script> ...args` from the repository root, with only PATH and `env` in its environment. */
function launch(script: string, args: string[], options: ProcessOptions): ChildProcess {
  const node = [process.execPath, '--disable-warning=ExperimentalWarning', script, ...args];
  const [command, ...rest] = options.umask === undefined ? node : ['/bin/sh', '-c', `umask ${options.umask} && exec "$@"`, 'sh', ...node];
  return spawn(command!, rest, {
    cwd: REPO,
    env: { PATH: process.env.PATH, ...SERVER_ENV, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    ...options.user,
  });
}

/** A CLI (or the server) run to its end. */
export function run(script: string, args: string[], options: ProcessOptions = {}): Promise<Run> {
  const child = launch(script, args, options);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdin!.end(options.input ?? '');
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** `npm run admin -- ...args` on `dataDir`. */
export function runAdmin(dataDir: string, args: string[], options: ProcessOptions = {}): Promise<Run> {
  return run('functions/src/cli/admin.ts', args, { ...options, env: { DATA_DIR: dataDir, ...options.env } });
}

export interface ServerProcess {
  url: string;
  /** Whether it is still running. */
  readonly running: boolean;
  stdout(): string;
  stderr(): string;
  /** SIGTERM, and its exit status once it has ended. */
  stop(): Promise<number | null>;
}

/** The server on a free loopback port, once it says it listens. */
export async function startServerProcess(dataDir: string, options: ProcessOptions = {}): Promise<ServerProcess> {
  const port = await freePort();
  const child = launch('functions/src/server.ts', [], { ...options, env: { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', ...options.env } });
  child.stdin!.end();
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('close', (status) => resolve(status)));
  const running = () => child.exitCode === null && child.signalCode === null;
  // Whatever happens to the spec, the server does not outlive this process.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  void exited.then(() => process.off('exit', reap));
  await waitFor(() => stdout.includes('bastion is listening on') || !running(), {
    timeoutMs: 20_000,
    what: () => `the server to listen:\n${stdout}\n${stderr}`,
  });
  if (!running()) throw new Error(`the server exited while starting:\n${stdout}\n${stderr}`);
  return {
    url: `http://127.0.0.1:${port}`,
    get running() {
      return running();
    },
    stdout: () => stdout,
    stderr: () => stderr,
    async stop() {
      if (running()) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Whether `text` holds a stack trace (a line such as "    at main (file:///...)"). */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+(:\d+:\d+\)?|\(native\))$/m.test(text);
}
