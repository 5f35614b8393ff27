// What each settings section edits: its top-level keys, inputs and extra actions.
import { h, fill } from '../dom.js';
import { api } from '../api.js';
import { openDialog } from '../components/dialog.js';
import { bound, formAlert, showErrors, clearErrors, field } from '../components/form.js';
import { toast } from '../components/toast.js';
import { loadCollections } from '../store.js';

const grid = (...children) => h('div', { class: 'grid' }, children);

// Secrets are never sent back by the API: an empty input means "keep the stored one".
const dropEmpty = (object, key) => {
  if (object && !object[key]) delete object[key];
};

export const SECTIONS = {
  application: {
    title: 'Application',
    keys: ['meta', 'batch'],
    render: (s) => [
      grid(bound(s, 'meta.appName', 'text', 'Application name'), bound(s, 'meta.appURL', 'url', 'Application URL', { hint: 'Used in the links of auth emails.' })),
      h('h3', {}, 'Batch API'),
      bound(s, 'batch.enabled', 'bool', 'Enable POST /api/batch'),
      grid(bound(s, 'batch.maxRequests', 'number', 'Max requests per batch'),
        bound(s, 'batch.timeout', 'number', 'Timeout (seconds)'),
        bound(s, 'batch.maxBodySize', 'number', 'Max body size (bytes)', { hint: '0 = default' })),
    ],
  },
  mail: {
    title: 'Mail',
    keys: ['meta', 'smtp'],
    beforeSave: (patch) => dropEmpty(patch.smtp, 'password'),
    render: (s) => [
      grid(bound(s, 'meta.senderName', 'text', 'Sender name'), bound(s, 'meta.senderAddress', 'email', 'Sender address')),
      bound(s, 'smtp.enabled', 'bool', 'Send through an SMTP server'),
      grid(bound(s, 'smtp.host', 'text', 'SMTP host'), bound(s, 'smtp.port', 'number', 'Port'),
        bound(s, 'smtp.username', 'text', 'Username'),
        bound(s, 'smtp.password', 'password', 'Password', { hint: 'Leave empty to keep the stored one.' }),
        bound(s, 'smtp.authMethod', 'select', 'Auth method', { choices: [['', 'Default (PLAIN)'], ['PLAIN', 'PLAIN'], ['LOGIN', 'LOGIN']] }),
        bound(s, 'smtp.localName', 'text', 'HELO name', { hint: 'Empty = localhost' })),
      bound(s, 'smtp.tls', 'bool', 'Use TLS from the start (port 465); otherwise STARTTLS when offered'),
    ],
    actions: () => h('button', { type: 'button', class: 'btn', onclick: testEmailDialog }, 'Send test email'),
  },
  storage: {
    title: 'File storage',
    keys: ['s3'],
    note: 'Off: files are kept on every node. On: new files go to an S3-compatible bucket, and nodes cache them.',
    beforeSave: (patch) => dropEmpty(patch.s3, 'secret'),
    render: (s) => [
      bound(s, 's3.enabled', 'bool', 'Store new files in S3'),
      grid(bound(s, 's3.endpoint', 'url', 'Endpoint'), bound(s, 's3.bucket', 'text', 'Bucket'), bound(s, 's3.region', 'text', 'Region'),
        bound(s, 's3.accessKey', 'text', 'Access key'), bound(s, 's3.secret', 'password', 'Secret', { hint: 'Leave empty to keep the stored one.' })),
      bound(s, 's3.forcePathStyle', 'bool', 'Force path-style addressing'),
    ],
    actions: () => h('button', { type: 'button', class: 'btn', onclick: testS3 }, 'Test connection (saved settings)'),
  },
  security: {
    title: 'Rate limits & access',
    keys: ['rateLimits', 'superuserIPs', 'trustedProxy'],
    note: 'Rate limits are counted per node.',
    render: (s) => [
      bound(s, 'rateLimits.enabled', 'bool', 'Enable rate limits'),
      rateRules(s.rateLimits),
      bound(s, 'rateLimits.excludedIPs', 'list', 'Addresses exempt from rate limits', { hint: 'Comma-separated IPs or CIDRs.' }),
      h('h3', {}, 'Superusers'),
      bound(s, 'superuserIPs', 'list', 'Superusers may only connect from', { hint: 'Comma-separated IPs or CIDRs; empty = anywhere. Keep your own address in it.' }),
      h('h3', {}, 'Trusted proxy'),
      bound(s, 'trustedProxy.headers', 'list', 'Client address headers', { hint: 'e.g. X-Forwarded-For, X-Real-IP; empty = the connection address.' }),
      bound(s, 'trustedProxy.useLeftmostIP', 'bool', 'Use the leftmost address of the header (instead of the rightmost)'),
    ],
  },
  logs: {
    title: 'Logs',
    keys: ['logs'],
    note: 'Request logs are kept by each node for its own requests; they are not replicated.',
    render: (s) => [
      grid(bound(s, 'logs.maxDays', 'number', 'Keep logs for (days)', { hint: '0 turns request logging off.' }),
        bound(s, 'logs.minLevel', 'select', 'Lowest level kept', { numeric: true,
          choices: [['-4', 'Debug'], ['0', 'Info'], ['4', 'Warning'], ['8', 'Error']] })),
      bound(s, 'logs.logIP', 'bool', 'Record client IP addresses'),
      bound(s, 'logs.logAuthId', 'bool', 'Record the id of the signed-in user'),
    ],
  },
};

