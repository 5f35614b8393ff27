// The side panel that creates or edits a collection: name and type, fields and indexes,
// API rules, auth options; delete. Changes that lose data or break apps are confirmed first.
import { h, fill } from '../dom.js';
import { api } from '../api.js';
import { openDialog, confirmDialog } from '../components/dialog.js';
import { formAlert, showErrors, clearErrors, field, flattenErrors } from '../components/form.js';
import { tabs } from '../components/tabs.js';
import { toast } from '../components/toast.js';
import { fieldsTab } from './collection-fields.js';
import { rulesTab } from './collection-rules.js';
import { authOptionsTab } from './auth-options.js';
import { describeChanges, changeList } from './collection-changes.js';
import { newField } from './field-options.js';

let scaffolds = null;

export function openCollectionEditor({ collection, collections, onClose, onSaved }) {
  const isNew = !collection;
  let draft = null;
  let tab = 'fields';
  const content = h('div', {}, h('p', { role: 'status' }, 'Loading…'));
  const save = h('button', { type: 'submit', class: 'btn btn-primary', disabled: true }, isNew ? 'Create' : 'Save changes');
  const panel = openDialog({
    kind: 'panel',
    title: isNew ? 'New collection' : `Edit collection ${collection.name}`,
    body: [formAlert(), content],
    onSubmit: () => submit(),
    onClose: () => onClose?.(),
    footer: [
      isNew || collection.system ? null : h('button', { type: 'button', class: 'btn btn-danger', onclick: () => remove() }, 'Delete collection'),
      h('span', { class: 'muted small kbd-hint' }, 'Ctrl+S saves'),
      h('button', { type: 'button', class: 'btn', onclick: () => panel.close() }, 'Cancel'),
      save,
    ],
  });

  const ctx = {
    collections,
    removed: () => (isNew ? [] : collection.fields.filter((f) => !draft.fields.some((d) => d.id === f.id))),
  };

  const render = () => {
    const name = h('input', { type: 'text', class: 'code', required: true, disabled: collection?.system,
      oninput: (e) => { draft.name = e.target.value; } });
    name.value = draft.name;
    const type = isNew ? h('select', { onchange: (e) => switchType(e.target.value) },
      h('option', { value: 'base' }, 'Base'), h('option', { value: 'auth' }, 'Auth')) : null;
    if (type) type.value = draft.type;
    const items = [
      { id: 'fields', label: 'Fields', render: () => fieldsTab(draft, ctx) },
      { id: 'rules', label: 'API rules', render: () => rulesTab(draft, ctx) },
    ];
    if (draft.type === 'auth') items.push({ id: 'options', label: 'Auth options', render: () => authOptionsTab(draft) });
    fill(content,
      h('div', { class: 'grid-2' },
        field('Name', name, { errorKey: 'name' }),
        type ? field('Type', type, { errorKey: 'type', hint: 'Auth collections have users who can sign in.' })
          : h('div', { class: 'field' }, h('span', { class: 'label' }, 'Type'), h('span', {}, draft.type))),
      tabs(items, tab, (id) => { tab = id; }));
    save.disabled = false;
  };

  const withTimestamps = (fields) => (fields.some((f) => f.type === 'autodate') ? fields
    : [...fields, { ...newField('autodate', 'created'), onCreate: true, onUpdate: false },
      { ...newField('autodate', 'updated'), onCreate: true, onUpdate: true }]);

  const switchType = (type) => {
    const custom = draft.fields.filter((f) => !f.system);
    const name = draft.name;
    draft = structuredClone(scaffolds[type]);
    draft.name = name;
    draft.fields = withTimestamps([...draft.fields, ...custom.filter((f) => !draft.fields.some((s) => s.name === f.name))]);
    render();
  };

  async function submit() {
    clearErrors(panel.form);
    const body = structuredClone(draft);
    body.fields.forEach((f) => delete f.key);
    // An index always belongs to this collection: name it in each statement (new scaffolds
    // say ON ``, and a rename leaves the old name).
    body.indexes = body.indexes.map((sql) => sql.replace(/(\bON\s+)(`[^`]*`|\w+)(\s*\()/i, `$1\`${body.name}\`$3`));
    const changes = describeChanges(collection, body);
    if (changes.destructive.length) {
      const ok = await confirmDialog({ title: `Save changes to ${collection.name}?`, body: changeList(changes), confirmLabel: 'Save changes', danger: true });
      if (!ok) return;
    }
    save.disabled = true;
    try {
      const saved = await api(isNew ? '/api/collections' : `/api/collections/${encodeURIComponent(collection.id)}`,
        { method: isNew ? 'POST' : 'PATCH', body });
      toast(isNew ? `Created collection ${saved.name}.` : `Saved collection ${saved.name}.`);
      onClose = null;
      panel.close();
      onSaved(saved, false);
    } catch (error) {
      const indexes = Object.keys(flattenErrors(error.data)).map((path) => path.match(/^fields\.(\d+)\./)?.[1]).filter(Boolean);
      ctx.revealFields?.(indexes.map(Number));
      showErrors(panel.form, error);
    } finally {
      save.disabled = false;
    }
  }

  async function remove() {
    let count = '';
    try {
      const data = await api(`/api/collections/${encodeURIComponent(collection.id)}/records`, { query: { perPage: 1, fields: 'id' } });
      count = ` and its ${data.totalItems} record${data.totalItems === 1 ? '' : 's'}`;
    } catch {
      count = ' and all its records';
    }
    const ok = await confirmDialog({
      title: `Delete collection ${collection.name}?`,
      body: [h('p', {}, `The collection "${collection.name}"${count} will be deleted on every node, with their files. Its API paths stop working. This cannot be undone.`),
        h('p', {}, 'A collection that other collections relate to cannot be deleted until those relation fields are removed.')],
      confirmLabel: 'Delete collection', danger: true,
    });
    if (!ok) return;
    try {
      await api(`/api/collections/${encodeURIComponent(collection.id)}`, { method: 'DELETE' });
      toast(`Deleted collection ${collection.name}.`);
      onClose = null;
      panel.close();
      onSaved(collection, true);
    } catch (error) {
      showErrors(panel.form, error);
    }
  }

  const start = async () => {
    if (isNew) {
      scaffolds ||= await api('/api/collections/meta/scaffolds');
      draft = structuredClone(scaffolds.base);
      draft.fields = withTimestamps(draft.fields);
    } else {
      draft = structuredClone(collection);
    }
    render();
    panel.form.querySelector('input:not(:disabled)')?.focus();
  };
  start().catch((error) => showErrors(panel.form, error));
  return { close: () => panel.close() };
}
