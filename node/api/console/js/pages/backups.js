// "#/settings/backups": the cluster's backups (make one, upload one, download, restore,
// delete) and the schedule that makes them. A backup is listed and served by every node;
// restoring one replaces the running cluster's state with it, on every node, through Raft
// (`edgebase restore` on the command line seeds a new cluster from one instead).
import { h, fill, formatDate } from '../dom.js';
import { api, auth } from '../api.js';
import { forgetCollections, loadCollections } from '../store.js';
import { bound, field, formAlert, showErrors, clearErrors } from '../components/form.js';
import { confirmDialog, openDialog } from '../components/dialog.js';
import { toast } from '../components/toast.js';

const PRESETS = [
  ['0 0 * * *', 'Every day at 00:00'],
  ['0 */6 * * *', 'Every 6 hours'],
  ['0 0 * * 0', 'Every Sunday at 00:00'],
  ['0 0 1 * *', 'The 1st of each month at 00:00'],
];

/** 4004 → "3.9 KiB". */
function formatBytes(bytes) {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

const spinner = () => h('span', { class: 'spinner', 'aria-hidden': 'true' });

export function render() {
  const list = h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Backups table' });
  const progress = h('p', { class: 'alert alert-info', role: 'status', hidden: true });
  const schedule = h('div', {}, h('p', { role: 'status' }, 'Loading…'));

  const load = async () => {
    list.setAttribute('aria-busy', 'true');
    try {
      renderList(await api('/api/backups'));
    } catch (error) {
      fill(list, h('div', { class: 'alert alert-error', role: 'alert' }, `Cannot list the backups: ${error.message}`));
    } finally {
      list.removeAttribute('aria-busy');
    }
  };

  const renderList = (backups) => {
    if (!backups.length) return fill(list, h('div', { class: 'empty' }, 'No backups yet.'));
    // Newest first: the list comes sorted by name.
    const sorted = [...backups].sort((a, b) => String(b.modified).localeCompare(String(a.modified)));
    fill(list, h('table', {},
      h('caption', { class: 'sr-only' }, 'Backups, newest first'),
      h('thead', {}, h('tr', {}, ['Name', 'Size', 'Made', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, sorted.map((backup) => h('tr', { 'data-key': backup.key },
        h('td', { class: 'mono' }, backup.key),
        h('td', { class: 'nowrap' }, formatBytes(backup.size)),
        h('td', { class: 'nowrap' }, formatDate(backup.modified)),
        h('td', { class: 'nowrap' }, h('div', { class: 'btn-row' },
          h('button', { type: 'button', class: 'btn btn-sm', 'aria-label': `Download ${backup.key}`, onclick: (e) => downloadBackup(backup.key, e.currentTarget) }, 'Download'),
          h('button', { type: 'button', class: 'btn btn-sm', 'aria-label': `Restore ${backup.key}`, onclick: () => restore(backup) }, 'Restore'),
          h('button', { type: 'button', class: 'btn btn-sm btn-danger', 'aria-label': `Delete ${backup.key}`, onclick: () => remove(backup.key) }, 'Delete'))))))));
  };

  // One long request: the answer comes once the archive is in the cluster.
  const name = h('input', { type: 'text', class: 'code', autocomplete: 'off', spellcheck: 'false', placeholder: 'before_migration.zip' });
  const createButton = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create backup');
  const createForm = h('form', { novalidate: true, 'aria-label': 'New backup', onsubmit: async (event) => {
    event.preventDefault();
    clearErrors(createForm);
    const chosen = name.value.trim();
    setBusy(createForm, createButton, 'Creating…',
      `Creating ${chosen ? `the backup ${chosen}` : 'a backup'}. This takes longer the more data and files the cluster holds; you may leave this page.`);
    try {
      await api('/api/backups', { method: 'POST', body: chosen ? { name: chosen } : {} });
      name.value = '';
      toast(chosen ? `Backup ${chosen} created.` : 'Backup created.');
      load();
    } catch (error) {
      if (createForm.isConnected) showErrors(createForm, error);
      else toast(`The backup failed: ${error.message}`, { error: true });
    } finally {
      setIdle(createForm, createButton, 'Create backup');
    }
  } },
  h('h3', {}, 'New backup'),
  formAlert(),
  field('Name', name, { errorKey: 'name', hint: 'Optional: lowercase letters, digits, _ and -, ending in .zip. Empty: a name with the date.' }),
  h('div', { class: 'btn-row end' }, createButton));

  const file = h('input', { type: 'file', accept: '.zip,application/zip' });
  const uploadButton = h('button', { type: 'submit', class: 'btn' }, 'Upload');
  const uploadForm = h('form', { novalidate: true, 'aria-label': 'Upload a backup', onsubmit: async (event) => {
    event.preventDefault();
    clearErrors(uploadForm);
    const chosen = file.files[0];
    if (!chosen) return showErrors(uploadForm, { message: 'Choose a backup file first.', data: { file: { code: 'validation_required', message: 'Cannot be blank.' } } });
    const body = new FormData();
    body.append('file', chosen);
    setBusy(uploadForm, uploadButton, 'Uploading…', `Uploading ${chosen.name} and checking that it is an EdgeBase backup.`);
    try {
      await api('/api/backups/upload', { method: 'POST', body });
      file.value = '';
      toast(`Backup ${chosen.name} uploaded.`);
      load();
    } catch (error) {
      if (uploadForm.isConnected) showErrors(uploadForm, error);
      else toast(`The upload failed: ${error.message}`, { error: true });
    } finally {
      setIdle(uploadForm, uploadButton, 'Upload');
    }
  } },
  h('h3', {}, 'Upload a backup'),
  formAlert(),
  field('Backup file', file, { errorKey: 'file', hint: 'A .zip made by an EdgeBase backup; it keeps its file name.' }),
  h('div', { class: 'btn-row end' }, uploadButton));

  // A node takes one backup, upload or restore at a time, so one running disables both
  // forms. A restore runs from its dialog: it has no form here.
  let running = 0;
  function setBusy(form, button, label, message) {
    running += 1;
    for (const control of [createForm, uploadForm].flatMap((f) => [...f.elements])) control.disabled = true;
    form?.setAttribute('aria-busy', 'true');
    if (button) fill(button, spinner(), label);
    fill(progress, spinner(), ' ', message);
    progress.hidden = false;
  }
  function setIdle(form, button, label) {
    running -= 1;
    form?.removeAttribute('aria-busy');
    if (button) fill(button, label);
    if (running) return;
    for (const control of [createForm, uploadForm].flatMap((f) => [...f.elements])) control.disabled = false;
    progress.hidden = true;
  }

  async function downloadBackup(key, button) {
    button.disabled = true;
    try {
      // A download is a plain navigation, which cannot carry the Authorization header: it
      // carries a short-lived file token instead.
      const { token } = await api('/api/files/token', { method: 'POST' });
      const url = `/api/backups/${encodeURIComponent(key)}?token=${encodeURIComponent(token)}`;
      const check = await fetch(url, { method: 'HEAD' });
      if (!check.ok) throw new Error(check.status === 404 ? 'it is no longer there; refresh the list.' : `the server answered ${check.status}.`);
      const link = h('a', { href: url, download: key });
      document.body.append(link);
      link.click();
      link.remove();
    } catch (error) {
      toast(`Cannot download ${key}: ${error.message}`, { error: true, ms: 8000 });
    } finally {
      button.disabled = false;
    }
  }

  // The whole cluster goes back to the backup: the person types its name to confirm, the
  // dialog stays open (and says so) while every node applies it, then the app reloads what
  // it holds of the cluster's state: the collections, the session, this page.
  function restore(backup) {
    const { key } = backup;
    let restoring = false;
    const typed = h('input', { type: 'text', class: 'code', autocomplete: 'off', spellcheck: 'false' });
    const working = h('p', { class: 'alert alert-info', role: 'status', hidden: true });
    const cancel = h('button', { type: 'button', class: 'btn', onclick: () => dialog.close() }, 'Cancel');
    const submit = h('button', { type: 'submit', class: 'btn btn-solid-danger' }, 'Restore backup');
    const dialog = openDialog({
      title: `Restore backup ${key}?`,
      keepOpen: () => restoring,
      body: [
        h('div', { class: 'effect' },
          h('p', {}, `The whole cluster’s data becomes the backup’s, on every node: its collections, records, files, settings and superusers, as they were when ${key} was made (${formatDate(backup.modified)}).`),
          h('p', {}, h('strong', {}, 'Every change made since then is lost.'), ' To keep a way back, create a backup of the current data first.'),
          h('p', {}, 'The list of backups is kept as it is. Apps listening for realtime changes are disconnected and reconnect. If the backup’s superusers differ from today’s, your session may end: then sign in with an account from the backup.')),
        formAlert(),
        field(['Type ', h('code', {}, key), ' to confirm'], typed, { errorKey: 'confirm' }),
        working],
      footer: [cancel, submit],
      onSubmit: async () => {
        if (restoring) return;
        clearErrors(dialog.form);
        if (typed.value.trim() !== key) {
          showErrors(dialog.form, { message: 'The name does not match.', data: { confirm: { code: 'validation_mismatch', message: `Type ${key} exactly to confirm.` } } });
          return;
        }
        restoring = true;
        const closer = dialog.form.querySelector('.dlg-head [aria-label="Close"]');
        const controls = [typed, cancel, submit, closer];
        const message = `Restoring ${key} on every node. This takes longer the more data and files the backup holds.`;
        for (const control of controls) control.disabled = true;
        dialog.form.setAttribute('aria-busy', 'true');
        fill(submit, spinner(), 'Restoring…');
        fill(working, spinner(), ' ', message, ' Keep this page open.');
        working.hidden = false;
        setBusy(null, null, '', message);
        try {
          await api(`/api/backups/${encodeURIComponent(key)}/restore`, { method: 'POST' });
        } catch (error) {
          restoring = false;
          setIdle();
          if (dialog.dialog.open) {
            for (const control of controls) control.disabled = false;
            dialog.form.removeAttribute('aria-busy');
            fill(submit, 'Restore backup');
            working.hidden = true;
            showErrors(dialog.form, error);
          } else {
            toast(`Cannot restore ${key}: ${error.message}`, { error: true, ms: 8000 });
          }
          // The backup may be gone, or another one made meanwhile.
          load();
          return;
        }
        restoring = false;
        setIdle();
        dialog.close();
        await reloadAfterRestore(key);
      },
    });
    typed.focus();
  }

  async function reloadAfterRestore(key) {
    forgetCollections();
    // The session: the backup's superusers may not include this one (a 401 signs out, and
    // the app goes to the login page), or may have another email.
    let signedOut = false;
    try {
      const data = await api('/api/collections/_superusers/auth-refresh', { method: 'POST', keepSession: true });
      auth.save(data.token, data.record);
    } catch (error) {
      signedOut = error.status === 401 || error.status === 403 || error.status === 404;
    }
    if (signedOut) {
      toast(`Backup ${key} restored. Your session ended: the backup’s superusers differ. Sign in with an account from the backup.`, { ms: 15000 });
      auth.clear();
      return;
    }
    toast(`Backup ${key} restored: the cluster’s data is now the backup’s.`, { ms: 8000 });
    loadCollections({ fresh: true }).catch(() => {});
    if (!root.isConnected) return;
    renderSchedule(schedule);
    await load();
    // The list was drawn anew: focus goes back to the row's Restore button.
    list.querySelector(`tr[data-key="${CSS.escape(key)}"] button[aria-label^="Restore "]`)?.focus();
  }

  async function remove(key) {
    const ok = await confirmDialog({
      title: `Delete backup ${key}?`,
      body: h('p', {}, `The archive ${key} is removed from the cluster: no node will list or serve it any more. This cannot be undone.`),
      confirmLabel: 'Delete backup',
      danger: true,
    });
    if (!ok) return;
    try {
      await api(`/api/backups/${encodeURIComponent(key)}`, { method: 'DELETE' });
      toast(`Backup ${key} deleted.`);
    } catch (error) {
      toast(`Cannot delete ${key}: ${error.message}`, { error: true, ms: 8000 });
    }
    load();
  }

  const root = h('div', {},
    h('section', { class: 'card', 'aria-labelledby': 'backups-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'backups-title' }, 'Backups'),
        h('button', { type: 'button', class: 'btn', onclick: load }, 'Refresh')),
      h('p', { class: 'muted' }, 'A backup holds the whole cluster’s data at one moment, with the files it refers to, in one zip archive kept by a majority of the voters; every node lists and serves it.'),
      h('p', { class: 'muted' }, 'Restore replaces this cluster’s data with a backup’s, on every node, while it keeps running. To start a new cluster from a backup instead, download it, seed an empty data dir with ',
        h('code', {}, 'edgebase restore BACKUP --dir DIR'), ', then start a node on it with ', h('code', {}, 'edgebase serve --dir DIR'),
        '; it founds the new cluster, and other nodes join it as usual.'),
      h('div', { class: 'grid-2' }, createForm, uploadForm),
      progress,
      list),
    schedule);
  load();
  renderSchedule(schedule);
  return root;
}

/** The backups part of the settings: the schedule, how many scheduled backups to keep, S3. */
async function renderSchedule(root) {
  let settings;
  try {
    settings = await api('/api/settings');
  } catch (error) {
    fill(root, h('div', { class: 'alert alert-error', role: 'alert' }, `Cannot read the backup settings: ${error.message}`));
    return;
  }
  const draft = { backups: structuredClone(settings.backups) };
  const enabled = h('input', { type: 'checkbox', checked: !!draft.backups.cron, onchange: () => {
    timing.hidden = !enabled.checked;
    if (enabled.checked && !cron.value.trim()) setCron(PRESETS[0][0]);
  } });
  const cronField = bound(draft, 'backups.cron', 'text', 'Schedule (cron, UTC)', {
    hint: 'Minute, hour, day of month, month and day of week, e.g. 30 2 * * * for 02:30 every day; or @hourly, @daily, @weekly, @monthly, @yearly.',
  });
  const cron = cronField.querySelector('input');
  cron.classList.add('code');
  cron.spellcheck = false;
  const setCron = (value) => {
    cron.value = value;
    draft.backups.cron = value;
  };
  const timing = h('div', { hidden: !enabled.checked },
    h('div', { class: 'grid-2' },
      h('div', {}, cronField,
        h('div', { class: 'btn-row presets', role: 'group', 'aria-label': 'Schedule presets' },
          PRESETS.map(([expression, label]) => h('button', { type: 'button', class: 'btn btn-sm', title: expression,
            onclick: () => setCron(expression) }, label)))),
      bound(draft, 'backups.cronMaxKeep', 'number', 'Scheduled backups to keep', { min: 1, step: 1,
        hint: 'After each scheduled backup, the oldest scheduled ones (named @auto_pb_backup_…) beyond this many are deleted; other backups are kept.' })));
  const s3 = h('details', { class: 'card' },
    h('summary', {}, 'S3 for backups (stored only)'),
    h('p', { class: 'alert alert-warn' }, 'These settings are saved with the others, for PocketBase compatibility, but not used: backups are kept in the cluster itself.'),
    bound(draft, 'backups.s3.enabled', 'bool', 'Store backups in S3'),
    h('div', { class: 'grid' },
      bound(draft, 'backups.s3.endpoint', 'url', 'Endpoint'), bound(draft, 'backups.s3.bucket', 'text', 'Bucket'),
      bound(draft, 'backups.s3.region', 'text', 'Region'), bound(draft, 'backups.s3.accessKey', 'text', 'Access key'),
      bound(draft, 'backups.s3.secret', 'password', 'Secret', { hint: 'Leave empty to keep the stored one.' })),
    bound(draft, 'backups.s3.forcePathStyle', 'bool', 'Force path-style addressing'));
  const save = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save changes');
  const form = h('form', { class: 'card', novalidate: true, 'data-save': '', 'aria-label': 'Scheduled backups', onsubmit: async (event) => {
    event.preventDefault();
    clearErrors(form);
    const patch = { backups: structuredClone(draft.backups) };
    if (!enabled.checked) patch.backups.cron = '';
    // The secret is never sent back by the API: empty means "keep the stored one".
    if (!patch.backups.s3?.secret) delete patch.backups.s3?.secret;
    save.disabled = true;
    try {
      const saved = await api('/api/settings', { method: 'PATCH', body: patch });
      toast(saved.backups.cron ? `Backups are scheduled: ${saved.backups.cron} (UTC).` : 'Scheduled backups are off.');
    } catch (error) {
      showErrors(form, error);
      // An error may belong to an input that is folded away: unfold it and focus it.
      const folded = (timing.hidden && timing.querySelector('[aria-invalid]')) || (!s3.open && s3.querySelector('[aria-invalid]'));
      if (timing.querySelector('[aria-invalid]')) timing.hidden = false;
      if (s3.querySelector('[aria-invalid]')) s3.open = true;
      if (folded) form.querySelector('[aria-invalid]').focus();
    } finally {
      save.disabled = false;
    }
  } },
  h('h2', {}, 'Scheduled backups'),
  h('p', { class: 'muted' }, 'One node of the cluster makes each scheduled backup; it shows in the list above and in Crons as __pbAutoBackup__.'),
  formAlert(),
  field('Make backups on a schedule', enabled),
  timing,
  s3,
  h('div', { class: 'btn-row end' }, h('span', { class: 'muted small kbd-hint' }, 'Ctrl+S saves'), save));
  fill(root, form);
}
