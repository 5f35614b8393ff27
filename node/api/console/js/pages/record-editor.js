// The side panel that creates or edits one record. Auth records also get impersonation and
// the verification and password-reset mails. Files go as multipart with "@jsonPayload".
import { h, fill } from '../dom.js';
import { api, ApiError } from '../api.js';
import { openDialog, confirmDialog } from '../components/dialog.js';
import { formAlert, showErrors, clearErrors, field } from '../components/form.js';
import { popover, menuItems } from '../components/popover.js';
import { toast } from '../components/toast.js';
import { recordInput } from './record-inputs.js';

export function openRecordEditor({ collection, collections, recordId, onClose, onSaved }) {
  const isNew = recordId === 'new';
  const base = `/api/collections/${encodeURIComponent(collection.id)}/records`;
  const body = h('div', {}, h('p', { role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' Loading…'));
  const alert = formAlert();
  let inputs = [];
  let record = {};
  const save = h('button', { type: 'submit', class: 'btn btn-primary', disabled: true }, isNew ? 'Create' : 'Save changes');
  const isAuth = collection.type === 'auth';
  const actions = isAuth && !isNew ? popover('Actions', menuItems([
    { label: 'Send verification email', onSelect: () => sendMail('request-verification', 'A verification email was sent.') },
    { label: 'Send password reset email', onSelect: () => sendMail('request-password-reset', 'A password reset email was sent.') },
    { label: 'Impersonate', onSelect: () => impersonate() },
  ]), { className: 'btn btn-sm' }) : null;

  const panel = openDialog({
    kind: 'panel',
    title: isNew ? `New ${collection.name} record` : `Edit ${collection.name} record`,
    headExtra: actions,
    body: [alert, body],
    onSubmit: () => submit(),
    onClose,
    footer: [
      isNew ? null : h('button', { type: 'button', class: 'btn btn-danger', onclick: () => remove() }, 'Delete'),
      h('span', { class: 'muted small kbd-hint' }, 'Ctrl+S saves'),
      h('button', { type: 'button', class: 'btn', onclick: () => panel.close() }, 'Cancel'),
      save,
    ],
  });

  const render = (expand) => {
    const ctx = { collection, collections, isNew, expand };
    const shown = collection.fields.filter((f) => f.name !== 'tokenKey' && !(f.type === 'autodate' && isNew));
    // An auth record's password comes after its email and verified state, as people read it.
    const password = isAuth ? shown.filter((f) => f.type === 'password' && f.system) : [];
    const fields = shown.filter((f) => !password.includes(f));
    fields.splice(fields.findIndex((f) => f.name === 'verified') + 1, 0, ...password);
    inputs = fields.map((f) => recordInput(f, record, ctx));
    fill(body, inputs.map((input) => input.node));
    save.disabled = false;
    body.querySelector('input:not([readonly]), textarea, select')?.focus();
  };

  async function submit() {
    clearErrors(panel.form);
    const data = {};
    const files = [];
    try {
      inputs.forEach((input) => input.collect(data, files));
    } catch (problem) {
      return showErrors(panel.form, new ApiError(400, { message: 'Please fix the highlighted field.', data: { [problem.field]: { code: 'invalid', message: problem.message } } }));
    }
    let payload = data;
    if (files.length) {
      payload = new FormData();
      payload.append('@jsonPayload', JSON.stringify(data));
      files.forEach(([key, file]) => payload.append(key, file));
    }
    save.disabled = true;
    try {
      const saved = await api(isNew ? base : `${base}/${encodeURIComponent(record.id)}`, { method: isNew ? 'POST' : 'PATCH', body: payload });
      toast(isNew ? `Created record ${saved.id}.` : `Saved record ${saved.id}.`);
      onSaved(saved);
      panel.close();
    } catch (error) {
      showErrors(panel.form, error);
    } finally {
      save.disabled = false;
    }
  }

  async function remove() {
    const ok = await confirmDialog({
      title: 'Delete this record?',
      body: h('p', {}, `Record ${record.id} of "${collection.name}" will be deleted with its files. Relations pointing to it are cleared (or their records deleted where the relation cascades). This cannot be undone.`),
      confirmLabel: 'Delete', danger: true,
    });
    if (!ok) return;
    try {
      await api(`${base}/${encodeURIComponent(record.id)}`, { method: 'DELETE' });
      toast(`Deleted record ${record.id}.`);
      onSaved(null);
      panel.close();
    } catch (error) {
      showErrors(panel.form, error);
    }
  }

  async function sendMail(action, done) {
    try {
      await api(`/api/collections/${encodeURIComponent(collection.id)}/${action}`, { method: 'POST', body: { email: record.email } });
      toast(done);
    } catch (error) {
      toast(error.message, { error: true });
    }
  }

  function impersonate() {
    const duration = h('input', { type: 'number', min: 0, step: 1, value: 3600 });
    const out = h('div');
    const dialog = openDialog({
      title: `Impersonate ${record.email || record.id}`,
      body: [h('p', {}, 'Creates a token that acts as this record (it cannot be refreshed). Anyone holding it can act as this user until it expires.'),
        formAlert(), field('Token lifetime in seconds (0 = the collection default)', duration, { errorKey: 'duration' }), out],
      onSubmit: async () => {
        clearErrors(dialog.form);
        try {
          const data = await api(`/api/collections/${encodeURIComponent(collection.id)}/impersonate/${encodeURIComponent(record.id)}`,
            { method: 'POST', body: { duration: Number(duration.value || 0) } });
          const token = h('textarea', { class: 'code', readonly: true, rows: 4 });
          token.value = data.token;
          fill(out, field('Token', token));
          token.select();
        } catch (error) {
          showErrors(dialog.form, error);
        }
      },
      footer: [h('button', { type: 'button', class: 'btn', onclick: () => dialog.close() }, 'Close'),
        h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create token')],
    });
  }

  if (isNew) {
    render({});
  } else {
    const expand = collection.fields.filter((f) => f.type === 'relation').map((f) => f.name).join(',');
    api(`${base}/${encodeURIComponent(recordId)}`, { query: { expand } })
      .then((data) => {
        record = data;
        render(data.expand || {});
      })
      .catch((error) => {
        fill(body);
        showErrors(panel.form, error);
      });
  }
  return { close: () => panel.close() };
}
