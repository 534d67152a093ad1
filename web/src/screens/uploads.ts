/** Uploads: one image at a time with a progress bar; stored images shown back. */
import { call, uploadFile } from '../api.ts';
import { UserMistake, h, onClick, showError, showInfo } from '../dom.ts';

interface Upload {
  id: string;
  originalName: string;
  contentType: string;
  size: number;
  width: number;
  height: number;
}

/** The stored bytes, fetched with the access token and shown from memory (blob: URL). */
async function preview(upload: Upload): Promise<HTMLImageElement> {
  const bytes = await call<Blob>('GET', `/uploads/${upload.id}/content`, { blob: true });
  const image = h('img', { class: 'preview', alt: upload.originalName, width: upload.width, height: upload.height });
  image.src = URL.createObjectURL(bytes);
  return image;
}

export function uploadsScreen(): HTMLElement {
  const input = h('input', { type: 'file', name: 'file', accept: 'image/png,image/jpeg,image/gif', 'aria-label': 'Image file' });
  const progress = h('progress', { max: 1, value: 0, hidden: true });
  const button = h('button', { type: 'button', text: 'Upload' });
  const list = h('ul', { class: 'list', 'aria-label': 'Uploads' });

  async function row(upload: Upload): Promise<HTMLLIElement> {
    const remove = h('button', { type: 'button', class: 'secondary', text: 'Delete' });
    onClick(remove, async () => {
      await call('DELETE', `/uploads/${upload.id}`);
      await load();
    });
    const meta = `${upload.contentType}, ${upload.width}×${upload.height}, ${upload.size} bytes`;
    return h(
      'li',
      { 'data-id': upload.id },
      h('strong', { text: upload.originalName }),
      h('span', { class: 'muted', text: meta }),
      await preview(upload),
      h('div', { class: 'row' }, remove),
    );
  }

  async function load(): Promise<void> {
    const answer = await call<{ uploads: Upload[] }>('GET', '/uploads?limit=10');
    list.replaceChildren(...(await Promise.all(answer.uploads.map(row))));
    if (answer.uploads.length === 0) list.append(h('li', { class: 'muted', text: 'No uploads yet.' }));
  }

  onClick(button, async () => {
    const file = input.files?.[0];
    if (!file) throw new UserMistake('Choose an image file first.');
    progress.hidden = false;
    progress.value = 0;
    const stored = await uploadFile<Upload>(file, (fraction) => (progress.value = fraction));
    progress.value = 1;
    showInfo(`Stored ${stored.originalName}.`);
    input.value = '';
    await load();
  });

  load().catch(showError);
  return h('section', {}, h('h2', { text: 'Uploads' }), h('div', { class: 'row' }, input, button), progress, list);
}
