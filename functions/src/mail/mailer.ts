/**
 * Sending mail without letting a mail server hold a request, or lose a message. Each message is
 * first recorded in `mailQueue` (so a crash or a failure leaves it to retry), then handed to
 * the driver within MAIL_DEADLINE_MS; handed over, the record goes. What failed or overran is
 * retried with backoff by `retryDue` (the local server's timer, the scheduled `retryMail`
 * function deployed), each try claimed first so two instances never send one message twice at
 * once, until it is handed over or given up after about a day. A record expires with the
 * links it carries.
 *
 * Logs name the kind, the driver and the message id, never the body: the links in it sign people
 * in. Only the outbox driver, in development, logs a message's link, so that a developer can
 * follow it without opening the file.
 */
import { newDocumentId } from '../store/ids.ts';
import { EXPIRES_AT, type DocumentStore } from '../store/port.ts';
import type { Logger } from '../logger.ts';
import type { Envelope, MailDriver, MailMessage } from './port.ts';

export const MAIL_QUEUE = 'mailQueue';

/** Waits before each retry: 1 min, 5 min, 30 min, then every 2 h; given up after the last. */
const BACKOFF_MS = [60_000, 5 * 60_000, 30 * 60_000, 2 * 3_600_000, 2 * 3_600_000, 2 * 3_600_000, 2 * 3_600_000, 2 * 3_600_000];
/** A queued message goes with what it carries: no link it holds lives longer. */
const QUEUE_LIFETIME_MS = 24 * 3_600_000;

interface QueuedMail {
  [field: string]: string | number;
  kind: string;
  to: string;
  from: string;
  subject: string;
  text: string;
  html: string;
  attempts: number;
  /** Epoch ms; also a claim: a try in progress pushes it past its deadline. */
  nextAttemptAt: number;
  createdAt: string;
  expiresAt: number;
}

export type SendOutcome = 'sent' | 'queued';

export interface RetryReport {
  sent: number;
  deferred: number;
  givenUp: number;
}

export interface Mailer {
  /**
   * Records the message, then hands it over within the deadline: 'sent', or 'queued' for a
   * retry. Rejects only when the record cannot be written (the store is down): then nothing
   * was sent, and the caller answers 503. With `background`, it answers 'queued' once the
   * record is written and hands over after: for a caller whose answer must not take longer for
   * having mailed (a reset asked for an address with an account, or without).
   */
  send(kind: string, message: MailMessage, options?: { devLink?: string; background?: boolean }): Promise<SendOutcome>;
  /** Retries the messages whose time has come, at most `limit` of them. */
  retryDue(limit?: number): Promise<RetryReport>;
  close(): Promise<void>;
}

export interface MailerOptions {
  driver: () => Promise<MailDriver>;
  store: DocumentStore;
  logger: Logger;
  from: string;
  deadlineMs: number;
  /** Whether a message's link may be logged (development with the outbox driver only). */
  logLinks: boolean;
  now?: () => number;
}

class DeadlineError extends Error {
  override name = 'DeadlineError';
}

export function createMailer(options: MailerOptions): Mailer {
  const { store, logger, deadlineMs } = options;
  const now = options.now ?? (() => Date.now());
  let driver: Promise<MailDriver> | undefined;
  const driverOf = () => (driver ??= options.driver());

  /** Hands over within the deadline, whether or not the driver honours the signal. */
  async function handOver(envelope: Envelope): Promise<void> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const overrun = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new DeadlineError(`not handed over within ${deadlineMs} ms`);
        controller.abort(error);
        reject(error);
      }, deadlineMs);
    });
    try {
      const sending = driverOf().then((d) => d.send(envelope, controller.signal));
      sending.catch(() => undefined); // settles after the deadline, if at all
      await Promise.race([sending, overrun]);
    } finally {
      clearTimeout(timer);
    }
  }

  const describe = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
  /** Hand-overs still running after their sender answered (`background`); close waits for them. */
  const inFlight = new Set<Promise<SendOutcome>>();

  /** Hands a recorded message over; the record goes once it is, or stays for a retry. Never rejects. */
  async function deliver(kind: string, envelope: Envelope, devLink: string | undefined): Promise<SendOutcome> {
    const { id } = envelope;
    try {
      await handOver(envelope);
    } catch (error) {
      logger.warn('mail not handed over: queued for a retry', { event: 'mail.deferred', kind, mailId: id, error: describe(error) });
      return 'queued';
    }
    await store.delete(MAIL_QUEUE, id).catch((error: unknown) => {
      // Sent; the retry would send it again under the same Message-ID.
      logger.warn('mail sent, but its queue record stays', { event: 'mail.record_kept', mailId: id, error: describe(error) });
    });
    const driverName = (await driverOf()).name;
    logger.info('mail sent', { event: 'mail.sent', kind, driver: driverName, mailId: id, ...(options.logLinks && devLink ? { link: devLink } : {}) });
    return 'sent';
  }

  return {
    async send(kind, message, sendOptions = {}) {
      const id = newDocumentId();
      const created = now();
      const envelope: Envelope = { ...message, from: options.from, id };
      const record: QueuedMail = {
        kind,
        ...message,
        from: options.from,
        attempts: 1,
        nextAttemptAt: created + deadlineMs + BACKOFF_MS[0]!,
        createdAt: new Date(created).toISOString(),
        [EXPIRES_AT]: created + QUEUE_LIFETIME_MS,
      };
      await store.create(MAIL_QUEUE, id, record);
      const delivery = deliver(kind, envelope, sendOptions.devLink);
      if (!sendOptions.background) return delivery;
      inFlight.add(delivery);
      void delivery.finally(() => inFlight.delete(delivery));
      return 'queued';
    },

    async retryDue(limit = 20) {
      const report: RetryReport = { sent: 0, deferred: 0, givenUp: 0 };
      const page = await store.query<QueuedMail>(MAIL_QUEUE, { orderBy: { field: 'nextAttemptAt', direction: 'asc' }, limit });
      for (const { id, data } of page.documents) {
        if (data.nextAttemptAt > now()) break;
        // Claim it: another instance reading it now sees it is not due.
        const claimed = await store.runTransaction(async (tx) => {
          const current = await tx.get<QueuedMail>(MAIL_QUEUE, id);
          if (!current || current.nextAttemptAt > now()) return null;
          tx.update(MAIL_QUEUE, id, { nextAttemptAt: now() + 2 * deadlineMs });
          return current;
        });
        if (!claimed) continue;
        const { kind, to, from, subject, text, html, attempts } = claimed;
        try {
          await handOver({ id, to, from, subject, text, html });
        } catch (error) {
          const wait = BACKOFF_MS[attempts];
          if (wait === undefined) {
            await store.delete(MAIL_QUEUE, id);
            logger.error('mail given up', { event: 'mail.given_up', kind, mailId: id, attempts: attempts + 1, error: describe(error) });
            report.givenUp += 1;
          } else {
            await store.update(MAIL_QUEUE, id, { attempts: attempts + 1, nextAttemptAt: now() + wait });
            logger.warn('mail retry failed', { event: 'mail.deferred', kind, mailId: id, attempts: attempts + 1, error: describe(error) });
            report.deferred += 1;
          }
          continue;
        }
        await store.delete(MAIL_QUEUE, id);
        logger.info('mail sent', { event: 'mail.sent', kind, driver: (await driverOf()).name, mailId: id, attempts: attempts + 1 });
        report.sent += 1;
      }
      return report;
    },

    async close() {
      await Promise.allSettled(inFlight);
      if (driver) await (await driver).close();
    },
  };
}
