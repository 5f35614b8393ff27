// The signed-in layout: section links, theme toggle and sign-out around the page area.
import { h } from '../dom.js';
import { auth } from '../api.js';
import { isDark, toggleTheme } from '../theme.js';

const SECTIONS = [
  ['collections', 'Collections'],
  ['logs', 'Logs'],
  ['cluster', 'Cluster'],
  ['settings', 'Settings'],
];

export function createShell() {
  const links = SECTIONS.map(([id, label]) => h('a', { class: 'nav-link', href: `#/${id}`, 'data-section': id }, label));
  const themeButton = h('button', { type: 'button', class: 'btn btn-sm', 'aria-pressed': String(isDark()),
    onclick: () => themeButton.setAttribute('aria-pressed', String(toggleTheme() === 'dark')) }, 'Dark theme');
  const main = h('main', { class: 'shell-main', id: 'main', tabindex: '-1' });
  const root = h('div', { class: 'shell' },
    h('nav', { class: 'shell-nav', 'aria-label': 'Sections' },
      h('a', { class: 'brand', href: '#/collections' }, h('img', { src: 'img/logo.svg', alt: '' }), h('span', { class: 'brand-name' }, 'EdgeBase')),
      links,
      h('div', { class: 'nav-bottom' },
        themeButton,
        h('button', { type: 'button', class: 'btn btn-sm', title: auth.record?.email || '',
          onclick: () => auth.clear() }, 'Sign out'))),
    main);
  return {
    root,
    main,
    setSection(section) {
      for (const link of links) {
        if (link.dataset.section === section) link.setAttribute('aria-current', 'page');
        else link.removeAttribute('aria-current');
      }
    },
  };
}
