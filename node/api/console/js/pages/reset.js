// Asks for a superuser password reset link by email.
import { h, fill } from '../dom.js';
import { api } from '../api.js';
import { field, formAlert, showErrors, clearErrors } from '../components/form.js';
import { centerCard, busy } from './public-layout.js';

export function mount(page) {
  // Our own container: an answer arriving after the person left lands in a detached node.
  const root = page.appendChild(document.createElement('div'));
  const email = h('input', { type: 'email', autocomplete: 'username', required: true });
  const form = h('form', { novalidate: true, onsubmit: (event) => {
    event.preventDefault();
    busy(form, async () => {
      clearErrors(form);
      try {
        await api('/api/collections/_superusers/request-password-reset', { method: 'POST', body: { email: email.value }, token: '' });
        fill(root, centerCard('Check your email',
          h('p', { role: 'status' }, `If ${email.value} belongs to a superuser, a link to choose a new password is on its way.`),
          h('p', {}, h('a', { href: '#/login' }, 'Back to sign-in'))));
      } catch (error) {
        showErrors(form, error);
      }
    });
  } },
  formAlert(),
  field('Email', email, { errorKey: 'email' }),
  h('button', { type: 'submit', class: 'btn btn-primary' }, 'Send reset link'));
  fill(root, centerCard('Reset your password', form, h('p', {}, h('a', { href: '#/login' }, 'Back to sign-in'))));
  email.focus();
  return {};
}
