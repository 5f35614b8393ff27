// "#/settings/import": paste or upload collection definitions, see what would change, then
// PUT /api/collections/import.
import { h } from '../dom.js';
import { api } from '../api.js';
import { field, formAlert, showErrors, clearErrors } from '../components/form.js';
import { confirmDialog } from '../components/dialog.js';
import { toast } from '../components/toast.js';
import { forgetCollections } from '../store.js';

/** What importing `incoming` does to `existing`: new, changed and (with deleteMissing) deleted names. */
function plan(existing, incoming, deleteMissing) {
  const find = (c) => existing.find((e) => (c.id && e.id === c.id) || e.name === c.name);
  const added = incoming.filter((c) => !find(c)).map((c) => c.name);
  const changed = incoming.filter((c) => find(c)).map((c) => c.name);
  const deleted = deleteMissing
    ? existing.filter((e) => !e.system && !incoming.some((c) => (c.id && c.id === e.id) || c.name === e.name)).map((e) => e.name)
    : [];
  return { added, changed, deleted };
}

export function render() {
  const text = h('textarea', { class: 'code', rows: 14, placeholder: '[{"name": "posts", "type": "base", "fields": [...]}]' });
  const file = h('input', { type: 'file', accept: 'application/json,.json', onchange: async () => {
    if (file.files[0]) text.value = await file.files[0].text();
  } });
  const deleteMissing = h('input', { type: 'checkbox' });
  const form = h('form', { class: 'card', novalidate: true, 'aria-label': 'Import collections', onsubmit: async (event) => {
    event.preventDefault();
    clearErrors(form);
    let incoming;
    try {
      incoming = JSON.parse(text.value);
      if (!Array.isArray(incoming)) throw new Error('Expected a JSON array of collections.');
    } catch (error) {
      return showErrors(form, { message: `Not valid: ${error.message}`, data: {} });
    }
    try {
      const existing = (await api('/api/collections', { query: { perPage: 500 } })).items;
      const { added, changed, deleted } = plan(existing, incoming, deleteMissing.checked);
      const line = (label, names) => (names.length ? h('li', {}, `${label}: ${names.join(', ')}`) : null);
      const ok = await confirmDialog({
        title: 'Import collections?',
        body: [h('ul', {}, line('New', added), line('Replaced by the imported definition', changed),
          line('Deleted with all their records', deleted)),
        changed.length ? h('p', {}, 'Fields missing from an imported definition are deleted with their data.') : null],
        confirmLabel: 'Import', danger: deleted.length > 0 || changed.length > 0,
      });
      if (!ok) return;
      await api('/api/collections/import', { method: 'PUT', body: { collections: incoming, deleteMissing: deleteMissing.checked } });
      forgetCollections();
      toast(`Imported ${incoming.length} collection${incoming.length === 1 ? '' : 's'}.`);
    } catch (error) {
      showErrors(form, error);
    }
  } },
  h('h2', {}, 'Import collections'),
  h('p', { class: 'muted' }, 'Paste or upload JSON exported from EdgeBase or PocketBase.'),
  formAlert(),
  field('Collections JSON', text, { errorKey: 'collections' }),
  field('Or load a file', file),
  field('Delete collections (and their records) that are not in the import', deleteMissing, { errorKey: 'deleteMissing' }),
  h('div', { class: 'btn-row end' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Review and import')));
  return form;
}
