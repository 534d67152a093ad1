/**
 * Retrying the mail the mailer could not hand over: `retryMail` (index.ts) runs one pass every
 * five minutes on Cloud Functions; `startMailRetries` runs one now and then every minute for the
 * local server (periodic.ts). A failed pass is logged and the next one tries again.
 */
import type { Logger } from 'winston';
import { runPeriodically, type RunningPasses } from '../periodic.ts';
import type { Mailer } from './mailer.ts';

export const MAIL_RETRY_INTERVAL_MS = 60_000;

export function startMailRetries(mailer: () => Promise<Mailer>, logger: Logger, intervalMs = MAIL_RETRY_INTERVAL_MS): RunningPasses {
  const pass = () =>
    mailer()
      .then((opened) => opened.retryDue(100))
      .then(
        (report) => {
          if (report.sent + report.deferred + report.givenUp > 0) logger.info('mail retries', { event: 'mail.retries', ...report });
        },
        (error: unknown) => {
          logger.error('mail retries failed', { event: 'mail.retries_failed', err: error });
        },
      );
  return runPeriodically(pass, intervalMs);
}
