/**
 * The access-token verifier's one failure type: whatever is wrong with a token (expired, signed
 * by another key, another `typ`, claims of the wrong shape), it throws AccessTokenError with
 * `expired` or `invalid`, so the authenticate stage knows neither jose's errors nor zod's.
 */
import assert from 'node:assert/strict';
import { SignJWT, importJWK } from 'jose';
import { AccessTokenError, createAccessTokenVerifier, issueAccessToken } from '../../functions/src/auth/tokens.ts';
import { loadConfig } from '../../functions/src/config/index.ts';
import { SIGNING_ALGORITHM, generateSigningKey } from '../../functions/src/config/signing-keys.ts';

describe('access-token verification', function () {
  async function setup() {
    const config = await loadConfig({ APP_ENV: 'test' });
    return { auth: config.auth, verify: createAccessTokenVerifier(config.auth) };
  }

  const reasonOf = async (promise: Promise<unknown>) => {
    try {
      await promise;
    } catch (error) {
      assert.ok(error instanceof AccessTokenError, `threw ${String(error)}`);
      return error.reason;
    }
    return assert.fail('expected a refusal');
  };

  it('accepts its own tokens and reads their claims', async function () {
    const { auth, verify } = await setup();
    const claims = await verify(await issueAccessToken(auth, { sub: 'alice', roles: ['user'], amr: ['pwd'], emailVerified: true, sid: 'session-1' }));
    assert.deepEqual([claims.sub, claims.roles, claims.amr, claims.emailVerified, claims.sid], ['alice', ['user'], ['pwd'], true, 'session-1']);
  });

  it('reads a token that does not say its address is verified as unverified', async function () {
    const { auth, verify } = await setup();
    const unsaid = await new SignJWT({ roles: ['user'], amr: ['pwd'] })
      .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: auth.keys.current.kid, typ: 'at+jwt' })
      .setSubject('alice')
      .setIssuer(auth.issuer)
      .setAudience(auth.audience)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(await importJWK(auth.keys.current, SIGNING_ALGORITHM));
    assert.equal((await verify(unsaid)).emailVerified, false);
    const unverified = await issueAccessToken(auth, { sub: 'alice', roles: ['user'], amr: ['pwd'], emailVerified: false });
    assert.equal((await verify(unverified)).emailVerified, false);
  });

  it('refuses an expired token as expired', async function () {
    const { auth, verify } = await setup();
    const token = await issueAccessToken(auth, { sub: 'alice', roles: ['user'], amr: ['pwd'], emailVerified: true, ttlSeconds: -60 });
    assert.equal(await reasonOf(verify(token)), 'expired');
  });

  it('refuses every other defect as invalid: another key, another typ, claims of the wrong shape, not a JWT', async function () {
    const { auth, verify } = await setup();
    const stranger = await generateSigningKey('stranger-');
    const sign = async (claims: Record<string, unknown>, key = auth.keys.current, typ = 'at+jwt') =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: key.kid, typ })
        .setSubject('alice')
        .setIssuer(auth.issuer)
        .setAudience(auth.audience)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(await importJWK(key, SIGNING_ALGORITHM));
    assert.equal(await reasonOf(verify(await sign({ roles: ['user'] }, { ...stranger, kid: auth.keys.current.kid }))), 'invalid');
    assert.equal(await reasonOf(verify(await sign({ roles: ['user'] }, auth.keys.current, 'JWT'))), 'invalid');
    assert.equal(await reasonOf(verify(await sign({ roles: 'admin' }))), 'invalid', 'roles not an array: zod refuses');
    assert.equal(await reasonOf(verify('not.a.jwt')), 'invalid');
  });
});
