/**
 * Admins' screen: accounts a page at a time (all, or only the disabled ones), or the one with
 * an address; each with what it is, buttons to disable or enable it and to sign it out
 * everywhere, and its recent activity from the audit log. The API asks an MFA sign-in for all of
 * it, of the last 15 minutes to act: without one, the refusal says so in words.
 */
import { account, call } from '../api.ts';
import { field, h, onClick, onSubmit, showError, showInfo, textOf } from '../dom.ts';

interface UserRow {
  id: string;
  email: string;
  emailVerified: boolean;
  roles: string[];
  mfaEnabled: boolean;
  disabled: boolean;
  createdAt: string;
}

interface AuditRow {
  kind: string;
  at: string;
  actorId: string | null;
}

/** What an account is, in a line: its roles and whatever sets it apart. */
function describeUser(user: UserRow): string {
  const marks = [user.roles.join(', '), !user.emailVerified && 'address not confirmed', user.mfaEnabled && 'two-step sign-in', user.disabled && 'disabled'];
  return `${user.email}: ${marks.filter(Boolean).join('; ')}`;
}

/** The account's last events in the audit log, newest first. */
async function activity(user: UserRow): Promise<HTMLElement> {
  const { events } = await call<{ events: AuditRow[] }>('GET', `/auth/audit?user=${user.id}&limit=10`);
  const rows = events.map((event) =>
    h('li', { text: `${new Date(event.at).toLocaleString()}: ${event.kind.replaceAll('_', ' ')}${event.actorId && event.actorId !== user.id ? ' (by an admin)' : ''}` }),
  );
  return h('ul', { 'aria-label': `Activity of ${user.email}`, class: 'muted' }, ...(rows.length > 0 ? rows : [h('li', { text: 'Nothing recorded.' })]));
}

export function adminScreen(): HTMLElement {
  const list = h('ul', { class: 'list', 'aria-label': 'Accounts' });
  const more = h('button', { type: 'button', class: 'secondary', text: 'More', hidden: true });
  let query = '';
  let cursor: string | null = null;

  const row = (user: UserRow): HTMLElement => {
    const item = h('li', {}, h('span', { text: describeUser(user) }));
    const toggle = h('button', { type: 'button', text: user.disabled ? 'Enable' : 'Disable', 'aria-label': `${user.disabled ? 'Enable' : 'Disable'} ${user.email}` });
    onClick(toggle, async () => {
      if (user.disabled) {
        await call('POST', `/auth/users/${user.id}/enable`);
        showInfo(`${user.email} can sign in again.`);
      } else {
        const { sessionsEnded } = await call<{ sessionsEnded: number }>('POST', `/auth/users/${user.id}/disable`);
        showInfo(`${user.email} is disabled; ${sessionsEnded === 1 ? '1 session' : `${sessionsEnded} sessions`} ended.`);
      }
      await load();
    });
    const signOut = h('button', { type: 'button', class: 'secondary', text: 'Sign out everywhere', 'aria-label': `Sign out ${user.email} everywhere` });
    onClick(signOut, async () => {
      const { ended } = await call<{ ended: number }>('DELETE', `/auth/users/${user.id}/sessions`);
      showInfo(`${user.email} is signed out: ${ended === 1 ? '1 session' : `${ended} sessions`} ended.`);
    });
    const history = h('button', { type: 'button', class: 'secondary', text: 'Activity', 'aria-label': `Activity of ${user.email}` });
    onClick(history, async () => {
      item.querySelector('ul')?.remove();
      item.append(await activity(user));
    });
    // The API refuses an admin disabling their own account: not offered.
    item.append(h('div', { class: 'row' }, user.id !== account?.id && toggle, signOut, history));
    return item;
  };

  /** The first page of the current search, or (`next`) the page after the ones shown. */
  const load = async (next = false) => {
    const page = await call<{ users: UserRow[]; nextCursor: string | null }>('GET', `/auth/users?${query}${next && cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    const rows = page.users.map(row);
    if (next) list.append(...rows);
    else list.replaceChildren(...(rows.length > 0 ? rows : [h('li', { text: 'No account found.' })]));
    cursor = page.nextCursor;
    more.hidden = cursor === null;
  };
  onClick(more, () => load(true));

  const search = h(
    'form',
    { 'aria-label': 'Find accounts' },
    field('Email address (exact; empty for all)', h('input', { name: 'email', type: 'email', autocomplete: 'off' })),
    h('label', { class: 'row' }, h('input', { name: 'disabledOnly', type: 'checkbox' }), 'Only disabled accounts'),
    h('button', { type: 'submit', text: 'Search' }),
  );
  onSubmit(search, async (data) => {
    const params = new URLSearchParams({ limit: '20' });
    const email = textOf(data, 'email').trim();
    if (email) params.set('email', email);
    if (data.get('disabledOnly')) params.set('status', 'disabled');
    query = params.toString();
    await load();
  });

  query = new URLSearchParams({ limit: '20' }).toString();
  void load().catch(showError);
  return h('section', {}, h('h2', { text: 'Users' }), search, list, more);
}
