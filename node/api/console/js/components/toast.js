// Short notices in a live region (read out by screen readers). While a modal dialog is open
// the page behind it is inert, so the notice goes into the top dialog instead.
import { h } from '../dom.js';

export function toast(message, { error = false, ms = 4000 } = {}) {
  // Once the calling code has run: a dialog it closes right after the call is not the host.
  queueMicrotask(() => {
    const dialogs = document.querySelectorAll('dialog[open]');
    const host = dialogs.length ? dialogs[dialogs.length - 1] : document.body;
    let region = host.querySelector(':scope > .toasts');
    if (!region) region = host.appendChild(h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' }));
    const node = h('div', { class: `toast${error ? ' error' : ''}` }, message);
    region.append(node);
    setTimeout(() => node.remove(), error ? ms * 2 : ms);
  });
}
