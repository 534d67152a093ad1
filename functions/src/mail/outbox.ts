/**
 * The local default: each message written as an RFC 5322 `.eml` file (nodemailer builds it)
 * under `$DATA_DIR/outbox/`, which any mail client opens. Nothing is delivered, so production
 * refuses this driver (config/mail.ts). Files are private (0600 in a 0700 folder): they hold
 * the links that sign people in.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Envelope, MailDriver } from './port.ts';

export interface OutboxOptions {
  dir: string;
  /** Told the file of each message written (the mailer logs it). */
  onWritten?: (file: string, envelope: Envelope) => void;
}

/** The time first, so `ls` lists the newest last; the id keeps names unique. */
const fileNameOf = (envelope: Envelope) => `${new Date().toISOString().replace(/[:.]/g, '-')}-${envelope.id}.eml`;

export async function createOutboxDriver(options: OutboxOptions): Promise<MailDriver> {
  const { default: MailComposer } = await import('nodemailer/lib/mail-composer');
  return {
    name: 'outbox',
    async send(envelope, signal) {
      signal.throwIfAborted();
      const { id, ...message } = envelope;
      const bytes = await new MailComposer({ ...message, messageId: `<${id}@bastion>` }).compile().build();
      await mkdir(options.dir, { recursive: true, mode: 0o700 });
      const file = join(options.dir, fileNameOf(envelope));
      await writeFile(file, bytes, { mode: 0o600, flag: 'wx', signal });
      options.onWritten?.(file, envelope);
    },
    async close() {},
  };
}