function rateRules(limits) {
  const root = h('div');
  limits.rules ||= [];
  const render = () => fill(root,
    h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Rate limit rules table' }, h('table', { class: 'rows-table' },
      h('caption', { class: 'sr-only' }, 'Rate limit rules'),
      h('thead', {}, h('tr', {}, ['Label (path or tag)', 'Audience', 'Max requests', 'Per seconds', ''].map((text) => h('th', { scope: 'col' }, text)))),
      h('tbody', {}, limits.rules.map((rule, index) => h('tr', {},
        h('td', {}, cellInput(rule, 'label', 'text', `Label of rule ${index + 1}`, `rateLimits.rules.${index}.label`)),
        h('td', {}, bound(rule, 'audience', 'select', `Audience of rule ${index + 1}`, { errorKey: `rateLimits.rules.${index}.audience`,
          choices: [['', 'Everyone'], ['@guest', 'Guests'], ['@auth', 'Signed in']], className: 'sr-label' })),
        h('td', {}, cellInput(rule, 'maxRequests', 'number', `Max requests of rule ${index + 1}`, `rateLimits.rules.${index}.maxRequests`)),
        h('td', {}, cellInput(rule, 'duration', 'number', `Seconds of rule ${index + 1}`, `rateLimits.rules.${index}.duration`)),
        h('td', {}, h('button', { type: 'button', class: 'btn btn-sm btn-danger', 'aria-label': `Remove rule ${index + 1}`, onclick: () => {
          limits.rules.splice(index, 1);
          render();
        } }, '✕'))))))),
    h('p', { class: 'muted small' }, 'Labels: a path prefix such as /api/ or /api/collections/posts/records, or a tag such as *:auth, posts:create.'),
    h('button', { type: 'button', class: 'btn', onclick: () => {
      limits.rules.push({ label: '', audience: '', duration: 10, maxRequests: 100 });
      render();
    } }, '+ Add rule'));
  render();
  return root;
}

/** An input in a table cell: labelled for screen readers, the label hidden on screen. */
function cellInput(object, key, kind, label, errorKey) {
  return bound(object, key, kind, label, { errorKey, className: 'sr-label' });
}

async function testEmailDialog() {
  const email = h('input', { type: 'email', autocomplete: 'email' });
  const template = h('select', {}, [['verification', 'Verification'], ['password-reset', 'Password reset'],
    ['email-change', 'Email change'], ['otp', 'One-time password'], ['login-alert', 'Sign-in alert']].map(([v, l]) => h('option', { value: v }, l)));
  const collection = h('select', {}, h('option', { value: '_superusers' }, '_superusers'));
  loadCollections().then((all) => all.filter((c) => c.type === 'auth' && c.name !== '_superusers')
    .forEach((c) => collection.append(h('option', { value: c.name }, c.name)))).catch(() => {});
  const dialog = openDialog({
    title: 'Send a test email',
    body: [h('p', { class: 'muted' }, 'Sends one of an auth collection’s templates with the saved mail settings.'), formAlert(),
      field('To address', email, { errorKey: 'email' }), field('Template', template, { errorKey: 'template' }),
      field('Auth collection', collection, { errorKey: 'collection' })],
    onSubmit: async () => {
      clearErrors(dialog.form);
      try {
        await api('/api/settings/test/email', { method: 'POST', body: { email: email.value, template: template.value, collection: collection.value } });
        toast(`Test email sent to ${email.value}.`);
        dialog.close();
      } catch (error) {
        showErrors(dialog.form, error);
      }
    },
    footer: [h('button', { type: 'button', class: 'btn', onclick: () => dialog.close() }, 'Cancel'),
      h('button', { type: 'submit', class: 'btn btn-primary' }, 'Send')],
  });
  email.focus();
}

async function testS3() {
  try {
    await api('/api/settings/test/s3', { method: 'POST', body: { filesystem: 'storage' } });
    toast('The S3 bucket answered: uploading, reading and deleting a test file worked.');
  } catch (error) {
    const details = Object.values(error.data).map((v) => v?.message).filter(Boolean).join(' ');
    toast(`S3 test failed: ${error.message} ${details}`, { error: true, ms: 8000 });
  }
}
