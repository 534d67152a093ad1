/**
 * Sizes libuv's thread pool, which file I/O, dns.lookup, zlib, sharp and scrypt share (4
 * threads by default). libuv reads UV_THREADPOOL_SIZE once, when the pool is first used, so
 * this must run before any asynchronous fs, crypto or dns call of the process: server.ts
 * imports it first. Under `node functions/src/server.ts` that is early enough (the pool starts
 * lazily, and loading the modules does not start it). Under Cloud Functions and the emulator it
 * would be too late (their hosts read files asynchronously before loading ours), so there the
 * pool keeps libuv's 4 threads; scrypt never takes more than two of them (auth/passwords.ts),
 * so file I/O keeps two either way, and a bigger pool only gives it more room. A value already
 * set in the environment wins.
 */

/** Two for scrypt, the rest for file I/O, dns.lookup and image work. */
export const THREAD_POOL_SIZE = 8;

process.env.UV_THREADPOOL_SIZE ??= String(THREAD_POOL_SIZE);
