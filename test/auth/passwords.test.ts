/**
 * Password hashing (scrypt at OWASP's parameters, self-describing, upgradable) and the
 * password policy (length, and zxcvbn-ts for weak and common passwords).
 */
import assert from 'node:assert/strict';
import { judgePassword } from '../../functions/src/auth/password-policy.ts';
import { CURRENT_PARAMETERS, PasswordHashFormatError, decoyHash, hashPassword, needsRehash, verifyPassword } from '../../functions/src/auth/passwords.ts';

describe('password hashing', function () {
  it("uses OWASP's scrypt parameters: N=2^17, r=8, p=1, a 16-byte salt, in a self-describing format", async function () {
    assert.deepEqual(CURRENT_PARAMETERS, { ln: 17, r: 8, p: 1 });
    const stored = await hashPassword('correct horse battery staple');
    const [scheme, parameters, salt, key] = stored.split('$');
    assert.equal(scheme, 'scrypt');
    assert.equal(parameters, 'ln=17,r=8,p=1');
    assert.equal(Buffer.from(salt!, 'base64url').length, 16);
    assert.equal(Buffer.from(key!, 'base64url').length, 32);
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
    const old = await hashPassword('correct horse battery staple', { ln: 14, r: 8, p: 1 });
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
});
