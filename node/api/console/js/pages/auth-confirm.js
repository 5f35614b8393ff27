// The pages the auth mail templates link to ("/_/#/auth/confirm-verification/<token>",
// "confirm-password-reset", "confirm-email-change"). The token names its collection.
import { h, fill } from '../dom.js';
import { api } from '../api.js';
import { field, formAlert, showErrors, clearErrors } from '../components/form.js';
import { centerCard, busy } from './public-layout.js';

function collectionOf(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(payload)).collectionId || '';
  } catch {
    return '';
  }
}

const ACTIONS = {
  'confirm-verification': { title: 'Confirm your email', button: 'Confirm email', inputs: [] },
  'confirm-password-reset': { title: 'Choose a new password', button: 'Save password',
    inputs: [['password', 'New password'], ['passwordConfirm', 'Confirm new password']] },
  'confirm-email-change': { title: 'Confirm your new email', button: 'Confirm', inputs: [['password', 'Your password']] },
};

export function mount(page, route) {
  // Our own container: an answer arriving after the person left lands in a detached node.
  const root = page.appendChild(document.createElement('div'));
  const [, action, token = ''] = route.segments;
  const spec = ACTIONS[action];
  const collection = collectionOf(token);
  if (!spec || !collection) {
    fill(root, centerCard('Invalid link', h('p', {}, 'This link is not valid. Ask for a new one.')));
    return {};
  }
  const inputs = spec.inputs.map(([name, label]) => [name, label, h('input', { type: 'password', autocomplete: 'new-password' })]);
  const form = h('form', { novalidate: true, onsubmit: (event) => {
    event.preventDefault();
    busy(form, async () => {
      clearErrors(form);
      const body = { token };
      inputs.forEach(([name, , input]) => { body[name] = input.value; });
      try {
        await api(`/api/collections/${encodeURIComponent(collection)}/${action}`, { method: 'POST', body, token: '' });
        fill(root, centerCard('Done', h('p', { role: 'status' }, 'Confirmed. You can close this page.')));
      } catch (error) {
        showErrors(form, error);
      }
    });
  } },
  formAlert(),
  inputs.map(([name, label, input]) => field(label, input, { errorKey: name })),
  h('button', { type: 'submit', class: 'btn btn-primary' }, spec.button));
  fill(root, centerCard(spec.title, form));
  return {};
}
