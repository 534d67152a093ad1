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
import { keyMemo } from '../store/keys.ts';
import type { BucketState, Context, Middleware, Outcome } from './context.ts';
import { RateLimitedError } from '../errors/api-error.ts';
import type { BucketName } from './route.ts';

export interface Bucket {
  /** With leases (store/rate-limiter-store.ts), most consumes are answered from memory, at once. */
  limiter: RateLimiterAbstract & { consumeFromLease?(key: string): { admitted: boolean; res: RateLimiterRes } | undefined };
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

/** A bucket's fixed `RateLimit-Limit` and `RateLimit-Policy` values, made once per bucket. */
const fixedValues = new WeakMap<BucketState['bucket'], { limit: string; policy: string }>();

/** The `RateLimit-*` headers of a bucket's state, written into `headers`. */
function writeHeaders(headers: Record<string, string>, bucket: BucketState['bucket'], result: BucketState['result']): Record<string, string> {
  let fixed = fixedValues.get(bucket);
  if (!fixed) fixedValues.set(bucket, (fixed = { limit: String(bucket.points), policy: `${bucket.points};w=${bucket.durationSeconds}` }));
  headers['RateLimit-Limit'] = fixed.limit;
  headers['RateLimit-Remaining'] = String(result.remainingPoints);
  headers['RateLimit-Reset'] = String(Math.max(Math.ceil(result.msBeforeNext / 1000), 0));
  headers['RateLimit-Policy'] = fixed.policy;
  return headers;
}

function refusal(bucket: Bucket, rejection: unknown): Error {
  if (rejection instanceof RateLimiterRes) {
    const retryAfter = Math.max(Math.ceil(rejection.msBeforeNext / 1000), 1);
    return new RateLimitedError(retryAfter, 'requests', writeHeaders({}, bucket, rejection));
  }
  // Fail closed: without a working counter we cannot tell whether the caller is over.
  return rejection instanceof StoreUnavailableError ? rejection : new StoreUnavailableError('rate limiter store failed', { cause: rejection });
}

/**
 * Consumes a point: the bucket's state, or a 429 (or 503 when the store fails) thrown. At once
 * when the lease has the point (most requests), else once the store has answered.
 */
function consume(ctx: Context, bucket: Bucket, subject: string): RateLimiterRes | Promise<RateLimiterRes> {
  const key = bucket.perRoute ? `${ctx.route?.id}:${subject}` : subject;
  const leased = bucket.limiter.consumeFromLease?.(key);
  if (leased) {
    if (leased.admitted) return leased.res;
    throw refusal(bucket, leased.res);
  }
  return bucket.limiter.consume(key).catch((rejection: unknown) => {
    throw refusal(bucket, rejection);
  });
}

/** Whom a bucket counts, one string per client or user (store/keys.ts: found in the limiter's Maps at once). */
const ipSubject = keyMemo((ip) => `ip:${ip}`);
const userSubject = keyMemo((subject) => `user:${subject}`);

/**
 * The per-IP global bucket. It runs before every stage that can answer or refuse a request
 * (preflights, foreign origins, 404, 405, the web app's files) and before authentication, so
 * each request counts exactly once and a flood of any kind meets 429, never token checks.
 */
export function rateLimitByIp(buckets: Buckets): Middleware {
  const bucket = buckets.global;
  return (ctx, next) => {
    const result = consume(ctx, bucket, ipSubject(ctx.ip));
    if (result instanceof Promise) {
      return result.then((awaited) => {
        ctx.rateLimit = { bucket, result: awaited };
        return next();
      });
    }
    ctx.rateLimit = { bucket, result };
    return next();
  };
}

/**
 * The route's own buckets, per user (per IP on public routes), one after the other. The
 * response then carries the `RateLimit-*` headers of whichever bucket has the fewest points left.
 */
export function rateLimitByUser(buckets: Buckets): Middleware {
  /**
   * Counts the route's buckets from `first` on: plain calls while the leases answer at once; a
   * consume that waits continues from there. The tightest bucket so far is kept in ctx.rateLimit.
   */
  const countFrom = (ctx: Context, next: () => Outcome, subject: string, first: number): Outcome => {
    const names = ctx.route?.rateLimit ?? [];
    for (let index = first; index < names.length; index += 1) {
      const bucket = buckets[names[index]!];
      const result = consume(ctx, bucket, subject);
      if (result instanceof Promise) {
        return result.then((awaited) => {
          keepTightest(ctx, bucket, awaited);
          return countFrom(ctx, next, subject, index + 1);
        });
      }
      keepTightest(ctx, bucket, result);
    }
    if (ctx.rateLimit) writeHeaders(ctx.responseHeaders, ctx.rateLimit.bucket, ctx.rateLimit.result);
    return next();
  };
  return (ctx, next) => countFrom(ctx, next, ctx.principal ? userSubject(ctx.principal.subject) : ipSubject(ctx.ip), 0);
}

/** The bucket with the fewest points left is the one the `RateLimit-*` headers describe. */
function keepTightest(ctx: Context, bucket: Bucket, result: RateLimiterRes): void {
  if (!ctx.rateLimit || result.remainingPoints <= ctx.rateLimit.result.remainingPoints) ctx.rateLimit = { bucket, result };
}
