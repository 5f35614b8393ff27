// Modal dialogs and side panels, both native <dialog>s opened with showModal(): the browser
// keeps focus inside, makes the page behind inert, closes the top one on Esc and gives focus
// back to what had it. Ctrl/Cmd+S submits the form of the top one (see main.js).
import { h } from '../dom.js';

/**
 * openDialog({title, body, footer, kind: 'modal'|'panel', narrow, onSubmit, onClose})
 * `body` and `footer` are nodes (or arrays); with `onSubmit` the dialog is a form whose
 * submit (Enter, a submit button, Ctrl+S) calls it; `readOnly` makes the body a tab stop.
 * While `keepOpen()` answers true (a request is running), the close button, Esc and a click
 * on the backdrop leave it open; `close()` still closes it.
 * Returns {dialog, form, close}.
 */
export function openDialog({ title, body, footer, kind = 'modal', narrow, onSubmit, onClose, headExtra, readOnly, keepOpen }) {
  const titleId = `dlg-title-${Math.random().toString(36).slice(2, 9)}`;
  const close = () => dialog.open && dialog.close();
  const dismiss = () => keepOpen?.() || close();
  const form = h(onSubmit ? 'form' : 'div', {
    class: 'dlg',
    novalidate: onSubmit ? true : undefined,
    'data-save': onSubmit ? '' : undefined,
    onsubmit: onSubmit
      ? (event) => {
          event.preventDefault();
          onSubmit();
        }
      : undefined,
  },
  h('div', { class: 'dlg-head' },
    h('h2', { id: titleId }, title),
    headExtra,
    h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-label': 'Close', onclick: dismiss }, '✕')),
  // A read-only body has nothing to focus, so it is a tab stop itself for scrolling by keyboard.
  h('div', { class: 'dlg-body', tabindex: readOnly ? 0 : undefined, role: readOnly ? 'region' : undefined,
    'aria-labelledby': readOnly ? titleId : undefined }, body),
  footer ? h('div', { class: 'dlg-foot' }, footer) : null);
  const dialog = h('dialog', {
    class: `${kind}${narrow ? ' narrow' : ''}`,
    'aria-labelledby': titleId,
  }, form);
  dialog.addEventListener('cancel', (event) => {
    if (keepOpen?.()) event.preventDefault();
  });
  dialog.addEventListener('close', () => {
    dialog.remove();
    onClose?.();
  });
  // A click on the backdrop (the dialog element itself, outside its content) closes it.
  dialog.addEventListener('mousedown', (event) => {
    if (event.target === dialog) dismiss();
  });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, form, close };
}

/**
 * confirmDialog({title, body, confirmLabel, danger}) → Promise<boolean>. `body` says what
 * will change, so the person can decide before anything happens.
 */
export function confirmDialog({ title, body, confirmLabel = 'Confirm', danger = false }) {
  return new Promise((resolve) => {
    let confirmed = false;
    const { close } = openDialog({
      title,
      body,
      onSubmit: () => {
        confirmed = true;
        close();
      },
      onClose: () => resolve(confirmed),
      footer: [
        h('button', { type: 'button', class: 'btn', onclick: () => close() }, 'Cancel'),
        h('button', { type: 'submit', class: `btn ${danger ? 'btn-solid-danger' : 'btn-primary'}` }, confirmLabel),
      ],
    });
  });
}
