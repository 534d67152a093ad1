/**
 * The sessions an account can see and end, over real HTTP: each live session with when it
 * started and was last used, the address and device of its last use (named from the
 * User-Agent), and which one is asking; ending one stops its refresh token at once; ending all
 * others leaves this one; nobody can end a session of another account.
 */
import assert from 'node:assert/strict';
import { startApi, type TestApi } from '../support/api.ts';
import { registerVerified } from '../support/outbox.ts';

const EMAIL = 'barbara@example.com';
const PASSWORD = 'correct horse battery staple';
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

interface Listed {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  ip: string | null;
  device: string;
  mfa: boolean;
  current: boolean;
}

describe('sessions an account sees and ends (auth/sessions.ts, auth/devices.ts)', function () {
  let api: TestApi;

  beforeEach(async function () {
    // Each request names its client address, as Hosting's X-Forwarded-For does.
    api = await startApi({ TRUSTED_PROXY_HOPS: '1' });
    await registerVerified(api, EMAIL, PASSWORD);
  });

  afterEach(async function () {
    await api.close();
  });

  const login = async (userAgent: string, ip: string, email = EMAIL) => {
    const response = await api.request('POST', '/auth/login', { body: { email, password: PASSWORD }, headers: { 'user-agent': userAgent, 'x-forwarded-for': ip } });
    assert.equal(response.status, 200, response.text);
    return response.json as { accessToken: string; refreshToken: string };
  };
  const list = async (token: string) => {
    const response = await api.request('GET', '/auth/sessions', { token });
    assert.equal(response.status, 200, response.text);
    return response.json.sessions as Listed[];
  };
  const refresh = (refreshToken: string, headers: Record<string, string> = {}) => api.request('POST', '/auth/refresh', { body: { refreshToken }, headers });

  it('lists each live session: started, last used, address and device of its last use, and which one is asking', async function () {
    const laptop = await login(CHROME, '198.51.100.1');
    const phone = await login(IPHONE, '203.0.113.9');
    const sessions = await list(phone.accessToken);
    assert.equal(sessions.length, 2);
    const [newest, older] = sessions;
    assert.deepEqual([newest!.device, newest!.ip, newest!.current], ['Safari 17 on iOS (iPhone)', '203.0.113.9', true]);
    assert.deepEqual([older!.device, older!.ip, older!.current], ['Chrome 131 on Linux', '198.51.100.1', false]);
    assert.ok(Date.parse(newest!.createdAt) > 0 && !newest!.mfa);

    // A refresh is a use: the laptop's comes first now, from where it was used.
    const used = await refresh(laptop.refreshToken, { 'user-agent': CHROME, 'x-forwarded-for': '198.51.100.2' });
    assert.equal(used.status, 200);
    const after = await list(phone.accessToken);
    assert.deepEqual(
      after.map((session) => [session.device, session.ip]),
      [
        ['Chrome 131 on Linux', '198.51.100.2'],
        ['Safari 17 on iOS (iPhone)', '203.0.113.9'],
      ],
    );
    assert.ok(after[0]!.lastUsedAt > after[0]!.createdAt);
  });

  it('names clients bowser does not know by their product, never their whole User-Agent', async function () {
    const { accessToken } = await login('okhttp/4.12.0 <script>alert(1)</script>', '198.51.100.1');
    const [session] = await list(accessToken);
    assert.equal(session!.device, 'okhttp/4.12.0 (an app or a script)');
  });

  it('ends one session: its refresh token stops at once, the others go on', async function () {
    const laptop = await login(CHROME, '198.51.100.1');
    const phone = await login(IPHONE, '203.0.113.9');
    const target = (await list(phone.accessToken)).find((session) => !session.current)!;
    const ended = await api.request('DELETE', `/auth/sessions/${target.id}`, { token: phone.accessToken });
    assert.equal(ended.status, 204);
    assert.equal((await refresh(laptop.refreshToken)).status, 401);
    assert.equal((await refresh(phone.refreshToken)).status, 200);
    assert.equal((await list(phone.accessToken)).length, 1);
    assert.equal((await api.request('DELETE', `/auth/sessions/${target.id}`, { token: phone.accessToken })).status, 404, 'ended already');
  });

  it("refuses to end another account's session, as if it did not exist", async function () {
    const mine = await login(CHROME, '198.51.100.1');
    await registerVerified(api, 'mallory@example.com', PASSWORD);
    const mallory = await login(CHROME, '192.0.2.66', 'mallory@example.com');
    const [target] = await list(mine.accessToken);
    const refused = await api.request('DELETE', `/auth/sessions/${target!.id}`, { token: mallory.accessToken });
    assert.equal(refused.status, 404);
    assert.equal(refused.json.error.code, 'not_found');
    assert.equal((await refresh(mine.refreshToken)).status, 200, 'untouched');
  });

  it('ends every session but this one', async function () {
    const others = [await login(CHROME, '198.51.100.1'), await login(IPHONE, '203.0.113.9')];
    const mine = await login(CHROME, '198.51.100.3');
    const response = await api.request('DELETE', '/auth/sessions', { token: mine.accessToken });
    assert.deepEqual([response.status, response.json], [200, { ended: 2 }]);
    for (const other of others) assert.equal((await refresh(other.refreshToken)).status, 401);
    const left = await list(mine.accessToken);
    assert.deepEqual(
      left.map((session) => session.current),
      [true],
    );
  });
});
