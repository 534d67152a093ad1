/**
 * `npm run admin -- --email you@example.com`: makes an account an admin (enabled, if it was
 * disabled), on the configured store
 * (SQLite locally; Firestore with GCLOUD_PROJECT and credentials, or the emulator). This is how
 * the first admin comes to be; after that, admins change roles through PUT /auth/users/:uid/roles.
 *
 * With no account for the email yet, it creates one: give the password on standard input
 * (`--password-stdin`), never as an argument (arguments end up in shell history and `ps`).
 *
 * It runs beside a running server on the same DATA_DIR (the embedded store lets other processes
 * in, and waits a moment for the server's lock); what the store cannot do is said in words,
 * with what to do, and exit status 1, never a stack trace.
 */
import { text } from 'node:stream/consumers';
import { parseArgs } from 'node:util';
import { createAccount, findAccountByEmail } from '../auth/accounts.ts';
import { judgePassword } from '../auth/password-policy.ts';
import { hashPassword } from '../auth/passwords.ts';
import { enableAccount } from '../auth/account-status.ts';
import { setRoles } from '../auth/roles.ts';
import { email as emailSchema } from '../auth/schemas.ts';
import { ConfigError, loadConfig, type Config } from '../config/index.ts';
import { StoreBusyError, StoreError, TransactionAbortedError } from '../store/errors.ts';
import { openStore } from '../store/index.ts';
import type { DocumentStore } from '../store/port.ts';

const { values } = parseArgs({ options: { email: { type: 'string' }, 'password-stdin': { type: 'boolean', default: false } } });

/** Exit status 2: the request was refused (usage, email, password); 1: the store could not do it. */
function fail(message: string, status = 2): never {
  process.stderr.write(`admin: ${message}\n`);
  process.exit(status);
}

/** What went wrong with the store, in words, with what to do; undefined for anything else (a bug: its stack is wanted). */
function storeTrouble(error: unknown, config: Config): string | undefined {
  if (error instanceof ConfigError) return error.message;
  if (error instanceof StoreBusyError) {
    return [
      `the database ${config.store.sqlitePath} stayed locked by another process for more than ${config.store.deadlineMs} ms.`,
      `Is the server (npm start) running on this DATA_DIR (${config.dataDir}) and busy, or another npm run admin?`,
      'Run this again in a moment; if it keeps happening, stop the server, run this, then start the server again.',
    ].join('\n  ');
  }
  if (error instanceof TransactionAbortedError) return `the ${config.store.driver} store kept conflicting with other writers; run this again (it carries on where it stopped)`;
  if (error instanceof StoreError) return `the ${config.store.driver} store failed: ${error.message}; run this again once it answers (it carries on where it stopped)`;
  return undefined;
}

if (!values.email) fail('usage: npm run admin -- --email <email> [--password-stdin]');
const parsedEmail = emailSchema.safeParse(values.email);
if (!parsedEmail.success) fail(`not an email address: ${values.email}`);
const email = parsedEmail.data;

const config = await loadConfig().catch((error: unknown) => fail((error as Error).message));
const store: DocumentStore = await openStore(config.store).catch((error: unknown) => {
  const words = storeTrouble(error, config);
  if (words === undefined) throw error;
  return fail(words, 1);
});
try {
  let account = await findAccountByEmail(store, email);
  if (!account) {
    if (!values['password-stdin']) fail(`no account for ${email}: create it by giving its password on stdin (--password-stdin)`);
    const password = (await text(process.stdin)).replace(/\r?\n$/, '');
    const verdict = await judgePassword(password, [email]);
    if (!verdict.ok) fail(`password refused: ${verdict.reason}`);
    // The operator vouches for the address: no verification mail.
    account = await createAccount(store, email, await hashPassword(password), { emailVerified: true });
    if (!account) fail(`${email} was registered meanwhile; run again`);
    process.stdout.write(`created account ${account.id} for ${email}\n`);
  }
  if (account.roles.includes('admin')) {
    process.stdout.write(`${email} (${account.id}) is already an admin\n`);
  } else {
    const change = await setRoles(store, account.id, [...account.roles, 'admin']);
    process.stdout.write(`${email} (${account.id}) is now an admin: roles ${change?.to.join(', ')} (${config.store.driver} store)\n`);
  }
  // The operator's way back in when the admin accounts' owners cannot reach each other.
  if (account.disabled && (await enableAccount(store, account.id))?.changed) process.stdout.write(`${email} (${account.id}) was disabled: enabled again\n`);
} catch (error) {
  const words = storeTrouble(error, config);
  if (words === undefined) throw error;
  await store.close().catch(() => undefined);
  fail(words, 1);
} finally {
  await store.close();
}
