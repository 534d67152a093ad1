/**
 * Who retries queued mail: the local server's timer (a pass at once, then every interval,
 * never two at once, stopped with the server) and, deployed, the scheduled `retryMail`
 * function — here its own `run()`, as Cloud Scheduler's call reaches it, in a fresh process on
 * a DATA_DIR with a message whose time has come.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleParser } from 'mailparser';
import { MAIL_QUEUE, type Mailer } from '../../functions/src/mail/mailer.ts';
import { startMailRetries } from '../../functions/src/mail/retries.ts';
import { renderMail } from '../../functions/src/mail/templates.ts';
import { declaredIndexes } from '../../functions/src/store/index.ts';
import { SqliteDocumentStore } from '../../functions/src/store/sqlite.ts';
import { waitFor } from '../../scripts/wait.ts';
import { localEnv } from '../support/local-env.ts';
import { capturedLogger } from './support.ts';

const ENTRY = fileURLToPath(new URL('../../functions/src/index.ts', import.meta.url));

describe('mail retries', function () {
  this.timeout(30_000);

  it('locally: a pass at once, then one every interval, never two at once; stop waits for the pass in flight', async function () {
    const { logger } = await capturedLogger();
    let passes = 0;
    let running = 0;
    let most = 0;
    let release: (() => void) | undefined;
    const mailer = {
      retryDue: async () => {
        passes += 1;
        running += 1;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => (release = resolve));
        running -= 1;
        return { sent: 0, deferred: 0, givenUp: 0 };
      },
    } as unknown as Mailer;
    const retries = startMailRetries(async () => mailer, logger, 20);
    await waitFor(() => passes === 1, { timeoutMs: 2000, what: 'the first pass' });
    // Intervals go by while the first pass is held: none starts a second.
    const held = performance.now();
    await waitFor(() => performance.now() - held > 100, { timeoutMs: 2000, what: 'five intervals' });
    assert.equal(passes, 1);
    release!();
    await waitFor(() => passes === 2, { timeoutMs: 2000, what: 'the next pass, one interval later' });
    const stopped = retries.stop();
    release!();
    await stopped;
    assert.equal(most, 1);
    assert.equal(running, 0, 'stop waited for the pass in flight');
  });

  it('deployed: the scheduled retryMail hands over what is due, and the queue is empty after', async function () {
    const dataDir = await mkdtemp(join(tmpdir(), 'bastion-retry-mail-'));
    try {
      const seeded = new SqliteDocumentStore({ path: join(dataDir, 'bastion.sqlite'), indexes: declaredIndexes() });
      const message = renderMail('password-changed', 'ada@example.com', { when: '1 December 2026, 10:00 UTC' });
      await seeded.create(MAIL_QUEUE, 'AAAAAAAAAAAAAAAAAAAA', {
        kind: 'password-changed',
        ...message,
        from: 'bastion <no-reply@localhost>',
        attempts: 1,
        nextAttemptAt: Date.now() - 1000,
        createdAt: new Date().toISOString(),
        expiresAt: Date.now() + 3_600_000,
      });
      await seeded.close();

      const env = await localEnv(dataDir, { MAIL_DRIVER: 'outbox' });
      const run = `const { retryMail } = await import(${JSON.stringify(ENTRY)}); await retryMail.run({ scheduleTime: new Date().toISOString(), jobName: 'spec' });`;
      const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', run], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 0, output);

      const files = readdirSync(join(dataDir, 'outbox'));
      assert.equal(files.length, 1, output);
      const mail = await simpleParser(readFileSync(join(dataDir, 'outbox', files[0]!)));
      assert.equal(mail.subject, 'Your password was changed');
      assert.equal(mail.messageId, '<AAAAAAAAAAAAAAAAAAAA@bastion>', 'the retry keeps the message id');
      const after = new SqliteDocumentStore({ path: join(dataDir, 'bastion.sqlite'), indexes: declaredIndexes() });
      assert.deepEqual((await after.query(MAIL_QUEUE, { limit: 10 })).documents, []);
      await after.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
