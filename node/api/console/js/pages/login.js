// Sign-in for superusers: password, then a one-time code when MFA asks for a second factor
// (the password answer carries an mfaId), or a one-time code alone when OTP is enabled.
import { h, fill } from '../dom.js';
import { api, auth } from '../api.js';
import { navigate, current } from '../router.js';
import { field, formAlert, showErrors, clearErrors } from '../components/form.js';
import { centerCard, busy } from './public-layout.js';

const BASE = '/api/collections/_superusers';

export function mount(page) {
  // Our own container: an answer arriving after the person left lands in a detached node.
  const root = page.appendChild(document.createElement('div'));
  let methods = { password: { enabled: true }, otp: { enabled: false } };
  const done = (data) => {
    auth.save(data.token, data.record);
    const redirect = current().query.get('redirect');
    navigate(redirect && !redirect.startsWith('/login') ? redirect.split('?')[0] : '/collections',
      redirect ? Object.fromEntries(new URLSearchParams(redirect.split('?')[1] || '')) : {});
  };

  // With an mfaId (a one-time code was accepted first), the password is the second factor.
  const passwordStep = (mfaId = '', email = '') => {
    const identity = h('input', { type: 'email', autocomplete: 'username', required: true, value: email || undefined });
    const password = h('input', { type: 'password', autocomplete: 'current-password', required: true });
    const form = h('form', { novalidate: true, onsubmit: (event) => {
      event.preventDefault();
      busy(form, async () => {
        clearErrors(form);
        try {
          done(await api(`${BASE}/auth-with-password`, { method: 'POST',
            body: { identity: identity.value, password: password.value, mfaId: mfaId || undefined } }));
        } catch (error) {
          // A 401 whose body is {"mfaId"} (as PocketBase answers) asks for a second factor.
          const next = !mfaId && (error.response.mfaId || error.data.mfaId);
          if (next) return codeStep(identity.value, next);
          showErrors(form, error);
        }
      });
    } },
    mfaId ? h('p', {}, 'Your code was accepted. Enter your password to finish signing in.') : null,
    formAlert(),
    field('Email', identity, { errorKey: 'identity' }),
    field('Password', password, { errorKey: 'password' }),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in'));
    show(form,
      methods.otp.enabled && !mfaId ? h('p', {}, h('button', { type: 'button', class: 'link-btn', onclick: () => emailStep() }, 'Sign in with a one-time code')) : null,
      h('p', {}, h('a', { href: '#/request-password-reset' }, 'Forgot your password?')));
    (email ? password : identity).focus();
  };

  const emailStep = () => {
    const email = h('input', { type: 'email', autocomplete: 'username', required: true });
    const form = h('form', { novalidate: true, onsubmit: (event) => {
      event.preventDefault();
      busy(form, () => codeStep(email.value, '', form));
    } },
    formAlert(),
    field('Email', email, { errorKey: 'email' }),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Send code'));
    show(form, h('p', {}, h('button', { type: 'button', class: 'link-btn', onclick: () => passwordStep() }, 'Sign in with a password')));
    email.focus();
  };

  // Asks the server to mail a code, then asks for it. With an mfaId this is the second factor.
  const codeStep = async (email, mfaId, errorForm) => {
    let otpId;
    try {
      otpId = (await api(`${BASE}/request-otp`, { method: 'POST', body: { email } })).otpId;
    } catch (error) {
      if (errorForm) return showErrors(errorForm, error);
      const form = h('form', {}, formAlert());
      show(form, h('button', { type: 'button', class: 'btn', onclick: () => passwordStep() }, 'Back'));
      return showErrors(form, error);
    }
    const code = h('input', { type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', required: true });
    const form = h('form', { novalidate: true, onsubmit: (event) => {
      event.preventDefault();
      busy(form, async () => {
        clearErrors(form);
        try {
          done(await api(`${BASE}/auth-with-otp`, { method: 'POST', body: { otpId, password: code.value, mfaId: mfaId || undefined } }));
        } catch (error) {
          const next = !mfaId && (error.response.mfaId || error.data.mfaId);
          if (next) return passwordStep(next, email);
          showErrors(form, error);
        }
      });
    } },
    h('p', {}, mfaId ? 'Your password was accepted. ' : '', `Enter the one-time code sent to ${email}.`),
    formAlert(),
    field('One-time code', code, { errorKey: 'password' }),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Verify'));
    show(form, h('p', {}, h('button', { type: 'button', class: 'link-btn', onclick: () => passwordStep() }, 'Start over')));
    code.focus();
  };

  const show = (...content) => fill(root, centerCard('Superuser sign-in', content));

  api(`${BASE}/auth-methods`, { token: '' })
    .then((data) => {
      methods = { password: data.password || { enabled: true }, otp: data.otp || { enabled: false } };
    })
    .catch(() => {})
    .finally(() => (methods.password.enabled ? passwordStep() : emailStep()));
  return {};
}
