// The list of all collections, shared by pages that need it (sidebar, relation pickers,
// rule autocomplete). Reloaded after any collection change.
import { api } from './api.js';

let cached = null;

export async function loadCollections({ fresh = false } = {}) {
  if (!cached || fresh) {
    const data = await api('/api/collections', { query: { perPage: 500, sort: 'name' } });
    cached = data.items;
  }
  return cached;
}

export function forgetCollections() {
  cached = null;
}

/** Fields a person can see in a table or editor (not the auth internals). */
export function visibleFields(collection) {
  return collection.fields.filter((field) => field.name !== 'tokenKey' && field.type !== 'password');
}

/** A short label for a record: its presentable fields, else a text field, else its id. */
export function recordLabel(collection, record) {
  const fields = collection?.fields || [];
  const presentable = fields.filter((field) => field.presentable).map((field) => record[field.name]);
  const fallback = fields.find((field) => ['text', 'email'].includes(field.type) && !field.hidden && field.name !== 'id' && record[field.name]);
  const parts = presentable.filter((value) => value !== '' && value != null);
  if (parts.length) return parts.join(' · ');
  return fallback ? String(record[fallback.name]) : record.id;
}
