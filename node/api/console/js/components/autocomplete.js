// Suggestions for filter and rule inputs: the word before the caret ("auth.na", "@req") is
// completed from a list (field names, @request.*, @collection.*). Arrows move, Enter or Tab
// take a suggestion, Esc closes the list without closing the dialog around it.
import { h, uid } from '../dom.js';

// Few enough to show without a scrollbar (a scrolling list would need its own keyboard stop).
const MAX_SUGGESTIONS = 10;

/** Wraps `control` (input or textarea) with a suggestion list; `words()` gives the candidates. */
export function withAutocomplete(control, words) {
  const listId = uid('ac');
  const list = h('ul', { class: 'ac-list', id: listId, role: 'listbox', hidden: true,
    'aria-label': 'Suggestions' });
  const isInput = control.tagName === 'INPUT';
  if (isInput) {
    control.setAttribute('role', 'combobox');
    control.setAttribute('aria-expanded', 'false');
  }
  control.setAttribute('aria-autocomplete', 'list');
  control.setAttribute('aria-controls', listId);
  control.setAttribute('autocomplete', 'off');
  control.setAttribute('spellcheck', 'false');
  let items = [];
  let active = -1;

  const tokenBeforeCaret = () => {
    const before = control.value.slice(0, control.selectionStart ?? control.value.length);
    return before.match(/[\w@.:]*$/)[0];
  };
  const close = () => {
    list.hidden = true;
    items = [];
    active = -1;
    control.removeAttribute('aria-activedescendant');
    if (isInput) control.setAttribute('aria-expanded', 'false');
  };
  const highlight = (index) => {
    active = index;
    [...list.children].forEach((li, i) => li.setAttribute('aria-selected', String(i === index)));
    const li = list.children[index];
    if (li) {
      control.setAttribute('aria-activedescendant', li.id);
      li.scrollIntoView({ block: 'nearest' });
    }
  };
  const accept = (word) => {
    const caret = control.selectionStart ?? control.value.length;
    const token = tokenBeforeCaret();
    control.value = control.value.slice(0, caret - token.length) + word + control.value.slice(caret);
    const at = caret - token.length + word.length;
    control.setSelectionRange(at, at);
    control.dispatchEvent(new Event('input', { bubbles: true }));
    close();
  };
  const open = () => {
    const token = tokenBeforeCaret().toLowerCase();
    if (!token) return close();
    items = words()
      .filter((word) => word.toLowerCase().startsWith(token) && word.toLowerCase() !== token)
      .slice(0, MAX_SUGGESTIONS);
    if (!items.length) return close();
    list.replaceChildren(...items.map((word, i) => h('li', {
      id: `${listId}-${i}`, role: 'option', 'aria-selected': 'false',
      onmousedown: (event) => {
        event.preventDefault();
        accept(word);
      },
    }, word)));
    list.hidden = false;
    if (isInput) control.setAttribute('aria-expanded', 'true');
    highlight(0);
  };

  control.addEventListener('input', (event) => {
    if (event.isTrusted) open();
  });
  control.addEventListener('blur', close);
  control.addEventListener('keydown', (event) => {
    if (list.hidden) return;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const step = event.key === 'ArrowDown' ? 1 : -1;
      highlight((active + step + items.length) % items.length);
    } else if ((event.key === 'Enter' || event.key === 'Tab') && active >= 0) {
      event.preventDefault();
      accept(items[active]);
    } else if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      close();
    }
  });
  return h('div', { class: 'ac' }, control, list);
}

/** Words for rules and filters of a collection: its fields and PocketBase's macros. */
export function ruleWords(collection, allCollections, { request = true } = {}) {
  const fields = (collection?.fields || []).map((field) => field.name);
  const words = [...fields];
  for (const field of collection?.fields || []) {
    if (field.type === 'relation') {
      const target = allCollections.find((c) => c.id === field.collectionId);
      for (const sub of target?.fields || []) words.push(`${field.name}.${sub.name}`);
    }
    if (field.type === 'select' || field.type === 'file' || field.type === 'relation') {
      words.push(`${field.name}:length`, `${field.name}:each`);
    }
  }
  words.push('@now', '@second', '@minute', '@hour', '@weekday', '@day', '@month', '@year',
    '@todayStart', '@todayEnd', '@monthStart', '@monthEnd', '@yearStart', '@yearEnd');
  if (request) {
    words.push('@request.context', '@request.method', '@request.headers.', '@request.query.',
      '@request.auth.id', '@request.auth.collectionId', '@request.auth.collectionName');
    for (const name of fields) words.push(`@request.body.${name}`, `@request.body.${name}:isset`, `@request.body.${name}:changed`);
    const authFields = new Set();
    allCollections.filter((c) => c.type === 'auth').forEach((c) => c.fields.forEach((f) => authFields.add(f.name)));
    authFields.forEach((name) => words.push(`@request.auth.${name}`));
  }
  for (const other of allCollections) {
    words.push(`@collection.${other.name}.`);
    for (const sub of other.fields || []) words.push(`@collection.${other.name}.${sub.name}`);
  }
  return [...new Set(words)];
}
