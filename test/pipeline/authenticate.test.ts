/**
 * Authentication of bearer tokens (jose): the algorithm is pinned, `typ`, `iss`, `aud`, `exp`
 * and `nbf` are checked with a small clock tolerance, keys are picked by `kid` among the current
 * and previous ones. Every failure is 401 with a `WWW-Authenticate` challenge, and the client
 * learns only whether its token expired.
 */
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { SignJWT, importJWK, type JWK } from 'jose';
import type { AccessClaims } from '../../functions/src/auth/tokens.ts';
import { generateSigningKey } from '../../functions/src/config/signing-keys.ts';
import { authenticate, VerifiedTokenCache } from '../../functions/src/pipeline/authenticate.ts';
import type { Context } from '../../functions/src/pipeline/context.ts';
import { ApiError } from '../../functions/src/errors/api-error.ts';
import type { Response } from '../support/api.ts';
import { injectApi, type InjectedApi } from '../support/inject.ts';

const ISSUER = 'https://bastion.test';
const AUDIENCE = 'bastion-test-api';

type Key = JWK & { kid: string };

interface Forge {
  key?: Key;
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  /** Seconds relative to now; null leaves the claim out. */
  exp?: number | null;
  nbf?: number | null;
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/** Signs a token as the issuer would, with any detail changed. */
async function forge(key: Key, options: Forge = {}): Promise<string> {
  const signer = options.key ?? key;
  const claims: Record<string, unknown> = { sub: 'alice', roles: ['user'], amr: ['pwd'], iss: ISSUER, aud: AUDIENCE, iat: now(), ...options.claims };
  if (options.exp !== null) claims.exp = now() + (options.exp ?? 300);
  if (options.nbf !== null && options.nbf !== undefined) claims.nbf = now() + options.nbf;
  return new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: signer.kid, ...options.header }).sign(await importJWK(signer, 'EdDSA'));
}

