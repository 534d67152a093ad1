/**
 * The mail the API sent, read back from the outbox driver's folder (each message an .eml file,
 * parsed with mailparser as a mail client would), the links in it, and the one step most specs
 * need from it: registering an account and following its confirmation link. Not a spec itself.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { waitFor } from '../../scripts/wait.ts';
import type { Response } from './api.ts';

/** Every message in `outbox` to `address` (compared as the API stores addresses: trimmed, lower case), oldest first (file names start with the time). */
export async function mailsTo(outbox: string, address: string): Promise<ParsedMail[]> {
  const wanted = address.trim().toLowerCase();
  const files = (await readdir(outbox).catch(() => [] as string[])).filter((file) => file.endsWith('.eml')).sort();
  const mails = await Promise.all(files.map(async (file) => simpleParser(await readFile(join(outbox, file)))));
  return mails.filter((mail) => mail.to && !Array.isArray(mail.to) && mail.to.value.some((to) => to.address === wanted));
}

/** The newest message to `address` with this subject, waiting briefly for it to be written. */
export async function lastMailTo(outbox: string, address: string, subject: string | RegExp): Promise<ParsedMail> {
  let found: ParsedMail | undefined;
  await waitFor(
    async () => {
      found = (await mailsTo(outbox, address)).filter((mail) => (typeof subject === 'string' ? mail.subject === subject : subject.test(mail.subject ?? ''))).at(-1);
      return found !== undefined;
    },
    { timeoutMs: 5000, what: `a mail to ${address}: ${String(subject)}` },
  );
  return found!;
}

/** The token of the web app link to `screen` (`#/<screen>?token=...`) in the mail's text. */
export function linkToken(mail: ParsedMail, screen: string): string {
  const match = new RegExp(`#/${screen}\\?token=([A-Za-z0-9_-]{43})`).exec(mail.text ?? '');
  assert.ok(match, `no ${screen} link in: ${mail.text}`);
  return match[1]!;
}

export const VERIFY_SUBJECT = 'Confirm your email address';

interface Requester {
  outbox: string;
  request(method: string, path: string, options?: { body?: unknown }): Promise<Response>;
}

/** The account as the API shows it. */
export interface RegisteredAccount {
  id: string;
  email: string;
  emailVerified: boolean;
  roles: string[];
}

/** Registers `email` and follows the confirmation link mailed to it: a verified account, as a person who read their mail has. */
export async function registerVerified(api: Requester, email: string, password: string): Promise<RegisteredAccount> {
  const registered = await api.request('POST', '/auth/register', { body: { email, password } });
  assert.equal(registered.status, 202, registered.text);
  const token = linkToken(await lastMailTo(api.outbox, email, VERIFY_SUBJECT), 'verify-email');
  const verified = await api.request('POST', '/auth/verify-email', { body: { token } });
  assert.equal(verified.status, 200, verified.text);
  return verified.json.user as RegisteredAccount;
}
