/**
 * The long-lived services of one process: configuration, logger, stores, token verifier and
 * rate-limit buckets. Created once, on first use, and shared by every function in the process.
 */
import type { Writable } from 'node:stream';
import type { Logger } from 'winston';
import { createAccessTokenVerifier, type VerifyAccessToken } from './auth/tokens.ts';
import { loadConfig, type Config } from './config/index.ts';
import { createLogger } from './logger.ts';
import { BUCKET_DEFINITIONS, WINDOW_SECONDS, type Bucket, type Buckets } from './pipeline/rate-limit.ts';
import { openBlobStore } from './blobs/index.ts';
import type { BlobStore } from './blobs/port.ts';
import { openStore } from './store/index.ts';
import type { DocumentStore } from './store/port.ts';
import { RateLimiterDocumentStore } from './store/rate-limiter-store.ts';
import type { Mailer } from './mail/mailer.ts';
import type { BreachedPasswordCheck } from './auth/breached-passwords.ts';
import type { AppCheckVerifier } from './auth/app-check.ts';
import type { FirebaseIdTokenVerifier } from './auth/firebase-id-tokens.ts';

export interface Runtime {
  config: Config;
  logger: Logger;
  store: DocumentStore;
  blobs: BlobStore;
  verify: VerifyAccessToken;
  buckets: Buckets;
  /** The mailer, loaded on first use (only the auth function and the retries send mail). */
  mailer(): Promise<Mailer>;
  /** The breached-password check, loaded on first use (only the auth function judges passwords). */
  breachedPasswords(): Promise<BreachedPasswordCheck>;
  /** The App Check verifier, loaded on first use (only where a function's or route's mode is not off). */
  appCheck(): Promise<AppCheckVerifier>;
  /** The Firebase Auth ID-token verifier, loaded on the first such token (FIREBASE_AUTH=on). */
  firebaseTokens(): Promise<FirebaseIdTokenVerifier>;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Log lines go here instead of stdout. */
  logStream?: Writable;
  /** Use this store instead of opening the configured one. */
  store?: DocumentStore;
  /** Use this blob store instead of opening the configured one. */
  blobs?: BlobStore;
}

export function createBuckets(store: DocumentStore, limits: Config['rateLimits']): Buckets {
  const bucket = (name: keyof Buckets): Bucket => {
    const { perRoute, points } = BUCKET_DEFINITIONS[name];
    const size = points(limits);
    return {
      limiter: new RateLimiterDocumentStore({ store, keyPrefix: `rl:${name}`, points: size, duration: WINDOW_SECONDS }),
      points: size,
      durationSeconds: WINDOW_SECONDS,
      perRoute,
    };
  };
  return { global: bucket('global'), api: bucket('api'), create: bucket('create') };
}

export async function createRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const logger = await createLogger({ ...config.log, ...(options.logStream ? { stream: options.logStream } : {}) });
  const store = options.store ?? (await openStore(config.store, { logger }));
  const blobs = options.blobs ?? openBlobStore(config.blobs);
  let mailer: Promise<Mailer> | undefined;
  let breachedPasswords: Promise<BreachedPasswordCheck> | undefined;
  let appCheck: Promise<AppCheckVerifier> | undefined;
  let firebaseTokens: Promise<FirebaseIdTokenVerifier> | undefined;
  return {
    config,
    logger,
    store,
    blobs,
    verify: createAccessTokenVerifier(config.auth),
    buckets: createBuckets(store, config.rateLimits),
    mailer() {
      mailer ??= import('./mail/index.ts').then(({ openMailer }) => openMailer(config, store, logger));
      return mailer;
    },
    breachedPasswords() {
      breachedPasswords ??= import('./auth/breached-passwords.ts').then(({ createBreachedPasswordCheck }) => createBreachedPasswordCheck(config.breachedPasswords, logger));
      return breachedPasswords;
    },
    appCheck() {
      appCheck ??= import('./auth/app-check.ts').then(({ createAppCheckVerifier }) =>
        createAppCheckVerifier(config.appCheck, { store, clockToleranceSeconds: config.auth.clockToleranceSeconds, logger }),
      );
      return appCheck;
    },
    firebaseTokens() {
      firebaseTokens ??= import('./auth/firebase-id-tokens.ts').then(({ createFirebaseIdTokenVerifier }) => createFirebaseIdTokenVerifier(config.firebaseAuth, { logger }));
      return firebaseTokens;
    },
    async close() {
      await Promise.all([store.close(), blobs.close(), mailer?.then((opened) => opened.close())]);
      logger.close();
    },
  };
}

let shared: Promise<Runtime> | undefined;

/** The process's runtime, from the environment; a bad configuration rejects (fail closed). */
export function getRuntime(): Promise<Runtime> {
  shared ??= loadConfig().then((config) => createRuntime(config));
  return shared;
}
