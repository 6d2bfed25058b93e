// The audit log: who changed what through the API, when and from where (issue 13), newest first,
// filtered by action, target and time. A company administrator sees the company's log; the
// operator may widen it to every company (GET /v1/audit-log), the changes of no company's
// (custom event types) included. Rows never hold a secret or a token: only ids, field names
// and a few parameters.
import { api, session } from './api.js';
import { h, clear, timeEl, badge } from './dom.js';
import { announce, idChip } from './ui.js';
import { filterForm, readFilters, toQuery } from './filters.js';

// Every action in words, grouped as the filter offers them. An action this list does not know
// (a newer server's) is shown by its name.
const ACTIONS = [
  ['Endpoints', [
    ['endpoint.created', 'Endpoint created'],
    ['endpoint.updated', 'Endpoint changed'],
    ['endpoint.deleted', 'Endpoint deleted'],
    ['endpoint.enabled', 'Endpoint enabled'],
    ['endpoint.disabled', 'Endpoint disabled'],
    ['endpoint.secret_revealed', 'Secret revealed'],
    ['endpoint.secret_rotated', 'Secret rotated'],
    ['endpoint.test_sent', 'Test event sent'],
    ['endpoint.recovered', 'Failed deliveries recovered'],
  ]],
  ['Deliveries', [['delivery.retried', 'Delivery retried'], ['replay.created', 'Replay started'], ['replay.canceled', 'Replay canceled']]],
  ['Personal data', [['erasure.created', 'Employee data erased']]],
  ['Zapier hooks', [['hook.created', 'Hook subscribed'], ['hook.deleted', 'Hook unsubscribed']]],
  ['Company and tokens', [
    ['company.created', 'Company created'],
    ['company.updated', 'Company changed'],
    ['token.created', 'Token issued'],
    ['token.revoked', 'Token revoked'],
  ]],
  ['Catalog', [['event_type.created', 'Event type added']]],
];
const WORDS = new Map(ACTIONS.flatMap(([, list]) => list));

let pager = { key: '', cursors: [] };
let me = null; // GET /v1/me of `meToken` (the session's token), asked once per token
let meToken = null;

const BASE_FIELDS = [
  { name: 'action', label: 'Action', kind: 'select', any: 'Any action', options: ACTIONS },
  { name: 'target_id', id: 'target', label: 'Target id', kind: 'text', placeholder: 'ep_…, tok_…, dlv_…' },
  { name: 'after', label: 'After', kind: 'time' },
  { name: 'before', label: 'Before', kind: 'time' },
];

// "grace_seconds: 60 · release_held: false"
function detailsText(details) {
  return Object.entries(details || {})
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : typeof v === 'object' && v !== null ? JSON.stringify(v) : v}`)
    .join(' · ');
}

// `linked`: the target belongs to the signed-in company (its pages can open it).
function targetCell(id, linked) {
  if (!linked) return /^[a-z]+_[0-9A-Z]{26}$/.test(id) ? idChip(id, { label: 'target id' }) : h('code', {}, id);
  if (/^ep_/.test(id)) return idChip(id, { href: `#/endpoints/${encodeURIComponent(id)}`, label: 'target id' });
  if (/^dlv_/.test(id)) return idChip(id, { href: `#/deliveries/${encodeURIComponent(id)}`, label: 'target id' });
  if (/^[a-z]+_[0-9A-Z]{26}$/.test(id)) return idChip(id, { label: 'target id' });
  return h('code', {}, id); // a custom event type's name
}

