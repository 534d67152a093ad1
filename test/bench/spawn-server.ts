/**
 * Starts test/bench/servers.ts in a process of its own. The server's stdout is /dev/null, so its
 * logs are written as deployed: winston's lines to process.stdout, which node writes
 * synchronously to a file or pipe (Cloud Functions' stdout is a pipe), not through the thread
 * pool as an fs stream would. The server says where it listens on fd 3.
 */
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface SpawnedServer<T> {
  /** What the server printed: its address, paths and headers. */
  target: T;
  pid: number;
  stop(): void;
}

export interface SpawnOptions {
  nodeOptions?: string[];
  env?: NodeJS.ProcessEnv;
  /** A command that runs node (valgrind and its options, say): `[command, ...its arguments]`. */
  wrapper?: string[];
}

export async function spawnServer<T>(args: string[], options: SpawnOptions = {}): Promise<SpawnedServer<T>> {
  const [command, ...wrapperArgs] = options.wrapper ?? [process.execPath];
  const nodeArgs = ['--disable-warning=ExperimentalWarning', ...(options.nodeOptions ?? []), 'test/bench/servers.ts', ...args];
  const child = spawn(command!, options.wrapper ? [...wrapperArgs, process.execPath, ...nodeArgs] : nodeArgs, {
    cwd: root,
    stdio: ['ignore', openSync('/dev/null', 'w'), 'inherit', 'pipe'],
    env: options.env ?? process.env,
  });
  const lines = createInterface({ input: child.stdio[3] as Readable });
  const first = await lines[Symbol.asyncIterator]().next();
  if (first.done) throw new Error(`the bench server (${args.join(' ')}) exited before listening`);
  return { target: JSON.parse(first.value) as T, pid: child.pid!, stop: () => child.kill() };
}
