// "#/settings/export": every collection's definition as JSON, to download or copy.
import { h, fill, download } from '../dom.js';
import { api } from '../api.js';
import { field } from '../components/form.js';

export function render() {
  const root = h('div', { class: 'card' }, h('h2', {}, 'Export collections'), h('p', { role: 'status' }, 'Loading…'));
  api('/api/collections', { query: { perPage: 500, sort: 'name' } }).then((data) => {
    const chosen = new Set(data.items.map((c) => c.id));
    const output = h('textarea', { class: 'code', rows: 16, readonly: true });
    const update = () => {
      output.value = JSON.stringify(data.items.filter((c) => chosen.has(c.id)), null, 2);
    };
    update();
    fill(root, h('h2', {}, 'Export collections'),
      h('p', { class: 'muted' }, 'The definitions (fields, rules, indexes, options) of the chosen collections, without records. Import them on another EdgeBase or PocketBase.'),
      h('fieldset', {}, h('legend', {}, 'Collections'), h('div', { class: 'btn-row' }, data.items.map((c) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', checked: true, onchange: (e) => {
          if (e.target.checked) chosen.add(c.id);
          else chosen.delete(c.id);
          update();
        } }), c.name)))),
      field('JSON', output),
      h('div', { class: 'btn-row end' },
        h('button', { type: 'button', class: 'btn', onclick: () => navigator.clipboard?.writeText(output.value) }, 'Copy'),
        h('button', { type: 'button', class: 'btn btn-primary', onclick: () => download('edgebase_collections.json', output.value) }, 'Download JSON')));
  }).catch((error) => fill(root, h('div', { class: 'alert alert-error', role: 'alert' }, error.message)));
  return root;
}
