/** Register, confirm the address, sign in, and the second step of a sign-in with MFA. */
import { call, confirmEmailChange, login, signedIn, verifyEmail, verifyMfa } from '../api.ts';
import { field, h, onSubmit, showError, showInfo, textOf } from '../dom.ts';

type Go = (hash: string) => void;

let pendingChallenge: string | null = null;

export function loginScreen(go: Go): HTMLElement {
  const form = h(
    'form',
    { 'aria-label': 'Sign in' },
    field('Email', h('input', { name: 'email', type: 'email', autocomplete: 'username', required: true })),
    field('Password', h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    h('button', { type: 'submit', text: 'Sign in' }),
  );
  onSubmit(form, async (data) => {
    const result = await login(textOf(data, 'email'), textOf(data, 'password'));
    if (result.kind === 'mfa') {
      pendingChallenge = result.challenge;
      go('#/mfa');
    } else {
      go('#/items');
    }
  });
  return h(
    'section',
    {},
    h('h2', { text: 'Sign in' }),
    form,
    h('p', {}, 'New here? ', h('a', { href: '#/register', text: 'Create an account' })),
    h('p', {}, h('a', { href: '#/forgot-password', text: 'Forgot your password?' })),
  );
}

export function registerScreen(go: Go): HTMLElement {
  const form = h(
    'form',
    { 'aria-label': 'Create an account' },
    field('Email', h('input', { name: 'email', type: 'email', autocomplete: 'username', required: true })),
    field('Password (12 characters or more, hard to guess)', h('input', { name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 12 })),
    h('button', { type: 'submit', text: 'Create account' }),
  );
  onSubmit(form, async (data) => {
    const email = textOf(data, 'email');
    await call('POST', '/auth/register', { body: { email, password: data.get('password') }, bearer: false });
    // The same words whether or not the address had an account: the mail tells its owner which.
    showInfo(`We sent a mail to ${email.trim()}. Follow its link to confirm your address; you can sign in meanwhile.`);
    go('#/login');
  });
  return h('section', {}, h('h2', { text: 'Create an account' }), form, h('p', {}, h('a', { href: '#/login', text: 'I have an account' })));
}

export function mfaScreen(go: Go): HTMLElement {
  const challenge = pendingChallenge;
  if (!challenge) {
    go('#/login');
    return h('section');
  }
  const form = h(
    'form',
    { 'aria-label': 'Two-step sign-in' },
    field('Code from your authenticator app, or a recovery code', h('input', { name: 'code', autocomplete: 'one-time-code', required: true })),
    h('button', { type: 'submit', text: 'Verify' }),
  );
  onSubmit(form, async (data) => {
    await verifyMfa(challenge, textOf(data, 'code').trim());
    pendingChallenge = null;
    go('#/items');
  });
  return h('section', {}, h('h2', { text: 'Two-step sign-in' }), form);
}

/** Where a confirmation link leads (`#/verify-email?token=...`): the token goes to the API once. */
export function verifyEmailScreen(go: Go, params: URLSearchParams): HTMLElement {
  const section = h('section', {}, h('h2', { text: 'Confirm your address' }), h('p', { text: 'Confirming…' }));
  const token = params.get('token') ?? '';
  // Out of the address bar and the history: the link works once, and is spent now.
  history.replaceState(null, '', '#/verify-email');
  verifyEmail(token).then(
    () => {
      showInfo('Your address is confirmed.');
      go(signedIn() ? '#/items' : '#/login');
    },
    (error: unknown) => {
      section.replaceChildren(h('h2', { text: 'Confirm your address' }), h('p', { text: 'This link did not work. Sign in and ask for a new one from your account page.' }));
      showError(error);
    },
  );
  return section;
}

export function forgotPasswordScreen(go: Go): HTMLElement {
  const form = h(
    'form',
    { 'aria-label': 'Reset your password' },
    field('Email', h('input', { name: 'email', type: 'email', autocomplete: 'username', required: true })),
    h('button', { type: 'submit', text: 'Send me a link' }),
  );
  onSubmit(form, async (data) => {
    const email = textOf(data, 'email');
    await call('POST', '/auth/password/forgot', { body: { email }, bearer: false });
    // The same words whether or not the address has an account.
    showInfo(`If ${email.trim()} has an account, a link to choose a new password is on its way. It works once, for 30 minutes.`);
    go('#/login');
  });
  return h('section', {}, h('h2', { text: 'Reset your password' }), form, h('p', {}, h('a', { href: '#/login', text: 'Back to sign in' })));
}

/** Where a reset link leads (`#/reset-password?token=...`): a new password, and a second factor if the account has one. */
export function resetPasswordScreen(go: Go, params: URLSearchParams): HTMLElement {
  const token = params.get('token') ?? '';
  history.replaceState(null, '', '#/reset-password');
  const form = h(
    'form',
    { 'aria-label': 'Choose a new password' },
    field('New password (12 characters or more, hard to guess)', h('input', { name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 12 })),
    field('If two-step sign-in is on: a code from your authenticator app, or a recovery code', h('input', { name: 'code', autocomplete: 'one-time-code' })),
    h('button', { type: 'submit', text: 'Set the new password' }),
  );
  onSubmit(form, async (data) => {
    const code = textOf(data, 'code').trim();
    const factor = code === '' ? {} : /^\d{6}$/.test(code) ? { code } : { recoveryCode: code };
    await call('POST', '/auth/password/reset', { body: { token, password: data.get('password'), ...factor }, bearer: false });
    showInfo('Your password is changed, and every session of your account has ended. Sign in with the new one.');
    go('#/login');
  });
  return h('section', {}, h('h2', { text: 'Choose a new password' }), form);
}

/** Where the link mailed to a new address leads (`#/confirm-email?token=...`). */
export function confirmEmailScreen(go: Go, params: URLSearchParams): HTMLElement {
  const section = h('section', {}, h('h2', { text: 'Confirm your new address' }), h('p', { text: 'Confirming…' }));
  const token = params.get('token') ?? '';
  history.replaceState(null, '', '#/confirm-email');
  confirmEmailChange(token).then(
    (email) => {
      showInfo(`Your account's address is now ${email}.`);
      go(signedIn() ? '#/account' : '#/login');
    },
    (error: unknown) => {
      section.replaceChildren(h('h2', { text: 'Confirm your new address' }), h('p', { text: 'This link did not work. Sign in and ask again from your account page.' }));
      showError(error);
    },
  );
  return section;
}
