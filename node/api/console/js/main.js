// Entry point: picks the page for the current hash route, keeps signed-out people on the
// public pages, and handles the global keys (Ctrl/Cmd+S saves the open form).
import { auth, api } from './api.js';
import { current, navigate, onRoute } from './router.js';
import { fill, h } from './dom.js';
import { applyStoredTheme } from './theme.js';
import { createShell } from './components/shell.js';

// Each page module exports mount(root, route) → {update?(route), unmount?()}.
const PAGES = {
  login: { load: () => import('./pages/login.js'), public: true },
  'request-password-reset': { load: () => import('./pages/reset.js'), public: true },
  pbinstall: { load: () => import('./pages/installer.js'), public: true },
  auth: { load: () => import('./pages/auth-confirm.js'), public: true },
  collections: { load: () => import('./pages/collections.js') },
  logs: { load: () => import('./pages/logs.js') },
  cluster: { load: () => import('./pages/cluster.js') },
  settings: { load: () => import('./pages/settings.js') },
};

const app = document.getElementById('app');
let shell = null;
let active = null; // {key, instance}
let renderId = 0;

async function render(route) {
  const id = ++renderId;
  const key = route.segments[0] || 'collections';
  const entry = PAGES[key];
  if (entry && !entry.public && !auth.token) {
    navigate('/login', { redirect: location.hash.slice(1) }, { replace: true });
    return;
  }
  if (active?.key === key && active.instance.update) {
    active.instance.update(route);
    return;
  }
  active?.instance.unmount?.();
  active = null;
  let root;
  if (!entry || !entry.public) {
    if (!shell) {
      shell = createShell();
      fill(app, shell.root);
    }
    shell.setSection(key);
    root = shell.main;
  } else {
    shell = null;
    root = app;
  }
  if (!entry) {
    fill(root, h('h1', {}, 'Page not found'), h('p', {}, h('a', { href: '#/collections' }, 'Go to collections')));
    return;
  }
  const module = await entry.load();
  if (id !== renderId) return;
  fill(root);
  active = { key, instance: module.mount(root, route) || {} };
  document.title = `${key[0].toUpperCase()}${key.slice(1).replace(/-/g, ' ')} - EdgeBase`;
}

// Ctrl/Cmd+S submits the form of the top dialog, or else the page's own form.
document.addEventListener('keydown', (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 's') {
    const dialogs = document.querySelectorAll('dialog[open]');
    const scope = dialogs.length ? dialogs[dialogs.length - 1] : document.getElementById('app');
    const form = scope.querySelector('form[data-save]');
    if (form) {
      event.preventDefault();
      form.requestSubmit();
    }
  }
});

auth.onChange(() => {
  if (!auth.token) {
    document.querySelectorAll('dialog[open]').forEach((dialog) => dialog.close());
    shell = null;
    active?.instance.unmount?.();
    active = null;
    const route = current();
    if (!PAGES[route.segments[0]]?.public) navigate('/login', {}, { replace: true });
  }
});

applyStoredTheme();
onRoute(render);
// A stored token may have expired or been revoked: refresh it once (a 401 signs out).
if (auth.token) {
  api('/api/collections/_superusers/auth-refresh', { method: 'POST' })
    .then((data) => auth.save(data.token, data.record))
    .catch(() => {});
}
render(current());
