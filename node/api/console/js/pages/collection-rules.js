// The "API rules" tab: each rule is locked (null: superusers only), empty (anyone) or a
// filter expression, typed with autocomplete of fields, @request.* and @collection.*.
import { h, fill } from '../dom.js';
import { field } from '../components/form.js';
import { withAutocomplete, ruleWords } from '../components/autocomplete.js';

const RULES = [
  ['listRule', 'List/Search rule', 'Who can list records (and which ones they see).'],
  ['viewRule', 'View rule', 'Who can fetch one record.'],
  ['createRule', 'Create rule', 'Who can create records; @request.body.* is the new record.'],
  ['updateRule', 'Update rule', 'Who can change records.'],
  ['deleteRule', 'Delete rule', 'Who can delete records.'],
];
const AUTH_RULES = [
  ['authRule', 'Authentication rule', 'Extra condition a record must meet to sign in (after its credentials are checked).'],
  ['manageRule', 'Manage rule', 'Who can change other records’ email, password and verified state.'],
];

export function rulesTab(draft, ctx) {
  const root = h('div');
  const words = () => ruleWords(draft, ctx.collections);
  const rule = ([key, label, help]) => {
    const slot = h('div');
    const render = () => {
      if (draft[key] === null || draft[key] === undefined) {
        fill(slot, h('p', { class: 'muted small' }, 'Locked: only superusers.'));
        return;
      }
      const input = h('textarea', { class: 'code', rows: 2, placeholder: 'Empty: anyone, signed in or not',
        oninput: (e) => { draft[key] = e.target.value; } });
      input.value = draft[key];
      fill(slot, field(label, input, { errorKey: key, hint: help, container: withAutocomplete(input, words) }));
    };
    const lock = h('input', { type: 'checkbox', checked: draft[key] === null || draft[key] === undefined, onchange: (e) => {
      draft[key] = e.target.checked ? null : '';
      render();
    } });
    render();
    return h('div', { class: 'rule' },
      h('div', { class: 'rule-head' }, h('h3', {}, label), field('Superusers only', lock)),
      slot);
  };
  fill(root,
    h('p', { class: 'muted' }, 'Filters as in list queries, e.g. ', h('code', {}, '@request.auth.id != "" && author = @request.auth.id'),
      '. Type @ or a field name for suggestions.'),
    RULES.map(rule),
    draft.type === 'auth' ? AUTH_RULES.map(rule) : null);
  return root;
}
