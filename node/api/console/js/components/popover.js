// A button that shows and hides a small panel below it (menus, column pickers). Esc or a
// click elsewhere closes it and gives focus back to the button.
import { h, uid } from '../dom.js';

export function popover(label, content, { className = 'btn', align = 'right', buttonLabel } = {}) {
  const panelId = uid('pop');
  const button = h('button', {
    type: 'button', class: className, 'aria-expanded': 'false', 'aria-controls': panelId,
    'aria-label': buttonLabel,
  }, label);
  const panel = h('div', { class: `menu-list ${align}`, id: panelId, hidden: true });
  const wrap = h('div', { class: 'menu' }, button, panel);
  const close = (refocus) => {
    if (panel.hidden) return;
    panel.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    document.removeEventListener('mousedown', outside);
    if (refocus) button.focus();
  };
  const outside = (event) => {
    if (!wrap.contains(event.target)) close(false);
  };
  button.addEventListener('click', () => {
    if (!panel.hidden) return close(true);
    panel.replaceChildren(...[content(() => close(true))].flat());
    panel.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    document.addEventListener('mousedown', outside);
    panel.querySelector('button, input, select, textarea, a')?.focus();
  });
  wrap.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !panel.hidden) {
      event.preventDefault();
      event.stopPropagation();
      close(true);
    }
    if ((event.key === 'ArrowDown' || event.key === 'ArrowUp') && !panel.hidden) {
      const items = [...panel.querySelectorAll('.menu-item, input')];
      const index = items.indexOf(document.activeElement);
      if (index < 0) return;
      event.preventDefault();
      items[(index + (event.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length].focus();
    }
  });
  return wrap;
}

/** A list of actions for popover(): [{label, onSelect}]. */
export function menuItems(actions) {
  return (close) => actions.map(({ label, onSelect }) => h('button', {
    type: 'button', class: 'menu-item', onclick: () => {
      close();
      onSelect();
    },
  }, label));
}
