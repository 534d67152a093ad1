/**
 * Loaded before every spec (.mocharc.json): the specs' process hashes new passwords at N=2^12
 * instead of OWASP's 2^17 — the same scrypt, the same format and code paths, a 32nd of the work
 * (about 4 ms a hash instead of 0.1–1 s), for a suite that hashes thousands of passwords. Servers
 * the specs start in processes of their own (the CLI, functions-framework, the emulators) hash
 * at OWASP's cost, and so do the specs of the cost itself and of password work under load, which
 * put OWASP's parameters back (test/auth/passwords.test.ts, password-load.test.ts).
 */
import { setHashParameters } from '../../functions/src/auth/passwords.ts';

export const SPEC_HASH_PARAMETERS = { ln: 12, r: 8, p: 1 };

setHashParameters(SPEC_HASH_PARAMETERS);
