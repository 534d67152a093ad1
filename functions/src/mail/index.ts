/**
 * The configured mail driver and the mailer over it. Nodemailer loads with the first message,
 * never with the function (and never for firestore-mail, which writes a document).
 */
import type { Config } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import type { DocumentStore } from '../store/port.ts';
import { createMailer, type Mailer } from './mailer.ts';
import type { MailDriver } from './port.ts';

async function openDriver(config: Config['mail'], store: DocumentStore, logger: Logger): Promise<MailDriver> {
  switch (config.driver) {
    case 'outbox': {
      const { createOutboxDriver } = await import('./outbox.ts');
      return createOutboxDriver({ dir: config.outboxDir, onWritten: (file) => logger.info('mail written to the outbox', { event: 'mail.outbox', file }) });
    }
    case 'smtp': {
      const { createSmtpDriver } = await import('./smtp.ts');
      return createSmtpDriver(config.smtp, config.deadlineMs);
    }
    case 'firestore-mail': {
      const { createFirestoreMailDriver } = await import('./firestore-mail.ts');
      return createFirestoreMailDriver(store, config.firestoreCollection);
    }
  }
}

export function openMailer(config: Pick<Config, 'mail' | 'env'>, store: DocumentStore, logger: Logger): Mailer {
  return createMailer({
    driver: () => openDriver(config.mail, store, logger),
    store,
    logger,
    from: config.mail.from,
    deadlineMs: config.mail.deadlineMs,
    logLinks: config.env === 'development' && config.mail.driver === 'outbox',
  });
}
