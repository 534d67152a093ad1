/**
 * V8's compiled code for the modules the functions load, written at deploy time
 * (deploy/warm-compile-cache.ts, which `gcp-build` runs in Cloud Build with the Node binary and
 * the paths the instances run with): an instance that finds it skips most of compiling on its
 * cold start (about a third of it in `npm run bench`). Node checks every entry against its
 * source and its own version and compiles afresh what does not match, so a stale or foreign
 * cache costs only the check. Without the directory (locally, in tests) nothing changes.
 */
import { existsSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';

/** functions/.compile-cache, from src/ and lib/ alike. */
export const COMPILE_CACHE_DIR = fileURLToPath(new URL('../.compile-cache', import.meta.url));

/** Compiles from the deploy-time cache when there is one. */
export function useCompileCache(directory = COMPILE_CACHE_DIR): void {
  if (existsSync(directory)) enableCompileCache(directory);
}
