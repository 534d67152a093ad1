/**
 * A dependency on loopback that misbehaves on cue, for the specs of what the API calls out to:
 * it answers, answers late, answers 500 or garbage, hangs, or drops the connection, path by
 * path, and counts the calls it got. (A port nothing listens on stands for a refused connection:
 * scripts/loopback.ts's freePort.)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Behaviour =
  | { answer: string; status?: number; headers?: Record<string, string>; delayMs?: number }
  /** Takes the request and never answers. */
  | { hang: true }
  /** Sends the status line and half a body, then closes the connection. */
  | { drop: true };

export interface StandIn {
  url: string;
  /** What `path` does, call after call: the last behaviour repeats. */
  on(path: string, ...behaviours: Behaviour[]): void;
  /** Calls `path` got (all paths when none is named). */
  hits(path?: string): number;
  /** The requests, as they came. */
  readonly requests: IncomingMessage[];
  close(): Promise<void>;
}

export async function startStandIn(): Promise<StandIn> {
  const script = new Map<string, Behaviour[]>();
  const requests: IncomingMessage[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push(req);
    const path = new URL(req.url ?? '/', 'http://stand-in').pathname;
    const steps = script.get(path) ?? [{ answer: 'no such path', status: 404 }];
    const behaviour = steps.length > 1 ? steps.shift()! : steps[0]!;
    if ('hang' in behaviour) return;
    if ('drop' in behaviour) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"keys": [');
      setTimeout(() => res.destroy(), 5);
      return;
    }
    setTimeout(() => {
      res.writeHead(behaviour.status ?? 200, { 'content-type': 'text/plain', ...behaviour.headers });
      res.end(behaviour.answer);
    }, behaviour.delayMs ?? 0);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    on: (path, ...behaviours) => void script.set(path, behaviours),
    hits: (path) => requests.filter((req) => path === undefined || new URL(req.url ?? '/', 'http://stand-in').pathname === path).length,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
