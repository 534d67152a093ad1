/**
 * Password hashing (scrypt at OWASP's parameters, self-describing, upgradable, a bounded number
 * at once) and the password policy (length, and zxcvbn-ts for weak and common passwords, on
 * the first 64 characters, off the main thread).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { AuthBusyError, PasswordCheckUnavailableError } from '../../functions/src/auth/busy-errors.ts';
import { judgePassword } from '../../functions/src/auth/password-policy.ts';
import { createStrengthChecker } from '../../functions/src/auth/password-strength.ts';
import {
  HASH_LIMITS,
  OWASP_PARAMETERS,
  PasswordHashFormatError,
  currentHashParameters,
  decoyHash,
  hashPassword,
  needsRehash,
  setHashParameters,
  verifyPassword,
} from '../../functions/src/auth/passwords.ts';
import { SPEC_HASH_PARAMETERS } from '../support/spec-hashing.ts';
import { headersFor } from '../../functions/src/pipeline/error-mapper.ts';

/** Random characters from a set with no words, runs or keyboard rows in it to speak of. */
function randomCharacters(length: number): string {
  const alphabet = 'bcdfghjkmnpqrstvwxzBCDFGHJKMNPQRSTVWXZ23456789';
  return [...randomBytes(length)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

describe('password hashing', function () {
  it("uses OWASP's scrypt parameters: N=2^17, r=8, p=1, a 16-byte salt, in a self-describing format", async function () {
    assert.deepEqual(OWASP_PARAMETERS, { ln: 17, r: 8, p: 1 });
    const restore = setHashParameters(OWASP_PARAMETERS);
    try {
      const stored = await hashPassword('correct horse battery staple');
      const [scheme, parameters, salt, key] = stored.split('$');
      assert.equal(scheme, 'scrypt');
      assert.equal(parameters, 'ln=17,r=8,p=1');
      assert.equal(Buffer.from(salt!, 'base64url').length, 16);
      assert.equal(Buffer.from(key!, 'base64url').length, 32);
    } finally {
      restore();
    }
  });

  it("hashes at OWASP's parameters in any process that did not put others in place (the product never does)", function () {
    const module = new URL('../../functions/src/auth/passwords.ts', import.meta.url).href;
    const code = `const p = await import(${JSON.stringify(module)}); console.log(JSON.stringify({ current: p.currentHashParameters(), hash: (await p.hashPassword('x'.repeat(12))).split('$')[1] }));`;
    const printed = execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
    assert.deepEqual(JSON.parse(printed), { current: { ln: 17, r: 8, p: 1 }, hash: 'ln=17,r=8,p=1' });
  });

  it('makes new hashes, the decoy and rehash decisions with the parameters in place, until they are restored', async function () {
    assert.deepEqual(currentHashParameters(), SPEC_HASH_PARAMETERS, "the specs' own (test/support/spec-hashing.ts)");
    const restore = setHashParameters({ ln: 11, r: 8, p: 1 });
    try {
      assert.match(await hashPassword('correct horse battery staple'), /^scrypt\$ln=11,r=8,p=1\$/);
      assert.match(await decoyHash(), /^scrypt\$ln=11,/, 'the decoy costs what a real hash costs');
      assert.equal(needsRehash(await hashPassword('correct horse battery staple', SPEC_HASH_PARAMETERS)), true);
    } finally {
      restore();
    }
    assert.deepEqual(currentHashParameters(), SPEC_HASH_PARAMETERS);
    assert.ok((await decoyHash()).startsWith(`scrypt$ln=${SPEC_HASH_PARAMETERS.ln},`), 'and follows them back');
  });

  it('verifies the right password and refuses a wrong one', async function () {
    const stored = await hashPassword('correct horse battery staple');
    assert.equal(await verifyPassword('correct horse battery staple', stored), true);
    assert.equal(await verifyPassword('correct horse battery stapler', stored), false);
    assert.equal(await verifyPassword('', stored), false);
  });

  it('salts every hash: the same password never hashes the same twice', async function () {
    const cheap = { ln: 10, r: 8, p: 1 };
    assert.notEqual(await hashPassword('same password here', cheap), await hashPassword('same password here', cheap));
  });

  it('treats composed and decomposed Unicode forms of a password as the same password', async function () {
    const stored = await hashPassword('caf\u00e9 au lait tonight', { ln: 10, r: 8, p: 1 });
    assert.equal(await verifyPassword('cafe\u0301 au lait tonight', stored), true);
  });

  it('still verifies hashes made with older parameters, and says they need upgrading', async function () {
    const old = await hashPassword('correct horse battery staple', { ln: 10, r: 8, p: 1 });
    assert.equal(await verifyPassword('correct horse battery staple', old), true);
    assert.equal(needsRehash(old), true);
    assert.equal(needsRehash(await hashPassword('correct horse battery staple')), false);
  });

  it('refuses to verify against anything that is not one of its hashes', async function () {
    for (const stored of ['', 'plaintext', '$2b$10$abcdefghijklmnopqrstuv', 'scrypt$ln=17,r=8,p=1$short$short']) {
      await assert.rejects(verifyPassword('whatever', stored), PasswordHashFormatError);
    }
  });

  it('has a decoy hash, the same for the whole process, that no password matches', async function () {
    const decoy = await decoyHash();
    assert.equal(decoy, await decoyHash());
    assert.equal(needsRehash(decoy), false, 'as costly to verify as a real hash');
    assert.equal(await verifyPassword('password', decoy), false);
  });

  it("derives at most two hashes at once, below libuv's default pool of four, so file I/O keeps threads", function () {
    assert.ok(HASH_LIMITS.concurrency >= 1 && HASH_LIMITS.concurrency <= 2, `concurrency ${HASH_LIMITS.concurrency}`);
  });

  it('turns away hashes beyond the line with 503 auth_busy and Retry-After, and makes the others', async function () {
    const cheap = { ln: 10, r: 8, p: 1 };
    const outcomes = await Promise.allSettled(Array.from({ length: 40 }, () => hashPassword('same password here', cheap)));
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected').map((outcome) => outcome.reason);
    assert.ok(refused.length > 0 && refused.length < 40, `${refused.length} of 40 refused`);
    for (const error of refused) {
      assert.ok(error instanceof AuthBusyError, String(error));
      assert.equal(error.status, 503);
      assert.equal(error.code, 'auth_busy');
      assert.match(headersFor(error)['Retry-After'] ?? '', /^[1-9][0-9]*$/);
    }
    for (const outcome of outcomes) if (outcome.status === 'fulfilled') assert.match(outcome.value, /^scrypt\$ln=10,/);
    assert.match(await hashPassword('same password here', cheap), /^scrypt\$/, 'and the line moves on');
  });
});

describe('password policy', function () {
  it('accepts long, uncommon passwords and passphrases', async function () {
    for (const password of ['correct horse battery staple', 'kX9#mP2$vL8@nQ4!', 'Tr0ub4dor&3xyz-plum']) {
      assert.deepEqual(await judgePassword(password), { ok: true }, password);
    }
  });

  it('refuses fewer than 12 or more than 128 characters, saying so', async function () {
    const short = await judgePassword('Xk9#mP2$vL8');
    assert.equal(short.ok, false);
    assert.match((short as { reason: string }).reason, /at least 12/);
    const long = await judgePassword('a1B2'.repeat(33));
    assert.match((long as { reason: string }).reason, /at most 128/);
  });

  it('counts characters, not bytes: 12 emoji are 12 characters', async function () {
    const verdict = await judgePassword('🦊🐙🌵🍋🚲🎈🧲🪁🛶🥨🧩🦉');
    assert.doesNotMatch((verdict as { reason?: string }).reason ?? '', /at least/);
  });

  it('refuses common and patterned passwords with a reason and suggestions', async function () {
    for (const password of ['password1234', 'qwertyuiop123', 'aaaaaaaaaaaa', '123456789012', 'iloveyou2024!', 'Summer2026!!']) {
      const verdict = await judgePassword(password);
      assert.equal(verdict.ok, false, password);
      assert.ok((verdict as { reason: string }).reason.length > 0);
    }
  });

  it("refuses a password built from the account's own email", async function () {
    assert.deepEqual(await judgePassword('alice.wonderland!'), { ok: true }, 'fine for anyone else');
    assert.equal((await judgePassword('alice.wonderland!', ['alice.wonderland@example.com'])).ok, false);
  });

  it('judges the first 64 characters: what follows them neither saves nor sinks a password', async function () {
    assert.deepEqual(await judgePassword(randomCharacters(64) + 'a'.repeat(64)), { ok: true });
    const verdict = await judgePassword('a'.repeat(64) + randomCharacters(64));
    assert.equal(verdict.ok, false);
    assert.ok((verdict as { reason: string }).reason.length > 0);
  });

  it('still sees a repeated password as a repeat, however long', async function () {
    // 'Summer2026!!' repeated scores 3 (zxcvbn, whole); cut at 64 characters mid-repeat it would score 4.
    for (const times of [4, 6, 10]) assert.equal((await judgePassword('Summer2026!!'.repeat(times))).ok, false, `${times} times`);
  });

  it('answers 503, not "weak", when the password cannot be checked', async function () {
    const hung = createStrengthChecker({ spawn: () => new Worker('setInterval(() => {}, 1000);', { eval: true }), deadlineMs: 200 });
    try {
      await assert.rejects(judgePassword('kX9#mP2$vL8@nQ4!', [], hung), (error: unknown) => {
        assert.ok(error instanceof PasswordCheckUnavailableError);
        assert.equal(error.status, 503);
        return true;
      });
    } finally {
      await hung.close();
    }
  });
});
