/**
 * Rate limiting with rate-limiter-flexible over the document store. Buckets (defaults from
 * config): `global` per client IP on every request, counted once and before any refusal;
 * `api` per user on every route that names it (per client IP on public routes); `create` per
 * user (or IP) and per route on creating routes. A refused request gets 429 with
 * `Retry-After`; every limited response carries `RateLimit-*` headers for its tightest bucket.
 */
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import RateLimiterRes from 'rate-limiter-flexible/lib/RateLimiterRes.js';
import type { Config } from '../config/index.ts';
import { StoreUnavailableError } from '../store/errors.ts';
import type { BucketState, Context, Middleware } from './context.ts';
import { RateLimitedError } from '../errors/api-error.ts';
import type { BucketName } from './route.ts';

export interface Bucket {
  limiter: RateLimiterAbstract;
  points: number;
  durationSeconds: number;
  /** Counted per route (`create`: five creates of one kind do not use up another kind's). */
  perRoute: boolean;
}

export type Buckets = Record<'global' | BucketName, Bucket>;

/** Every bucket counts over one minute. */
export const WINDOW_SECONDS = 60;

/** What each bucket is: its size in the configuration, and whether it counts per route. */
export const BUCKET_DEFINITIONS: Record<keyof Buckets, { perRoute: boolean; points: (limits: Config['rateLimits']) => number }> = {
  global: { perRoute: false, points: (limits) => limits.globalPerMinute },
  api: { perRoute: false, points: (limits) => limits.apiPerMinute },
  // Five creates of one kind do not use up another kind's.
  create: { perRoute: true, points: (limits) => limits.createPerMinute },
};

function headersFor(bucket: BucketState['bucket'], result: BucketState['result']): Record<string, string> {
  return {
    'RateLimit-Limit': String(bucket.points),
    'RateLimit-Remaining': String(result.remainingPoints),
    'RateLimit-Reset': String(Math.max(Math.ceil(result.msBeforeNext / 1000), 0)),
    'RateLimit-Policy': `${bucket.points};w=${bucket.durationSeconds}`,
  };
}

/** Consumes a point; returns the bucket's state, or throws 429 (or 503 when the store fails). */
async function consume(ctx: Context, bucket: Bucket, subject: string): Promise<RateLimiterRes> {
  const key = bucket.perRoute ? `${ctx.route?.id}:${subject}` : subject;
  try {
    return await bucket.limiter.consume(key);
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) {
      const retryAfter = Math.max(Math.ceil(rejection.msBeforeNext / 1000), 1);
      throw new RateLimitedError(retryAfter, 'requests', headersFor(bucket, rejection));
    }
    // Fail closed: without a working counter we cannot tell whether the caller is over.
    throw rejection instanceof StoreUnavailableError ? rejection : new StoreUnavailableError('rate limiter store failed', { cause: rejection });
  }
}

/**
 * The per-IP global bucket. It runs before every stage that can answer or refuse a request
 * (preflights, foreign origins, 404, 405, the web app's files) and before authentication, so
 * each request counts exactly once and a flood of any kind meets 429, never token checks.
 */
export function rateLimitByIp(buckets: Buckets): Middleware {
  return async (ctx, next) => {
    ctx.rateLimit = { bucket: buckets.global, result: await consume(ctx, buckets.global, `ip:${ctx.ip}`) };
    await next();
  };
}

/**
 * The route's own buckets, per user (per IP on public routes). The response then carries the
 * `RateLimit-*` headers of whichever bucket has the fewest points left.
 */
export function rateLimitByUser(buckets: Buckets): Middleware {
  return async (ctx, next) => {
    const subject = ctx.principal ? `user:${ctx.principal.subject}` : `ip:${ctx.ip}`;
    let tightest = ctx.rateLimit;
    for (const name of ctx.route?.rateLimit ?? []) {
      const bucket = buckets[name];
      const result = await consume(ctx, bucket, subject);
      if (!tightest || result.remainingPoints <= tightest.result.remainingPoints) tightest = { bucket, result };
    }
    if (tightest) {
      const headers = headersFor(tightest.bucket, tightest.result);
      Object.assign(ctx.responseHeaders, headers);
    }
    await next();
  };
}
