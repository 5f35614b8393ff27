// The centred card used by the pages people see before signing in.
import { h } from '../dom.js';

export function centerCard(title, ...content) {
  return h('main', { class: 'center-page' },
    h('div', { class: 'center-card' },
      h('div', { class: 'brand' }, h('img', { src: 'img/logo.svg', alt: '' }), 'EdgeBase'),
      h('h1', {}, title),
      content));
}

/** Disables a form's submit button while `work` runs. */
export async function busy(form, work) {
  const button = form.querySelector('[type="submit"]');
  if (button) button.disabled = true;
  try {
    return await work();
  } finally {
    if (button) button.disabled = false;
  }
}
