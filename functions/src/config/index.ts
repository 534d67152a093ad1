/**
 * Configuration comes from the environment only, validated with zod once at start-up.
 * Anything invalid stops start-up (fail closed) with a message naming the variable.
 * Every variable is listed in the README's configuration table.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { MAIL_VARIABLES, mailConfig, mailProblems, type MailConfig } from './mail.ts';
import { loadSigningKeys, type SigningKeys } from './signing-keys.ts';
import { loadTotpKeys, type TotpKeys } from './totp-keys.ts';
import { FIREBASE_HOSTING, NO_TRUSTED_PROXIES, parseTrustedProxies } from './trusted-proxies.ts';

export const ROLES = ['viewer', 'user', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export type AppEnv = 'development' | 'test' | 'production';

/** Defaults the generated documentation (docs/) describes too. */
export const DEFAULT_RATE_LIMITS = { globalPerMinute: 100, apiPerMinute: 10, createPerMinute: 5 } as const;
export const DEFAULT_SESSION_COOKIE_NAME = '__Host-session';
/** A few seconds: a store that answers slower than this is treated as down (functions time out at 30 s). */
export const DEFAULT_STORE_DEADLINE_MS = 5000;
/** Firebase Hosting forwards no other cookie to a function, and the web app is served there. */
export const HOSTING_SESSION_COOKIE_NAME = '__session';

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly code = 'ERR_CONFIG';
}

const origin = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return url.origin === value && (url.protocol === 'https:' || url.protocol === 'http:');
  } catch {
    return false;
  }
}, 'must be an origin like https://app.example.com (scheme, host and port only; never *)');

const perMinute = z.coerce.number().int().min(1).max(1_000_000_000);
/** `monitor` verifies and logs, never refuses; `enforce` refuses a request without a valid token. */
export type AppCheckMode = 'off' | 'monitor' | 'enforce';
const appCheckMode = z.enum(['off', 'monitor', 'enforce']).default('off');
export const DEFAULT_APP_CHECK_MODES = { auth: 'off', items: 'off', uploads: 'off' } as const satisfies Record<string, AppCheckMode>;

/**
 * Where the code runs, which picks the defaults: `npm start` and the tests (`local`), the
 * Firebase Functions emulator (`functions-emulator`: the platform's shape, behind the Hosting
 * emulator, but a development machine), or Cloud Functions / Cloud Run (`cloud-functions`).
 */
export type Platform = 'local' | 'functions-emulator' | 'cloud-functions';

export function platformOf(env: NodeJS.ProcessEnv): Platform {
  // The Functions emulator sets K_SERVICE and FUNCTION_TARGET as the platform does, and also this.
  if (env.FUNCTIONS_EMULATOR === 'true') return 'functions-emulator';
  return env.K_SERVICE || env.FUNCTION_TARGET ? 'cloud-functions' : 'local';
}

