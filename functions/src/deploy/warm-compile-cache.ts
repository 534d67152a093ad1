/**
 * `npm run gcp-build` (Cloud Build runs it after installing the deployed source's dependencies,
 * instead of `build`): compiles the code, then loads every module the functions meet on their
 * cold paths — the entry, the pipeline and runtime, each function's routes, the Firestore and
 * Cloud Storage drivers and their clients, upload receiving — with Node's compile cache on, so
 * the instances find V8's compiled code in functions/.compile-cache (compile-cache.ts).
 * `node lib/deploy/warm-compile-cache.js <directory>` writes it elsewhere.
 */
import { mkdirSync } from 'node:fs';
import { enableCompileCache, flushCompileCache } from 'node:module';
import { COMPILE_CACHE_DIR } from '../compile-cache.ts';

const directory = process.argv[2] ?? COMPILE_CACHE_DIR;
mkdirSync(directory, { recursive: true });
const { status, message } = enableCompileCache(directory);
if (status !== 1 /* ENABLED */) throw new Error(`the compile cache could not be enabled in ${directory}: ${message ?? `status ${status}`}`);

// Literal specifiers: the compiler rewrites them to lib's .js files.
await import('../index.ts');
await Promise.all([
  import('../app.ts'),
  import('../runtime.ts'),
  import('../auth/routes.ts'),
  import('../items/routes.ts'),
  import('../uploads/routes.ts'),
  import('../docs/routes.ts'),
]);
await Promise.all([
  import('../store/firestore.ts'),
  import('firebase-admin/app'),
  import('firebase-admin/firestore'),
  import('../blobs/cloud-storage.ts'),
  import('../uploads/receive.ts'),
]);
flushCompileCache();
process.stdout.write(`compile cache written to ${directory}\n`);
