// How a record's value is shown in a table cell, by field type.
import { h, formatDate } from '../dom.js';

const IMAGE = /\.(png|jpe?g|gif|webp|svg)$/i;

/** The URL of a stored file (a thumbnail for images when `thumb` is given). */
export function fileUrl(collection, record, name, thumb) {
  const base = `/api/files/${encodeURIComponent(collection.id)}/${encodeURIComponent(record.id)}/${encodeURIComponent(name)}`;
  return thumb && IMAGE.test(name) && !/\.svg$/i.test(name) ? `${base}?thumb=${thumb}` : base;
}

export function isImage(name) {
  return IMAGE.test(name);
}

function plainText(html) {
  return new DOMParser().parseFromString(String(html || ''), 'text/html').body.textContent || '';
}

export function cell(collection, field, record) {
  const value = record[field.name];
  switch (field.type) {
    case 'bool':
      return h('span', { class: value ? 'badge badge-ok' : 'badge' }, value ? 'True' : 'False');
    case 'date':
    case 'autodate':
      return h('span', { class: 'cell nowrap' }, formatDate(value));
    case 'file': {
      const names = [value].flat().filter(Boolean);
      return h('span', { class: 'chips' }, names.slice(0, 3).map((name) => (isImage(name) && !field.protected
        ? h('img', { class: 'thumb', src: fileUrl(collection, record, name, '100x100'), alt: name, loading: 'lazy', width: 32, height: 32 })
        : h('span', { class: 'chip' }, name))), names.length > 3 ? `+${names.length - 3}` : null);
    }
    case 'relation':
    case 'select':
      return h('span', { class: 'chips' }, [value].flat().filter(Boolean).slice(0, 4).map((item) => h('span', { class: 'chip' }, item)));
    case 'json':
      return h('span', { class: 'cell mono' }, value === null || value === undefined ? '' : JSON.stringify(value));
    case 'geoPoint':
      return h('span', { class: 'cell mono' }, value ? `${value.lon}, ${value.lat}` : '');
    case 'editor':
      return h('span', { class: 'cell' }, plainText(value).slice(0, 200));
    default:
      return h('span', { class: 'cell' }, value === null || value === undefined ? '' : String(value));
  }
}
