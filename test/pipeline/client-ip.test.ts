/**
 * The client's address (ctx.ip), which the per-IP rate limits and brute-force counts key on:
 * walked from the socket's peer leftwards through X-Forwarded-For while the hop is trusted
 * (one of the first TRUSTED_PROXY_HOPS, or an address in TRUSTED_PROXIES). A direct caller
 * cannot choose its identity with X-Forwarded-For; a request through a trusted CDN is the
 * address the CDN saw; IPv4-mapped IPv6 is IPv4; IPv6 counts per /64. Every expected address
 * below is written by hand.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { parseTrustedProxies } from '../../functions/src/config/trusted-proxies.ts';
import { clientIp, forwardingChain, type ClientIpOptions } from '../../functions/src/pipeline/client-ip.ts';
import type { Request } from '../../functions/src/pipeline/inputs.ts';
import { startApi, type Response, type TestApi } from '../support/api.ts';

/** A request as the pipeline sees it: only the peer and the headers matter here. */
function requestFrom(peer: string | undefined, forwardedFor?: string): Request {
  const headers = forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor };
  return { socket: { remoteAddress: peer }, headers } as unknown as Request;
}

function resolver(hops: number, proxies: string): (peer: string | undefined, forwardedFor?: string) => string {
  const read = parseTrustedProxies(proxies);
  assert.ok('ranges' in read, proxies);
  const ipOf = clientIp({ trustedProxyHops: hops, trustedProxies: read.ranges });
  return (peer, forwardedFor) => ipOf(requestFrom(peer, forwardedFor));
}

// Addresses from the documentation ranges, and real-looking Fastly edges (151.101.0.0/16,
// 146.75.0.0/17, 2a04:4e42::/32 are in Fastly's published list).
const FRONT_END = '169.254.8.129'; // the platform's front end, the socket peer on Cloud Functions
const CALLER = '203.0.113.7';
const CLIENT = '198.51.100.23';
const EDGE = '151.101.65.195';
const SHIELD = '146.75.33.4';
const EDGE_V6 = '2a04:4e42:600::313';