describe('authentication', function () {
  let api: InjectedApi;
  let current: Key;
  let previous: Key;

  before(async function () {
    current = await generateSigningKey('current-');
    previous = await generateSigningKey('previous-');
    api = await injectApi({ AUTH_SIGNING_KEYS: JSON.stringify({ keys: [current, previous] }) });
  });

  after(async function () {
    await api.close();
  });

  const list = (headers: Record<string, string> = {}) => api.request('GET', '/items', { headers });
  const withToken = (token: string) => list({ authorization: `Bearer ${token}` });

  function assertRefused(response: Response, code: 'missing_token' | 'invalid_token' | 'token_expired'): void {
    assert.equal(response.status, 401, response.text);
    assert.equal(response.json.error.code, code);
    const challenge = String(response.headers['www-authenticate']);
    assert.match(challenge, /^Bearer realm="bastion"/);
    if (code === 'missing_token') assert.doesNotMatch(challenge, /error=/);
    else assert.match(challenge, /error="invalid_token"/);
  }

  describe('accepts', function () {
    it('a token signed with the current key', async function () {
      assert.equal((await withToken(await forge(current))).status, 200);
    });

    it('a token signed with the previous key, so keys can rotate without logging anyone out', async function () {
      assert.equal((await withToken(await forge(previous))).status, 200);
    });

    it('a token that expired within the clock tolerance (5 s)', async function () {
      assert.equal((await withToken(await forge(current, { exp: -2 }))).status, 200);
    });

    it('the scheme name in any case', async function () {
      assert.equal((await list({ authorization: `bearer ${await forge(current)}` })).status, 200);
    });
  });

  describe('refuses with 401', function () {
    it('a request without Authorization: missing_token, a bare challenge', async function () {
      assertRefused(await list(), 'missing_token');
    });

    it('an Authorization header that is not "Bearer <token>"', async function () {
      const token = await forge(current);
      for (const header of [`Basic ${Buffer.from('alice:secret').toString('base64')}`, 'Bearer', 'Bearer ', `Bearer ${token} extra`, token]) {
        assertRefused(await list({ authorization: header }), 'invalid_token');
      }
    });

    it('garbage that is not a JWT', async function () {
      assertRefused(await withToken('not.a.jwt'), 'invalid_token');
      assertRefused(await withToken('abc'), 'invalid_token');
    });

    it('an unsigned token (alg: none)', async function () {
      const header = { alg: 'none', typ: 'at+jwt', kid: current.kid };
      const payload = { sub: 'alice', roles: ['admin'], amr: ['pwd', 'mfa'], iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 300 };
      assertRefused(await withToken(`${base64url(header)}.${base64url(payload)}.`), 'invalid_token');
    });

    it('a token whose payload was changed after signing', async function () {
      const [header, , signature] = (await forge(current)).split('.');
      const payload = { sub: 'alice', roles: ['admin'], amr: ['pwd', 'mfa'], iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 300 };
      assertRefused(await withToken(`${header}.${base64url(payload)}.${signature}`), 'invalid_token');
    });

    it('a changed payload or header around a signature whose genuine token is already verified and cached', async function () {
      const genuine = await forge(current);
      assert.equal((await withToken(genuine)).status, 200);
      const [header, , signature] = genuine.split('.');
      const payload = { sub: 'alice', roles: ['admin'], amr: ['pwd', 'mfa'], iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 300 };
      assertRefused(await withToken(`${header}.${base64url(payload)}.${signature}`), 'invalid_token');
      assertRefused(await withToken(`${base64url({ alg: 'EdDSA', typ: 'at+jwt', kid: previous.kid })}.${genuine.split('.')[1]}.${signature}`), 'invalid_token');
      for (const wrapped of [`Bearer ${genuine} extra`, `Bearer ${genuine}.`, `Bearer x${genuine}`]) assertRefused(await list({ authorization: wrapped }), 'invalid_token');
      // The same token in the other forms the header may take is still the same token.
      for (const form of [`bearer ${genuine}`, `Bearer   ${genuine}`, `Bearer ${genuine}  `]) assert.equal((await list({ authorization: form })).status, 200, form);
    });

    it('a token signed by another key that claims a trusted kid', async function () {
      const stranger = { ...(await generateSigningKey()), kid: current.kid };
      assertRefused(await withToken(await forge(current, { key: stranger })), 'invalid_token');
    });

    it('a token whose kid is not in the key set', async function () {
      assertRefused(await withToken(await forge(current, { key: await generateSigningKey('retired-') })), 'invalid_token');
    });

    it('an HS256 token keyed with the public key (algorithm confusion)', async function () {
      const publicJwk = { kty: current.kty, crv: current.crv, x: current.x, kid: current.kid };
      for (const secret of [current.x!, JSON.stringify(publicJwk)]) {
        const header = base64url({ alg: 'HS256', typ: 'at+jwt', kid: current.kid });
        const payload = base64url({ sub: 'alice', roles: ['admin'], amr: ['pwd'], iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 300 });
        const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
        assertRefused(await withToken(`${header}.${payload}.${signature}`), 'invalid_token');
      }
    });

    it('a token signed with another algorithm the key set does not pin (ES256)', async function () {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const token = await new SignJWT({ sub: 'alice', roles: ['user'], amr: ['pwd'] })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: current.kid })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey);
      assertRefused(await withToken(token), 'invalid_token');
    });

    it('a token for another issuer or another audience', async function () {
      assertRefused(await withToken(await forge(current, { claims: { iss: 'https://elsewhere.test' } })), 'invalid_token');
      assertRefused(await withToken(await forge(current, { claims: { aud: 'another-api' } })), 'invalid_token');
    });

    it('a JWT that is not an access token (typ other than at+jwt)', async function () {
      assertRefused(await withToken(await forge(current, { header: { typ: 'JWT' } })), 'invalid_token');
      assertRefused(await withToken(await forge(current, { header: { typ: undefined } })), 'invalid_token');
    });

    it('a token not valid yet (nbf beyond the tolerance)', async function () {
      assertRefused(await withToken(await forge(current, { nbf: 120 })), 'invalid_token');
    });

    it('a token without exp, or without sub', async function () {
      assertRefused(await withToken(await forge(current, { exp: null })), 'invalid_token');
      assertRefused(await withToken(await forge(current, { claims: { sub: undefined } })), 'invalid_token');
    });

    it('an expired token, saying so (token_expired) so the client knows to refresh', async function () {
      assertRefused(await withToken(await forge(current, { exp: -60 })), 'token_expired');
    });

    it('without echoing the token in the answer', async function () {
      const token = await forge(current, { exp: -60 });
      const response = await withToken(token);
      assert.ok(!response.text.includes(token));
      assert.ok(!JSON.stringify(response.headers).includes(token));
    });
  });

  describe('public routes', function () {
    it('need no token; the JWKS lists every verification key and no private part', async function () {
      const response = await api.request('GET', '/auth/.well-known/jwks.json');
      assert.equal(response.status, 200);
      const keys = response.json.keys as JWK[];
      assert.deepEqual(keys.map((k) => k.kid).sort(), [current.kid, previous.kid].sort());
      for (const key of keys) {
        assert.equal(key.d, undefined);
        assert.equal(key.alg, 'EdDSA');
      }
    });
  });
});

