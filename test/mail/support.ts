/**
 * For the mail specs: a logger whose lines the spec reads, a certificate authority and a
 * server certificate for 127.0.0.1 made with openssl, and a real SMTP server (smtp-server) on
 * loopback that keeps what it receives. Not a spec itself.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { createLogger, type Logger } from '../../functions/src/logger.ts';

export interface CapturedLogger {
  logger: Logger;
  lines(): Record<string, any>[];
  text(): string;
}

export async function capturedLogger(): Promise<CapturedLogger> {
  const stream = new PassThrough();
  const raw: string[] = [];
  stream.on('data', (chunk: Buffer) => raw.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  const logger = await createLogger({ level: 'debug', target: 'stdout', stream });
  return { logger, lines: () => raw.map((line) => JSON.parse(line) as Record<string, any>), text: () => raw.join('\n') };
}

export interface Certificates {
  caPem: string;
  keyPem: string;
  certPem: string;
}

/** A CA, and a certificate it signed for 127.0.0.1 and localhost; null without openssl. */
export function makeCertificates(): Certificates | null {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-tls-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  try {
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=bastion test CA');
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n');
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext');
    return { caPem: readFileSync(join(dir, 'ca.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'server.key'), 'utf8'), certPem: readFileSync(join(dir, 'server.pem'), 'utf8') };
  } catch {
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Received {
  session: SMTPServerSession;
  mail: ParsedMail;
}

export interface TestSmtpServer {
  port: number;
  received: Received[];
  close(): Promise<void>;
}

/** A real SMTP server on a free loopback port; `options` as smtp-server's (TLS, auth, hooks). */
export async function startSmtpServer(options: SMTPServerOptions): Promise<TestSmtpServer> {
  const received: Received[] = [];
  const server = new SMTPServer({
    disabledCommands: [],
    logger: false,
    ...options,
    onData(stream, session, callback) {
      if (options.onData) return options.onData(stream, session, callback);
      simpleParser(stream).then(
        (mail) => {
          received.push({ session, mail });
          callback();
        },
        (error: unknown) => callback(error as Error),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as { port: number };
  return {
    port,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
