// Events: the company's events, newest first, filtered by type, employee, time and — for
// reconciliation — by the outcome of their delivery to one endpoint ("what did the ERP miss?").
import { api } from './api.js';
import { h, append, clear, timeEl } from './dom.js';
import { getEndpoints } from './data.js';
import { announce, idChip } from './ui.js';
import { filterForm, readFilters, toQuery } from './filters.js';
import { eventSubject, eventSummary } from './summary.js';

let pager = { key: '', cursors: [] };

const FIELDS = [
  { name: 'type', label: 'Event type', kind: 'type' },
  { name: 'subject', label: 'Employee', kind: 'subject' },
  { name: 'after', label: 'Accepted after', kind: 'time' },
  { name: 'before', label: 'Accepted before', kind: 'time' },
  { name: 'endpoint_id', id: 'endpoint', label: 'Sent to endpoint', kind: 'endpoint' },
  { name: 'delivery_status', id: 'delivery-status', label: 'Delivery status', kind: 'status' },
];

export async function eventsList(ctx) {
  ctx.setTitle('Events');
  const filters = readFilters(ctx.query, FIELDS);
  const key = JSON.stringify(filters);
  if (pager.key !== key) pager = { key, cursors: [] };
  const cursor = pager.cursors[pager.cursors.length - 1];

  const endpoints = await getEndpoints();
  const filterBox = await filterForm({
    fields: FIELDS, values: filters, endpoints, label: 'Filter events', clearHref: '#/events',
    apply: (params) => ctx.navigate(`#/events${toQuery(params)}`, { keepFocus: true }),
  });
  const listBox = h('div', { 'aria-live': 'polite', 'aria-busy': 'true', id: 'events-list' });
  const pagerBox = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  ctx.main.append(
    h('div', { class: 'page-head' },
      h('h1', { tabindex: '-1' }, 'Events'),
      h('button', { type: 'button', class: 'secondary', onclick: () => load(true) }, 'Refresh')),
    h('section', { class: 'card' }, append(filterBox,
      [h('p', { class: 'sub' }, 'With an endpoint and a delivery status, the list shows the events whose delivery to that endpoint is in that status — e.g. what a receiver missed during an outage.')])),
    listBox, pagerBox);

  async function load(announceIt = false) {
    const params = { limit: 25, ...filters };
    if (cursor) params.cursor = cursor;
    let page;
    try {
      page = await api.events(params);
    } catch (e) {
      clear(listBox).append(h('p', { class: 'form-errors', role: 'alert' }, e.message));
      listBox.setAttribute('aria-busy', 'false');
      return;
    }
    if (ctx.signal.aborted) return;
    render(page.data);
    renderPager(page.next_cursor);
    listBox.setAttribute('aria-busy', 'false');
    if (announceIt) announce(`${page.data.length} events shown.`);
  }

  function render(events) {
    clear(listBox);
    if (!events.length) {
      listBox.append(h('section', { class: 'card empty' }, h('p', {}, cursor ? 'No more events.' : 'No events match.')));
      return;
    }
    // The page's hires name their employees in every row (summary.js learns the names).
    for (const e of events) eventSubject(e);
    listBox.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table responsive one-line', id: 'events-table' },
      h('caption', { class: 'visually-hidden' }, 'Events, newest first'),
      h('thead', {}, h('tr', {}, ['Event', 'Type', 'What happened', 'Employee', 'Accepted'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, events.map((e) => {
        const summary = eventSummary(e);
        const who = eventSubject(e);
        return h('tr', { dataset: { event: e.id, type: e.type } },
          h('th', { scope: 'row', 'data-label': 'Event' },
            idChip(e.id, { href: `#/deliveries?event_id=${encodeURIComponent(e.id)}`, label: 'event id' })),
          h('td', { 'data-label': 'Type' }, h('code', {}, e.type)),
          h('td', { 'data-label': 'What happened', class: 'event-cell' }, summary
            ? h('span', { class: 'event-line', title: summary }, h('span', { class: 'summary' }, summary))
            : h('span', { class: 'muted' }, '—')),
          h('td', { 'data-label': 'Employee', class: 'employee-cell' }, who
            ? h('a', { href: `#/events${toQuery({ subject: who.id })}`, title: `${who.id}: all events of this employee`, class: who.name ? '' : 'mono' }, who.name || who.id)
            : h('span', { class: 'muted' }, '—')),
          h('td', { 'data-label': 'Accepted' }, timeEl(e.created_at)));
      })))));
  }

  function renderPager(next) {
    clear(pagerBox);
    const pageNo = pager.cursors.length + 1;
    const newer = h('button', { type: 'button', class: 'secondary', disabled: pageNo === 1, id: 'pager-newer' }, '← Newer');
    const older = h('button', { type: 'button', class: 'secondary', disabled: !next, id: 'pager-older' }, 'Older →');
    newer.addEventListener('click', () => {
      pager.cursors.pop();
      ctx.reload({ focus: 'pager-older' });
    });
    older.addEventListener('click', () => {
      pager.cursors.push(next);
      ctx.reload({ focus: 'pager-older' });
    });
    pagerBox.append(newer, h('span', { class: 'page-no' }, `Page ${pageNo}`), older);
  }

  await load();
}
