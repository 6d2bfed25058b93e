// Erasures (issue 13): erase one employee's data — the payloads, receivers' answers and
// idempotency records of their events; their pending and held deliveries become canceled — and
// the list of erasures made, each kept only as a keyed hash of the employee id with its counts.
import { api } from './api.js';
import { h, clear, timeEl } from './dom.js';
import { announce, confirmDialog, showFormErrors, clearFormErrors, idChip } from './ui.js';

export async function erasuresView(ctx) {
  ctx.setTitle('Erasures');
  const input = h('input', { id: 'erasure-subject', type: 'text', required: true, maxlength: '255', placeholder: 'emp_1001', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'erasure-hint' });
  const errorEl = h('p', { class: 'field-error', id: 'erasure-subject-error', hidden: true });
  const summary = h('div', { class: 'form-summary', role: 'alert', hidden: true });
  const fields = { subject: { input, errorEl } };
  const listBox = h('div', { id: 'erasures-list', 'aria-live': 'polite' });
  let timer = null;
  ctx.onCleanup?.(() => clearTimeout(timer));

  const form = h('form', { class: 'card', id: 'erasure-form', novalidate: true },
    h('h2', {}, 'Erase an employee\'s data'),
    summary,
    h('label', { for: 'erasure-subject' }, 'Employee id'),
    input,
    h('p', { class: 'sub', id: 'erasure-hint' },
      'Erases, for every event of this employee accepted until now: its payload, what receivers answered to it and its idempotency records. Its pending and held deliveries are canceled and never sent. Events accepted later are normal events. This cannot be undone.'),
    errorEl,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'danger' }, 'Erase')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFormErrors(summary, fields);
    const subject = input.value.trim();
    const ok = await confirmDialog({
      title: `Erase ${subject || 'this employee'}?`,
      body: 'Their events keep only their ids, types and times. Deliveries not sent yet are canceled.',
      confirm: 'Erase', danger: true,
    });
    if (!ok) return;
    try {
      const e = await api.createErasure(subject);
      input.value = '';
      announce(`Erasure ${e.id} started.`, 'success');
      await load();
    } catch (e) {
      showFormErrors(summary, fields, e).focus?.();
    }
  });

  ctx.main.append(h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Erasures')), form,
    h('h2', { id: 'erasures-title' }, 'Erasures made'), listBox);

  async function load() {
    clearTimeout(timer);
    const page = await api.erasures({ limit: 100 });
    if (!page.data.length) {
      clear(listBox).append(h('p', { class: 'muted' }, 'No erasure yet.'));
      return;
    }
    clear(listBox).append(h('table', { id: 'erasures', class: 'table', 'aria-labelledby': 'erasures-title' },
      h('thead', {}, h('tr', {}, ['Erasure', 'Status', 'Employee (hash)', 'Events', 'Attempts', 'Idempotency records', 'Deliveries canceled', 'Requested by', 'Requested', 'Finished'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, page.data.map((e) => h('tr', { dataset: { erasure: e.id, status: e.status } },
        h('th', { scope: 'row', 'data-label': 'Erasure' }, idChip(e.id, { label: 'erasure id' })),
        h('td', { 'data-label': 'Status' }, h('span', { class: `badge badge-${e.status === 'completed' ? 'succeeded' : 'pending'}` }, e.status)),
        h('td', { 'data-label': 'Employee (hash)', class: 'mono', title: e.subject_hash }, `${e.subject_hash.slice(0, 12)}…`),
        h('td', { 'data-label': 'Events', class: 'num' }, e.counts.events),
        h('td', { 'data-label': 'Attempts', class: 'num' }, e.counts.attempts),
        h('td', { 'data-label': 'Idempotency records', class: 'num' }, e.counts.idempotency_records),
        h('td', { 'data-label': 'Deliveries canceled', class: 'num' }, e.counts.deliveries_canceled),
        h('td', { 'data-label': 'Requested by', class: 'mono' }, `${e.requested_by.kind} ${e.requested_by.token_id}`),
        h('td', { 'data-label': 'Requested' }, timeEl(e.requested_at)),
        h('td', { 'data-label': 'Finished' }, timeEl(e.finished_at)))))));
    if (page.data.some((e) => e.status === 'running')) timer = setTimeout(() => load().catch(() => {}), 1000);
  }
  await load();
}
