// "#/cluster": the Raft cluster as this node sees it, refreshed every 2 s while open:
// leader, term, quorum, what can fail now, each member's state, round trips between regions,
// and membership actions, each confirmed with its effect on quorum first.
import { h, fill } from '../dom.js';
import { api } from '../api.js';
import { openDialog, confirmDialog } from '../components/dialog.js';
import { field, formAlert, showErrors, clearErrors } from '../components/form.js';
import { toast } from '../components/toast.js';
import { health, effectOf } from './cluster-math.js';

const REFRESH_MS = 2000;

const stat = (label, value, extra) => h('div', { class: 'stat' }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, String(value)), extra);
const maybe = (value) => (value === undefined || value === null ? '—' : String(value));

export function mount(root) {
  let status = null;
  let timer = null;
  let stopped = false;
  let generation = 0; // only the latest refresh schedules the next one
  const summary = h('div', { class: 'stats', 'aria-live': 'polite' });
  const problem = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  const members = h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Members table' });
  const rtts = h('div', { class: 'section' });
  const updated = h('span', { class: 'muted small' });
  fill(root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Cluster'), updated,
      h('button', { type: 'button', class: 'btn btn-primary', onclick: addLearner }, '+ Add learner')),
    problem, summary, h('h2', {}, 'Members'), members, rtts);

  const render = () => {
    const focusKey = document.activeElement?.dataset?.focusKey;
    const now = health(status);
    fill(summary,
      stat('Leader', status.leaderId ?? 'none'),
      stat('Term', status.term),
      stat('Voters', now.voters, h('div', { class: 'label' }, `${now.reachableVoters} reachable`)),
      stat('Quorum', `${now.quorum} of ${now.voters}`),
      stat('Can fail now', now.faultTolerance, h('div', { class: 'label' }, now.faultTolerance === 0 ? 'one more failure stops writes' : 'voters')),
      stat('This node', status.nodeId),
      releasesStat(status));
    fill(members, h('table', {},
      h('caption', { class: 'sr-only' }, 'Cluster members'),
      h('thead', {}, h('tr', {}, ['Node', 'Region', 'Role', 'Reachable', 'Applied index', 'Lag', 'Last contact', 'Release', 'Address', 'Actions']
        .map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, status.members.map((m) => h('tr', { 'data-node': m.id },
        h('td', { class: 'nowrap' }, String(m.id), ' ', m.isLeader ? h('span', { class: 'badge badge-accent' }, 'leader') : null,
          m.id === status.nodeId ? h('span', { class: 'badge' }, 'this node') : null),
        h('td', {}, m.region || ''),
        h('td', {}, m.role),
        h('td', {}, m.reachable ? h('span', { class: 'badge badge-ok' }, 'reachable') : h('span', { class: 'badge badge-bad' }, 'unreachable')),
        h('td', {}, maybe(m.lastAppliedIndex)),
        h('td', { class: 'nowrap' }, m.lag === undefined || m.lag === null ? '—' : `${m.lag} entries`,
          m.lagMs === undefined || m.lagMs === null ? '' : ` · ${m.lagMs} ms`),
        h('td', { class: 'nowrap' }, m.lastContactMs !== undefined && m.lastContactMs !== null ? `${m.lastContactMs} ms ago` : '—'),
        h('td', { class: 'nowrap' }, release(m)),
        h('td', { class: 'mono small' }, m.httpAddr || m.raftAddr),
        h('td', { class: 'nowrap' }, h('div', { class: 'btn-row' },
          m.role === 'learner' ? action('Promote', m, 'promote') : null,
          m.role === 'voter' && !m.isLeader && m.reachable ? action('Make leader', m, 'transfer') : null,
          m.isLeader ? null : action('Remove', m, 'remove', true))))))));
    if (status.regionRtts?.length) {
      fill(rtts, h('h2', {}, 'Round trips between regions'), h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Region round trips table' }, h('table', {},
        h('caption', { class: 'sr-only' }, 'Round-trip times between regions'),
        h('thead', {}, h('tr', {}, ['From', 'To', 'Round trip'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, status.regionRtts.map((r) => h('tr', {}, h('td', {}, r.from), h('td', {}, r.to), h('td', {}, `${r.ms} ms`)))))));
    } else {
      fill(rtts);
    }
    if (focusKey) root.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`)?.focus();
  };

  // A member's release: its package version (older releases do not say) and peer protocol.
  const release = (m) => {
    if (m.wireVersion === undefined || m.wireVersion === null) return '—';
    return `${m.version || 'before 0.2.0'} · protocol ${m.wireVersion}`;
  };
  // During a rolling upgrade the members speak different protocols: the cluster speaks the
  // lowest, and writes that need the newer one wait. Shown only then.
  const releasesStat = (s) => {
    const protocols = new Set(s.members.map((m) => m.wireVersion).filter((v) => v !== undefined && v !== null));
    if (protocols.size < 2) return null;
    return stat('Upgrade in progress', `protocol ${s.wireVersion ?? '—'}`,
      h('div', { class: 'label' }, 'members run different releases'));
  };

  const action = (label, member, kind, danger = false) => h('button', {
    type: 'button', class: `btn btn-sm${danger ? ' btn-danger' : ''}`, 'data-focus-key': `${kind}-${member.id}`,
    'aria-label': `${label} node ${member.id}`, onclick: () => runAction(kind, member),
  }, label);

  async function runAction(kind, member) {
    const titles = { promote: `Promote node ${member.id} to voter?`, remove: `Remove node ${member.id}?`, transfer: `Make node ${member.id} the leader?` };
    const extra = kind === 'remove' ? h('p', {}, `Node ${member.id} leaves the cluster: it stops receiving writes, and it must be wiped before it can join again.`) : null;
    const ok = await confirmDialog({
      title: titles[kind],
      body: [h('div', { class: 'effect' }, effectOf(kind, status, member).map((line) => h('p', {}, line))), extra],
      confirmLabel: { promote: 'Promote', remove: 'Remove node', transfer: 'Transfer leadership' }[kind],
      danger: kind === 'remove',
    });
    if (!ok) return;
    const requests = {
      promote: [`/api/cluster/members/${member.id}/promote`, 'POST'],
      remove: [`/api/cluster/members/${member.id}`, 'DELETE'],
      transfer: ['/api/cluster/leader', 'POST', { id: member.id }],
    };
    const [path, method, body] = requests[kind];
    try {
      await api(path, { method, body });
      toast({ promote: `Node ${member.id} is a voter.`, remove: `Node ${member.id} was removed.`, transfer: `Node ${member.id} leads.` }[kind]);
      refresh();
    } catch (error) {
      toast(error.message, { error: true, ms: 8000 });
    }
  }

  function addLearner() {
    const inputs = { id: h('input', { type: 'number', min: 1, step: 1 }), raftAddr: h('input', { type: 'text', placeholder: '10.0.0.4:8091' }),
      httpAddr: h('input', { type: 'text', placeholder: '10.0.0.4:8090' }), region: h('input', { type: 'text', placeholder: 'eu' }) };
    const dialog = openDialog({
      title: 'Add a learner',
      body: [status ? h('div', { class: 'effect' }, effectOf('add-learner', status).map((line) => h('p', {}, line))) : null,
        h('p', { class: 'muted' }, 'Start the new node first with a certificate from this cluster’s CA and --wait-to-be-added.'),
        formAlert(),
        field('Node id', inputs.id, { errorKey: 'id', hint: 'The id in its certificate.' }),
        field('Raft address (QUIC)', inputs.raftAddr, { errorKey: 'raftAddr' }),
        field('HTTP address', inputs.httpAddr, { errorKey: 'httpAddr' }),
        field('Region', inputs.region, { errorKey: 'region' })],
      onSubmit: async () => {
        clearErrors(dialog.form);
        try {
          await api('/api/cluster/learners', { method: 'POST', body: { id: Number(inputs.id.value || 0), raftAddr: inputs.raftAddr.value,
            httpAddr: inputs.httpAddr.value, region: inputs.region.value } });
          toast(`Node ${inputs.id.value} was added as a learner.`);
          dialog.close();
          refresh();
        } catch (error) {
          showErrors(dialog.form, error);
        }
      },
      footer: [h('button', { type: 'button', class: 'btn', onclick: () => dialog.close() }, 'Cancel'),
        h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add learner')],
    });
    inputs.id.focus();
  }

  async function refresh() {
    clearTimeout(timer);
    const mine = ++generation;
    try {
      status = await api('/api/cluster/status');
      problem.hidden = true;
      updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
      render();
    } catch (error) {
      problem.textContent = `Cannot read the cluster status: ${error.message} Retrying every ${REFRESH_MS / 1000} s.`;
      problem.hidden = false;
    }
    if (!stopped && mine === generation) timer = setTimeout(refresh, REFRESH_MS);
  }
  refresh();
  return {
    unmount() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
