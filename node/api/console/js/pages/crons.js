// "#/settings/crons": the scheduled jobs (PocketBase's built-in ones, and the backup job
// when a schedule is set), each with a button that runs it now on this node.
import { h, fill } from '../dom.js';
import { api } from '../api.js';
import { toast } from '../components/toast.js';

// What each built-in job does here, and where it runs.
const PURPOSES = {
  __pbDBOptimize__: 'Compacts this node’s storage. Runs on every node.',
  __pbMFACleanup__: 'Deletes expired multi-factor sign-in sessions. Runs once across the cluster.',
  __pbOTPCleanup__: 'Deletes expired one-time passwords. Runs once across the cluster.',
  __pbLogsCleanup__: 'Deletes request logs older than the days kept. Runs on every node.',
  __pbAutoBackup__: 'Makes a scheduled backup and deletes the oldest ones beyond the number kept. Runs once across the cluster.',
};

export function render() {
  const list = h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Crons table' });

  const load = async () => {
    list.setAttribute('aria-busy', 'true');
    try {
      const jobs = await api('/api/crons');
      fill(list, jobs.length ? h('table', {},
        h('caption', { class: 'sr-only' }, 'Scheduled jobs'),
        h('thead', {}, h('tr', {}, ['Job', 'Schedule (UTC)', 'What it does', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, jobs.map((job) => h('tr', { 'data-job': job.id },
          h('td', { class: 'mono nowrap' }, job.id),
          h('td', { class: 'mono nowrap' }, job.expression),
          h('td', {}, PURPOSES[job.id] || ''),
          h('td', {}, h('button', { type: 'button', class: 'btn btn-sm', 'aria-label': `Run ${job.id} now`,
            onclick: (event) => run(job.id, event.currentTarget) }, 'Run'))))))
        : h('div', { class: 'empty' }, 'No scheduled jobs.'));
    } catch (error) {
      fill(list, h('div', { class: 'alert alert-error', role: 'alert' }, `Cannot list the jobs: ${error.message}`));
    } finally {
      list.removeAttribute('aria-busy');
    }
  };

  async function run(id, button) {
    button.disabled = true;
    try {
      await api(`/api/crons/${encodeURIComponent(id)}`, { method: 'POST' });
      toast(`${id} started on this node.`);
    } catch (error) {
      toast(`Cannot run ${id}: ${error.message}`, { error: true, ms: 8000 });
      if (error.status === 404) load();
    } finally {
      button.disabled = false;
    }
  }

  load();
  return h('section', { class: 'card', 'aria-labelledby': 'crons-title' },
    h('div', { class: 'card-head' }, h('h2', { id: 'crons-title' }, 'Crons'),
      h('button', { type: 'button', class: 'btn', onclick: load }, 'Refresh')),
    h('p', { class: 'muted' }, 'Jobs every node knows, in cron syntax over UTC. A job on shared data runs once per tick across the cluster, on whichever node claims it; a job on a node’s own files runs on each node.'),
    h('p', { class: 'muted' }, '“Run” starts the job on this node in the background; the notice says it started, not that it finished.'),
    list);
}
