// The records table of one collection: filter (with autocomplete), sort by column, visible
// columns, paging, bulk delete, and the record editor when `record` is in the URL.
import { h, fill } from '../dom.js';
import { api } from '../api.js';
import { href, setQuery } from '../router.js';
import { visibleFields } from '../store.js';
import { cell } from '../components/cells.js';
import { withAutocomplete, ruleWords } from '../components/autocomplete.js';
import { popover } from '../components/popover.js';
import { confirmDialog } from '../components/dialog.js';
import { toast } from '../components/toast.js';
import { openRecordEditor } from './record-editor.js';

const PER_PAGE_CHOICES = [20, 50, 100, 200];

export function recordsView(container, collection, collections, route) {
  let controller = null; // aborts the previous list request
  let editor = null;
  let items = [];
  let lastListKey = '';
  const selected = new Set();
  const base = () => `/api/collections/${encodeURIComponent(collection.id)}/records`;
  const q = (name) => route.query.get(name) || '';
  // Newest first when the collection has a `created` field; else the node's own order.
  const sortOrDefault = () => q('sort') || (collection.fields.some((f) => f.name === 'created') ? '-created' : '');

  const filterInput = h('input', { type: 'text', class: 'code', placeholder: "e.g. title ~ 'hello' && created > '2026-01-01'",
    'aria-label': 'Filter records' });
  const filterForm = h('form', { class: 'grow', role: 'search', onsubmit: (event) => {
    event.preventDefault();
    setQuery({ filter: filterInput.value.trim(), page: null });
  } }, h('div', { class: 'btn-row' },
    h('div', { class: 'grow' }, withAutocomplete(filterInput, () => ruleWords(collection, collections, { request: false }))),
    h('button', { type: 'submit', class: 'btn' }, 'Apply'),
    h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => setQuery({ filter: null, page: null }) }, 'Clear')));
  const head = h('div', { class: 'page-head' });
  const status = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  const bulk = h('div', { class: 'alert alert-info btn-row', hidden: true });
  const table = h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Records table' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  // Built once: its checkboxes are read when it opens, and it stays open while they change.
  const columnsMenu = popover('Columns', () => visibleFields(collection).map((field) => h('label', { class: 'menu-item check' },
    h('input', { type: 'checkbox', checked: !hidden().has(field.name), onchange: (event) => {
      const next = hidden();
      if (event.target.checked) next.delete(field.name);
      else next.add(field.name);
      setQuery({ hide: [...next].join(',') }, { replace: true });
    } }), field.name)));
  fill(container, head, h('div', { class: 'toolbar' }, filterForm, columnsMenu), status, bulk, table, pager);

  const hidden = () => new Set(q('hide').split(',').filter(Boolean));
  const columns = () => visibleFields(collection).filter((field) => !hidden().has(field.name));

  const renderHead = () => {
    fill(head,
      h('h1', {}, collection.name, ' ', h('span', { class: 'badge' }, collection.type)),
      h('a', { class: 'btn', href: href(`/collections/${encodeURIComponent(collection.name)}`, { ...Object.fromEntries(route.query), panel: 'schema' }) }, 'Edit collection'),
      h('a', { class: 'btn btn-primary', href: href(`/collections/${encodeURIComponent(collection.name)}`, { ...Object.fromEntries(route.query), record: 'new' }) }, '+ New record'));
  };
  const sortHeader = (field) => {
    const sort = sortOrDefault();
    const state = sort === field.name ? 'ascending' : sort === `-${field.name}` ? 'descending' : 'none';
    const next = state === 'ascending' ? `-${field.name}` : field.name;
    return h('th', { scope: 'col', 'aria-sort': state },
      h('button', { type: 'button', class: 'sort-btn', onclick: () => setQuery({ sort: next, page: null }) },
        field.name, h('span', { 'aria-hidden': 'true' }, state === 'ascending' ? '▲' : state === 'descending' ? '▼' : '')));
  };

  const renderBulk = () => {
    bulk.hidden = selected.size === 0;
    fill(bulk, h('span', {}, `${selected.size} selected`),
      h('button', { type: 'button', class: 'btn btn-sm', onclick: () => { selected.clear(); renderTable(); } }, 'Reset'),
      h('button', { type: 'button', class: 'btn btn-sm btn-danger', onclick: deleteSelected }, 'Delete selected'));
  };

  const renderTable = () => {
    renderBulk();
    const fields = columns();
    if (!items.length) {
      fill(table, h('div', { class: 'empty' }, q('filter') ? 'No records match the filter.' : 'No records yet.'));
      return;
    }
    const all = h('input', { type: 'checkbox', 'aria-label': 'Select all on this page',
      checked: items.every((item) => selected.has(item.id)),
      onchange: (event) => {
        items.forEach((item) => (event.target.checked ? selected.add(item.id) : selected.delete(item.id)));
        renderTable();
      } });
    fill(table, h('table', {},
      h('caption', { class: 'sr-only' }, `Records of ${collection.name}`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, all), fields.map(sortHeader))),
      h('tbody', {}, items.map((record) => h('tr', { class: 'clickable', onclick: (event) => {
        if (!event.target.closest('input, a, button')) setQuery({ record: record.id });
      } },
      h('td', {}, h('input', { type: 'checkbox', 'aria-label': `Select ${record.id}`, checked: selected.has(record.id),
        onchange: (event) => {
          if (event.target.checked) selected.add(record.id);
          else selected.delete(record.id);
          renderBulk();
        } })),
      fields.map((field) => h('td', {}, field.name === 'id'
        ? h('a', { class: 'mono', href: href(`/collections/${encodeURIComponent(collection.name)}`, { ...Object.fromEntries(route.query), record: record.id }) }, record.id)
        : cell(collection, field, record))))))));
  };

  const renderPager = (data) => {
    const page = data.page;
    const perPage = h('select', { 'aria-label': 'Records per page', onchange: (event) => setQuery({ perPage: event.target.value, page: null }) },
      PER_PAGE_CHOICES.map((n) => h('option', { value: n }, `${n} per page`)));
    perPage.value = String(data.perPage);
    fill(pager,
      h('span', { class: 'muted' }, `${data.totalItems} record${data.totalItems === 1 ? '' : 's'} · page ${page} of ${Math.max(1, data.totalPages)}`),
      perPage,
      h('button', { type: 'button', class: 'btn btn-sm', disabled: page <= 1, onclick: () => setQuery({ page: page - 1 }) }, 'Previous'),
      h('button', { type: 'button', class: 'btn btn-sm', disabled: page >= data.totalPages, onclick: () => setQuery({ page: page + 1 }) }, 'Next'));
  };

  const load = async () => {
    controller?.abort();
    controller = new AbortController();
    status.hidden = true;
    try {
      const data = await api(base(), { signal: controller.signal, query: {
        page: q('page') || 1, perPage: q('perPage') || 50, sort: sortOrDefault(), filter: q('filter'),
      } });
      items = data.items;
      renderTable();
      renderPager(data);
    } catch (error) {
      if (error.name === 'AbortError') return;
      items = [];
      fill(table);
      fill(pager);
      status.textContent = error.message;
      status.hidden = false;
    }
  };

  async function deleteSelected() {
    const ids = [...selected];
    const ok = await confirmDialog({
      title: `Delete ${ids.length} record${ids.length === 1 ? '' : 's'}?`,
      body: h('p', {}, `${ids.length} record${ids.length === 1 ? '' : 's'} of "${collection.name}" will be deleted, with their files. Relations pointing to them are cleared (or their records deleted where the relation cascades). This cannot be undone.`),
      confirmLabel: 'Delete', danger: true,
    });
    if (!ok) return;
    let failed = 0;
    for (const id of ids) {
      try {
        await api(`${base()}/${encodeURIComponent(id)}`, { method: 'DELETE' });
        selected.delete(id);
      } catch (error) {
        failed += 1;
        toast(`${id}: ${error.message}`, { error: true });
      }
    }
    toast(`Deleted ${ids.length - failed} record${ids.length - failed === 1 ? '' : 's'}.`);
    load();
  }

  const syncEditor = () => {
    const id = q('record');
    if (editor && editor.id !== id) {
      editor.close();
      editor = null;
    }
    if (id && !editor) {
      editor = { id, ...openRecordEditor({
        collection, collections, recordId: id,
        onClose: () => {
          editor = null;
          setQuery({ record: null });
        },
        onSaved: () => load(),
      }) };
    }
  };

  const listKey = () => ['page', 'perPage', 'sort', 'filter'].map(q).join('\n');
  const refresh = () => {
    filterInput.value = q('filter');
    renderHead();
    if (listKey() !== lastListKey) {
      lastListKey = listKey();
      load();
    } else {
      renderTable();
    }
    syncEditor();
  };
  refresh();
  return {
    name: collection.name,
    update(nextRoute, nextCollection, nextCollections) {
      route = nextRoute;
      const changed = nextCollection.updated !== collection.updated;
      collection = nextCollection;
      collections = nextCollections;
      if (changed) lastListKey = '';
      refresh();
    },
    destroy() {
      controller?.abort();
      editor?.close();
    },
  };
}
