// "#/collections/<name>?filter&sort&page&perPage&hide&record&panel&q": the collection list
// beside the records of the selected collection; `record` opens a record, `panel=schema`
// the collection editor, `panel=new` a new collection.
import { h, fill } from '../dom.js';
import { navigate, setQuery, href } from '../router.js';
import { loadCollections } from '../store.js';
import { recordsView } from './records.js';
import { openCollectionEditor } from './collection-editor.js';
import { toast } from '../components/toast.js';

export function mount(root, route) {
  let collections = [];
  let view = null; // the records view of the selected collection
  let editor = null; // {close, key} of the open collection editor
  const search = h('input', { type: 'search', placeholder: 'Search collections', 'aria-label': 'Search collections',
    oninput: () => setQuery({ q: search.value }, { replace: true }) });
  const list = h('div');
  const content = h('section', { 'aria-label': 'Records' });
  fill(root, h('div', { class: 'split' },
    h('nav', { class: 'side-list', 'aria-label': 'Collections' },
      search, list,
      h('a', { class: 'btn btn-primary', href: href('/collections', { panel: 'new' }) }, '+ New collection'),
      h('a', { class: 'btn', href: '#/settings/import' }, 'Import / export')),
    content));

  const renderList = (current) => {
    const q = (route.query.get('q') || '').toLowerCase();
    const match = collections.filter((c) => c.name.toLowerCase().includes(q));
    const item = (c) => h('li', {}, h('a', {
      class: 'nav-link', href: `#/collections/${encodeURIComponent(c.name)}`,
      'aria-current': c.name === current ? 'page' : undefined,
    }, c.name, c.type === 'auth' ? h('span', { class: 'badge', 'aria-label': ' (auth)' }, 'auth') : null));
    const mine = match.filter((c) => !c.system);
    const system = match.filter((c) => c.system);
    // System collections fold away unless one of them is open or matches the search.
    const showSystem = !!q || system.some((c) => c.name === current);
    fill(list,
      mine.length ? h('ul', {}, mine.map(item)) : h('p', { class: 'muted small' }, q ? 'No match.' : 'No collections yet.'),
      system.length ? h('details', { class: 'system-list', open: showSystem }, h('summary', {}, `System (${system.length})`), h('ul', {}, system.map(item))) : null);
  };

  const syncPanels = (r) => {
    const panel = r.query.get('panel');
    const name = r.segments[1];
    const key = panel === 'new' ? 'new' : panel === 'schema' ? `schema:${name}` : '';
    if (editor && editor.key !== key) {
      editor.close();
      editor = null;
    }
    if (key && !editor) {
      const collection = panel === 'new' ? null : collections.find((c) => c.name === name);
      if (panel === 'schema' && !collection) return;
      editor = { key, ...openCollectionEditor({
        collection,
        collections,
        onClose: () => {
          editor = null;
          setQuery({ panel: null });
        },
        onSaved: async (saved, deleted) => {
          collections = await loadCollections({ fresh: true });
          editor = null;
          if (deleted) navigate('/collections');
          else navigate(`/collections/${encodeURIComponent(saved.name)}`);
        },
      }) };
    }
  };

  // Set on unmount: a list that arrives after the person left must not navigate back here.
  let left = false;
  const show = async (r, { reload = false } = {}) => {
    route = r;
    try {
      collections = await loadCollections({ fresh: reload });
      if (left) return;
    } catch (error) {
      if (left) return;
      fill(content, h('div', { class: 'alert alert-error', role: 'alert' }, error.message));
      return;
    }
    const name = r.segments[1];
    if (search.value !== (r.query.get('q') || '')) search.value = r.query.get('q') || '';
    renderList(name);
    if (!name) {
      const first = collections.find((c) => !c.system);
      if (first && !r.query.get('panel')) return navigate(`/collections/${encodeURIComponent(first.name)}`, {}, { replace: true });
      view?.destroy();
      view = null;
      fill(content, h('div', { class: 'card empty' }, h('h1', {}, 'Collections'),
        h('p', {}, 'Create a collection to start storing records.')));
    } else {
      const collection = collections.find((c) => c.name === name);
      if (!collection) {
        view?.destroy();
        view = null;
        fill(content, h('div', { class: 'alert alert-error', role: 'alert' }, `There is no collection named "${name}".`));
        toast(`Collection "${name}" not found.`, { error: true });
      } else if (view?.name === name) {
        view.update(r, collection, collections);
      } else {
        view?.destroy();
        view = recordsView(content, collection, collections, r);
      }
    }
    syncPanels(r);
  };

  show(route, { reload: true });
  return {
    update: (r) => show(r),
    unmount: () => {
      left = true;
      view?.destroy();
      editor?.close();
    },
  };
}
