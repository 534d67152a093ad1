/**
 * `npm run serve:function -- <auth|items|uploads>`: one of bastion's functions alone, hosted by
 * @google-cloud/functions-framework as Cloud Run functions host Node code — the built entry
 * point (functions/lib, package.json "main"), the framework's Express app with its body
 * parsing (every body read into `req.rawBody` before the function runs), signature type http.
 * The function answers its own URL's paths (items: `/`, `/:id`) and Hosting's (`/items/...`).
 *
 * It builds functions/lib first (`npm run build`, as `firebase deploy` does), unless told
 * `--no-build`, which refuses a lib older than functions/src. Nothing here sets K_SERVICE or
 * FUNCTION_TARGET, so the configuration is the local one: embedded SQLite and blobs under
 * DATA_DIR, and a development signing key generated there (loudly) on the first request, when
 * the function loads its pipeline.
 *
 * The framework's own CLI listens on every interface and takes no host; this binds 127.0.0.1
 * unless told otherwise, so the server is built with the framework's public API
 * (`http()` registers the function, `getTestServer()` is the CLI's server: the same Express
 * app, parsers and wrapper, at the CLI's defaults).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { HttpFunction } from '@google-cloud/functions-framework';
import type { FunctionName } from '../functions/src/pipeline/route.ts';

const REPOSITORY = fileURLToPath(new URL('..', import.meta.url));
const FUNCTIONS_DIR = join(REPOSITORY, 'functions');
const SOURCE_DIR = join(FUNCTIONS_DIR, 'src');
// Every function, exactly: a name missing here or unknown to FunctionName is a type error.
const FUNCTIONS = Object.keys({ auth: true, items: true, uploads: true } satisfies Record<FunctionName, true>);
const USAGE = `usage: npm run serve:function -- <${FUNCTIONS.join('|')}> [--port 8080] [--host 127.0.0.1] [--no-build]`;

function fail(message: string): never {
  process.stderr.write(`serve:function: ${message}\n`);
  process.exit(1);
}

interface ServeOptions {
  target: FunctionName;
  port: number;
  host: string;
  build: boolean;
}

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): ServeOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { port: { type: 'string' }, host: { type: 'string' }, 'no-build': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const [target, ...extra] = positionals;
  if (target === undefined || extra.length > 0) fail(`name exactly one function: ${FUNCTIONS.join(', ')}\n${USAGE}`);
  if (!FUNCTIONS.includes(target)) fail(`unknown function "${target}": the functions are ${FUNCTIONS.join(', ')}`);
  // As functions-framework: --port, else PORT, else 8080.
  const portText = values.port ?? env.PORT ?? '8080';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) fail(`--port must be a port number (0 for any free one), not "${portText}"`);
  return { target: target as FunctionName, port, host: values.host ?? env.HOST ?? '127.0.0.1', build: !values['no-build'] };
}

function newestSource(dir: string): { path: string; mtimeMs: number } {
  let newest = { path: dir, mtimeMs: 0 };
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const path = join(entry.parentPath, entry.name);
    const { mtimeMs } = statSync(path);
    if (mtimeMs > newest.mtimeMs) newest = { path, mtimeMs };
  }
  return newest;
}

/** `npm run build`, stopped with this process: a signal here stops the build, and nothing is served. */
async function build(): Promise<void> {
  process.stderr.write('serve:function: building functions/lib (npm run build)…\n');
  // tsc reports on stdout; keep this process's stdout for the address line.
  const child = spawn('npm', ['run', '-s', 'build'], { cwd: REPOSITORY, stdio: ['ignore', 2, 2] });
  const stop = () => child.kill('SIGTERM');
  process.once('SIGINT', stop).once('SIGTERM', stop);
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const [code, signal] = await Promise.race([exited, once(child, 'error').then(([error]) => fail(`could not run npm run build: ${(error as Error).message}`))]);
  process.off('SIGINT', stop).off('SIGTERM', stop);
  if (signal) fail(`the build was stopped (${signal}); nothing is served`);
  if (code !== 0) fail('the build failed (see above); functions/lib is not current, so nothing is served');
}

/** functions/lib, current: built now, or (with --no-build) checked to be newer than every source. */
async function ensureBuilt(options: ServeOptions, entry: string): Promise<void> {
  if (options.build) return build();
  if (!existsSync(entry)) fail(`${relative(REPOSITORY, entry)} does not exist: run npm run build, or drop --no-build`);
  const newest = newestSource(SOURCE_DIR);
  if (newest.mtimeMs > statSync(entry).mtimeMs) {
    fail(`functions/lib is older than ${relative(REPOSITORY, newest.path)}: run npm run build, or drop --no-build`);
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), process.env);
  const require = createRequire(import.meta.url);
  // Where functions-framework's loader finds the code: the source folder's package.json "main"
  // (read, not resolved: on a fresh checkout it exists only once built).
  const { main: mainFile } = JSON.parse(readFileSync(join(FUNCTIONS_DIR, 'package.json'), 'utf8')) as { main: string };
  const entry = join(FUNCTIONS_DIR, mainFile);
  await ensureBuilt(options, entry);

  const { http } = await import('@google-cloud/functions-framework');
  const { getTestServer } = await import('@google-cloud/functions-framework/testing');
  // Its package.json is not exported; it sits two folders above the main module (build/src/index.js).
  const frameworkPackage = join(dirname(require.resolve('@google-cloud/functions-framework')), '..', '..', 'package.json');
  const { version } = JSON.parse(readFileSync(frameworkPackage, 'utf8')) as { version: string };

  // As the loader does for an ES module: import the entry point, take the target's export.
  const exported = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
  const handler = exported[options.target];
  if (typeof handler !== 'function') fail(`${relative(REPOSITORY, entry)} does not export a function "${options.target}"`);
  http(options.target, handler as HttpFunction);
  const server = getTestServer(options.target);
  server.setTimeout(0); // as the CLI: no socket timeout (the platform's request timeout applies there)
  await new Promise<void>((resolve) => {
    server.once('error', (error: NodeJS.ErrnoException) => fail(`cannot listen on ${options.host}:${options.port}: ${error.code ?? error.message}`));
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  const name = options.target;
  process.stdout.write(`\nbastion's ${name} function is listening on ${url}  (functions-framework ${version}, signature type http)\n`);
  process.stdout.write(`  its own URL's paths: ${url}/...   ·   as under Hosting: ${url}/${name}/...\n\n`);

  const stop = () => server.close(() => process.exit(0)).closeAllConnections();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

await main();