describe('client address', function () {
  describe("deployed: one front-end hop, Firebase Hosting's CDN trusted by address", function () {
    const ipOf = resolver(1, 'firebase-hosting');

    it('a direct call is the address the front end appended, whatever the caller wrote before it', function () {
      assert.equal(ipOf(FRONT_END, CALLER), CALLER);
      assert.equal(ipOf(FRONT_END, `1.1.1.1, ${CALLER}`), CALLER);
      // Even forged entries that look like the CDN and its client are never reached.
      assert.equal(ipOf(FRONT_END, `${CLIENT}, ${EDGE}, ${CALLER}`), CALLER);
      assert.equal(ipOf(FRONT_END, `10.0.0.1,${CALLER}`), CALLER);
    });

    it('through Hosting is the address the CDN saw, whatever the client wrote further left', function () {
      assert.equal(ipOf(FRONT_END, `${CLIENT}, ${EDGE}`), CLIENT);
      assert.equal(ipOf(FRONT_END, `6.6.6.6, ${CLIENT}, ${EDGE}`), CLIENT);
      assert.equal(ipOf(FRONT_END, `6.6.6.6, 151.101.1.1, ${CLIENT}, ${EDGE}`), CLIENT);
      // Through an edge and a shield node, both the CDN's.
      assert.equal(ipOf(FRONT_END, `6.6.6.6, ${CLIENT}, ${EDGE}, ${SHIELD}`), CLIENT);
      // An IPv6 edge, and an IPv6 client counted per /64.
      assert.equal(ipOf(FRONT_END, `${CLIENT}, ${EDGE_V6}`), CLIENT);
      assert.equal(ipOf(FRONT_END, `2001:db8:1:2:aaaa:bbbb:cccc:dddd, ${EDGE}`), '2001:db8:1:2::/64');
    });

    it("an address just outside the CDN's ranges is a client, not a proxy", function () {
      assert.equal(ipOf(FRONT_END, `${CLIENT}, 151.102.0.1`), '151.102.0.1');
      assert.equal(ipOf(FRONT_END, `${CLIENT}, 146.75.128.1`), '146.75.128.1');
      assert.equal(ipOf(FRONT_END, `${CLIENT}, 2a04:4e41::1`), '2a04:4e41::/64');
    });

    it('on one connection, each request by its own X-Forwarded-For, whatever came before it on that connection', function () {
      const read = parseTrustedProxies('firebase-hosting');
      assert.ok('ranges' in read);
      const resolve = clientIp({ trustedProxyHops: 1, trustedProxies: read.ranges });
      const socket = { remoteAddress: FRONT_END };
      const on = (forwardedFor?: string) => resolve({ socket, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } } as unknown as Request);
      assert.equal(on(), FRONT_END);
      assert.equal(on(CALLER), CALLER);
      assert.equal(on(`${CLIENT}, ${EDGE}`), CLIENT);
      assert.equal(on(), FRONT_END);
      assert.equal(resolve({ socket: { remoteAddress: '192.0.2.44' }, headers: {} } as unknown as Request), '192.0.2.44');
    });

    it("with no X-Forwarded-For, the peer itself (one shared identity, never the client's choice)", function () {
      assert.equal(ipOf(FRONT_END), FRONT_END);
      assert.equal(ipOf(FRONT_END, ''), FRONT_END);
    });
  });

  describe('locally and under the emulator: no hop, no range', function () {
    const ipOf = resolver(0, 'none');

    it("is the socket's peer, and X-Forwarded-For is ignored", function () {
      assert.equal(ipOf('127.0.0.1', CALLER), '127.0.0.1');
      assert.equal(ipOf('192.0.2.10', `${CLIENT}, ${EDGE}`), '192.0.2.10');
    });

    it('an unknown peer (a closed socket, a Unix socket under the emulator) is one shared identity', function () {
      assert.equal(ipOf(undefined, CALLER), 'unknown');
      assert.equal(resolver(1, 'firebase-hosting')(undefined, CALLER), 'unknown');
      assert.equal(resolver(1, 'firebase-hosting')('not-an-address', CALLER), 'unknown');
    });
  });

  describe('addresses', function () {
    const ipOf = resolver(0, '127.0.0.9/32, 2001:db8:ffff::/48');

    it('an IPv4-mapped IPv6 address is the IPv4 address, as a peer, an entry, or a trusted edge', function () {
      assert.equal(ipOf('::ffff:192.0.2.10'), '192.0.2.10');
      assert.equal(ipOf('::ffff:127.0.0.9', '::ffff:203.0.113.7'), CALLER);
      assert.equal(ipOf('127.0.0.9', '::ffff:cb00:7107'), CALLER);
    });

    it('counts an IPv6 client per /64', function () {
      const edge = '127.0.0.9';
      for (const address of ['2001:db8:1:2::1', '2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:DB8:1:2:0:0:0:9', '2001:db8:1:2::abcd%eth0']) {
        assert.equal(ipOf(edge, address), '2001:db8:1:2::/64', address);
      }
      assert.equal(ipOf(edge, '2001:db8:1:3::1'), '2001:db8:1:3::/64');
      assert.equal(ipOf(edge, '2001:db8::5'), '2001:db8::/64');
      assert.equal(ipOf(edge, '2001:0:0:1:2::'), '2001:0:0:1::/64');
      assert.equal(ipOf('2001:db8:abcd:12:1:2:3:4'), '2001:db8:abcd:12::/64');
      // A trusted IPv6 proxy is matched on its whole address, not its /64.
      assert.equal(ipOf('2001:db8:ffff:1::9', CALLER), CALLER);
      assert.equal(ipOf('2001:db8:fffe:1::9', CALLER), '2001:db8:fffe:1::/64');
    });

    it('an entry that is no address stops the walk, and the trusted hop that wrote it is counted', function () {
      const edge = '127.0.0.9';
      for (const garbage of ['garbage', 'unknown', '127.1', '0x7f.0.0.1', '2130706433', '01.2.3.4', '1.2.3.4:80', '[2001:db8::1]', '<script>', '_hidden']) {
        assert.equal(ipOf(edge, garbage), edge, garbage);
        assert.equal(ipOf(edge, `${CLIENT}, ${garbage}`), edge, garbage);
      }
      // Garbage further left than the client is never read; empty entries are no entries.
      assert.equal(ipOf(edge, `garbage, ${CLIENT}`), CLIENT);
      assert.equal(ipOf(edge, ` , ,${CLIENT} , `), CLIENT);
      // On the platform, a direct caller's garbage lies left of its real address.
      assert.equal(resolver(1, 'firebase-hosting')(FRONT_END, `<script>, ${CALLER}`), CALLER);
    });

    it("too many entries: a direct caller's thousands are never read, a chain of proxies is walked 16 hops at most", function () {
      const forged = Array.from({ length: 3000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.1`).join(', ');
      assert.equal(resolver(1, 'firebase-hosting')(FRONT_END, `${forged}, ${CALLER}`), CALLER);
      // 40 entries all in the CDN's ranges, 151.101.0.1 … 151.101.0.40: the peer is hop 0, hops 1–15
      // (151.101.0.40 … 151.101.0.26) are trusted, hop 16 (151.101.0.25) is where the walk stops.
      const edges = Array.from({ length: 40 }, (_, i) => `151.101.0.${i + 1}`).join(', ');
      assert.equal(resolver(1, 'firebase-hosting')(FRONT_END, `6.6.6.6, ${edges}`), '151.101.0.25');
    });
  });

  describe('its options', function () {
    it('are checked when the resolver is made', function () {
      const make = (options: ClientIpOptions) => () => clientIp(options);
      assert.throws(make({ trustedProxyHops: -1, trustedProxies: [] }), TypeError);
      assert.throws(make({ trustedProxyHops: 1.5, trustedProxies: [] }), TypeError);
      assert.throws(make({ trustedProxyHops: 16, trustedProxies: [] }), TypeError);
      assert.throws(make({ trustedProxyHops: 0, trustedProxies: ['0.0.0.0/0'] }), TypeError);
      assert.throws(make({ trustedProxyHops: 0, trustedProxies: ['garbage'] }));
    });

    it('the chain for the debug line is the raw peer and header, cut to 1 KiB', function () {
      assert.deepEqual(forwardingChain(requestFrom('127.0.0.9', `6.6.6.6, ${CLIENT}`)), { peer: '127.0.0.9', forwardedFor: `6.6.6.6, ${CLIENT}` });
      assert.deepEqual(forwardingChain(requestFrom(undefined)), { peer: undefined, forwardedFor: undefined });
      assert.equal(forwardingChain(requestFrom('127.0.0.9', 'x'.repeat(5000))).forwardedFor?.length, 1024);
    });
  });

  // Real connections from distinct loopback addresses (Linux routes all of 127.0.0.0/8 to the
  // host): 127.0.0.2 and 127.0.0.3 are direct callers, 127.0.0.9 plays a trusted CDN edge.
  describe('over HTTP', function () {
    const EDGE_ADDRESS = '127.0.0.9';
    const LIMIT = 10;
    let api: TestApi;

    afterEach(async function () {
      await api?.close();
    });

    /** One request from a given local address; resolves once the server has logged it. */
    async function from(localAddress: string, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Response> {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const allHeaders = payload === undefined ? headers : { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) };
      const response = await new Promise<Response>((resolve, reject) => {
        const req = httpRequest(new URL(path, api.url), { method, headers: allHeaders, localAddress, agent: false }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const bytes = Buffer.concat(chunks);
            const text = bytes.toString('utf8');
            resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, text, json: text ? JSON.parse(text) : undefined });
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(payload);
      });
      await logLine(response, 'request');
      return response;
    }

    /** The log line of a request with the given message, waiting for it to be written. */
    async function logLine(response: Response, message: string): Promise<Record<string, any>> {
      const id = response.headers['x-request-id'];
      for (const deadline = Date.now() + 2000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 1))) {
        const line = api.logs.find((entry) => entry.message === message && entry.requestId === id);
        if (line) return line;
      }
      assert.fail(`no "${message}" line for request ${String(id)}`);
    }

    const jwks = (localAddress: string, forwardedFor?: string) =>
      from(localAddress, 'GET', '/auth/.well-known/jwks.json', forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor });

    const statuses = (responses: Response[]) => responses.map((response) => response.status);
    const ok = (n: number) => Array<number>(n).fill(200);
    const limited = (n: number) => Array<number>(n).fill(429);

    describe('the global per-IP bucket', function () {
      beforeEach(async function () {
        api = await startApi({ TRUSTED_PROXY_HOPS: '0', TRUSTED_PROXIES: `${EDGE_ADDRESS}/32`, RATE_LIMIT_GLOBAL_PER_MINUTE: String(LIMIT) });
      });

      it('a direct caller rotating forged X-Forwarded-For runs out of its own budget, even all at once', async function () {
        const responses = await Promise.all(Array.from({ length: 15 }, (_, i) => jwks('127.0.0.2', `203.0.113.${i}, 198.51.100.${i}`)));
        assert.deepEqual(statuses(responses).sort(), [...ok(LIMIT), ...limited(5)]);
        assert.equal(responses.find((response) => response.status === 429)?.json.error.code, 'rate_limited');
        // Its forged addresses were nobody's budget: another caller, and a client claimed, still have theirs.
        assert.equal((await jwks('127.0.0.3')).status, 200);
        assert.equal((await jwks(EDGE_ADDRESS, '198.51.100.3')).status, 200);
      });

      it('through the trusted edge, each client has its own budget; one rotating its forged entries does not', async function () {
        const clientA: Response[] = [];
        for (let i = 0; i < LIMIT + 2; i += 1) clientA.push(await jwks(EDGE_ADDRESS, `203.0.113.${i}, 198.51.100.1`));
        assert.deepEqual(statuses(clientA), [...ok(LIMIT), ...limited(2)]);
        const others = await Promise.all(Array.from({ length: 5 }, (_, i) => jwks(EDGE_ADDRESS, `198.51.100.${i + 2}`)));
        assert.deepEqual(statuses(others), ok(5));
        // The edge speaking for nobody is itself, with a budget of its own.
        assert.equal((await jwks(EDGE_ADDRESS)).status, 200);
      });

      it('25 IPv6 addresses of one /64 behind the edge share one budget; the next /64 has its own', async function () {
        const responses: Response[] = [];
        for (let i = 1; i <= 25; i += 1) responses.push(await jwks(EDGE_ADDRESS, `2001:db8:1:2:${i.toString(16)}:${(i * 7).toString(16)}:0:${i.toString(16)}`));
        assert.deepEqual(statuses(responses), [...ok(LIMIT), ...limited(15)]);
        assert.equal((await logLine(responses[0]!, 'request')).ip, '2001:db8:1:2::/64');
        assert.equal((await jwks(EDGE_ADDRESS, '2001:db8:1:3::1')).status, 200);
      });

      it('logs the raw chain at debug level next to the address taken from it, when there is a chain', async function () {
        // Without X-Forwarded-For the address is the peer's, and the access line says it already.
        const plain = await jwks('127.0.0.2');
        assert.equal((await logLine(plain, 'request')).ip, '127.0.0.2');
        const response = await jwks(EDGE_ADDRESS, `6.6.6.6, ${CLIENT}`);
        const line = await logLine(response, 'client address');
        assert.equal(line.level, 'debug');
        assert.equal(line.ip, CLIENT);
        assert.equal(line.peer, EDGE_ADDRESS);
        assert.equal(line.forwardedFor, `6.6.6.6, ${CLIENT}`);
        assert.equal((await logLine(response, 'request')).ip, CLIENT);
        // Lines are written in order: by now the plain request's would be there too.
        assert.ok(!api.logs.some((entry) => entry.message === 'client address' && entry.requestId === plain.headers['x-request-id']));
      });
    });

    describe('the login brute-force limit (10 failures in a row per email and address)', function () {
      const EMAIL = 'alice@example.com';
      const PASSWORD = 'correct horse battery staple';

      beforeEach(async function () {
        api = await startApi({ TRUSTED_PROXY_HOPS: '0', TRUSTED_PROXIES: `${EDGE_ADDRESS}/32` });
        assert.equal((await api.request('POST', '/auth/register', { body: { email: EMAIL, password: PASSWORD } })).status, 202);
      });

      const login = (localAddress: string, forwardedFor: string, password: string) =>
        from(localAddress, 'POST', '/auth/login', { 'x-forwarded-for': forwardedFor }, { email: EMAIL, password });

      it('a direct caller rotating forged X-Forwarded-For is blocked after 10 wrong passwords', async function () {
        this.timeout(30_000);
        for (let i = 0; i < 10; i += 1) assert.equal((await login('127.0.0.2', `203.0.113.${i}`, `wrong guess ${i}`)).status, 401);
        assert.equal((await login('127.0.0.2', '203.0.113.99', PASSWORD)).status, 429);
        // The addresses it claimed are not blocked: a client behind the edge with one of them signs in.
        assert.equal((await login(EDGE_ADDRESS, '203.0.113.3', PASSWORD)).status, 200);
      });

      it('behind the trusted edge, a client rotating its forged entries is blocked, and only that client', async function () {
        this.timeout(30_000);
        for (let i = 0; i < 10; i += 1) assert.equal((await login(EDGE_ADDRESS, `203.0.113.${i}, 198.51.100.1`, `wrong guess ${i}`)).status, 401);
        assert.equal((await login(EDGE_ADDRESS, '203.0.113.99, 198.51.100.1', PASSWORD)).status, 429);
        assert.equal((await login(EDGE_ADDRESS, '198.51.100.2', PASSWORD)).status, 200);
      });
    });
  });
});
