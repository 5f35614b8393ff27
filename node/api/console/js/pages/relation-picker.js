// A dialog to choose related records: search the related collection, tick records.
import { h, fill, debounce } from '../dom.js';
import { api } from '../api.js';
import { recordLabel } from '../store.js';
import { openDialog } from '../components/dialog.js';

const PER_PAGE = 20;

/** Resolves to the chosen ids, or null when the dialog is closed without choosing. */
export function pickRelations({ collection, multiple, selected, labels }) {
  return new Promise((resolve) => {
    const chosen = new Set(selected);
    let result = null;
    const search = h('input', { type: 'search', 'aria-label': `Search ${collection.name}`, placeholder: 'Search' });
    const list = h('div', { role: 'group', 'aria-label': 'Records' });
    const message = h('p', { class: 'muted', role: 'status' });
    const textFields = collection.fields.filter((f) => ['text', 'email', 'url', 'editor'].includes(f.type) && !f.hidden).map((f) => f.name);
    const load = async () => {
      const term = search.value.trim().replace(/\\/g, '\\\\').replace(/'/g, "\\'");
      const filter = term ? textFields.map((name) => `${name} ~ '${term}'`).join(' || ') : '';
      try {
        const data = await api(`/api/collections/${encodeURIComponent(collection.id)}/records`, {
          query: { perPage: PER_PAGE, filter, sort: '-created', skipTotal: 1 } });
        message.textContent = data.items.length ? '' : 'No records found.';
        fill(list, data.items.map((record) => {
          const text = recordLabel(collection, record);
          labels.set(record.id, text);
          return h('label', { class: 'menu-item check' },
            h('input', { type: multiple ? 'checkbox' : 'radio', name: 'relation-choice', checked: chosen.has(record.id),
              onchange: (event) => {
                if (!multiple) chosen.clear();
                if (event.target.checked) chosen.add(record.id);
                else chosen.delete(record.id);
              } }),
            h('span', {}, text, text !== record.id ? h('span', { class: 'muted small' }, ` ${record.id}`) : null));
        }));
      } catch (error) {
        message.textContent = error.message;
      }
    };
    search.addEventListener('input', debounce(load, 250));
    // Enter searches now instead of submitting the dialog.
    search.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        load();
      }
    });
    const { close } = openDialog({
      title: `Choose from ${collection.name}`,
      body: [search, message, list],
      onSubmit: () => {
        result = [...chosen];
        close();
      },
      onClose: () => resolve(result),
      footer: [
        h('button', { type: 'button', class: 'btn', onclick: () => close() }, 'Cancel'),
        h('button', { type: 'submit', class: 'btn btn-primary' }, 'Use selection'),
      ],
    });
    load();
    search.focus();
  });
}
