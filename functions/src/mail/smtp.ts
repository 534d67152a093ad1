/**
 * SMTP with nodemailer: TLS from the first byte (`implicit`, port 465) or upgraded with
 * STARTTLS and required (`starttls`, port 587); certificates verified, against SMTP_CA_FILE
 * when given. Every phase has a timeout, and each send stops at the mailer's deadline (its
 * AbortSignal), so a slow server costs a request at most that long.
 */
import type { MailConfig } from '../config/mail.ts';
import type { Envelope, MailDriver } from './port.ts';

export async function createSmtpDriver(config: MailConfig['smtp'], timeoutMs: number): Promise<MailDriver> {
  const { createTransport } = await import('nodemailer');
  const transport = createTransport({
    host: config.host,
    port: config.port,
    secure: config.tls === 'implicit',
    requireTLS: config.tls === 'starttls',
    ignoreTLS: config.tls === 'none',
    ...(config.user !== undefined && config.password !== undefined ? { auth: { user: config.user, pass: config.password } } : {}),
    tls: { rejectUnauthorized: true, minVersion: 'TLSv1.2', ...(config.ca ? { ca: config.ca } : {}) },
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    dnsTimeout: timeoutMs,
  });
  return {
    name: 'smtp',
    async send(envelope: Envelope, signal: AbortSignal) {
      const { id, ...message } = envelope;
      await transport.sendMail({ ...message, messageId: `<${id}@bastion>`, signal });
    },
    async close() {
      transport.close();
    },
  };
}
