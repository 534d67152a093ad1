/**
 * Mail configuration: which driver sends (outbox files locally, SMTP, or Firebase's Trigger
 * Email extension), from which address, and how long a request may wait for it. Fails closed:
 * production refuses the outbox (nothing would be delivered) and SMTP without TLS, and wants a
 * sender and the public URL the links point to.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

/** A mail setting that cannot work (config/index.ts reports it with the others). */
export class MailConfigError extends Error {
  override name = 'MailConfigError';
}

export const MAIL_DRIVERS = ['outbox', 'smtp', 'firestore-mail'] as const;
export type MailDriverName = (typeof MAIL_DRIVERS)[number];

/** How an SMTP connection is protected: TLS from the first byte (465), upgraded (587), or not at all (tests, a relay on loopback). */
export type SmtpTls = 'implicit' | 'starttls' | 'none';

export interface MailConfig {
  driver: MailDriverName;
  /** The From header, e.g. `bastion <no-reply@example.com>`. */
  from: string;
  /** Where the links in mails point: the web app's origin. */
  appUrl: string;
  /** Longest a request waits for a mail to be handed over; then it is queued and retried. */
  deadlineMs: number;
  /** Folder of the outbox driver's .eml files. */
  outboxDir: string;
  smtp: {
    host: string | undefined;
    port: number;
    tls: SmtpTls;
    user: string | undefined;
    password: string | undefined;
    /** PEM of the CA that signed the server's certificate, when it is not a public one. */
    ca: string | undefined;
  };
  /** The collection Firebase's Trigger Email extension reads. */
  firestoreCollection: string;
}

/** The environment variables, merged into the configuration schema (config/index.ts). */
export const MAIL_VARIABLES = {
  MAIL_DRIVER: z.enum(MAIL_DRIVERS).default('outbox'),
  MAIL_FROM: z.string().min(3).max(320).optional(),
  APP_URL: z.url({ protocol: /^https?$/ }).optional(),
  MAIL_DEADLINE_MS: z.coerce.number().int().min(100).max(20_000).default(5000),
  MAIL_OUTBOX_DIR: z.string().min(1).optional(),
  SMTP_HOST: z.string().min(1).optional(),
  SMTP_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  SMTP_TLS: z.enum(['implicit', 'starttls', 'none']).default('starttls'),
  SMTP_USER: z.string().min(1).optional(),
  SMTP_PASSWORD: z.string().min(1).optional(),
  SMTP_CA_FILE: z.string().min(1).optional(),
  MAIL_COLLECTION: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_-]{0,99}$/, 'must be a collection name')
    .default('mail'),
};

type MailVariables = z.output<z.ZodObject<typeof MAIL_VARIABLES>>;

/** Checks what only makes sense together, and what production demands; returns the problems. */
export function mailProblems(vars: MailVariables, production: boolean): string[] {
  const problems: string[] = [];
  if (production) {
    if (vars.MAIL_DRIVER === 'outbox') problems.push('MAIL_DRIVER=outbox only writes files: set smtp or firestore-mail in production');
    if (!vars.MAIL_FROM) problems.push('MAIL_FROM is required in production');
    if (!vars.APP_URL) problems.push('APP_URL is required in production (the links in mails point to it)');
    else if (!vars.APP_URL.startsWith('https://')) problems.push('APP_URL must be https in production');
    if (vars.MAIL_DRIVER === 'smtp' && vars.SMTP_TLS === 'none') problems.push('SMTP_TLS=none sends passwords and links in the clear: not in production');
  }
  if (vars.MAIL_DRIVER === 'smtp') {
    if (!vars.SMTP_HOST) problems.push('MAIL_DRIVER=smtp needs SMTP_HOST');
    if ((vars.SMTP_USER === undefined) !== (vars.SMTP_PASSWORD === undefined)) problems.push('SMTP_USER and SMTP_PASSWORD go together');
  }
  return problems;
}

function readCa(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new MailConfigError(`SMTP_CA_FILE could not be read: ${(error as Error).message}`);
  }
}

/** Where npm start serves the web app, which links point to unless APP_URL says otherwise. */
export const LOCAL_APP_URL = 'http://localhost:3000';

export function mailConfig(vars: MailVariables, dataDir: string): MailConfig {
  return {
    driver: vars.MAIL_DRIVER,
    from: vars.MAIL_FROM ?? 'bastion <no-reply@localhost>',
    appUrl: (vars.APP_URL ?? LOCAL_APP_URL).replace(/\/+$/, ''),
    deadlineMs: vars.MAIL_DEADLINE_MS,
    outboxDir: vars.MAIL_OUTBOX_DIR ? resolve(vars.MAIL_OUTBOX_DIR) : resolve(dataDir, 'outbox'),
    smtp: {
      host: vars.SMTP_HOST,
      port: vars.SMTP_PORT ?? (vars.SMTP_TLS === 'implicit' ? 465 : 587),
      tls: vars.SMTP_TLS,
      user: vars.SMTP_USER,
      password: vars.SMTP_PASSWORD,
      ca: vars.SMTP_CA_FILE ? readCa(vars.SMTP_CA_FILE) : undefined,
    },
    firestoreCollection: vars.MAIL_COLLECTION,
  };
}
