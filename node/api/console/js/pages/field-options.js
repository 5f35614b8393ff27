// The options of each field type in the collection editor, bound to the draft field.
import { h } from '../dom.js';
import { bound } from '../components/form.js';

const num = (f, key, label, p, hint) => bound(f, key, 'number', label, { errorKey: `${p}.${key}`, hint });
const text = (f, key, label, p, hint) => bound(f, key, 'text', label, { errorKey: `${p}.${key}`, hint });
const list = (f, key, label, p, hint) => bound(f, key, 'list', label, { errorKey: `${p}.${key}`, hint: hint || 'Comma-separated.' });
const bool = (f, key, label, p, hint) => bound(f, key, 'bool', label, { errorKey: `${p}.${key}`, hint });

const OPTIONS = {
  text: (f, p) => [num(f, 'min', 'Min length', p), num(f, 'max', 'Max length', p, '0 = no limit'),
    text(f, 'pattern', 'Regex pattern', p), text(f, 'autogeneratePattern', 'Autogenerate pattern', p, 'e.g. [a-z0-9]{8}')],
  editor: (f, p) => [num(f, 'maxSize', 'Max size (bytes)', p, '0 = default'), bool(f, 'convertURLs', 'Convert URLs to relative', p)],
  number: (f, p) => [num(f, 'min', 'Min', p), num(f, 'max', 'Max', p), bool(f, 'onlyInt', 'Integers only', p)],
  bool: () => [],
  email: (f, p) => [list(f, 'onlyDomains', 'Only domains', p), list(f, 'exceptDomains', 'Except domains', p)],
  url: (f, p) => [list(f, 'onlyDomains', 'Only domains', p), list(f, 'exceptDomains', 'Except domains', p)],
  date: (f, p) => [text(f, 'min', 'Min date', p, 'YYYY-MM-DD HH:MM:SS.000Z'), text(f, 'max', 'Max date', p, 'YYYY-MM-DD HH:MM:SS.000Z')],
  autodate: (f, p) => [bool(f, 'onCreate', 'Set on create', p), bool(f, 'onUpdate', 'Set on update', p)],
  select: (f, p) => [list(f, 'values', 'Choices', p), num(f, 'maxSelect', 'Max selected', p, '1 = a single value')],
  file: (f, p) => [num(f, 'maxSelect', 'Max files', p), num(f, 'maxSize', 'Max size (bytes)', p, '0 = 5 MiB'),
    list(f, 'mimeTypes', 'Allowed MIME types', p, 'Comma-separated, e.g. image/png, image/jpeg; empty = any.'),
    list(f, 'thumbs', 'Thumb sizes', p, 'Comma-separated, e.g. 100x100, 0x300.'),
    bool(f, 'protected', 'Protected (downloads need a file token)', p)],
  relation: (f, p, ctx) => [
    bound(f, 'collectionId', 'select', 'Related collection', { errorKey: `${p}.collectionId`,
      choices: [['', 'Choose…'], ...ctx.collections.map((c) => [c.id, c.name])] }),
    num(f, 'minSelect', 'Min selected', p), num(f, 'maxSelect', 'Max selected', p, '1 = a single relation'),
    bool(f, 'cascadeDelete', 'Delete this record when the related one is deleted', p)],
  json: (f, p) => [num(f, 'maxSize', 'Max size (bytes)', p, '0 = default')],
  geoPoint: () => [],
  password: (f, p) => [num(f, 'min', 'Min length', p), num(f, 'max', 'Max length', p), text(f, 'pattern', 'Regex pattern', p),
    num(f, 'cost', 'bcrypt cost', p, '0 = default')],
};

export const FIELD_TYPES = Object.keys(OPTIONS);

/** New-field defaults per type. */
export function newField(type, name) {
  const defaults = {
    text: { min: 0, max: 0, pattern: '', autogeneratePattern: '' },
    number: { onlyInt: false },
    select: { values: [], maxSelect: 1 },
    file: { maxSelect: 1, maxSize: 0, mimeTypes: [], thumbs: [], protected: false },
    relation: { collectionId: '', maxSelect: 1, minSelect: 0, cascadeDelete: false },
    autodate: { onCreate: true, onUpdate: false },
    password: { min: 8 },
  };
  return { name, type, required: false, hidden: false, presentable: false, system: false, ...(defaults[type] || {}) };
}

/** Options of `f` (fields.{index} in error paths), plus the flags every type has. */
export function fieldOptions(f, index, ctx) {
  const p = `fields.${index}`;
  const flags = [
    f.type === 'autodate' ? null : bool(f, 'required', 'Required (nonempty)', p),
    bool(f, 'hidden', 'Hidden from the API (superusers still see it)', p),
    bool(f, 'presentable', 'Presentable (used as the label in relation pickers)', p),
  ];
  return [h('div', { class: 'grid' }, (OPTIONS[f.type] || (() => []))(f, p, ctx)), h('div', { class: 'grid' }, flags),
    text(f, 'help', 'Help text', p)];
}
