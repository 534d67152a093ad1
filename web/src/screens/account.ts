/** The account: its address (and a new confirmation link while it is not confirmed), and two-step sign-in (TOTP) set-up, with recovery codes shown once. */
import { account, call } from '../api.ts';
import { field, h, onClick, onSubmit, showInfo, textOf } from '../dom.ts';

export function accountScreen(): HTMLElement {
  const section = h('section', {}, h('h2', { text: 'Account' }), h('p', { text: `Signed in as ${account?.email ?? ''}` }));
  if (account && !account.emailVerified) {
    const resend = h('button', { type: 'button', text: 'Send the confirmation link again' });
    onClick(resend, async () => {
      await call('POST', '/auth/verify-email/resend');
      showInfo(`We sent a new link to ${account?.email ?? 'your address'}.`);
    });
    section.append(h('p', { text: 'Your address is not confirmed yet: until it is, you can look but not change anything.' }), resend);
    return section;
  }
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