describe('the verified-token cache', function () {
  const claims = (exp: number): AccessClaims => ({ sub: 'alice', roles: ['user'], amr: ['pwd'], emailVerified: true, exp, jti: undefined, authTime: undefined, sid: undefined });

  it('returns the claims it was given for a token', function () {
    const cache = new VerifiedTokenCache(10);
    cache.set('t1', claims(now() + 60));
    assert.equal(cache.get('t1')?.sub, 'alice');
    assert.equal(cache.get('t2'), undefined);
  });

  it('takes an entry only for the very token it was given, not another with the same signature', function () {
    const cache = new VerifiedTokenCache(10);
    cache.set('header.payload.signature', claims(now() + 60));
    assert.equal(cache.get('header.payload.signature')?.sub, 'alice');
    assert.equal(cache.get('header.forged.signature'), undefined);
    assert.equal(cache.get('signature'), undefined);
  });

  it('forgets a token once its exp has passed', function () {
    const cache = new VerifiedTokenCache(10);
    cache.set('old', claims(now() - 1));
    assert.equal(cache.get('old'), undefined);
  });

  it('drops the oldest entry when full', function () {
    const cache = new VerifiedTokenCache(2);
    cache.set('a', claims(now() + 60));
    cache.set('b', claims(now() + 60));
    cache.set('c', claims(now() + 60));
    assert.equal(cache.get('a'), undefined);
    assert.ok(cache.get('b'));
    assert.ok(cache.get('c'));
  });

  // Unit level: the verifier is swapped for a counting one, which HTTP cannot observe.
  it('lets the authenticate stage verify a token once, not once per request', async function () {
    const calls: string[] = [];
    const stage = authenticate({
      verify: async (token) => {
        calls.push(token);
        if (token === 'bad') throw new ApiError('invalid_token', { params: { reason: 'nope' } });
        return claims(now() + 60);
      },
    });
    const run = async (token: string) => {
      const ctx = { route: { access: { roles: ['user'] } }, req: { headers: { authorization: `Bearer ${token}` } } } as unknown as Context;
      await stage(ctx, async () => {});
      return ctx.principal;
    };
    assert.equal((await run('one'))?.subject, 'alice');
    assert.equal((await run('one'))?.subject, 'alice');
    await run('two');
    await assert.rejects(run('bad'));
    await assert.rejects(run('bad'));
    assert.deepEqual(calls, ['one', 'two', 'bad', 'bad']);
  });

  it('gives every request of a token the same principal, frozen, so that no request can change it for the others', async function () {
    const stage = authenticate({ verify: async () => claims(now() + 60) });
    const run = async () => {
      const ctx = { route: { access: { roles: ['user'] } }, req: { headers: { authorization: 'Bearer one' } } } as unknown as Context;
      await stage(ctx, async () => {});
      return ctx.principal!;
    };
    const first = await run();
    assert.equal(await run(), first);
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first.roles));
    assert.throws(() => {
      (first as { subject: string }).subject = 'mallory';
    }, TypeError);
    assert.throws(() => (first.roles as string[]).push('admin'), TypeError);
    assert.equal((await run()).subject, 'alice');
    assert.deepEqual((await run()).roles, ['user']);
  });
});
