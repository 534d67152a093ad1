/**
 * The account: its address (a new confirmation link while it is not confirmed; a move to
 * another), its password, and two-step sign-in (TOTP) set-up, with recovery codes shown once.
 */
import { account, call, forget } from '../api.ts';
import { field, h, onClick, onSubmit, showError, showInfo, textOf } from '../dom.ts';
import { newPasswordField } from './auth.ts';

const currentPasswordField = () => field('Current password', h('input', { name: 'currentPassword', type: 'password', autocomplete: 'current-password', required: true }));

function changeEmailForm(): HTMLFormElement {
  const form = h(
    'form',
    { 'aria-label': 'Change your email address' },
    field('New email address', h('input', { name: 'newEmail', type: 'email', autocomplete: 'email', required: true })),
    currentPasswordField(),
    h('button', { type: 'submit', text: 'Change address' }),
  );
  return onSubmit(form, async (data) => {
    const newEmail = textOf(data, 'newEmail').trim();
    await call('POST', '/auth/email/change', { body: { newEmail, currentPassword: data.get('currentPassword') } });
    showInfo(`We sent a link to ${newEmail}: follow it to make it your address. Until then your account keeps ${account?.email ?? 'its address'}.`);
    form.reset();
  });
}

function changePasswordForm(): HTMLFormElement {
  const form = h(
    'form',
    { 'aria-label': 'Change your password' },
    currentPasswordField(),
    newPasswordField('newPassword'),
    h('button', { type: 'submit', text: 'Change password' }),
  );
  return onSubmit(form, async (data) => {
    await call('POST', '/auth/password/change', { body: { currentPassword: data.get('currentPassword'), newPassword: data.get('newPassword') } });
    showInfo('Your password is changed; every other session of your account has ended.');
    form.reset();
  });
}

interface SessionRow {
  id: string;
  lastUsedAt: string;
  ip: string | null;
  device: string;
  current: boolean;
}

/** The account's sessions, each with a button that ends it, and one that ends all but this one. */
function sessionsPanel(): HTMLElement {
  const panel = h('section', { 'aria-label': 'Sessions' }, h('h3', { text: 'Where you are signed in' }));
  const list = h('ul', { class: 'sessions' });
  const load = async () => {
    const { sessions } = await call<{ sessions: SessionRow[] }>('GET', '/auth/sessions');
    list.replaceChildren(
      ...sessions.map((session) => {
        const when = new Date(session.lastUsedAt).toLocaleString();
        const row = h('li', {}, `${session.device}${session.ip ? `, ${session.ip}` : ''}, last used ${when}${session.current ? ' (this session)' : ''} `);
        if (!session.current) {
          const end = h('button', { type: 'button', text: 'End', 'aria-label': `End the session of ${session.device}` });
          onClick(end, async () => {
            await call('DELETE', `/auth/sessions/${session.id}`);
            showInfo(`Ended the session of ${session.device}.`);
            await load();
          });
          row.append(end);
        }
        return row;
      }),
    );
  };
  const endOthers = h('button', { type: 'button', text: 'End all other sessions' });
  onClick(endOthers, async () => {
    const { ended } = await call<{ ended: number }>('DELETE', '/auth/sessions');
    showInfo(ended === 1 ? 'Ended 1 other session.' : `Ended ${ended} other sessions.`);
    await load();
  });
  panel.append(list, endOthers);
  void load().catch(showError);
  return panel;
}

/** The account's data as a JSON file, and leaving: the account deleted with everything in it. */
function dataPanel(): HTMLElement {
  const download = h('button', { type: 'button', text: 'Download my data' });
  onClick(download, async () => {
    const data = await call<Blob>('GET', '/auth/account/export', { blob: true });
    const link = h('a', { download: 'account-export.json' });
    link.href = URL.createObjectURL(data);
    link.click();
    URL.revokeObjectURL(link.href);
  });
  const remove = h(
    'form',
    { 'aria-label': 'Delete your account' },
    h('p', { text: 'Deleting your account removes it with every item and upload in it, and signs you out everywhere. It cannot be undone.' }),
    currentPasswordField(),
    h('button', { type: 'submit', text: 'Delete my account' }),
  );
  onSubmit(remove, async (data) => {
    await call('POST', '/auth/account/delete', { body: { currentPassword: data.get('currentPassword') } });
    forget();
    showInfo('Your account and everything in it are deleted.');
    location.hash = '#/login';
  });
  return h('section', { 'aria-label': 'Your data' }, h('h3', { text: 'Your data' }), download, remove);
}

export function accountScreen(): HTMLElement {
  const section = h('section', {}, h('h2', { text: 'Account' }), h('p', { text: `Signed in as ${account?.email ?? ''}` }));
  if (account?.firebase) {
    section.append(h('p', { text: 'You signed in with Firebase: your password, second factor and sessions are managed with Firebase Auth, not here.' }));
    if (!account.emailVerified) section.append(h('p', { text: 'Your address is not confirmed with Firebase yet: until it is, you can look but not change anything.' }));
    return section;
  }
  if (account && !account.emailVerified) {
    const resend = h('button', { type: 'button', text: 'Send the confirmation link again' });
    onClick(resend, async () => {
      await call('POST', '/auth/verify-email/resend');
      showInfo(`We sent a new link to ${account?.email ?? 'your address'}.`);
    });
    // A mistyped address is corrected here: the link goes to the new one.
    section.append(h('p', { text: 'Your address is not confirmed yet: until it is, you can look but not change anything.' }), resend, changeEmailForm());
    return section;
  }
  section.append(sessionsPanel(), changeEmailForm(), changePasswordForm(), dataPanel());
  if (account?.mfaEnabled) {
    section.append(h('p', { text: 'Two-step sign-in is on.' }));
    return section;
  }
  const start = h('button', { type: 'button', text: 'Set up two-step sign-in' });
  onClick(start, async () => {
    const enrollment = await call<{ secret: string; otpauthUri: string; qrCode: string }>('POST', '/auth/mfa/enroll');
    const qr = h('img', { class: 'qr', alt: 'QR code for your authenticator app' });
    qr.src = enrollment.qrCode; // a data: URL the API made
    const activate = h(
      'form',
      { 'aria-label': 'Confirm two-step sign-in' },
      field('Code from the app', h('input', { name: 'code', autocomplete: 'one-time-code', required: true, inputmode: 'numeric' })),
      h('button', { type: 'submit', text: 'Turn on' }),
    );
    onSubmit(activate, async (data) => {
      const answer = await call<{ recoveryCodes: string[] }>('POST', '/auth/mfa/activate', { body: { code: textOf(data, 'code').trim() } });
      if (account) account.mfaEnabled = true;
      showInfo('Two-step sign-in is on.');
      section.replaceChildren(
        h('h2', { text: 'Recovery codes' }),
        h('p', { text: 'Each works once if you lose your phone. They are shown only now: keep them somewhere safe.' }),
        h('code', { class: 'codes', 'aria-label': 'Recovery codes', text: answer.recoveryCodes.join('\n') }),
      );
    });
    section.replaceChildren(
      h('h2', { text: 'Set up two-step sign-in' }),
      h('p', { text: 'Scan the code with an authenticator app, or type the key in.' }),
      qr,
      h('p', { class: 'muted' }, 'Key: ', h('code', { 'data-secret': enrollment.secret, text: enrollment.secret })),
      activate,
    );
  });
  section.append(start);
  return section;
}
