/**
 * `npm start`: every function on one local port, under /auth, /items and /uploads, on the
 * embedded store by default. Cloud Functions does not use this file (see index.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { createLocalHandler } from './app.ts';
import { ConfigError } from './config/index.ts';
import { getRuntime, type Runtime } from './runtime.ts';

/**
 * Where the local server listens. Only this server reads PORT and HOST: the Functions
 * emulator and Cloud Functions set PORT for their own host process (a socket path, in the
 * emulator), which is none of the functions' business.
 */
const listenSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
});

export function listenAddress(env: NodeJS.ProcessEnv = process.env): { port: number; host: string } {
  const parsed = listenSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(`invalid configuration:\n${z.prettifyError(parsed.error)}`);
  return { port: parsed.data.PORT, host: parsed.data.HOST };
}

export interface RunningServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function startServer(runtime: Runtime, port: number, host: string): Promise<RunningServer> {
  const server = createServer(createLocalHandler(runtime));
  // Slow clients may not hold sockets open forever.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function main(): Promise<void> {
  let runtime: Runtime;
  let address: { port: number; host: string };
  try {
    address = listenAddress();
    runtime = await getRuntime();
  } catch (error) {
    if (error instanceof ConfigError || (error as { code?: string }).code === 'ERR_SIGNING_KEYS') {
      process.stderr.write(`bastion: ${(error as Error).message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const running = await startServer(runtime, address.port, address.host);
  const { config } = runtime;
  runtime.logger.info('listening', { url: running.url, store: config.store.driver, env: config.env });
  process.stdout.write(`\nbastion is listening on ${running.url}  (store: ${config.store.driver}, ${config.env})\n`);
  process.stdout.write(`  web app:  ${running.url}/   ·   API contract: ${running.url}/openapi.json\n`);
  process.stdout.write(`  try: curl -i ${running.url}/items -H "Authorization: Bearer $(npm run -s token -- --sub alice --roles user)"\n\n`);
  const stop = async () => {
    await running.close();
    await runtime.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