function schemaFor(env: NodeJS.ProcessEnv) {
  const platform = platformOf(env);
  const cloud = platform === 'cloud-functions';
  const hosted = platform !== 'local'; // behind (the emulator of) Firebase Hosting
  return z.object({
    APP_ENV: z.enum(['development', 'test', 'production']).default(cloud ? 'production' : 'development'),
    DATA_DIR: z.string().min(1).default('.data'),
    STORE_DRIVER: z.enum(['sqlite', 'firestore']).default(cloud || env.FIRESTORE_EMULATOR_HOST ? 'firestore' : 'sqlite'),
    SQLITE_PATH: z.string().min(1).optional(),
    STORE_DEADLINE_MS: z.coerce.number().int().min(100).max(20_000).default(DEFAULT_STORE_DEADLINE_MS),
    BLOB_DRIVER: z.enum(['disk', 'cloud-storage']).default(cloud || env.STORAGE_EMULATOR_HOST ? 'cloud-storage' : 'disk'),
    BLOB_DIR: z.string().min(1).optional(),
    STORAGE_BUCKET: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/, 'must be a Cloud Storage bucket name')
      .optional(),
    UPLOAD_MAX_FILE_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .max(30 * 1024 * 1024)
      .default(5 * 1024 * 1024),
    UPLOAD_MAX_PIXELS: z.coerce.number().int().min(1).max(1_000_000_000).default(25_000_000),
    UPLOAD_QUOTA_BYTES_PER_USER: z.coerce
      .number()
      .int()
      .min(1024)
      .max(1024 ** 4)
      .default(100 * 1024 * 1024),
    GCLOUD_PROJECT: z.string().min(1).optional(),
    CORS_ORIGINS: z
      .string()
      .default(platform === 'local' ? 'http://localhost:3000,http://127.0.0.1:3000' : '')
      .transform((list) =>
        list
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .pipe(z.array(origin)),
    AUTH_ISSUER: z.string().min(1).optional(),
    AUTH_AUDIENCE: z.string().min(1).optional(),
    AUTH_SIGNING_KEYS: z.string().min(1).optional(),
    AUTH_TOTP_KEYS: z.string().min(1).optional(),
    AUTH_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(60).default(5),
    AUTH_ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(3600).default(900),
    // Two tabs refreshing at once present one token twice; Supabase's default interval is 10 s.
    AUTH_REFRESH_REUSE_SECONDS: z.coerce.number().int().min(0).max(60).default(10),
    // Behind Firebase Hosting only a cookie named __session reaches a function.
    SESSION_COOKIE_NAME: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a plain cookie name such as __Host-session or __session')
      .default(hosted ? HOSTING_SESSION_COOKIE_NAME : DEFAULT_SESSION_COOKIE_NAME),
    RATE_LIMIT_GLOBAL_PER_MINUTE: perMinute.default(DEFAULT_RATE_LIMITS.globalPerMinute),
    RATE_LIMIT_API_PER_MINUTE: perMinute.default(DEFAULT_RATE_LIMITS.apiPerMinute),
    RATE_LIMIT_CREATE_PER_MINUTE: perMinute.default(DEFAULT_RATE_LIMITS.createPerMinute),
    BODY_LIMIT_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .max(10 * 1024 * 1024)
      .default(100 * 1024),
    LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
    LOG_TARGET: z.enum(['stdout', 'cloud-logging']).default(hosted ? 'cloud-logging' : 'stdout'),
    // Cloud Functions' front end appends the caller's address; the emulators append nothing.
    TRUSTED_PROXY_HOPS: z.coerce
      .number()
      .int()
      .min(0)
      .max(5)
      .default(cloud ? 1 : 0),
    // Deployed, Firebase Hosting's CDN forwards for its clients; locally no proxy does.
    TRUSTED_PROXIES: z
      .string()
      .default(cloud ? FIREBASE_HOSTING : NO_TRUSTED_PROXIES)
      .transform((value, ctx) => {
        const read = parseTrustedProxies(value);
        if ('ranges' in read) return read.ranges;
        for (const message of read.errors) ctx.issues.push({ code: 'custom', message, input: value });
        return z.NEVER;
      }),
    // Off by default: with it on, registrations and password changes ask api.pwnedpasswords.com (auth/breached-passwords.ts).
    BREACHED_PASSWORD_CHECK: z.enum(['off', 'fail-open', 'fail-closed']).default('off'),
    BREACHED_PASSWORD_API_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).default('https://api.pwnedpasswords.com'),
    // Firebase Auth ID tokens beside bastion's own (auth/firebase-id-tokens.ts).
    FIREBASE_AUTH: z.enum(['off', 'on']).default('off'),
    FIREBASE_AUTH_DEFAULT_ROLE: z.enum(ROLES).default('user'),
    // The web app's Firebase sign-in (auth/firebase-web-sign-in.ts): the project's Web API key, which is public by design.
    FIREBASE_WEB_API_KEY: z
      .string()
      .regex(/^[A-Za-z0-9_-]{10,100}$/, "must be the project's Web API key (Project settings → General)")
      .optional(),
    // App Check on HTTP functions (pipeline/app-check.ts): each function's default; a route may say otherwise.
    APP_CHECK_AUTH: appCheckMode,
    APP_CHECK_ITEMS: appCheckMode,
    APP_CHECK_UPLOADS: appCheckMode,
    APP_CHECK_PROJECT_NUMBER: z
      .string()
      .regex(/^\d{1,20}$/, 'must be the project number (digits), not its id')
      .optional(),
    APP_CHECK_APP_IDS: z
      .string()
      .default('')
      .transform((list) =>
        list
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().regex(/^\d+:\d+:[a-z]+:[0-9a-f]+$/, 'must be Firebase app ids such as 1:1234567890:web:0123abcd'))),
    APP_CHECK_JWKS_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).default('https://firebaseappcheck.googleapis.com/v1/jwks'),
    ...MAIL_VARIABLES,
  });
}

