/** Items: a page at a time, create, edit and delete. */
import { call } from '../api.ts';
import { field, h, onClick, onSubmit, showError } from '../dom.ts';

interface Item {
  id: string;
  name: string;
  description: string;
  updatedAt: string;
}

const PAGE = 5;

export function itemsScreen(): HTMLElement {
  const list = h('ul', { class: 'list', 'aria-label': 'Items' });
  const pager = h('div', { class: 'row' });
  // Cursors of the pages seen so far: the way back.
  const cursors: (string | null)[] = [null];
  let page = 0;

  async function load(): Promise<void> {
    const cursor = cursors[page];
    const answer = await call<{ items: Item[]; nextCursor: string | null }>('GET', `/items?limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    list.replaceChildren(...answer.items.map(row));
    if (answer.items.length === 0) list.append(h('li', { class: 'muted', text: 'No items yet.' }));
    cursors[page + 1] = answer.nextCursor;
    const previous = h('button', { type: 'button', class: 'secondary', text: 'Previous', disabled: page === 0 });
    const next = h('button', { type: 'button', class: 'secondary', text: 'Next', disabled: !answer.nextCursor });
    previous.addEventListener('click', () => void ((page -= 1), reload()));
    next.addEventListener('click', () => void ((page += 1), reload()));
    pager.replaceChildren(previous, h('span', { class: 'muted', text: `Page ${page + 1}` }), next);
  }

  const reload = () => load().catch(showError);

  function row(item: Item): HTMLLIElement {
    const edit = h('button', { type: 'button', class: 'secondary', text: 'Edit' });
    const remove = h('button', { type: 'button', class: 'secondary', text: 'Delete' });
    const li = h('li', { 'data-id': item.id }, h('strong', { text: item.name }), h('span', { text: item.description }), h('div', { class: 'row' }, edit, remove));
    onClick(remove, async () => {
      await call('DELETE', `/items/${item.id}`);
      await load();
    });
    edit.addEventListener('click', () => {
      const form = h(
        'form',
        { 'aria-label': `Edit ${item.name}` },
        field('Name', h('input', { name: 'name', value: item.name, required: true })),
        field('Description', h('input', { name: 'description', value: item.description, required: true })),
        h('div', { class: 'row' }, h('button', { type: 'submit', text: 'Save' })),
      );
      onSubmit(form, async (data) => {
        await call('PATCH', `/items/${item.id}`, { body: { name: data.get('name'), description: data.get('description') } });
        await load();
      });
      li.replaceChildren(form);
    });
    return li;
  }

  const create = h(
    'form',
    { 'aria-label': 'New item' },
    field('Name', h('input', { name: 'name', required: true })),
    field('Description', h('input', { name: 'description', required: true })),
    h('button', { type: 'submit', text: 'Add item' }),
  );
  onSubmit(create, async (data) => {
    await call('POST', '/items', { body: { name: data.get('name'), description: data.get('description') } });
    create.reset();
    page = 0;
    await load();
  });

  void reload();
  return h('section', {}, h('h2', { text: 'Items' }), create, list, pager);
}
