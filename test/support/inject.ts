/**
 * The same harness as startApi (api.ts: every function, the whole pipeline, an in-memory store,
 * captured logs), without a socket: requests are injected into the local handler in process by
 * light-my-request, as fastify's inject() does. For stage specs that need no connection; the
 * behaviour of the HTTP server itself (timeouts, malformed requests, draining) has its own
 * specs over real sockets (test/server/).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { inject } from 'light-my-request';
import { createLocalHandler } from '../../functions/src/app.ts';
import { outgoing, prepareApi, untilLogged, withBase, type RequestOptions, type Response, type StartOptions, type TestApi } from './api.ts';

/** A TestApi reached in process: no `url` and no `server`, since nothing listens. */
export type InjectedApi = Omit<TestApi, 'url' | 'server'>;

/** Header values as node's client gives them: strings, and a list only for Set-Cookie. */
function incoming(headers: Record<string, string | string[] | number | undefined>): IncomingHttpHeaders {
  const result: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (name === 'set-cookie') result[name] = Array.isArray(value) ? value.map(String) : [String(value)];
    else result[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return result;
}

export async function injectApi(env: Record<string, string> = {}, options: StartOptions = {}): Promise<InjectedApi> {
  const prepared = await prepareApi(env, options);
  const handler = createLocalHandler(prepared.runtime);
  const transport: Pick<InjectedApi, 'request' | 'close'> = {
    async request(method: string, path: string, requestOptions?: RequestOptions): Promise<Response> {
      const { headers, payload } = outgoing(requestOptions);
      const answer = await inject((req, res) => void handler(req, res), {
        method: method as 'GET',
        url: path,
        headers,
        remoteAddress: '127.0.0.1',
        ...(payload === undefined ? {} : { payload }),
      });
      const bytes = answer.rawPayload;
      const text = bytes.toString('utf8');
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return untilLogged(prepared.lines, { status: answer.statusCode, headers: incoming(answer.headers), bytes, text, json });
    },
    close: () => prepared.dispose(),
  };
  return withBase(transport, prepared.base);
}