export interface Config {
  env: AppEnv;
  platform: Platform;
  dataDir: string;
  store: {
    driver: 'sqlite' | 'firestore';
    sqlitePath: string;
    projectId: string | undefined;
    /** Longest a store call may take before the request is answered 503 (well under the function's timeout). */
    deadlineMs: number;
  };
  blobs: { driver: 'disk' | 'cloud-storage'; dir: string; bucket: string | undefined; projectId: string | undefined };
  uploads: {
    /** Bytes of one file (Cloud Functions caps a whole request at 32 MiB). */
    maxFileBytes: number;
    /** Width × height an image may declare: refuses decompression bombs before anyone decodes them. */
    maxPixels: number;
    /** Bytes one owner may keep stored in all. */
    quotaBytesPerUser: number;
  };
  cors: { origins: string[] };
  auth: {
    issuer: string;
    audience: string;
    keys: SigningKeys;
    /** Seal TOTP secrets at rest. */
    totpKeys: TotpKeys;
    clockToleranceSeconds: number;
    accessTokenTtlSeconds: number;
    /** How long after its first use a refresh token still gets its successor (ms). */
    refreshReuseIntervalMs: number;
    /** Name of the cookie that carries a browser's session. */
    sessionCookieName: string;
  };
  rateLimits: { globalPerMinute: number; apiPerMinute: number; createPerMinute: number };
  bodyLimitBytes: number;
  log: { level: 'error' | 'warn' | 'info' | 'debug'; target: 'stdout' | 'cloud-logging' };
  trustedProxyHops: number;
  /** CIDR ranges of the proxies trusted, by address, to name whom they forward for. */
  trustedProxies: string[];
  mail: MailConfig;
  /** Whether and where new passwords are looked up among breached ones (auth/breached-passwords.ts). */
  breachedPasswords: { check: 'off' | 'fail-open' | 'fail-closed'; apiUrl: string };
  /** Firebase Auth ID tokens (auth/firebase-id-tokens.ts): taken or not, for which project, and the role of a user whose token names none. */
  firebaseAuth: { enabled: boolean; projectId: string | undefined; defaultRole: Role; emulatorHost: string | undefined; webApiKey: string | undefined };
  /** App Check (auth/app-check.ts): each function's mode, and what a token must say. */
  appCheck: {
    modes: Record<'auth' | 'items' | 'uploads', AppCheckMode>;
    /** The Firebase project's number: the tokens' issuer and audience name it. */
    projectNumber: string | undefined;
    /** Apps whose tokens are taken (the token's `sub`); none listed: any app of the project. */
    appIds: string[];
    jwksUrl: string;
  };
}

/**
 * The project's default bucket: Firebase names it in FIREBASE_CONFIG on deployed functions and
 * in the emulator suite; otherwise the `<project>.appspot.com` name emulators accept.
 */
function defaultBucket(env: NodeJS.ProcessEnv, projectId: string | undefined): string | undefined {
  try {
    const fromFirebase = (JSON.parse(env.FIREBASE_CONFIG ?? '{}') as { storageBucket?: unknown }).storageBucket;
    if (typeof fromFirebase === 'string' && fromFirebase) return fromFirebase;
  } catch {
    // not JSON: fall through
  }
  return env.STORAGE_EMULATOR_HOST && projectId ? `${projectId}.appspot.com` : undefined;
}

/**
 * Reads and validates the environment. In production the issuer, audience and signing keys
 * must be given; elsewhere safe development values are filled in (and a development signing
 * key is generated under DATA_DIR, loudly).
 */
