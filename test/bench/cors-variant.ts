/**
 * `node --import ./test/bench/cors-variant.ts …` with `BASTION_CORS=own` or `per-request`: the
 * process runs the real pipeline with other CORS stages in place of
 * functions/src/pipeline/cors.ts and cors-headers.ts: bastion's own (test/bench/cors-own/, the
 * code before the stages delegated to the `cors` package), or stages that run cors's
 * middleware on every request (test/bench/cors-per-request/; the product records its answers
 * once per origin). Nothing else changes, so the CORS bench (test/bench/cors.ts) compares them
 * on the whole pipeline, and the CORS spec can run against any of them:
 *   BASTION_CORS=own npx mocha --node-option import=./test/bench/cors-variant.ts test/pipeline/cors.test.ts
 * Imported (without the variable), it lets one process hold every variant: app.ts imported as
 * `app.ts?cors=own` (or `per-request`) gets that variant's stages, the rest of its modules
 * shared with the product's app.ts.
 */
import { registerHooks } from 'node:module';

const VARIANTS: Record<string, string | undefined> = { product: undefined, own: './cors-own/', 'per-request': './cors-per-request/' };
const variant = process.env.BASTION_CORS ?? 'product';
if (!(variant in VARIANTS)) throw new TypeError(`BASTION_CORS must be one of ${Object.keys(VARIANTS).join(', ')}, not ${variant}`);
const folder = VARIANTS[variant];

const pipeline = new URL('../../functions/src/pipeline/', import.meta.url).href;
const app = new URL('../../functions/src/app.ts', import.meta.url).href;
const swapped = new Set(['cors.ts', 'cors-headers.ts']);

registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    if (!resolved.url.startsWith(pipeline) || !swapped.has(resolved.url.slice(pipeline.length))) return resolved;
    // The process's variant, or the one the importing app.ts names (`app.ts?cors=own`).
    const named = context.parentURL?.startsWith(`${app}?cors=`) ? context.parentURL.slice(app.length + '?cors='.length) : undefined;
    const replacement = named === undefined ? folder : VARIANTS[named];
    return replacement ? { ...resolved, url: new URL(replacement, import.meta.url).href + resolved.url.slice(pipeline.length) } : resolved;
  },
});
