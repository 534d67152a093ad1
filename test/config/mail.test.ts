/**
 * Mail configuration, failing closed: the outbox (files, nothing delivered) is the local
 * default and refused in production; production wants a sender, the https URL links point to,
 * and TLS for SMTP; SMTP wants a host, and a user with a password or neither.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../functions/src/config/index.ts';
import { PRODUCTION_MAIL, productionEnv } from './support.ts';

const production = (mail: Record<string, string | undefined>) => productionEnv(mail);

const SMTP = PRODUCTION_MAIL;

describe('mail configuration', function () {
  it('writes to the outbox under DATA_DIR locally, links pointing at npm start', async function () {
    const dataDir = mkdtempSync(join(tmpdir(), 'bastion-config-'));
    const { mail } = await loadConfig({ APP_ENV: 'test', DATA_DIR: dataDir });
    assert.equal(mail.driver, 'outbox');
    assert.equal(mail.outboxDir, join(dataDir, 'outbox'));
    assert.equal(mail.appUrl, 'http://localhost:3000');
    assert.equal(mail.deadlineMs, 5000);
  });

  it('takes SMTP with STARTTLS on 587 by default, implicit TLS on 465, and reads the CA file', async function () {
    const ca = join(mkdtempSync(join(tmpdir(), 'bastion-config-')), 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n');
    const { mail } = await loadConfig(await production({ ...SMTP, SMTP_USER: 'mailer', SMTP_PASSWORD: 'secret', SMTP_CA_FILE: ca, APP_URL: 'https://app.example.com/' }));
    assert.deepEqual(mail.smtp, { host: 'smtp.example.com', port: 587, tls: 'starttls', user: 'mailer', password: 'secret', ca: '-----BEGIN CERTIFICATE-----\n' });
    assert.equal(mail.appUrl, 'https://app.example.com');
    assert.equal((await loadConfig(await production({ ...SMTP, SMTP_TLS: 'implicit' }))).mail.smtp.port, 465);
    await assert.rejects(
      loadConfig(await production({ ...SMTP, SMTP_CA_FILE: '/no/such/ca.pem' })),
      (error: Error) => error instanceof ConfigError && error.message.includes('SMTP_CA_FILE'),
    );
  });

  it('takes the Trigger Email extension in production with a sender and the app URL', async function () {
    const { mail } = await loadConfig(await production({ MAIL_DRIVER: 'firestore-mail', MAIL_FROM: 'no-reply@example.com', APP_URL: 'https://app.example.com' }));
    assert.equal(mail.driver, 'firestore-mail');
    assert.equal(mail.firestoreCollection, 'mail');
  });

  const refusals: [string, Record<string, string | undefined>, RegExp][] = [
    ['the outbox (the default)', { ...SMTP, MAIL_DRIVER: undefined }, /MAIL_DRIVER=outbox/],
    ['no sender', { ...SMTP, MAIL_FROM: undefined }, /MAIL_FROM/],
    ['no app URL', { ...SMTP, APP_URL: undefined }, /APP_URL is required/],
    ['an http app URL', { ...SMTP, APP_URL: 'http://app.example.com' }, /APP_URL must be https/],
    ['SMTP without TLS', { ...SMTP, SMTP_TLS: 'none' }, /SMTP_TLS=none/],
    ['SMTP without a host', { ...SMTP, SMTP_HOST: undefined }, /SMTP_HOST/],
    ['a user without a password', { ...SMTP, SMTP_USER: 'mailer' }, /SMTP_USER and SMTP_PASSWORD/],
  ];
  for (const [what, mail, said] of refusals) {
    it(`refuses ${what} in production, naming it`, async function () {
      await assert.rejects(loadConfig(await production(mail)), (error: Error) => error instanceof ConfigError && said.test(error.message));
    });
  }

  it('refuses an SMTP driver without a host anywhere, and a driver it does not know', async function () {
    await assert.rejects(loadConfig({ APP_ENV: 'test', MAIL_DRIVER: 'smtp' }), /SMTP_HOST/);
    await assert.rejects(loadConfig({ APP_ENV: 'test', MAIL_DRIVER: 'pigeon' }), ConfigError);
  });
});
