import type { Middleware } from './context.ts';
import { reply, replyWithStream } from './respond.ts';

/** The last stage: the route's handler, with validated input, and its reply sent as JSON (or streamed). */
export function handle(): Middleware {
  return async (ctx) => {
    const route = ctx.route!;
    const result = await route.handler({
      params: ctx.input.params,
      query: ctx.input.query,
      body: ctx.input.body,
      principal: ctx.principal!,
      requestId: ctx.requestId,
      ip: ctx.ip,
      session: ctx.session,
      request: ctx.req,
      // A winston child, made only for a handler that takes it.
      get log() {
        return ctx.log;
      },
      services: ctx.services,
    });
    if (result.stream) await replyWithStream(ctx, result.status, result.stream, result.headers);
    else reply(ctx, result.status, result.body, result.headers);
  };
}
