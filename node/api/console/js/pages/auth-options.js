// The "Options" tab of an auth collection: sign-in methods, OAuth2 providers, OTP, MFA,
// token lifetimes and mail templates, bound to the draft.
import { h, fill } from '../dom.js';
import { api } from '../api.js';
import { bound } from '../components/form.js';

const section = (title, ...content) => h('details', { class: 'card' }, h('summary', {}, h('strong', {}, title)), h('div', {}, content));
const template = (draft, path, title) => section(title,
  bound(draft, `${path}.subject`, 'text', 'Subject'),
  bound(draft, `${path}.body`, 'code', 'Body (HTML)', { rows: 8, hint: 'Placeholders: {APP_NAME}, {APP_URL}, {TOKEN}, {OTP}, {RECORD:field}.' }));

let providersCache = null;

/** The provider's logo (an SVG the node sends), shown as an image from a data URL. */
function logo(available, name) {
  const svg = available.find((p) => p.name === name)?.logo;
  return svg ? h('img', { src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`, alt: '', width: 18, height: 18, class: 'provider-logo' }) : null;
}

export function authOptionsTab(draft) {
  const providers = h('div');
  const renderProviders = (available) => {
    const list = draft.oauth2.providers;
    fill(providers,
      list.map((provider, index) => h('fieldset', {},
        h('legend', {}, logo(available, provider.name), provider.displayName || provider.name || `Provider ${index + 1}`),
        h('div', { class: 'grid' },
          available.length
            ? bound(provider, 'name', 'select', 'Provider', { errorKey: `oauth2.providers.${index}.name`,
              choices: [['', 'Choose…'], ...available.map((p) => [p.name, p.displayName || p.name])] })
            : bound(provider, 'name', 'text', 'Provider name', { errorKey: `oauth2.providers.${index}.name`, hint: 'e.g. google, github, oidc' }),
          bound(provider, 'clientId', 'text', 'Client ID', { errorKey: `oauth2.providers.${index}.clientId` }),
          bound(provider, 'clientSecret', 'password', 'Client secret', { errorKey: `oauth2.providers.${index}.clientSecret`, hint: 'Leave empty to keep the stored one.' }),
          bound(provider, 'displayName', 'text', 'Display name', { errorKey: `oauth2.providers.${index}.displayName` }),
          bound(provider, 'authURL', 'url', 'Auth URL', { errorKey: `oauth2.providers.${index}.authURL` }),
          bound(provider, 'tokenURL', 'url', 'Token URL', { errorKey: `oauth2.providers.${index}.tokenURL` }),
          bound(provider, 'userInfoURL', 'url', 'User info URL', { errorKey: `oauth2.providers.${index}.userInfoURL` }),
          bound(provider, 'pkce', 'bool', 'Use PKCE', { errorKey: `oauth2.providers.${index}.pkce` })),
        h('button', { type: 'button', class: 'btn btn-sm btn-danger', onclick: () => {
          list.splice(index, 1);
          renderProviders(available);
        } }, 'Remove provider'))),
      h('button', { type: 'button', class: 'btn', onclick: () => {
        list.push({ name: '', clientId: '', clientSecret: '', displayName: '', authURL: '', tokenURL: '', userInfoURL: '', pkce: null });
        renderProviders(available);
      } }, '+ Add provider'));
  };
  renderProviders(providersCache || []);
  if (!providersCache) {
    api('/api/collections/meta/oauth2-providers')
      .then((data) => {
        providersCache = Array.isArray(data) ? data : data?.items || [];
        renderProviders(providersCache);
      })
      .catch(() => {});
  }

  return h('div', {},
    section('Password sign-in',
      bound(draft, 'passwordAuth.enabled', 'bool', 'Enabled'),
      bound(draft, 'passwordAuth.identityFields', 'list', 'Identity fields', { hint: 'Fields a person may sign in with, comma-separated; each needs a unique index.' })),
    section('OAuth2',
      bound(draft, 'oauth2.enabled', 'bool', 'Enabled'),
      providers,
      h('h4', {}, 'Map provider data to fields'),
      h('div', { class: 'grid' }, ['id', 'name', 'username', 'avatarURL'].map((key) => bound(draft, `oauth2.mappedFields.${key}`, 'text', `${key} →`)))),
    section('One-time password (OTP)',
      bound(draft, 'otp.enabled', 'bool', 'Enabled'),
      h('div', { class: 'grid' }, bound(draft, 'otp.duration', 'number', 'Valid for (seconds)'), bound(draft, 'otp.length', 'number', 'Code length')),
      template(draft, 'otp.emailTemplate', 'OTP email')),
    section('Multi-factor authentication (MFA)',
      h('p', { class: 'muted small' }, 'Asks for a second method (password, OTP or OAuth2) after the first.'),
      bound(draft, 'mfa.enabled', 'bool', 'Enabled'),
      bound(draft, 'mfa.duration', 'number', 'Time to complete (seconds)'),
      bound(draft, 'mfa.rule', 'code', 'Only when this rule matches (empty = always)', { rows: 2 })),
    section('Sign-in alerts',
      bound(draft, 'authAlert.enabled', 'bool', 'Email on sign-in from a new place'),
      template(draft, 'authAlert.emailTemplate', 'Alert email')),
    section('Token lifetimes (seconds)',
      h('div', { class: 'grid' }, [['authToken', 'Auth'], ['verificationToken', 'Verification'], ['passwordResetToken', 'Password reset'],
        ['emailChangeToken', 'Email change'], ['fileToken', 'Protected file']].map(([key, label]) => bound(draft, `${key}.duration`, 'number', label)))),
    section('Mail templates',
      template(draft, 'verificationTemplate', 'Verification'),
      template(draft, 'resetPasswordTemplate', 'Password reset'),
      template(draft, 'confirmEmailChangeTemplate', 'Email change')));
}
