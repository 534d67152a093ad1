/**
 * Every mail the API sends, in one place a fork can change: each kind's subject, plain text and
 * HTML, from the values it is given. Values are escaped for HTML; links are the API's own,
 * built from APP_URL, never from the request.
 */
import type { MailMessage } from './port.ts';

export interface TemplateValues {
  'verify-email': { link: string; hours: number };
  'registration-attempt': { signInLink: string; resetLink: string };
  'password-reset': { link: string; minutes: number };
  'password-changed': { when: string };
  'email-change': { link: string; hours: number };
  'email-change-attempt': Record<string, never>;
  'email-changed': { newEmail: string; when: string };
  'mfa-enabled': { when: string };
  'mfa-disabled': { when: string };
  'new-sign-in': { device: string; ip: string; when: string };
}

export type MailKind = keyof TemplateValues;

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

interface Parts {
  subject: string;
  /** Paragraphs of plain text. */
  lines: string[];
  /** The one button, if any. */
  action?: { label: string; link: string };
}

const TEMPLATES: { [K in MailKind]: (values: TemplateValues[K]) => Parts } = {
  'verify-email': ({ link, hours }) => ({
    subject: 'Confirm your email address',
    lines: [
      `Confirm that this address is yours to finish setting up your account. The link works once, for ${hours} hours.`,
      'If you did not create an account, ignore this mail.',
    ],
    action: { label: 'Confirm my address', link },
  }),
  'registration-attempt': ({ signInLink, resetLink }) => ({
    subject: 'Someone tried to create an account with your address',
    lines: [
      'Someone, perhaps you, tried to create an account with this email address, which already has one. Nothing was changed.',
      `If it was you, sign in instead: ${signInLink}`,
      `Forgot your password? Reset it: ${resetLink}`,
      'If it was not you, you need do nothing.',
    ],
  }),
  'password-reset': ({ link, minutes }) => ({
    subject: 'Reset your password',
    lines: [
      `Choose a new password with the link below. It works once, for ${minutes} minutes, and signs you out everywhere.`,
      'If you did not ask for this, ignore this mail: your password stays as it is.',
    ],
    action: { label: 'Choose a new password', link },
  }),
  'password-changed': ({ when }) => ({
    subject: 'Your password was changed',
    lines: [`The password of your account was changed on ${when}, and every other session was signed out.`, 'If this was not you, reset your password at once.'],
  }),
  'email-change': ({ link, hours }) => ({
    subject: 'Confirm your new email address',
    lines: [
      `Confirm that this address is yours to make it your account's address. The link works once, for ${hours} hours; until then the account keeps its old address.`,
      'If you did not ask for this, ignore this mail.',
    ],
    action: { label: 'Use this address', link },
  }),
  'email-change-attempt': () => ({
    subject: 'Someone tried to move an account to your address',
    lines: [
      'Someone tried to change the address of an account to this email address, which already has an account of its own. Nothing was changed.',
      'If it was not you, you need do nothing.',
    ],
  }),
  'email-changed': ({ newEmail, when }) => ({
    subject: 'The email address of your account was changed',
    lines: [
      `On ${when} the address of your account was changed to ${newEmail}; mail about it goes there now.`,
      'If this was not you, someone else may hold your account: contact us at once.',
    ],
  }),
  'mfa-enabled': ({ when }) => ({
    subject: 'Two-step sign-in is on',
    lines: [`Two-step sign-in was turned on for your account on ${when}; every other session was signed out.`, 'If this was not you, reset your password at once.'],
  }),
  'mfa-disabled': ({ when }) => ({
    subject: 'Two-step sign-in is off',
    lines: [`Two-step sign-in was turned off for your account on ${when}; every other session was signed out.`, 'If this was not you, reset your password at once.'],
  }),
  'new-sign-in': ({ device, ip, when }) => ({
    subject: 'A new sign-in to your account',
    lines: [`Your account was signed in to on ${when} from a device it had not been used on before: ${device}, at ${ip}.`, 'If this was not you, reset your password at once.'],
  }),
};

/** The mail of `kind` to `to`, in plain text and HTML. */
export function renderMail<K extends MailKind>(kind: K, to: string, values: TemplateValues[K]): MailMessage {
  const { subject, lines, action } = TEMPLATES[kind](values);
  const text = [...lines, ...(action ? [`${action.label}: ${action.link}`] : [])].join('\n\n');
  const paragraphs = lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('\n');
  const button = action ? `\n<p><a href="${escapeHtml(action.link)}">${escapeHtml(action.label)}</a></p>` : '';
  const html = `<!doctype html>\n<html><body>\n${paragraphs}${button}\n</body></html>\n`;
  return { to, subject, text: `${text}\n`, html };
}
