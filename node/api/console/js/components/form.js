// Labelled inputs, and the API's validation errors shown next to the inputs they belong to.
import { h, uid, getPath, setPath } from '../dom.js';

/**
 * field(label, control, {hint, errorKey, container}) → a labelled wrapper. `errorKey` is the
 * path of the API error that belongs to this input ("email", "fields.2.name", "smtp.host");
 * `container` is shown instead of the control when it wraps it (e.g. with autocomplete).
 */
export function field(label, control, { hint, errorKey, className = '', container } = {}) {
  const id = control.id || uid('in');
  control.id = id;
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  if (errorKey) control.dataset.errorKey = errorKey;
  control.dataset.errorId = errorId;
  const isCheck = control.type === 'checkbox';
  return h('div', { class: `field ${isCheck ? 'check-field' : ''} ${className}` },
    isCheck ? h('label', { class: 'check', for: id }, control, label) : h('label', { for: id }, label),
    isCheck ? null : container || control,
    hint ? h('div', { class: 'hint', id: hintId }, hint) : null,
    h('div', { class: 'field-error', id: errorId, hidden: true }));
}

/** Flattens PocketBase's error data into {"fields.1.name": "Cannot be blank."}. */
export function flattenErrors(data, prefix = '', out = {}) {
  for (const [key, value] of Object.entries(data || {})) {
    if (!value || typeof value !== 'object') continue;
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value.message === 'string' && typeof value.code === 'string') out[path] = value.message;
    else flattenErrors(value, path, out);
  }
  return out;
}

/** A slot at the top of a form for the error message (and errors with no input). */
export function formAlert() {
  return h('div', { class: 'alert alert-error form-alert', role: 'alert', hidden: true });
}

export function clearErrors(root) {
  root.querySelectorAll('.field-error').forEach((node) => {
    node.hidden = true;
    node.textContent = '';
  });
  root.querySelectorAll('[aria-invalid]').forEach((node) => {
    node.removeAttribute('aria-invalid');
    const ids = (node.getAttribute('aria-describedby') || '').split(' ').filter((id) => id !== node.dataset.errorId);
    if (ids.length) node.setAttribute('aria-describedby', ids.join(' '));
    else node.removeAttribute('aria-describedby');
  });
  root.querySelectorAll('.form-alert').forEach((node) => {
    node.hidden = true;
    node.replaceChildren();
  });
}

/**
 * Shows an ApiError in `root`: each field error under its input (matched by errorKey),
 * the message and any unmatched field errors in the form's alert. Focuses the first bad input.
 */
export function showErrors(root, error) {
  clearErrors(root);
  const errors = flattenErrors(error.data);
  const unmatched = [];
  let first = null;
  for (const [path, message] of Object.entries(errors)) {
    const control = root.querySelector(`[data-error-key="${CSS.escape(path)}"]`);
    const slot = control && document.getElementById(control.dataset.errorId);
    if (!slot) {
      unmatched.push(`${path}: ${message}`);
      continue;
    }
    slot.textContent = message;
    slot.hidden = false;
    control.setAttribute('aria-invalid', 'true');
    const ids = (control.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
    control.setAttribute('aria-describedby', [...ids, slot.id].join(' '));
    first ||= control;
  }
  const alert = root.querySelector('.form-alert');
  if (alert) {
    alert.append(error.message);
    if (unmatched.length) alert.append(h('ul', {}, unmatched.map((line) => h('li', {}, line))));
    alert.hidden = false;
  }
  (first || alert)?.focus?.();
  if (!first) alert?.scrollIntoView?.({ block: 'nearest' });
}

const listToText = (value) => (Array.isArray(value) ? value.join(', ') : '');
const textToList = (text) => text.split(',').map((part) => part.trim()).filter(Boolean);

/**
 * bound(object, path, kind, label, options) → a labelled input that edits object[path].
 * kinds: text, email, url, password, number, bool, textarea, code, list (comma-separated
 * array), select (options.choices: [[value, label]]). options.errorKey defaults to path.
 */
export function bound(object, path, kind, label, options = {}) {
  const value = getPath(object, path);
  const set = (next) => setPath(object, path, next);
  let control;
  if (kind === 'bool') {
    control = h('input', { type: 'checkbox', checked: !!value, onchange: (e) => set(e.target.checked) });
  } else if (kind === 'textarea' || kind === 'code') {
    control = h('textarea', { class: kind === 'code' ? 'code' : '', rows: options.rows || 4, oninput: (e) => set(e.target.value) });
    control.value = value ?? '';
  } else if (kind === 'select') {
    control = h('select', { onchange: (e) => set(options.numeric ? Number(e.target.value) : e.target.value) },
      options.choices.map(([choice, text]) => h('option', { value: choice }, text)));
    control.value = String(value ?? '');
  } else if (kind === 'number') {
    control = h('input', { type: 'number', step: options.step || 'any', min: options.min,
      oninput: (e) => set(e.target.value === '' ? 0 : Number(e.target.value)) });
    control.value = value ?? '';
  } else if (kind === 'list') {
    control = h('input', { type: 'text', oninput: (e) => set(textToList(e.target.value)) });
    control.value = listToText(value);
  } else {
    control = h('input', { type: kind, autocomplete: kind === 'password' ? 'new-password' : 'off',
      placeholder: options.placeholder, oninput: (e) => set(e.target.value) });
    control.value = value ?? '';
  }
  if (options.disabled) control.disabled = true;
  return field(label, control, { hint: options.hint, errorKey: options.errorKey ?? path, className: options.className });
}
