/**
 * `npm start`: every function on one local port, under /auth, /items and /uploads, on the
 * embedded store by default. Cloud Functions does not use this file (see index.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { createLocalHandler } from './app.ts';
import { ConfigError } from './config/index.ts';
import { getRuntime, type Runtime } from './runtime.ts';

export interface RunningServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function startServer(runtime: Runtime, port = runtime.config.server.port, host = runtime.config.server.host): Promise<RunningServer> {
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
  try {
    runtime = await getRuntime();
  } catch (error) {
    if (error instanceof ConfigError || (error as { code?: string }).code === 'ERR_SIGNING_KEYS') {
      process.stderr.write(`bastion: ${(error as Error).message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const running = await startServer(runtime);
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
