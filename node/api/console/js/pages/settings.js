// "#/settings/<section>": the node-wide settings (replicated to every node), one section at a
// time, each saved with PATCH /api/settings of its own keys; also backups, crons, import and
// export, each a module of its own.
import { h, fill } from '../dom.js';
import { api } from '../api.js';
import { navigate } from '../router.js';
import { formAlert, showErrors, clearErrors } from '../components/form.js';
import { toast } from '../components/toast.js';
import { SECTIONS } from './settings-sections.js';

const PAGES = [
  ['application', 'Application'],
  ['mail', 'Mail'],
  ['storage', 'File storage'],
  ['security', 'Rate limits & access'],
  ['logs', 'Logs'],
  ['backups', 'Backups'],
  ['crons', 'Crons'],
  ['import', 'Import collections'],
  ['export', 'Export collections'],
];

// Sections with a page of their own, loaded when first opened.
const MODULES = {
  backups: () => import('./backups.js'),
  crons: () => import('./crons.js'),
  import: () => import('./collections-import.js'),
  export: () => import('./collections-export.js'),
};

export function mount(root, route) {
  const nav = h('nav', { class: 'subnav', 'aria-label': 'Settings sections' });
  const body = h('div');
  fill(root, h('div', { class: 'page-head' }, h('h1', {}, 'Settings')), nav, body);
  let shown = '';

  const show = async (r) => {
    const section = r.segments[1];
    if (!PAGES.some(([id]) => id === section)) return navigate('/settings/application', {}, { replace: true });
    if (section === shown) return;
    shown = section;
    fill(nav, PAGES.map(([id, label]) => h('a', { class: 'nav-link', href: `#/settings/${id}`, 'aria-current': id === section ? 'page' : undefined }, label)));
    if (MODULES[section]) {
      const module = await MODULES[section]();
      // Another section may have been opened while this one loaded.
      if (shown === section) fill(body, module.render());
      return;
    }
    fill(body, h('p', { role: 'status' }, 'Loading…'));
    let settings;
    try {
      settings = await api('/api/settings');
    } catch (error) {
      if (shown === section) fill(body, h('div', { class: 'alert alert-error', role: 'alert' }, error.message));
      return;
    }
    if (shown !== section) return;
    const spec = SECTIONS[section];
    const draft = structuredClone(settings);
    const save = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save changes');
    const form = h('form', { class: 'card', novalidate: true, 'data-save': '', 'aria-label': spec.title, onsubmit: async (event) => {
      event.preventDefault();
      clearErrors(form);
      const patch = {};
      for (const key of spec.keys) patch[key] = structuredClone(draft[key]);
      spec.beforeSave?.(patch);
      save.disabled = true;
      try {
        await api('/api/settings', { method: 'PATCH', body: patch });
        toast(`${spec.title} settings saved.`);
      } catch (error) {
        showErrors(form, error);
      } finally {
        save.disabled = false;
      }
    } },
    h('h2', {}, spec.title),
    spec.note ? h('p', { class: 'muted' }, spec.note) : null,
    formAlert(),
    spec.render(draft),
    h('div', { class: 'btn-row end' }, spec.actions?.(draft), h('span', { class: 'muted small kbd-hint' }, 'Ctrl+S saves'), save));
    fill(body, form);
  };
  show(route);
  return { update: show };
}
