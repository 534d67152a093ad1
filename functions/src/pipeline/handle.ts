import type { Logger } from 'winston';
import type { Context, Middleware } from './context.ts';
import type { CookieSession, Principal, Request, Services } from './inputs.ts';
import { reply, replyWithStream } from './respond.ts';
import type { HandlerInput } from './route.ts';

/**
 * What a handler is called with. Its `log`, a winston child logger, is made only for a handler
 * that takes it (a getter of the class, not one made per request on an object literal).
 */
class Input implements HandlerInput<unknown, unknown, unknown, Principal | undefined> {
  readonly params: unknown;
  readonly query: unknown;
  readonly body: unknown;
  readonly principal: Principal | undefined;
  readonly requestId: string;
  readonly ip: string;
  readonly session: CookieSession | undefined;
  readonly request: Request;
  readonly services: Services;
  readonly #ctx: Context;

  constructor(ctx: Context) {
    this.params = ctx.input.params;
    this.query = ctx.input.query;
    this.body = ctx.input.body;
    this.principal = ctx.principal;
    this.requestId = ctx.requestId;
    this.ip = ctx.ip;
    this.session = ctx.session;
    this.request = ctx.req;
    this.services = ctx.services;
    this.#ctx = ctx;
  }

  get log(): Logger {
    return this.#ctx.log;
  }
}

/** The last stage: the route's handler, with validated input, and its reply sent as JSON (or streamed). */
export function handle(): Middleware {
  return async (ctx) => {
    const route = ctx.route!;
    const result = await route.handler(new Input(ctx));
    if (result.stream) await replyWithStream(ctx, result.status, result.stream, result.headers);
    else reply(ctx, result.status, result.body, result.headers);
  };
}
