/**
 * The mailer over each driver: the outbox writes .eml files any mail client opens; SMTP goes to
 * a real SMTP server on loopback (smtp-server) over STARTTLS or implicit TLS with
 * authentication, certificates verified; firestore-mail writes the Trigger Email extension's
 * document. A slow, refusing or failing server never holds the sender past the deadline, and
 * what was not handed over is kept and retried until it is; logs never carry a message's body.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { createFirestoreMailDriver } from '../../functions/src/mail/firestore-mail.ts';
import { createMailer, MAIL_QUEUE, type Mailer } from '../../functions/src/mail/mailer.ts';
import { createOutboxDriver } from '../../functions/src/mail/outbox.ts';
import type { MailDriver } from '../../functions/src/mail/port.ts';
import { createSmtpDriver } from '../../functions/src/mail/smtp.ts';
import { renderMail } from '../../functions/src/mail/templates.ts';
import type { MailConfig } from '../../functions/src/config/mail.ts';
import type { DocumentStore } from '../../functions/src/store/port.ts';
import { waitFor } from '../../scripts/wait.ts';
import { skipBecause } from '../support/skip.ts';
import { memoryStore } from '../support/stores.ts';
import { capturedLogger, makeCertificates, startSmtpServer, type CapturedLogger, type Certificates, type TestSmtpServer } from './support.ts';

const LINK = 'http://localhost:3000/verify-email#token=q5tV0pX9yZ2aB4cD6eF8gH1iJ3kL5mN7oP9rS1uW3xY';
const message = () => renderMail('verify-email', 'ada@example.com', { link: LINK, hours: 24 });
const FROM = 'bastion <no-reply@bastion.test>';
const DEADLINE_MS = 1500;

interface Harness {
  store: DocumentStore;
  log: CapturedLogger;
  clock: { now: number };
  mailer(driver: () => Promise<MailDriver>, logLinks?: boolean): Mailer;
}

async function harness(): Promise<Harness> {
  const store = memoryStore();
  const log = await capturedLogger();
  const clock = { now: Date.now() };
  return {
    store,
    log,
    clock,
    mailer: (driver, logLinks = false) => createMailer({ driver, store, logger: log.logger, from: FROM, deadlineMs: DEADLINE_MS, logLinks, now: () => clock.now }),
  };
}

const queued = async (store: DocumentStore) => (await store.query(MAIL_QUEUE, { limit: 100 })).documents;

function smtpConfig(port: number, overrides: Partial<MailConfig['smtp']> = {}): MailConfig['smtp'] {
  return { host: '127.0.0.1', port, tls: 'starttls', user: 'mailer', password: 'correct horse', ca: undefined, ...overrides };
}

describe('mail', function () {
  this.timeout(20_000);

  describe('outbox driver (the local default)', function () {
    it('writes each message as a private .eml file a mail client reads, with text and HTML, and keeps no queue record', async function () {
      const h = await harness();
      const dir = join(mkdtempSync(join(tmpdir(), 'bastion-outbox-')), 'outbox');
      const mailer = h.mailer(() => createOutboxDriver({ dir, onWritten: (file) => h.log.logger.info('mail written to the outbox', { file }) }));
      assert.equal(await mailer.send('verify-email', message(), { devLink: LINK }), 'sent');
      const files = readdirSync(dir);
      assert.equal(files.length, 1);
      assert.match(files[0]!, /\.eml$/);
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      assert.equal(statSync(join(dir, files[0]!)).mode & 0o777, 0o600);
      const parsed = await simpleParser(readFileSync(join(dir, files[0]!)));
      assert.equal(parsed.subject, 'Confirm your email address');
      assert.deepEqual(
        parsed.from?.value.map(({ name, address }) => ({ name, address })),
        [{ name: 'bastion', address: 'no-reply@bastion.test' }],
      );
      assert.equal((Array.isArray(parsed.to) ? parsed.to[0] : parsed.to)?.text, 'ada@example.com');
      assert.ok(parsed.text?.includes(LINK));
      assert.ok(String(parsed.html).includes(`href="${LINK}"`));
      assert.match(String(parsed.messageId), /^<[A-Za-z0-9]{20}@bastion>$/);
      assert.deepEqual(await queued(h.store), []);
      assert.ok(h.log.text().includes(files[0]!), 'the log names the file');
      await mailer.close();
    });

    it('logs the link only where told (development), and never the body', async function () {
      for (const logLinks of [true, false]) {
        const h = await harness();
        const dir = mkdtempSync(join(tmpdir(), 'bastion-outbox-'));
        const mailer = h.mailer(() => createOutboxDriver({ dir }), logLinks);
        await mailer.send('verify-email', message(), { devLink: LINK });
        await new Promise((resolve) => setImmediate(resolve));
        const sent = h.log.lines().find((line) => line.event === 'mail.sent');
        assert.ok(sent, h.log.text());
        assert.equal(sent.kind, 'verify-email');
        assert.equal(h.log.text().includes(LINK), logLinks, h.log.text());
        assert.ok(!h.log.text().includes('Confirm that this address'), 'no body in the logs');
      }
    });
  });

  describe('SMTP driver, against a real SMTP server on loopback', function () {
    let certificates: Certificates | null;
    let server: TestSmtpServer | undefined;

    before(function () {
      certificates = makeCertificates();
    });

    afterEach(async function () {
      await server?.close();
      server = undefined;
    });

    const requireCertificates = (ctx: Mocha.Context): Certificates => certificates ?? skipBecause(ctx, 'openssl is not installed, so no test certificate can be made');

    const authenticated = (tls: Certificates, extra: Record<string, unknown> = {}) =>
      startSmtpServer({
        key: tls.keyPem,
        cert: tls.certPem,
        authMethods: ['PLAIN', 'LOGIN'],
        onAuth(auth, session, callback) {
          if (!session.secure) return callback(new Error('authenticate only over TLS'));
          if (auth.username === 'mailer' && auth.password === 'correct horse') return callback(null, { user: 'mailer' });
          return callback(new Error('Invalid username or password'));
        },
        ...extra,
      });

    it('delivers over STARTTLS, verifying the certificate against SMTP_CA_FILE, authenticated', async function () {
      const tls = requireCertificates(this);
      server = await authenticated(tls);
      const h = await harness();
      const mailer = h.mailer(() => createSmtpDriver(smtpConfig(server!.port, { ca: tls.caPem }), DEADLINE_MS));
      assert.equal(await mailer.send('verify-email', message()), 'sent');
      assert.equal(server.received.length, 1);
      const [{ session, mail }] = server.received as [(typeof server.received)[0]];
      assert.equal(session.secure, true, 'upgraded to TLS before the message');
      assert.equal(session.user, 'mailer');
      assert.equal(mail.subject, 'Confirm your email address');
      assert.ok(mail.text?.includes(LINK));
      assert.ok(String(mail.html).includes(`href="${LINK}"`));
      assert.deepEqual(await queued(h.store), []);
      await mailer.close();
    });

    it('delivers over implicit TLS (port 465 style)', async function () {
      const tls = requireCertificates(this);
      server = await authenticated(tls, { secure: true });
      const h = await harness();
      const mailer = h.mailer(() => createSmtpDriver(smtpConfig(server!.port, { tls: 'implicit', ca: tls.caPem }), DEADLINE_MS));
      assert.equal(await mailer.send('verify-email', message()), 'sent');
      assert.equal(server.received[0]?.session.secure, true);
      await mailer.close();
    });

    it('refuses a certificate it cannot verify, and a server that offers no STARTTLS: nothing sent in the clear, the message kept', async function () {
      const tls = requireCertificates(this);
      server = await authenticated(tls);
      const h = await harness();
      const unverified = h.mailer(() => createSmtpDriver(smtpConfig(server!.port), DEADLINE_MS)); // no CA: not trusted
      assert.equal(await unverified.send('verify-email', message()), 'queued');
      await unverified.close();
      await server.close();

      server = await startSmtpServer({ hideSTARTTLS: true, authOptional: true });
      const plain = h.mailer(() => createSmtpDriver(smtpConfig(server!.port, { user: undefined, password: undefined }), DEADLINE_MS));
      assert.equal(await plain.send('verify-email', message()), 'queued');
      assert.equal(server.received.length, 0, 'nothing went out without TLS');
      assert.equal((await queued(h.store)).length, 2);
      await plain.close();
    });

    it('keeps a message a server refuses (wrong password), for a retry', async function () {
      const tls = requireCertificates(this);
      server = await authenticated(tls);
      const h = await harness();
      const mailer = h.mailer(() => createSmtpDriver(smtpConfig(server!.port, { ca: tls.caPem, password: 'wrong' }), DEADLINE_MS));
      assert.equal(await mailer.send('verify-email', message()), 'queued');
      const [record] = await queued(h.store);
      assert.equal(record?.data.attempts, 1);
      assert.equal(record?.data.to, 'ada@example.com');
      await new Promise((resolve) => setImmediate(resolve));
      const deferred = h.log.lines().find((line) => line.event === 'mail.deferred');
      assert.match(String(deferred?.error), /Invalid login: 535/);
      assert.ok(!h.log.text().includes(LINK), 'the link stays out of the logs');
      await mailer.close();
    });

    it('answers within the deadline when the server never greets, and when it stalls mid-message', async function () {
      const silent: Socket[] = [];
      const mute: Server = createServer((socket) => silent.push(socket));
      await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
      const h = await harness();
      try {
        const port = (mute.address() as { port: number }).port;
        const mailer = h.mailer(() => createSmtpDriver(smtpConfig(port, { tls: 'none', user: undefined, password: undefined }), 60_000));
        const started = performance.now();
        assert.equal(await mailer.send('verify-email', message()), 'queued');
        const took = performance.now() - started;
        assert.ok(took < DEADLINE_MS + 1000, `answered after ${Math.round(took)} ms (deadline ${DEADLINE_MS} ms)`);
        assert.equal(silent.length, 1, 'the server was reached');
        await mailer.close();
      } finally {
        for (const socket of silent) socket.destroy();
        await new Promise((resolve) => mute.close(resolve));
      }

      server = await startSmtpServer({
        authOptional: true,
        hideSTARTTLS: true,
        onData(stream) {
          stream.resume(); // reads the message and never answers it
        },
      });
      const stalled = h.mailer(() => createSmtpDriver(smtpConfig(server!.port, { tls: 'none', user: undefined, password: undefined }), 60_000));
      const started = performance.now();
      assert.equal(await stalled.send('verify-email', message()), 'queued');
      assert.ok(performance.now() - started < DEADLINE_MS + 1000);
      await stalled.close();
    });

    it('retries what failed once its time has come, until it is handed over; the record then goes', async function () {
      let refusals = 1;
      server = await startSmtpServer({
        authOptional: true,
        hideSTARTTLS: true,
        onData(stream, session, callback) {
          if (refusals-- > 0) {
            stream.resume();
            stream.once('end', () => callback(Object.assign(new Error('try again later'), { responseCode: 451 })));
            return;
          }
          void simpleParser(stream).then((mail) => {
            server!.received.push({ session, mail });
            callback();
          });
        },
      });
      const h = await harness();
      const mailer = h.mailer(() => createSmtpDriver(smtpConfig(server!.port, { tls: 'none', user: undefined, password: undefined }), DEADLINE_MS));
      assert.equal(await mailer.send('verify-email', message()), 'queued');
      assert.deepEqual(await mailer.retryDue(), { sent: 0, deferred: 0, givenUp: 0 }, 'not yet due');
      h.clock.now += 10 * 60_000;
      assert.deepEqual(await mailer.retryDue(), { sent: 1, deferred: 0, givenUp: 0 });
      assert.equal(server.received.length, 1);
      assert.ok(server.received[0]!.mail.text?.includes(LINK));
      assert.deepEqual(await queued(h.store), []);
      await mailer.close();
    });

    it('gives a message up after about a day of failures, and says so', async function () {
      const h = await harness();
      const failing: MailDriver = { name: 'failing', send: async () => Promise.reject(new Error('mail server down')), close: async () => {} };
      const mailer = h.mailer(async () => failing);
      assert.equal(await mailer.send('verify-email', message()), 'queued');
      let reports = 0;
      for (; reports < 20 && (await queued(h.store)).length > 0; reports += 1) {
        h.clock.now += 3 * 3_600_000;
        await mailer.retryDue();
      }
      assert.deepEqual(await queued(h.store), []);
      assert.ok(reports >= 5, `${reports} retries`);
      await new Promise((resolve) => setImmediate(resolve));
      assert.ok(h.log.lines().some((line) => line.event === 'mail.given_up'));
    });

    it('never lets two retriers send one message at once', async function () {
      const h = await harness();
      let sends = 0;
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const slow: MailDriver = {
        name: 'slow',
        send: async () => {
          sends += 1;
          await gate;
        },
        close: async () => {},
      };
      const first = h.mailer(async () => ({ name: 'down', send: async () => Promise.reject(new Error('down')), close: async () => {} }));
      assert.equal(await first.send('verify-email', message()), 'queued');
      h.clock.now += 10 * 60_000;
      const retrier = h.mailer(async () => slow);
      let settled = 0;
      const runs = [retrier.retryDue(), retrier.retryDue()].map((run) => run.finally(() => (settled += 1)));
      // One holds the message (its send waits at the gate); the other must be done without it.
      await waitFor(() => sends === 1 && settled === 1, { timeoutMs: 5000, what: 'one retrier to send and the other to finish' });
      release();
      const reports = await Promise.all(runs);
      assert.equal(sends, 1);
      assert.equal(
        reports.reduce((sum, report) => sum + report.sent, 0),
        1,
      );
    });
  });

  describe('firestore-mail driver (Firebase Trigger Email)', function () {
    it('writes the document the extension reads, once per message', async function () {
      const h = await harness();
      const mailer = h.mailer(async () => createFirestoreMailDriver(h.store, 'mail'));
      assert.equal(await mailer.send('verify-email', message()), 'sent');
      const { documents } = await h.store.query('mail', { limit: 10 });
      assert.equal(documents.length, 1);
      const { to, from, message: body } = documents[0]!.data as { to: string; from: string; message: { subject: string; text: string; html: string } };
      assert.equal(to, 'ada@example.com');
      assert.equal(from, FROM);
      assert.equal(body.subject, 'Confirm your email address');
      assert.ok(body.text.includes(LINK) && body.html.includes(LINK));
      assert.deepEqual(await queued(h.store), []);
    });
  });
});
