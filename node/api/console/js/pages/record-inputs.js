// One input per field type for the record editor. Each returns {node, collect(body, files)}:
// collect writes the field's JSON value into `body` and new files into `files` as
// [key, File]; it throws {field, message} for a value the browser can already tell is wrong.
import { h, uid, formatDate } from '../dom.js';
import { field as labelled } from '../components/form.js';
import { fileUrl, isImage } from '../components/cells.js';
import { recordLabel } from '../store.js';
import { pickRelations } from './relation-picker.js';

// "2026-12-07 11:49:10.145Z" ⇄ the value of <input type="datetime-local"> (both UTC).
const toLocalInput = (value) => (value ? value.replace(' ', 'T').replace(/(\.\d+)?Z$/, '') : '');
const fromLocalInput = (value) => (value ? `${value.replace('T', ' ')}${value.length === 16 ? ':00' : ''}.000Z` : '');

const simple = (type, extra = {}) => (field, value) => {
  const input = h('input', { type, ...extra });
  input.value = value ?? '';
  return { input, read: () => input.value };
};

const BUILDERS = {
  text: simple('text'),
  email: simple('email'),
  url: simple('url'),
  number: (field, value) => {
    const input = h('input', { type: 'number', step: field.onlyInt ? 1 : 'any' });
    input.value = value ?? '';
    return { input, read: () => (input.value === '' ? 0 : Number(input.value)) };
  },
  editor: (field, value) => {
    const input = h('textarea', { rows: 8, class: 'code' });
    input.value = value ?? '';
    return { input, read: () => input.value, hint: 'HTML' };
  },
  bool: (field, value) => {
    const input = h('input', { type: 'checkbox', checked: !!value });
    return { input, read: () => input.checked };
  },
  date: (field, value) => {
    const input = h('input', { type: 'datetime-local', step: 1 });
    input.value = toLocalInput(value);
    return { input, read: () => fromLocalInput(input.value), hint: 'UTC' };
  },
  json: (field, value) => {
    const input = h('textarea', { rows: 6, class: 'code' });
    input.value = value === null || value === undefined ? '' : JSON.stringify(value, null, 2);
    return { input, read: () => {
      if (!input.value.trim()) return null;
      try {
        return JSON.parse(input.value);
      } catch (error) {
        throw { field: field.name, message: `Not valid JSON: ${error.message}` };
      }
    } };
  },
};

export function recordInput(field, record, ctx) {
  const value = record[field.name];
  const label = `${field.name}${field.required ? ' *' : ''}`;
  const hint = field.help || undefined;
  if (field.type === 'autodate') {
    return { node: h('div', { class: 'field' }, h('span', { class: 'label' }, field.name), h('span', { class: 'muted' }, formatDate(value) || 'Set when saved')), collect() {} };
  }
  if (field.name === 'id') {
    const input = h('input', { type: 'text', class: 'code', placeholder: 'Leave empty to generate', readonly: !ctx.isNew });
    input.value = value ?? '';
    return {
      node: labelled('id', input, { errorKey: 'id' }),
      collect(body) {
        if (ctx.isNew && input.value) body.id = input.value;
      },
    };
  }
  if (field.type === 'password') return passwordInput(field, ctx);
  if (field.type === 'select') return selectInput(field, value, label);
  if (field.type === 'file') return fileInput(field, record, ctx, label);
  if (field.type === 'relation') return relationInput(field, value, ctx, label);
  if (field.type === 'geoPoint') return geoInput(field, value, label);
  const { input, read, hint: typeHint } = (BUILDERS[field.type] || BUILDERS.text)(field, value);
  return {
    node: labelled(label, input, { errorKey: field.name, hint: [hint, typeHint].filter(Boolean).join(' · ') || undefined }),
    collect(body) {
      body[field.name] = read();
    },
  };
}

function passwordInput(field, ctx) {
  // Only an auth collection's own password asks for a confirmation (PocketBase's passwordConfirm).
  const confirmed = ctx.collection.type === 'auth' && field.name === 'password';
  const password = h('input', { type: 'password', autocomplete: 'new-password' });
  const confirm = h('input', { type: 'password', autocomplete: 'new-password' });
  const label = ctx.isNew ? `${field.name}${field.required ? ' *' : ''}` : `New ${field.name}`;
  return {
    node: h('div', { class: 'grid-2' },
      labelled(label, password, { errorKey: field.name, hint: ctx.isNew ? undefined : 'Leave empty to keep the current one.' }),
      confirmed ? labelled(`Confirm ${field.name}`, confirm, { errorKey: `${field.name}Confirm` }) : null),
    collect(body) {
      if (!password.value && !confirm.value) return;
      body[field.name] = password.value;
      if (confirmed) body[`${field.name}Confirm`] = confirm.value;
    },
  };
}

