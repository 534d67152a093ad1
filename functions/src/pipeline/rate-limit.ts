/**
 * Rate limiting with rate-limiter-flexible over the document store. Buckets (defaults from
 * config): `global` per client IP on every request, `api` per user on every route that names
 * it, `create` per user and per route on creating routes. A refused request gets 429 with
 * `Retry-After`; every limited response carries `RateLimit-*` headers for its tightest bucket.
 */
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { StoreUnavailableError } from '../store/errors.ts';
import type { Context, Middleware } from './context.ts';
import { RateLimitedError } from './errors.ts';
import type { BucketName } from './route.ts';

export interface Bucket {
  limiter: RateLimiterAbstract;
  points: number;
  durationSeconds: number;
  /** Counted per route (`create`: five creates of one kind do not use up another kind's). */
  perRoute: boolean;
}

export type Buckets = Record<'global' | BucketName, Bucket>;

function headersFor(bucket: Bucket, result: RateLimiterRes): Record<string, string> {
  return {
    'RateLimit-Limit': String(bucket.points),
    'RateLimit-Remaining': String(result.remainingPoints),
    'RateLimit-Reset': String(Math.max(Math.ceil(result.msBeforeNext / 1000), 0)),
    'RateLimit-Policy': `${bucket.points};w=${bucket.durationSeconds}`,
  };
}

async function consume(ctx: Context, bucket: Bucket, subject: string): Promise<void> {
  const key = bucket.perRoute ? `${ctx.route?.id}:${subject}` : subject;
  let result: RateLimiterRes;
  try {
    result = await bucket.limiter.consume(key);
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) {
      const retryAfter = Math.max(Math.ceil(rejection.msBeforeNext / 1000), 1);
      throw new RateLimitedError(retryAfter, headersFor(bucket, rejection));
    }
    // Fail closed: without a working counter we cannot tell whether the caller is over.
    throw rejection instanceof StoreUnavailableError
      ? rejection
      : new StoreUnavailableError('rate limiter store failed', { cause: rejection });
  }
  const current = Number(ctx.res.getHeader('RateLimit-Remaining') ?? Infinity);
  if (result.remainingPoints <= current) {
    for (const [name, value] of Object.entries(headersFor(bucket, result))) ctx.res.setHeader(name, value);
  }
}

/** The per-IP global bucket, before authentication so floods never reach token checks. */
export function rateLimitByIp(buckets: Buckets): Middleware {
  return async (ctx, next) => {
    await consume(ctx, buckets.global, `ip:${ctx.ip}`);
    await next();
  };
}

/** The route's own buckets, per user (per IP on public routes). */
export function rateLimitByUser(buckets: Buckets): Middleware {
  return async (ctx, next) => {
    const subject = ctx.principal ? `user:${ctx.principal.subject}` : `ip:${ctx.ip}`;
    for (const name of ctx.route?.rateLimit ?? []) await consume(ctx, buckets[name], subject);
    await next();
  };
}
