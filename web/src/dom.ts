/** Small DOM helpers. Text goes in as text (textContent), never as HTML. */
import { ApiError } from './api.ts';
import { describe } from './messages.ts';

type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<Record<string, string | boolean | number>> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === false || value === undefined) continue;
    if (name === 'text') element.textContent = String(value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) if (child) element.append(child);
  return element;
}

export function field(label: string, input: HTMLInputElement | HTMLTextAreaElement): HTMLLabelElement {
  return h('label', {}, h('span', { text: label }), input);
}

const notice = () => document.getElementById('notice') as HTMLParagraphElement;

/** A mistake the person can fix, said in the app's own words. */
export class UserMistake extends Error {}

/** Shows an error (or any failure) in words, with field details when the API gave them. */
export function showError(error: unknown): void {
  const box = notice();
  box.className = '';
  if (error instanceof UserMistake) {
    box.textContent = error.message;
  } else if (error instanceof ApiError) {
    const details = Array.isArray(error.details)
      ? (error.details as { path?: string; message?: string }[]).map((d) => `${d.path ? `${d.path}: ` : ''}${d.message ?? ''}`).join('; ')
      : '';
    box.textContent = describe(error) + (details ? ` ${details}` : '');
  } else {
    box.textContent = 'Something went wrong in the app. Reload the page.';
  }
  box.hidden = false;
}

export function showInfo(text: string): void {
  const box = notice();
  box.className = 'info';
  box.textContent = text;
  box.hidden = false;
}

export function clearNotice(): void {
  notice().hidden = true;
}

/** Runs an action with these buttons disabled; failures are shown, not thrown. */
async function run(buttons: Iterable<HTMLButtonElement>, action: () => Promise<void>): Promise<void> {
  for (const button of buttons) button.disabled = true;
  clearNotice();
  try {
    await action();
  } catch (error) {
    showError(error);
  } finally {
    for (const button of buttons) button.disabled = false;
  }
}

/** A text field of a submitted form ('' when absent; a file field is not text). */
export function textOf(data: FormData, name: string): string {
  const value = data.get(name);
  return typeof value === 'string' ? value : '';
}

/** A form's action, with its buttons disabled while it runs. */
export function onSubmit(form: HTMLFormElement, action: (data: FormData) => Promise<void>): HTMLFormElement {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void run(form.querySelectorAll('button'), () => action(new FormData(form)));
  });
  return form;
}

/** A button's action, with the button disabled while it runs. */
export function onClick(button: HTMLButtonElement, action: () => Promise<void>): HTMLButtonElement {
  button.addEventListener('click', () => void run([button], action));
  return button;
}