export async function auditLogView(ctx) {
  ctx.setTitle('Audit log');
  if (!me || meToken !== session.token) {
    meToken = session.token;
    me = api.me();
    me.catch(() => { me = null; });
  }
  const who = await me;
  const operator = Boolean(who?.operator);
  const fields = operator
    ? [{ name: 'scope', label: 'Companies', kind: 'select', any: 'This company', options: [['all', 'All companies']] }, ...BASE_FIELDS]
    : BASE_FIELDS;
  const filters = readFilters(ctx.query, fields);
  const key = JSON.stringify(filters);
  if (pager.key !== key) pager = { key, cursors: [] };
  const cursor = pager.cursors[pager.cursors.length - 1];
  const all = operator && filters.scope === 'all';

  const filterBox = await filterForm({
    fields, values: filters, endpoints: [], label: 'Filter the audit log', clearHref: '#/audit',
    apply: (params) => ctx.navigate(`#/audit${toQuery(params)}`, { keepFocus: true }),
  });
  const listBox = h('div', { 'aria-live': 'polite', 'aria-busy': 'true', id: 'audit-list' });
  const pagerBox = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  ctx.main.append(
    h('div', { class: 'page-head' },
      h('div', {},
        h('h1', { tabindex: '-1' }, 'Audit log'),
        h('p', { class: 'sub' }, 'Every change made through the API, and every time a secret was revealed: who (the token, never its value), what, when and from which address.')),
      h('button', { type: 'button', class: 'secondary', onclick: () => load(true) }, 'Refresh')),
    h('section', { class: 'card' }, filterBox),
    listBox, pagerBox);

  async function load(announceIt = false) {
    const params = { limit: 25 };
    for (const f of BASE_FIELDS) if (filters[f.name]) params[f.name] = filters[f.name];
    if (cursor) params.cursor = cursor;
    let page;
    try {
      page = all ? await api.auditLogAll(params) : await api.auditLog(params);
    } catch (e) {
      clear(listBox).append(h('p', { class: 'form-errors', role: 'alert' }, e.message));
      listBox.setAttribute('aria-busy', 'false');
      return;
    }
    if (ctx.signal.aborted) return;
    renderList(page.data);
    renderPager(page.next_cursor);
    listBox.setAttribute('aria-busy', 'false');
    if (announceIt) announce(`${page.data.length} audit log entries shown.`);
  }

  function renderList(rows) {
    clear(listBox);
    if (!rows.length) {
      listBox.append(h('section', { class: 'card empty' }, h('p', {}, cursor ? 'No more entries.' : 'No entries match.')));
      return;
    }
    const columns = ['When', 'Action', 'Target', 'Changed', 'Who', 'From', ...(all ? ['Company'] : [])];
    listBox.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table responsive', id: 'audit-table' },
      h('caption', { class: 'visually-hidden' }, 'Audit log, newest first'),
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.map((r) => {
        const details = detailsText(r.details);
        return h('tr', { dataset: { audit: r.id, action: r.action, target: r.target_id } },
          h('th', { scope: 'row', 'data-label': 'When', class: 'audit-when' }, timeEl(r.created_at)),
          h('td', { 'data-label': 'Action' }, h('span', { class: 'audit-action', title: r.action }, WORDS.get(r.action) || r.action)),
          h('td', { 'data-label': 'Target' }, targetCell(r.target_id, r.company_id === session.companyId)),
          h('td', { 'data-label': 'Changed', class: 'audit-changes' },
            r.changes.length ? h('span', { class: 'chips' }, r.changes.map((c) => h('code', { class: 'chip' }, c))) : h('span', { class: 'muted' }, '—'),
            details ? h('div', { class: 'sub audit-details' }, details) : null),
          h('td', { 'data-label': 'Who', class: 'audit-who' },
            badge(r.actor.kind === 'operator' ? 'held' : 'pending', r.actor.kind === 'operator' ? 'Operator' : 'Company token'),
            ' ', idChip(r.actor.token_id, { label: 'token id' })),
          h('td', { 'data-label': 'From', class: 'audit-from' }, r.client_address ? h('span', { class: 'mono' }, r.client_address) : h('span', { class: 'muted' }, '—')),
          all ? h('td', { 'data-label': 'Company' }, r.company_id ? idChip(r.company_id, { label: 'company id' }) : h('span', { class: 'muted' }, 'none')) : null);
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