export async function loadConfig(env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  const parsed = schemaFor(env).safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`invalid configuration:\n${z.prettifyError(parsed.error)}`);
  }
  const vars = parsed.data;
  const production = vars.APP_ENV === 'production';
  if (production) {
    const missing = (['AUTH_ISSUER', 'AUTH_AUDIENCE', 'AUTH_SIGNING_KEYS', 'AUTH_TOTP_KEYS'] as const).filter((name) => !vars[name]);
    if (missing.length > 0) throw new ConfigError(`missing in production: ${missing.join(', ')}`);
    const insecure = vars.CORS_ORIGINS.filter((o) => !o.startsWith('https://'));
    if (insecure.length > 0) throw new ConfigError(`CORS_ORIGINS must be https in production: ${insecure.join(', ')}`);
    if (!vars.BREACHED_PASSWORD_API_URL.startsWith('https://')) throw new ConfigError('BREACHED_PASSWORD_API_URL must be https in production');
    if (!vars.APP_CHECK_JWKS_URL.startsWith('https://')) throw new ConfigError('APP_CHECK_JWKS_URL must be https in production');
    // firebase-admin takes unsigned ID tokens whenever this is set: never in production.
    if (env.FIREBASE_AUTH_EMULATOR_HOST) throw new ConfigError('FIREBASE_AUTH_EMULATOR_HOST is set: firebase-admin would accept unsigned ID tokens; unset it in production');
  }
  const mailRefusals = mailProblems(vars, production);
  if (mailRefusals.length > 0) throw new ConfigError(`invalid mail configuration:\n${mailRefusals.map((problem) => `  ✖ ${problem}`).join('\n')}`);
  const appCheckModes = { auth: vars.APP_CHECK_AUTH, items: vars.APP_CHECK_ITEMS, uploads: vars.APP_CHECK_UPLOADS };
  if (Object.values(appCheckModes).some((mode) => mode !== 'off') && !vars.APP_CHECK_PROJECT_NUMBER) {
    throw new ConfigError('App Check is on (APP_CHECK_AUTH, _ITEMS or _UPLOADS) but APP_CHECK_PROJECT_NUMBER is not set');
  }
  const projectId = vars.GCLOUD_PROJECT ?? env.GOOGLE_CLOUD_PROJECT;
  if (vars.FIREBASE_AUTH === 'on' && !projectId) throw new ConfigError('FIREBASE_AUTH is on but no project is known: set GCLOUD_PROJECT');
  if (vars.FIREBASE_WEB_API_KEY && vars.FIREBASE_AUTH !== 'on')
    throw new ConfigError('FIREBASE_WEB_API_KEY is set but FIREBASE_AUTH is off: the API would refuse the ID tokens the page signs in for');
  const bucket = vars.STORAGE_BUCKET ?? defaultBucket(env, projectId);
  if (vars.BLOB_DRIVER === 'cloud-storage' && !bucket) {
    throw new ConfigError('BLOB_DRIVER is cloud-storage but no bucket is known: set STORAGE_BUCKET');
  }
  const dataDir = resolve(vars.DATA_DIR);
  let mail: MailConfig;
  try {
    mail = mailConfig(vars, dataDir);
  } catch (error) {
    throw new ConfigError((error as Error).message, { cause: error });
  }
  const keys = await loadSigningKeys({ json: vars.AUTH_SIGNING_KEYS, env: vars.APP_ENV, dataDir });
  const totpKeys = loadTotpKeys({ json: vars.AUTH_TOTP_KEYS, env: vars.APP_ENV, signingKeys: keys });
  return {
    env: vars.APP_ENV,
    platform: platformOf(env),
    dataDir,
    store: {
      driver: vars.STORE_DRIVER,
      sqlitePath: vars.SQLITE_PATH ?? resolve(dataDir, 'bastion.sqlite'),
      projectId,
      deadlineMs: vars.STORE_DEADLINE_MS,
    },
    blobs: { driver: vars.BLOB_DRIVER, dir: vars.BLOB_DIR ? resolve(vars.BLOB_DIR) : resolve(dataDir, 'blobs'), bucket, projectId },
    uploads: {
      maxFileBytes: vars.UPLOAD_MAX_FILE_BYTES,
      maxPixels: vars.UPLOAD_MAX_PIXELS,
      quotaBytesPerUser: vars.UPLOAD_QUOTA_BYTES_PER_USER,
    },
    cors: { origins: vars.CORS_ORIGINS },
    auth: {
      issuer: vars.AUTH_ISSUER ?? 'bastion-dev',
      audience: vars.AUTH_AUDIENCE ?? 'bastion-api',
      keys,
      totpKeys,
      clockToleranceSeconds: vars.AUTH_CLOCK_TOLERANCE_SECONDS,
      accessTokenTtlSeconds: vars.AUTH_ACCESS_TOKEN_TTL_SECONDS,
      refreshReuseIntervalMs: vars.AUTH_REFRESH_REUSE_SECONDS * 1000,
      sessionCookieName: vars.SESSION_COOKIE_NAME,
    },
    rateLimits: {
      globalPerMinute: vars.RATE_LIMIT_GLOBAL_PER_MINUTE,
      apiPerMinute: vars.RATE_LIMIT_API_PER_MINUTE,
      createPerMinute: vars.RATE_LIMIT_CREATE_PER_MINUTE,
    },
    bodyLimitBytes: vars.BODY_LIMIT_BYTES,
    log: { level: vars.LOG_LEVEL, target: vars.LOG_TARGET },
    trustedProxyHops: vars.TRUSTED_PROXY_HOPS,
    trustedProxies: vars.TRUSTED_PROXIES,
    mail,
    breachedPasswords: { check: vars.BREACHED_PASSWORD_CHECK, apiUrl: vars.BREACHED_PASSWORD_API_URL },
    firebaseAuth: {
      enabled: vars.FIREBASE_AUTH === 'on',
      projectId,
      defaultRole: vars.FIREBASE_AUTH_DEFAULT_ROLE,
      emulatorHost: env.FIREBASE_AUTH_EMULATOR_HOST,
      webApiKey: vars.FIREBASE_WEB_API_KEY,
    },
    appCheck: { modes: appCheckModes, projectNumber: vars.APP_CHECK_PROJECT_NUMBER, appIds: vars.APP_CHECK_APP_IDS, jwksUrl: vars.APP_CHECK_JWKS_URL },
  };
}
