/**
 * `npm run admin -- --email you@example.com`: makes an account an admin, on the configured store
 * (SQLite locally; Firestore with GCLOUD_PROJECT and credentials, or the emulator). This is how
 * the first admin comes to be; after that, admins change roles through PUT /auth/users/:uid/roles.
 *
 * With no account for the email yet, it creates one: give the password on standard input
 * (`--password-stdin`), never as an argument (arguments end up in shell history and `ps`).
 */
import { text } from 'node:stream/consumers';
import { parseArgs } from 'node:util';
import { createAccount, findAccountByEmail } from '../auth/accounts.ts';
import { judgePassword } from '../auth/password-policy.ts';
import { hashPassword } from '../auth/passwords.ts';
import { setRoles } from '../auth/roles.ts';
import { email as emailSchema } from '../auth/schemas.ts';
import { loadConfig } from '../config/index.ts';
import { openStore } from '../store/index.ts';

const { values } = parseArgs({ options: { email: { type: 'string' }, 'password-stdin': { type: 'boolean', default: false } } });

function fail(message: string): never {
  process.stderr.write(`admin: ${message}\n`);
  process.exit(2);
}

if (!values.email) fail('usage: npm run admin -- --email <email> [--password-stdin]');
const parsedEmail = emailSchema.safeParse(values.email);
if (!parsedEmail.success) fail(`not an email address: ${values.email}`);
const email = parsedEmail.data;

const config = await loadConfig().catch((error: Error) => fail(error.message));
const store = await openStore(config.store);
try {
  let account = await findAccountByEmail(store, email);
  if (!account) {
    if (!values['password-stdin']) fail(`no account for ${email}: create it by giving its password on stdin (--password-stdin)`);
    const password = (await text(process.stdin)).replace(/\r?\n$/, '');
    const verdict = await judgePassword(password, [email]);
    if (!verdict.ok) fail(`password refused: ${verdict.reason}`);
    account = await createAccount(store, email, await hashPassword(password));
    if (!account) fail(`${email} was registered meanwhile; run again`);
    process.stdout.write(`created account ${account.id} for ${email}\n`);
  }
  if (account.roles.includes('admin')) {
    process.stdout.write(`${email} (${account.id}) is already an admin\n`);
  } else {
    const change = await setRoles(store, account.id, [...account.roles, 'admin']);
    process.stdout.write(`${email} (${account.id}) is now an admin: roles ${change?.to.join(', ')} (${config.store.driver} store)\n`);
  }
} finally {
  await store.close();
}
