/** Configuration comes from the environment, validated at start-up, and fails closed. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../functions/src/config/index.ts';
import { listenAddress } from '../../functions/src/server.ts';
import { SigningKeyError, generateSigningKey, parseSigningKeys } from '../../functions/src/config/signing-keys.ts';
import { productionEnv } from './support.ts';

const productionBase = () => productionEnv();

describe('configuration', function () {
  it('has the documented defaults locally', async function () {
    const config = await loadConfig({ APP_ENV: 'test' });
    assert.deepEqual(listenAddress({}), { port: 3000, host: '127.0.0.1' });
    assert.equal(config.platform, 'local');
    assert.equal(config.store.deadlineMs, 5000);
    assert.equal(config.store.driver, 'sqlite');
    assert.deepEqual(config.rateLimits, { globalPerMinute: 100, apiPerMinute: 10, createPerMinute: 5 });
    assert.equal(config.bodyLimitBytes, 102400);
    assert.equal(config.auth.clockToleranceSeconds, 5);
    assert.equal(config.trustedProxyHops, 0);
    assert.equal(config.auth.sessionCookieName, '__Host-session');
    assert.equal(config.blobs.driver, 'disk');
    assert.equal(config.blobs.dir, join(process.cwd(), '.data', 'blobs'));
    assert.deepEqual(config.uploads, { maxFileBytes: 5 * 1024 * 1024, maxPixels: 25_000_000, quotaBytesPerUser: 100 * 1024 * 1024 });
  });

  it('knows it is deployed on Cloud Functions: production, Firestore, Cloud Logging, one proxy hop', async function () {
    // Firebase names the project's default bucket in FIREBASE_CONFIG on every deployed function.
    const FIREBASE_CONFIG = JSON.stringify({ projectId: 'demo-x', storageBucket: 'demo-x.firebasestorage.app' });
    const config = await loadConfig({ ...(await productionBase()), APP_ENV: undefined, K_SERVICE: 'items', FIREBASE_CONFIG });
    assert.equal(config.env, 'production');
    assert.equal(config.store.driver, 'firestore');
    assert.deepEqual(config.blobs, { driver: 'cloud-storage', dir: config.blobs.dir, bucket: 'demo-x.firebasestorage.app', projectId: undefined });
    assert.equal(config.log.target, 'cloud-logging');
    assert.equal(config.trustedProxyHops, 1);
    assert.equal(config.auth.sessionCookieName, '__session', 'the one cookie Firebase Hosting forwards');
    assert.deepEqual(config.cors.origins, ['https://app.example.com']);
  });

  it('starts under the Functions emulator as it sets the environment: PORT a socket path, K_SERVICE and FUNCTIONS_EMULATOR set', async function () {
    // What firebase-tools' Functions emulator gives each function's process (functionsEmulator.ts).
    const emulator = {
      PORT: '/tmp/fire_emu_5a3b.sock',
      K_SERVICE: 'items',
      FUNCTION_TARGET: 'items',
      FUNCTIONS_EMULATOR: 'true',
      GCLOUD_PROJECT: 'demo-bastion',
      FIRESTORE_EMULATOR_HOST: '127.0.0.1:8080',
      STORAGE_EMULATOR_HOST: 'http://127.0.0.1:9199',
    };
    const config = await loadConfig({ ...emulator, AUTH_SIGNING_KEYS: JSON.stringify({ keys: [await generateSigningKey()] }) });
    assert.equal(config.platform, 'functions-emulator');
    assert.equal(config.env, 'development', 'a development machine, though shaped like the platform');
    assert.equal(config.store.driver, 'firestore');
    assert.equal(config.blobs.driver, 'cloud-storage');
    assert.equal(config.auth.sessionCookieName, '__session', 'behind the Hosting emulator');
    assert.equal(config.log.target, 'cloud-logging');
    assert.equal(config.trustedProxyHops, 0, 'the emulators append nothing to X-Forwarded-For');
    assert.throws(() => listenAddress(emulator), ConfigError, 'only the local server reads PORT');
  });

  it('refuses the local server a port that is not one, naming PORT', function () {
    assert.throws(
      () => listenAddress({ PORT: 'eighty' }),
      (error: Error) => error instanceof ConfigError && error.message.includes('PORT'),
    );
  });

  it('refuses to start on Cloud Storage without knowing the bucket, and says what to set', async function () {
    await assert.rejects(
      loadConfig({ ...(await productionBase()), K_SERVICE: 'uploads' }),
      (error: Error) => error instanceof ConfigError && error.message.includes('STORAGE_BUCKET'),
    );
  });

  it("uses Cloud Storage when its emulator is configured, on the project's emulator bucket", async function () {
    const config = await loadConfig({ APP_ENV: 'test', STORAGE_EMULATOR_HOST: 'http://127.0.0.1:9199', GCLOUD_PROJECT: 'demo-bastion' });
    assert.equal(config.blobs.driver, 'cloud-storage');
    assert.equal(config.blobs.bucket, 'demo-bastion.appspot.com');
    const named = await loadConfig({ APP_ENV: 'test', STORAGE_EMULATOR_HOST: 'http://127.0.0.1:9199', STORAGE_BUCKET: 'other-bucket' });
    assert.equal(named.blobs.bucket, 'other-bucket');
  });

  it('refuses upload limits out of range', async function () {
    const bad: [string, string][] = [
      ['UPLOAD_MAX_FILE_BYTES', '0'],
      ['UPLOAD_MAX_FILE_BYTES', String(64 * 1024 * 1024)],
      ['UPLOAD_MAX_PIXELS', '-1'],
      ['UPLOAD_QUOTA_BYTES_PER_USER', 'lots'],
      ['STORAGE_BUCKET', 'Bad_Bucket!'],
    ];
    for (const [name, value] of bad) {
      await assert.rejects(loadConfig({ APP_ENV: 'test', [name]: value }), (error: Error) => error instanceof ConfigError && error.message.includes(name), `${name}=${value}`);
    }
  });

  it('uses Firestore when the emulator is configured', async function () {
    const config = await loadConfig({ APP_ENV: 'test', FIRESTORE_EMULATOR_HOST: '127.0.0.1:8080' });
    assert.equal(config.store.driver, 'firestore');
  });

  for (const missing of ['AUTH_ISSUER', 'AUTH_AUDIENCE', 'AUTH_SIGNING_KEYS', 'AUTH_TOTP_KEYS']) {
    it(`refuses to start in production without ${missing}`, async function () {
      const env: Record<string, string | undefined> = await productionBase();
      delete env[missing];
      await assert.rejects(loadConfig(env), (error: Error) => error instanceof ConfigError && error.message.includes(missing));
    });
  }

  it('refuses plain-http CORS origins in production', async function () {
    await assert.rejects(loadConfig({ ...(await productionBase()), CORS_ORIGINS: 'http://app.example.com' }), ConfigError);
  });

  it('refuses a wildcard, a path or garbage as a CORS origin', async function () {
    for (const origins of ['*', 'https://app.example.com/', 'https://app.example.com/path', 'app.example.com', 'null']) {
      await assert.rejects(loadConfig({ APP_ENV: 'test', CORS_ORIGINS: origins }), ConfigError, origins);
    }
  });

  it('refuses out-of-range and non-numeric values, naming the variable', async function () {
    const bad: Record<string, string> = {
      STORE_DEADLINE_MS: '0',
      RATE_LIMIT_API_PER_MINUTE: '0',
      BODY_LIMIT_BYTES: '999999999',
      AUTH_CLOCK_TOLERANCE_SECONDS: '3600',
      LOG_LEVEL: 'verbose',
      STORE_DRIVER: 'postgres',
    };
    for (const [name, value] of Object.entries(bad)) {
      await assert.rejects(loadConfig({ APP_ENV: 'test', [name]: value }), (error: Error) => error instanceof ConfigError && error.message.includes(name), name);
    }
  });

  describe('TRUSTED_PROXIES', function () {
    // Fastly's https://api.fastly.com/public-ip-list, copied by hand: Firebase Hosting's CDN.
    const FASTLY = [
      '23.235.32.0/20',
      '43.249.72.0/22',
      '103.244.50.0/24',
      '103.245.222.0/23',
      '103.245.224.0/24',
      '104.156.80.0/20',
      '140.248.64.0/18',
      '140.248.128.0/17',
      '146.75.0.0/17',
      '151.101.0.0/16',
      '157.52.64.0/18',
      '167.82.0.0/17',
      '167.82.128.0/20',
      '167.82.160.0/20',
      '167.82.224.0/20',
      '172.111.64.0/18',
      '185.31.16.0/22',
      '199.27.72.0/21',
      '199.232.0.0/16',
      '2a04:4e40::/32',
      '2a04:4e42::/32',
    ];
    const cloud = async (env: Record<string, string> = {}) => loadConfig({ ...(await productionBase()), APP_ENV: undefined, K_SERVICE: 'items', STORAGE_BUCKET: 'demo-x', ...env });

    it("trusts no proxy by address locally and under the emulator, and Firebase Hosting's CDN when deployed", async function () {
      assert.deepEqual((await loadConfig({ APP_ENV: 'test' })).trustedProxies, []);
      const emulator = { K_SERVICE: 'items', FUNCTIONS_EMULATOR: 'true', GCLOUD_PROJECT: 'demo-bastion', STORAGE_BUCKET: 'demo-x' };
      assert.deepEqual((await loadConfig({ APP_ENV: 'test', ...emulator })).trustedProxies, []);
      assert.deepEqual((await cloud()).trustedProxies, FASTLY);
    });

    it("takes a deployment's own list instead, none, or the Hosting list by name next to its own", async function () {
      assert.deepEqual((await cloud({ TRUSTED_PROXIES: 'none' })).trustedProxies, []);
      assert.deepEqual((await cloud({ TRUSTED_PROXIES: ' 10.0.0.0/8 , 2001:DB8:0::/32,' })).trustedProxies, ['10.0.0.0/8', '2001:db8::/32']);
      assert.deepEqual((await loadConfig({ APP_ENV: 'test', TRUSTED_PROXIES: '127.0.0.9' })).trustedProxies, ['127.0.0.9/32']);
      assert.deepEqual((await loadConfig({ APP_ENV: 'test', TRUSTED_PROXIES: '2001:db8::7' })).trustedProxies, ['2001:db8::7/128']);
      assert.deepEqual((await cloud({ TRUSTED_PROXIES: 'firebase-hosting,192.168.0.0/16' })).trustedProxies, [...FASTLY, '192.168.0.0/16']);
    });

    it('refuses malformed ranges, a /0 and host bits at start-up, naming the variable and the entry', async function () {
      const bad = [
        'garbage',
        '10.0.0.0/33',
        '2001:db8::/129',
        '10.0.0.0/',
        '10.0.0.0/8/8',
        '10.0.0.0/255.0.0.0',
        '10.0.0.0/08',
        '0.0.0.0/0',
        '::/0',
        '10.0.0.1/8',
        '127.1',
        '0x7f.0.0.1/32',
        '[2001:db8::1]',
        '::ffff:10.0.0.0/104',
        'fe80::1%eth0',
        '',
        ' , ',
        'none,10.0.0.0/8',
        'NONE',
        '10.0.0.0/8 192.168.0.0/16',
      ];
      for (const value of bad) {
        await assert.rejects(
          loadConfig({ APP_ENV: 'test', TRUSTED_PROXIES: value }),
          (error: Error) => error instanceof ConfigError && error.message.includes('TRUSTED_PROXIES'),
          JSON.stringify(value),
        );
      }
      await assert.rejects(
        loadConfig({ APP_ENV: 'test', TRUSTED_PROXIES: '10.0.0.0/8,10.1.2.3/16' }),
        (error: Error) => error.message.includes('10.1.2.3/16') && error.message.includes('10.1.0.0/16'),
      );
    });
  });

  it('generates a development signing key once, private to the owner, and reuses it', async function () {
    const dataDir = mkdtempSync(join(tmpdir(), 'bastion-config-'));
    const first = await loadConfig({ APP_ENV: 'development', DATA_DIR: dataDir });
    const file = join(dataDir, 'dev-signing-keys.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const second = await loadConfig({ APP_ENV: 'development', DATA_DIR: dataDir });
    assert.equal(second.auth.keys.current.kid, first.auth.keys.current.kid);
    assert.match(readFileSync(file, 'utf8'), /"d":/);
  });
});

describe('signing keys', function () {
  it('signs with the first key and verifies with every key, publishing only public halves', async function () {
    const current = await generateSigningKey('a-');
    const previous = await generateSigningKey('b-');
    const keys = parseSigningKeys(JSON.stringify({ keys: [current, previous] }));
    assert.equal(keys.current.kid, current.kid);
    assert.deepEqual(
      keys.verification.map((k) => k.kid),
      [current.kid, previous.kid],
    );
    for (const key of keys.verification) assert.equal((key as { d?: string }).d, undefined);
  });

  it('refuses a set whose first key is public, duplicate kids, other algorithms, and non-JSON', async function () {
    const key = await generateSigningKey();
    const { d: _private, ...publicKey } = key;
    const cases = [
      JSON.stringify({ keys: [publicKey] }),
      JSON.stringify({ keys: [key, key] }),
      JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'hs' }] }),
      JSON.stringify({ keys: [{ ...key, crv: 'P-256' }] }),
      JSON.stringify({ keys: [] }),
      'not json',
    ];
    for (const json of cases) assert.throws(() => parseSigningKeys(json), SigningKeyError, json);
  });
});