function selectInput(field, value, label) {
  if ((field.maxSelect || 1) <= 1) {
    const select = h('select', {}, h('option', { value: '' }, '(none)'), field.values.map((v) => h('option', { value: v }, v)));
    select.value = value || '';
    return { node: labelled(label, select, { errorKey: field.name }), collect: (body) => { body[field.name] = select.value; } };
  }
  const chosen = new Set([value].flat().filter(Boolean));
  const boxes = field.values.map((v) => h('label', { class: 'check' }, h('input', { type: 'checkbox', value: v, checked: chosen.has(v) }), v));
  const errorId = uid('err');
  const group = h('fieldset', { 'data-error-key': field.name, 'data-error-id': errorId }, h('legend', {}, label),
    h('div', { class: 'btn-row' }, boxes), h('div', { class: 'field-error', id: errorId, hidden: true }));
  return {
    node: group,
    collect(body) {
      body[field.name] = boxes.map((box) => box.querySelector('input')).filter((box) => box.checked).map((box) => box.value);
    },
  };
}

function geoInput(field, value, label) {
  const lon = h('input', { type: 'number', step: 'any', min: -180, max: 180 });
  const lat = h('input', { type: 'number', step: 'any', min: -90, max: 90 });
  lon.value = value?.lon ?? 0;
  lat.value = value?.lat ?? 0;
  const errorId = uid('err');
  return {
    node: h('fieldset', { 'data-error-key': field.name, 'data-error-id': errorId }, h('legend', {}, label),
      h('div', { class: 'grid-2' }, labelled('Longitude', lon), labelled('Latitude', lat)),
      h('div', { class: 'field-error', id: errorId, hidden: true })),
    collect(body) {
      body[field.name] = { lon: Number(lon.value || 0), lat: Number(lat.value || 0) };
    },
  };
}

function fileInput(field, record, ctx, label) {
  const existing = [record[field.name]].flat().filter(Boolean);
  const removed = new Set();
  const list = h('div');
  const render = () => list.replaceChildren(...existing.map((name) => {
    const gone = removed.has(name);
    const url = fileUrl(ctx.collection, record, name, '100x100');
    return h('div', { class: `file-item${gone ? ' removed' : ''}` },
      isImage(name) && !field.protected ? h('img', { class: 'thumb', src: url, alt: '' }) : null,
      field.protected ? h('span', { class: 'mono' }, name) : h('a', { href: fileUrl(ctx.collection, record, name), target: '_blank', rel: 'noopener' }, name),
      h('button', { type: 'button', class: 'btn btn-sm', onclick: () => {
        if (gone) removed.delete(name);
        else removed.add(name);
        render();
      } }, gone ? `Keep ${name}` : `Remove ${name}`));
  }));
  render();
  const multiple = (field.maxSelect || 1) > 1;
  const picker = h('input', { type: 'file', multiple, accept: (field.mimeTypes || []).join(',') || undefined });
  const previews = h('div', { class: 'chips' });
  picker.addEventListener('change', () => previews.replaceChildren(...[...picker.files].map((file) => (file.type.startsWith('image/')
    ? h('img', { class: 'thumb', src: URL.createObjectURL(file), alt: `New: ${file.name}` })
    : h('span', { class: 'chip' }, file.name)))));
  return {
    node: h('div', {}, list, labelled(existing.length ? `${label}: add files` : label, picker, { errorKey: field.name,
      hint: field.maxSize ? `Up to ${field.maxSelect || 1} file(s) of at most ${Math.round(field.maxSize / 1024)} KiB.` : undefined }), previews),
    collect(body, files) {
      if (removed.size) body[`${field.name}-`] = [...removed];
      const key = ctx.isNew || !multiple ? field.name : `${field.name}+`;
      for (const file of picker.files) files.push([key, file]);
    },
  };
}

function relationInput(field, value, ctx, label) {
  const multiple = (field.maxSelect || 1) > 1;
  let ids = [value].flat().filter(Boolean);
  const target = ctx.collections.find((c) => c.id === field.collectionId);
  const labels = new Map();
  for (const item of [ctx.expand?.[field.name]].flat().filter(Boolean)) labels.set(item.id, recordLabel(target, item));
  const chips = h('div', { class: 'chips' });
  const errorId = uid('err');
  const render = () => chips.replaceChildren(...(ids.length ? ids.map((id) => h('span', { class: 'chip' }, labels.get(id) || id,
    h('button', { type: 'button', class: 'btn btn-sm', 'aria-label': `Remove ${labels.get(id) || id}`, onclick: () => {
      ids = ids.filter((other) => other !== id);
      render();
    } }, '✕'))) : [h('span', { class: 'muted' }, 'None')]));
  render();
  const choose = h('button', { type: 'button', class: 'btn btn-sm', 'data-error-key': field.name, 'data-error-id': errorId,
    disabled: !target, onclick: async () => {
      const picked = await pickRelations({ collection: target, multiple, selected: ids, labels });
      if (picked) {
        ids = picked;
        render();
      }
    } }, target ? `Choose from ${target.name}` : 'Related collection is missing');
  return {
    node: h('fieldset', {}, h('legend', {}, label), chips, h('div', { class: 'btn-row' }, choose),
      h('div', { class: 'field-error', id: errorId, hidden: true })),
    collect(body) {
      body[field.name] = multiple ? ids : ids[0] || '';
    },
  };
}
