/**
 * The mail port: a driver hands one message over (to an SMTP server, to a file, to the
 * Trigger Email extension's collection) or fails; it never decides about retries or deadlines,
 * which are the mailer's (mailer.ts). Messages carry plain text and HTML, from templates.ts.
 */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** What a driver is given: the message, its sender, a stable id (a retry sends the same id). */
export interface Envelope extends MailMessage {
  from: string;
  /** Becomes the Message-ID, so a message retried after an unclear failure is one message. */
  id: string;
}

export interface MailDriver {
  readonly name: string;
  /** Hands the message over; rejects when it could not. Stops at `signal` where it can. */
  send(envelope: Envelope, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
