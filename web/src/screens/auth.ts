/** Register, sign in, and the second step of a sign-in with MFA. */
import { call, login, verifyMfa } from '../api.ts';
import { field, h, onSubmit, showInfo, textOf } from '../dom.ts';

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
  return h('section', {}, h('h2', { text: 'Sign in' }), form, h('p', {}, 'New here? ', h('a', { href: '#/register', text: 'Create an account' })));
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
    await call('POST', '/auth/register', { body: { email: data.get('email'), password: data.get('password') }, bearer: false });
    showInfo('Account created. Sign in now.');
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
