// "#/logs?filter&level&page&log": this node's request logs (not replicated), a chart of
// requests per hour, a filter with autocomplete, and one log's details in a panel.
import { h, fill, formatDate } from '../dom.js';
import { api } from '../api.js';
import { href, setQuery } from '../router.js';
import { barChart } from '../components/chart.js';
import { withAutocomplete } from '../components/autocomplete.js';
import { openDialog, confirmDialog } from '../components/dialog.js';
import { toast } from '../components/toast.js';

const LEVELS = { '-4': 'Debug', 0: 'Info', 4: 'Warning', 8: 'Error' };
const WORDS = ['id', 'created', 'level', 'message', 'data.type', 'data.method', 'data.url', 'data.status', 'data.execTime',
  'data.auth', 'data.authId', 'data.userIP', 'data.remoteIP', 'data.referer', 'data.userAgent', 'data.error', 'data.details'];

export function mount(root, route) {
  let controller = null;
  let panel = null;
  let buckets = [];
  let loadedKey = null;
  const q = (name) => route.query.get(name) || '';
  const filterInput = h('input', { type: 'text', class: 'code', 'aria-label': 'Filter logs', placeholder: "e.g. data.status >= 400 && data.url ~ '/api/collections'" });
  const level = h('select', { 'aria-label': 'Level', onchange: () => setQuery({ level: level.value, page: null }) },
    h('option', { value: '' }, 'All levels'), Object.entries(LEVELS).map(([v, l]) => h('option', { value: v }, `${l} and above`)));
  const chartBox = h('div', { class: 'card' });
  const table = h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Logs table' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  const status = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  fill(root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Logs'),
      h('button', { type: 'button', class: 'btn', onclick: () => { loadedKey = null; load(); } }, 'Refresh'),
      h('button', { type: 'button', class: 'btn btn-danger', onclick: clear }, 'Clear this node’s logs')),
    h('p', { class: 'alert alert-info' }, 'Logs are kept per node and are not replicated: these are the requests this node (the one serving this console) answered. Other nodes keep their own.'),
    h('div', { class: 'toolbar' },
      h('form', { class: 'grow', role: 'search', onsubmit: (e) => { e.preventDefault(); setQuery({ filter: filterInput.value.trim(), page: null }); } },
        h('div', { class: 'btn-row' }, h('div', { class: 'grow' }, withAutocomplete(filterInput, () => WORDS)),
          h('button', { type: 'submit', class: 'btn' }, 'Apply'),
          h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => setQuery({ filter: null, page: null }) }, 'Clear'))),
      level),
    status, chartBox, table, pager);

  const combinedFilter = () => [q('filter') && `(${q('filter')})`, q('level') && `level >= ${Number(q('level'))}`].filter(Boolean).join(' && ');
  let drawnWidth = 0;
  const drawChart = () => {
    const width = Math.max(280, chartBox.clientWidth - 34);
    drawnWidth = width;
    fill(chartBox, h('h2', {}, 'Requests per hour'), barChart(buckets, width));
  };
  // Redraw only when the width changed, so drawing cannot feed the observer a new size.
  const observer = new ResizeObserver(() => {
    if (buckets.length && Math.max(280, chartBox.clientWidth - 34) !== drawnWidth) drawChart();
  });

  const load = async () => {
    controller?.abort();
    controller = new AbortController();
    status.hidden = true;
    const filter = combinedFilter();
    try {
      const [list, stats] = await Promise.all([
        api('/api/logs', { signal: controller.signal, query: { page: q('page') || 1, perPage: 50, sort: '-created', filter } }),
        api('/api/logs/stats', { signal: controller.signal, query: { filter } }),
      ]);
      buckets = stats || [];
      drawChart();
      renderList(list);
    } catch (error) {
      if (error.name === 'AbortError') return;
      buckets = [];
      fill(chartBox);
      fill(table);
      fill(pager);
      status.textContent = error.status === 404 ? 'This node does not serve request logs (no /api/logs).' : error.message;
      status.hidden = false;
    }
  };

  const renderList = (data) => {
    if (!data.items.length) {
      fill(table, h('div', { class: 'empty' }, 'No logs match.'));
    } else {
      fill(table, h('table', {},
        h('caption', { class: 'sr-only' }, 'Request logs'),
        h('thead', {}, h('tr', {}, ['Level', 'Request', 'Status', 'Time', 'Created'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, data.items.map((log) => h('tr', { class: 'clickable', onclick: (e) => { if (!e.target.closest('a')) setQuery({ log: log.id }); } },
          h('td', { class: `level-${log.level}` }, LEVELS[log.level] || log.level),
          h('td', {}, h('a', { href: href('/logs', { ...Object.fromEntries(route.query), log: log.id }), class: 'cell mono' },
            log.data?.method ? `${log.data.method} ${log.data.url}` : log.message)),
          h('td', {}, String(log.data?.status ?? '')),
          h('td', { class: 'nowrap' }, log.data?.execTime !== undefined ? `${Number(log.data.execTime).toFixed(1)} ms` : ''),
          h('td', { class: 'nowrap' }, formatDate(log.created)))))));
    }
    fill(pager,
      h('span', { class: 'muted' }, `${data.totalItems} log${data.totalItems === 1 ? '' : 's'} · page ${data.page} of ${Math.max(1, data.totalPages)}`),
      h('button', { type: 'button', class: 'btn btn-sm', disabled: data.page <= 1, onclick: () => setQuery({ page: data.page - 1 }) }, 'Previous'),
      h('button', { type: 'button', class: 'btn btn-sm', disabled: data.page >= data.totalPages, onclick: () => setQuery({ page: data.page + 1 }) }, 'Next'));
  };

  const syncPanel = () => {
    const id = q('log');
    if (panel && panel.id !== id) {
      panel.close();
      panel = null;
    }
    if (!id || panel) return;
    const body = h('div', {}, h('p', { role: 'status' }, 'Loading…'));
    panel = { id, ...openDialog({ kind: 'panel', narrow: true, readOnly: true, title: 'Log entry', body,
      onClose: () => { panel = null; setQuery({ log: null }); } }) };
    api(`/api/logs/${encodeURIComponent(id)}`).then((log) => fill(body,
      h('dl', { class: 'kv' },
        [['Id', log.id], ['Created', formatDate(log.created)], ['Level', LEVELS[log.level] || log.level], ['Message', log.message],
          ...Object.entries(log.data || {}).filter(([, v]) => typeof v !== 'object').map(([k, v]) => [k, String(v)])]
          .map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      log.data?.details ? [h('h3', {}, 'Details'), h('pre', {}, JSON.stringify(log.data.details, null, 2))] : null,
      h('h3', {}, 'Raw'), h('pre', {}, JSON.stringify(log, null, 2))))
      .catch((error) => fill(body, h('div', { class: 'alert alert-error', role: 'alert' }, error.message)));
  };

  async function clear() {
    const ok = await confirmDialog({ title: 'Clear this node’s logs?', body: h('p', {}, 'Deletes every request log kept by this node. Other nodes keep theirs. This cannot be undone.'), confirmLabel: 'Clear logs', danger: true });
    if (!ok) return;
    try {
      await api('/api/logs', { method: 'DELETE' });
      toast('Logs cleared.');
      loadedKey = null;
      load();
    } catch (error) {
      toast(error.message, { error: true });
    }
  }

  const update = (r) => {
    route = r;
    filterInput.value = q('filter');
    level.value = q('level');
    const key = [q('filter'), q('level'), q('page')].join('\n');
    if (key !== loadedKey) {
      loadedKey = key;
      load();
    }
    syncPanel();
  };
  observer.observe(chartBox);
  update(route);
  return {
    update,
    unmount() {
      controller?.abort();
      observer.disconnect();
      panel?.close();
    },
  };
}
