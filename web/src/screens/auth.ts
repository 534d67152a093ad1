/** Register, confirm the address, sign in, and the second step of a sign-in with MFA. */
import { call, confirmEmailChange, login, loginWithFirebase, offersFirebaseSignIn, secondFactor, signedIn, verifyEmail, verifyMfa } from '../api.ts';
import { field, h, onSubmit, showError, showInfo, textOf } from '../dom.ts';

type Go = (hash: string) => void;

let pendingChallenge: string | null = null;

/** An email and a password, named (and submitted) as `name`. */
function signInForm(name: string): HTMLFormElement {
  return h(
    'form',
    { 'aria-label': name },
    field('Email', h('input', { name: 'email', type: 'email', autocomplete: 'username', required: true })),
    field('Password', h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    h('button', { type: 'submit', text: name }),
  );
}

export function loginScreen(go: Go): HTMLElement {
  const form = signInForm('Sign in');
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
    offersFirebaseSignIn() && firebaseSignInForm(go),
  );
}

/** Where the API takes Firebase ID tokens and offers it: an account of the app's Firebase project. */
function firebaseSignInForm(go: Go): HTMLElement {
  const form = signInForm('Sign in with Firebase');
  onSubmit(form, async (data) => {
    await loginWithFirebase(textOf(data, 'email').trim(), textOf(data, 'password'));
    go('#/items');
  });
  return h('section', { 'aria-label': 'Firebase account' }, h('h3', { text: 'Or with your Firebase account' }), form);
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

/** The token of a mailed link (`#/<screen>?token=...`), taken out of the address bar and the history: the link works once. */
function linkToken(screen: string, params: URLSearchParams): string {
  history.replaceState(null, '', `#/${screen}`);
  return params.get('token') ?? '';
}

/** A screen that follows a mailed link at once: `follow` spends the token; its words on success, or why not. */
function followingScreen(title: string, follow: Promise<string>, go: Go, next: string, failure: string): HTMLElement {
  const section = h('section', {}, h('h2', { text: title }), h('p', { text: 'Confirming…' }));
  follow.then(
    (done) => {
      showInfo(done);
      go(signedIn() ? next : '#/login');
    },
    (error: unknown) => {
      section.replaceChildren(h('h2', { text: title }), h('p', { text: failure }));
      showError(error);
    },
  );
  return section;
}

/** Where a confirmation link leads (`#/verify-email?token=...`): the token goes to the API once. */
export function verifyEmailScreen(go: Go, params: URLSearchParams): HTMLElement {
  const confirmed = verifyEmail(linkToken('verify-email', params)).then(() => 'Your address is confirmed.');
  return followingScreen('Confirm your address', confirmed, go, '#/items', 'This link did not work. Sign in and ask for a new one from your account page.');
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

/** A new password's field, as the reset and the change of a password ask for it. */
export const newPasswordField = (name: string) =>
  field('New password (12 characters or more, hard to guess)', h('input', { name, type: 'password', autocomplete: 'new-password', required: true, minlength: 12 }));

/** Where a reset link leads (`#/reset-password?token=...`): a new password, and a second factor if the account has one. */
export function resetPasswordScreen(go: Go, params: URLSearchParams): HTMLElement {
  const token = linkToken('reset-password', params);
  const form = h(
    'form',
    { 'aria-label': 'Choose a new password' },
    newPasswordField('password'),
    field('If two-step sign-in is on: a code from your authenticator app, or a recovery code', h('input', { name: 'code', autocomplete: 'one-time-code' })),
    h('button', { type: 'submit', text: 'Set the new password' }),
  );
  onSubmit(form, async (data) => {
    const code = textOf(data, 'code').trim();
    const factor = code === '' ? {} : secondFactor(code);
    await call('POST', '/auth/password/reset', { body: { token, password: data.get('password'), ...factor }, bearer: false });
    showInfo('Your password is changed, and every session of your account has ended. Sign in with the new one.');
    go('#/login');
  });
  return h('section', {}, h('h2', { text: 'Choose a new password' }), form);
}

/** Where the link mailed to a new address leads (`#/confirm-email?token=...`). */
export function confirmEmailScreen(go: Go, params: URLSearchParams): HTMLElement {
  const moved = confirmEmailChange(linkToken('confirm-email', params)).then((email) => `Your account's address is now ${email}.`);
  return followingScreen('Confirm your new address', moved, go, '#/account', 'This link did not work. Sign in and ask again from your account page.');
}
