// What saving a collection will change that someone should agree to first: a new name
// (new API paths), removed fields (their data goes), renamed fields, changed rules.
import { h } from '../dom.js';

/** {destructive, rules}: lines for what breaks or loses data, and for changed rules. */
export function describeChanges(original, draft) {
  const changes = [];
  const rules = [];
  if (!original) return { destructive: changes, rules };
  if (original.name !== draft.name) {
    changes.push(`The collection is renamed from "${original.name}" to "${draft.name}": its API paths become /api/collections/${draft.name}/…, and apps using the old name stop working.`);
  }
  const byId = new Map(draft.fields.map((f) => [f.id, f]));
  for (const old of original.fields) {
    const now = byId.get(old.id);
    if (!now) changes.push(`Field "${old.name}" is deleted, with its value in every record.`);
    else if (now.name !== old.name) changes.push(`Field "${old.name}" is renamed to "${now.name}"; filters, rules and apps using the old name must change.`);
  }
  for (const key of ['listRule', 'viewRule', 'createRule', 'updateRule', 'deleteRule', 'authRule', 'manageRule']) {
    if (key in original && original[key] !== draft[key]) {
      const describe = (rule) => (rule === null ? 'superusers only' : rule === '' ? 'anyone' : rule);
      rules.push(`${key}: ${describe(original[key])} → ${describe(draft[key])}.`);
    }
  }
  return { destructive: changes, rules };
}

/** The changes as a list, for the confirmation dialog. */
export function changeList({ destructive, rules }) {
  return [h('p', {}, 'Saving will change:'), h('ul', {}, [...destructive, ...rules].map((line) => h('li', {}, line)))];
}
