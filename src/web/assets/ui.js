// Shared UI pieces: the aria-live status line, confirmation dialogs, clipboard, and the
// mapping of problem+json errors onto form fields.
import { ApiError } from './api.js';
import { h, svg, clear } from './dom.js';
import { shortId } from './data.js';

// ---- status line (role=status, aria-live=polite): announced by screen readers
// A message belongs to the page it was shown on (its route) and goes when the user moves to
// another page; `carry: true` lets it through the one navigation that follows it ("Endpoint
// deleted." shown on the list the user lands on).

let statusTimer = null;

function clearStatus(el = document.getElementById('status')) {
  clear(el);
  el.className = 'status';
  delete el.dataset.page;
  delete el.dataset.carry;
}

export function announce(message, kind = 'info', { carry = false } = {}) {
  const el = document.getElementById('status');
  clear(el);
  el.className = `status status-${kind}`;
  el.dataset.page = location.hash;
  if (carry) el.dataset.carry = 'true';
  else delete el.dataset.carry;
  el.append(h('span', {}, message));
  el.append(h('button', { type: 'button', class: 'link status-close', 'aria-label': 'Dismiss message',
    onclick: () => clearStatus(el) }, '×'));
  clearTimeout(statusTimer);
  if (kind !== 'error') statusTimer = setTimeout(() => clearStatus(el), 8000);
}

// Called on every render: drops a message of another page (a carried one stays, once).
export function statusForRoute() {
  const el = document.getElementById('status');
  if (!el.firstChild) return;
  if (el.dataset.carry) {
    delete el.dataset.carry;
    el.dataset.page = location.hash;
  } else if (el.dataset.page !== location.hash) {
    clearStatus(el);
  }
}

export function announceError(e, what) {
  if (e?.name === 'AbortError') return;
  const detail = e instanceof ApiError ? e.message : String(e?.message || e);
  announce(what ? `${what}: ${detail}` : detail, 'error');
}

// ---- dialogs

// Resolves true when the user confirms. `danger` styles the confirm button red.
export function confirmDialog({ title, body, confirm = 'Confirm', danger = false, extra }) {
  return new Promise((resolve) => {
    const titleId = 'dialog-title';
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': titleId },
      h('form', { method: 'dialog' },
        h('h2', { id: titleId }, title),
        typeof body === 'string' ? h('p', {}, body) : body,
        extra,
        h('div', { class: 'actions' },
          h('button', { type: 'submit', value: 'cancel', class: 'secondary' }, 'Cancel'),
          h('button', { type: 'submit', value: 'ok', class: danger ? 'danger' : 'primary' }, confirm))));
    const opener = document.activeElement;
    dlg.addEventListener('close', () => {
      resolve(dlg.returnValue === 'ok');
      dlg.remove();
      if (opener && document.contains(opener)) opener.focus();
    });
    document.body.append(dlg);
    dlg.showModal();
    // Focus the safe choice first.
    dlg.querySelector('button[value=cancel]').focus();
  });
}

// ---- clipboard (navigator.clipboard needs a secure context: fall back to execCommand)

export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // fall through
    }
  }
  const ta = h('textarea', { class: 'visually-hidden', readonly: true, 'aria-hidden': 'true' });
  ta.value = text;
  document.body.append(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

// ---- form errors

// `fields` maps the first segment of an error pointer ("url", "event_types", …) to
// {input, errorEl}. Shows problem.detail in `summary` and each field error next to its
// field (aria-invalid + aria-describedby). Returns the first element to focus.
export function showFormErrors(summary, fields, e) {
  clearFormErrors(summary, fields);
  const problem = e instanceof ApiError ? e.problem : { detail: String(e?.message || e) };
  const errors = e instanceof ApiError ? e.errors : [];
  const unplaced = [];
  let first = null;
  for (const err of errors) {
    const seg = String(err.pointer || '').split('/')[1] || '';
    const field = fields[seg];
    const rest = String(err.pointer || '').split('/').slice(2).join('/');
    const msg = rest ? `${rest}: ${err.message}` : err.message;
    if (field) {
      field.errorEl.hidden = false;
      field.errorEl.append(h('span', { class: 'field-error-line' }, msg));
      if (field.input) field.input.setAttribute('aria-invalid', 'true');
      first = first || field.input || field.errorEl;
    } else {
      unplaced.push(`${err.pointer || '(body)'}: ${err.message}`);
    }
  }
  summary.hidden = false;
  summary.append(h('p', { class: 'summary-detail' }, problem.detail || problem.title || 'The request failed.'));
  if (unplaced.length) summary.append(h('ul', {}, unplaced.map((m) => h('li', {}, m))));
  return first || summary;
}

export function clearFormErrors(summary, fields) {
  summary.hidden = true;
  clear(summary);
  for (const f of Object.values(fields)) {
    f.errorEl.hidden = true;
    clear(f.errorEl);
    if (f.input) f.input.removeAttribute('aria-invalid');
  }
}

// A button that shows a busy state while `fn` runs; errors are announced.
export function actionButton(label, fn, attrs = {}) {
  const btn = h('button', { type: 'button', ...attrs }, label);
  btn.addEventListener('click', async () => {
    // aria-disabled rather than disabled: a disabled button would drop keyboard focus.
    if (btn.getAttribute('aria-busy') === 'true') return;
    btn.setAttribute('aria-busy', 'true');
    btn.setAttribute('aria-disabled', 'true');
    const page = location.hash;
    try {
      await fn(btn);
    } catch (e) {
      // An answer that comes after the user left the page is not news on the next one.
      if (location.hash === page) announceError(e);
    } finally {
      btn.removeAttribute('aria-busy');
      btn.removeAttribute('aria-disabled');
    }
  });
  return btn;
}

function copyIcon() {
  return svg('svg', { width: 14, height: 14, viewBox: '0 0 16 16', 'aria-hidden': 'true', class: 'icon' },
    svg('rect', { x: 5.5, y: 5.5, width: 8, height: 9, rx: 1.5, fill: 'none', stroke: 'currentColor', 'stroke-width': 1.5 }),
    svg('path', { d: 'M3.5 10.5h-1v-8a1 1 0 0 1 1-1h7v1', fill: 'none', stroke: 'currentColor', 'stroke-width': 1.5 }));
}

// A typed id shortened ("dlv_…M22A2JR", the full id on hover), as a link when `href` is given,
// with a button that copies the full id.
export function idChip(id, { href, label = 'id' } = {}) {
  const text = shortId(id);
  const main = href
    ? h('a', { href, class: 'mono', title: id }, text)
    : h('code', { class: 'mono', title: id }, text);
  return h('span', { class: 'id-chip' }, main,
    h('button', { type: 'button', class: 'link copy-id', title: `Copy ${id}`, 'aria-label': `Copy ${label} ${id}`,
      onclick: async () => {
        if (await copyText(id)) announce(`Copied ${id} to the clipboard.`, 'success');
        else announce(`Could not copy ${id}: select it and copy it by hand.`, 'error');
      } }, copyIcon()));
}
