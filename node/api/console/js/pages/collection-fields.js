// The "Fields" tab: one card per field (name, type, options), add/move/remove, and the
// collection's CREATE INDEX statements.
import { h, fill } from '../dom.js';
import { field as labelled } from '../components/form.js';
import { popover, menuItems } from '../components/popover.js';
import { FIELD_TYPES, newField, fieldOptions } from './field-options.js';

let keyCounter = 0; // for keys of unsaved fields, unique across re-renders of the tab

/** Renders draft.fields and draft.indexes into an element; edits go into the draft. */
export function fieldsTab(draft, ctx) {
  const root = h('div');
  const open = new Set(); // field ids (or new-field keys) whose options are shown
  const render = () => {
    fill(root,
      h('h3', {}, 'Fields'),
      draft.fields.map((f, index) => card(f, index)),
      h('div', { class: 'btn-row' }, popover('+ Add field', menuItems(FIELD_TYPES.map((type) => ({
        label: type,
        onSelect: () => {
          const f = newField(type, uniqueName(type));
          f.key = `new-${(keyCounter += 1)}`;
          draft.fields.push(f);
          open.add(f.key);
          render();
          root.querySelector(`[data-field-key="${f.key}"] input.name`)?.focus();
        },
      }))), { className: 'btn', align: 'left' })),
      ctx.removed().length ? h('div', { class: 'alert alert-warn' }, 'Removed when you save: ',
        ctx.removed().map((f) => h('button', { type: 'button', class: 'btn btn-sm', onclick: () => {
          draft.fields.push(f);
          render();
        } }, `Restore ${f.name}`))) : null,
      indexes());
  };
  const uniqueName = (type) => {
    let name = `field_${type.toLowerCase()}`;
    for (let n = 2; draft.fields.some((f) => f.name === name); n += 1) name = `field_${type.toLowerCase()}${n}`;
    return name;
  };
  const move = (index, step) => {
    const [f] = draft.fields.splice(index, 1);
    draft.fields.splice(index + step, 0, f);
    render();
  };
  const card = (f, index) => {
    // Fields not saved yet have no id: a key (dropped before saving) tells their cards apart.
    if (!f.id && !f.key) f.key = `new-${(keyCounter += 1)}`;
    const key = f.id || f.key;
    const isOpen = open.has(key);
    const name = h('input', { type: 'text', class: 'name code', 'aria-label': `Name of field ${index + 1} (${f.type})`,
      disabled: f.system, 'data-error-key': `fields.${index}.name`, oninput: (e) => { f.name = e.target.value; } });
    name.value = f.name;
    const errorId = `field-err-${key}`;
    name.dataset.errorId = errorId;
    const bodyId = `field-body-${key}`;
    return h('div', { class: 'field-card', 'data-field-key': key },
      h('div', { class: 'field-card-head' },
        h('span', { class: 'type-tag' }, f.type), name,
        f.required ? h('span', { class: 'badge' }, 'required') : null,
        f.hidden ? h('span', { class: 'badge' }, 'hidden') : null,
        h('button', { type: 'button', class: 'btn btn-sm', 'aria-expanded': String(isOpen), 'aria-controls': bodyId,
          onclick: () => {
            if (isOpen) open.delete(key);
            else open.add(key);
            render();
          } }, isOpen ? 'Hide options' : 'Options', h('span', { class: 'sr-only' }, ` for ${f.name}`)),
        h('button', { type: 'button', class: 'btn btn-sm', disabled: index === 0, 'aria-label': `Move ${f.name} up`, onclick: () => move(index, -1) }, '↑'),
        h('button', { type: 'button', class: 'btn btn-sm', disabled: index === draft.fields.length - 1, 'aria-label': `Move ${f.name} down`, onclick: () => move(index, 1) }, '↓'),
        f.system ? h('span', { class: 'badge' }, 'system') : h('button', { type: 'button', class: 'btn btn-sm btn-danger', 'aria-label': `Remove field ${f.name}`,
          onclick: () => {
            draft.fields.splice(index, 1);
            render();
          } }, '✕')),
      h('div', { class: 'field-error', id: errorId, hidden: true }),
      isOpen ? h('div', { class: 'field-card-body', id: bodyId }, fieldOptions(f, index, ctx)) : null);
  };
  const indexes = () => h('div', {},
    h('h3', {}, 'Indexes'),
    h('p', { class: 'muted small' }, 'CREATE [UNIQUE] INDEX statements. A unique index is enforced on every replica.'),
    draft.indexes.map((sql, index) => {
      const input = h('textarea', { class: 'code', rows: 2, oninput: (e) => { draft.indexes[index] = e.target.value; } });
      input.value = sql;
      return h('div', { class: 'btn-row' },
        h('div', { class: 'grow' }, labelled(`Index ${index + 1}`, input, { errorKey: `indexes.${index}` })),
        h('button', { type: 'button', class: 'btn btn-sm btn-danger', 'aria-label': `Remove index ${index + 1}`, onclick: () => {
          draft.indexes.splice(index, 1);
          render();
        } }, '✕'));
    }),
    h('button', { type: 'button', class: 'btn', onclick: () => {
      const column = draft.fields.find((f) => !f.system)?.name || 'id';
      const table = draft.name || 'collection';
      draft.indexes.push(`CREATE INDEX \`idx_${table}_${column}\` ON \`${table}\` (\`${column}\`)`);
      render();
      const areas = root.querySelectorAll('textarea');
      areas[areas.length - 1]?.focus();
    } }, '+ Add index'));
  // Opens the cards of fields whose options the API found wrong, so their errors show in place.
  ctx.revealFields = (indexes) => {
    indexes.forEach((index) => {
      const f = draft.fields[index];
      if (f) open.add(f.id || f.key);
    });
    if (root.isConnected) render();
  };
  render();
  return root;
}
