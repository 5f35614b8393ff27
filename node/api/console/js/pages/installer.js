// First run: `edgebase serve` prints "/_/#/pbinstall/<token>" while no superuser exists. The
// token is a short-lived superuser token; with it this page creates the first superuser and
// then signs in with the new credentials.
import { h, fill } from '../dom.js';
import { api, auth } from '../api.js';
import { navigate } from '../router.js';
import { field, formAlert, showErrors, clearErrors } from '../components/form.js';
import { centerCard, busy } from './public-layout.js';

export function mount(page, route) {
  // Our own container: an answer arriving after the person left lands in a detached node.
  const root = page.appendChild(document.createElement('div'));
  const token = route.segments[1] || '';
  const email = h('input', { type: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', autocomplete: 'new-password', required: true });
  const confirm = h('input', { type: 'password', autocomplete: 'new-password', required: true });
  const form = h('form', { novalidate: true, onsubmit: (event) => {
    event.preventDefault();
    busy(form, async () => {
      clearErrors(form);
      const body = { email: email.value, password: password.value, passwordConfirm: confirm.value };
      try {
        await api('/api/collections/_superusers/records', { method: 'POST', body, token, keepSession: true });
        const data = await api('/api/collections/_superusers/auth-with-password', {
          method: 'POST', body: { identity: email.value, password: password.value }, token: '' });
        auth.save(data.token, data.record);
        navigate('/collections');
      } catch (error) {
        if (error.status === 401 || error.status === 403) {
          error.message = 'This installer link is no longer valid. Restart `edgebase serve` for a new link, or create a superuser with `edgebase superuser upsert`.';
        }
        showErrors(form, error);
      }
    });
  } },
  h('p', {}, 'Create the first superuser account. It can manage every collection, setting and node.'),
  formAlert(),
  field('Email', email, { errorKey: 'email' }),
  field('Password', password, { errorKey: 'password', hint: 'At least 10 characters.' }),
  field('Confirm password', confirm, { errorKey: 'passwordConfirm' }),
  h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create superuser and sign in'));
  fill(root, centerCard('Welcome to EdgeBase', form));
  email.focus();
  return {};
}
