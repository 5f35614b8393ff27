// Tabs with the ARIA tab pattern: arrow keys move between tabs, each tab shows one panel.
import { h, uid } from '../dom.js';

/** tabs([{id, label, render}], selectedId, onSelect) → element; render() builds a panel. */
export function tabs(items, selectedId, onSelect) {
  const base = uid('tab');
  const list = h('div', { class: 'tabs', role: 'tablist' });
  const panel = h('div', { role: 'tabpanel', tabindex: '-1' });
  const select = (id, focus) => {
    for (const button of list.children) {
      const on = button.dataset.tab === id;
      button.setAttribute('aria-selected', String(on));
      button.tabIndex = on ? 0 : -1;
      if (on) {
        panel.setAttribute('aria-labelledby', button.id);
        if (focus) button.focus();
      }
    }
    panel.replaceChildren(items.find((item) => item.id === id).render());
    onSelect?.(id);
  };
  for (const item of items) {
    list.append(h('button', {
      type: 'button', role: 'tab', id: `${base}-${item.id}`, class: 'tab', 'data-tab': item.id,
      'aria-controls': `${base}-panel`, onclick: () => select(item.id, false),
    }, item.label));
  }
  panel.id = `${base}-panel`;
  list.addEventListener('keydown', (event) => {
    if (event.key !== 'ArrowRight' && event.key !== 'ArrowLeft') return;
    const ids = items.map((item) => item.id);
    const index = ids.indexOf(document.activeElement.dataset.tab);
    const next = ids[(index + (event.key === 'ArrowRight' ? 1 : -1) + ids.length) % ids.length];
    select(next, true);
  });
  select(items.some((item) => item.id === selectedId) ? selectedId : items[0].id, false);
  return h('div', {}, list, panel);
}
