/**
 * The web app: screens by the URL's fragment (#/items…), the session restored from the cookie
 * after a reload, and every failure shown in words.
 */
import { account, loadWebConfig, logout, renew, signedIn } from './api.ts';
import { clearNotice, onClick, showError } from './dom.ts';
import { accountScreen } from './screens/account.ts';
import { adminScreen } from './screens/admin.ts';
import { confirmEmailScreen, forgotPasswordScreen, loginScreen, mfaScreen, registerScreen, resetPasswordScreen, verifyEmailScreen } from './screens/auth.ts';
import { itemsScreen } from './screens/items.ts';
import { uploadsScreen } from './screens/uploads.ts';

/** Screens anyone may open; a link's parameters follow the screen's name (`#/verify-email?token=...`). */
const PUBLIC: Record<string, (go: (hash: string) => void, params: URLSearchParams) => HTMLElement> = {
  '#/login': loginScreen,
  '#/register': registerScreen,
  '#/mfa': mfaScreen,
  '#/verify-email': verifyEmailScreen,
  '#/forgot-password': forgotPasswordScreen,
  '#/reset-password': resetPasswordScreen,
  '#/confirm-email': confirmEmailScreen,
};
const PRIVATE: Record<string, () => HTMLElement> = {
  '#/items': itemsScreen,
  '#/uploads': uploadsScreen,
  '#/account': accountScreen,
  '#/admin': adminScreen,
};

function go(hash: string): void {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function render(): void {
  const screen = document.getElementById('screen')!;
  const nav = document.getElementById('nav')!;
  const [hash = '#/items', query = ''] = (location.hash || '#/items').split('?', 2);
  nav.hidden = !signedIn();
  // Only a convenience: the API decides who may manage accounts.
  document.getElementById('admin-link')!.hidden = !account?.roles.includes('admin');
  const open = PUBLIC[hash];
  if (open) {
    screen.replaceChildren(open(go, new URLSearchParams(query)));
    return;
  }
  if (!signedIn()) return go('#/login');
  screen.replaceChildren((PRIVATE[hash] ?? itemsScreen)());
}

onClick(document.getElementById('logout') as HTMLButtonElement, async () => {
  try {
    await logout();
  } finally {
    go('#/login');
  }
});

window.addEventListener('hashchange', () => render());

// After a reload the access token is gone; the session cookie (or a Firebase user's refresh
// token, kept for the tab) brings it back.
void loadWebConfig()
  .then(renew)
  .then(() => {
    clearNotice();
    render();
  }, showError);
