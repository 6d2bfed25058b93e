// Deliveries: the filtered, paginated list, and one delivery with every attempt.
import { api } from './api.js';
import { h, append, clear, badge, deliveryBadge, timeEl, formatMs, formatTime, prettyText } from './dom.js';
import { getEndpoints, resolveEvents, endpointLabel, shortUrl, errorWords, outcomeWords } from './data.js';
import { announce, actionButton, idChip } from './ui.js';
import { filterForm, readFilters, toQuery } from './filters.js';
import { eventSubject, eventSummary } from './summary.js';
import { waitingPhrase, waitingSentence } from './waiting.js';

// An event's cells in a list: its one-line summary, or its type when it has none (type and id
// on hover; the delivery's page has the id to copy), and the employee it concerns.
export function fillEvent(eventCell, employeeCell, id, ev) {
  const summary = eventSummary(ev);
  clear(eventCell).append(h('span', { class: 'event-line', title: `${summary ? `${ev.type}: ${summary}` : ev.type} (${id})`, dataset: { type: ev.type } },
    summary ? h('span', { class: 'summary' }, summary) : h('code', {}, ev.type)));
  if (!employeeCell) return;
  const who = eventSubject(ev);
  clear(employeeCell).append(who
    ? h('span', { title: who.id, class: who.name ? '' : 'mono' }, who.name || who.id)
    : h('span', { class: 'muted' }, '—'));
}

// Cursor stack per filter set, so "Newer" can go back (next_cursor only goes forward).
let pager = { key: '', cursors: [] };

const FIELDS = [
  { name: 'status', label: 'Status', kind: 'status' },
  { name: 'endpoint_id', id: 'endpoint', label: 'Endpoint', kind: 'endpoint' },
  { name: 'event_type', id: 'type', label: 'Event type', kind: 'type' },
  { name: 'subject', label: 'Employee', kind: 'subject' },
  { name: 'after', label: 'Created after', kind: 'time' },
  { name: 'before', label: 'Created before', kind: 'time' },
  { name: 'event_id', id: 'event', label: 'Event id', kind: 'event' },
];

export async function deliveriesList(ctx) {
  ctx.setTitle('Deliveries');
  const filters = readFilters(ctx.query, FIELDS);
  const key = JSON.stringify(filters);
  if (pager.key !== key) pager = { key, cursors: [] };
  const cursor = pager.cursors[pager.cursors.length - 1];

  const endpoints = await getEndpoints();
  const byId = new Map(endpoints.map((e) => [e.id, e]));
  const filterBox = await filterForm({
    fields: FIELDS, values: filters, endpoints, label: 'Filter deliveries', clearHref: '#/deliveries',
    apply: (params) => ctx.navigate(`#/deliveries${toQuery(params)}`, { keepFocus: true }),
  });

  const listBox = h('div', { 'aria-live': 'polite', 'aria-busy': 'true', id: 'deliveries-list' });
  const pagerBox = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  ctx.main.append(
    h('div', { class: 'page-head' },
      h('h1', { tabindex: '-1' }, 'Deliveries'),
      h('button', { type: 'button', class: 'secondary', onclick: () => load(true) }, 'Refresh')),
    h('section', { class: 'card' }, filterBox),
    listBox, pagerBox);

  let timer = null;
  ctx.onCleanup(() => clearTimeout(timer));

  async function load(announceIt = false) {
    clearTimeout(timer);
    const params = { limit: 25, ...filters };
    if (cursor) params.cursor = cursor;
    let page;
    try {
      page = await api.deliveries(params);
    } catch (e) {
      clear(listBox).append(h('p', { class: 'form-errors', role: 'alert' }, e.message));
      listBox.setAttribute('aria-busy', 'false');
      return;
    }
    if (ctx.signal.aborted) return;
    renderList(page.data);
    renderPager(page.next_cursor);
    listBox.setAttribute('aria-busy', 'false');
    if (announceIt) announce(`${page.data.length} deliveries shown.`);
    // Keep pending ones fresh (the first page only: older pages rarely change).
    if (!cursor && page.data.some((d) => d.status === 'pending')) timer = setTimeout(() => load(), 2000);
  }

  function renderList(ds) {
    clear(listBox);
    if (!ds.length) {
      listBox.append(h('section', { class: 'card empty' }, h('p', {}, cursor ? 'No more deliveries.' : 'No deliveries match.')));
      return;
    }
    const eventCells = new Map(); // event id → [{event cell, employee cell}]
    const waitCells = []; // [{cell, delivery}]: filled again once the events named their employees
    const fillWaiting = () => {
      for (const { cell, d } of waitCells) clear(cell).append(deliveryBadge(d), ' ', waitingPhrase(d) || '');
    };
    listBox.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table responsive one-line', id: 'deliveries-table' },
      h('caption', { class: 'visually-hidden' }, 'Deliveries, newest first'),
      h('thead', {}, h('tr', {}, ['Delivery', 'Event', 'Employee', 'Endpoint', 'Status', 'Attempts', 'Last attempt', 'Created'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, ds.map((d) => {
        const ep = byId.get(d.endpoint_id);
        const eventCell = h('td', { 'data-label': 'Event', class: 'event-cell' }, idChip(d.event_id, { label: 'event id' }));
        const employeeCell = h('td', { 'data-label': 'Employee', class: 'employee-cell' }, h('span', { class: 'muted' }, '…'));
        if (!eventCells.has(d.event_id)) eventCells.set(d.event_id, []);
        eventCells.get(d.event_id).push({ eventCell, employeeCell });
        const statusCell = h('td', { 'data-label': 'Status', class: 'status-cell' });
        waitCells.push({ cell: statusCell, d });
        return h('tr', { dataset: { delivery: d.id, status: d.status } },
          h('th', { scope: 'row', 'data-label': 'Delivery' }, idChip(d.id, { href: `#/deliveries/${encodeURIComponent(d.id)}`, label: 'delivery id' })),
          eventCell,
          employeeCell,
          h('td', { 'data-label': 'Endpoint' }, ep
            ? h('a', { href: `#/endpoints/${encodeURIComponent(ep.id)}` }, ep.description || shortUrl(ep.url))
            : h('span', { class: 'mono sub' }, d.endpoint_id)),
          statusCell,
          h('td', { 'data-label': 'Attempts', class: 'num' }, d.attempts),
          h('td', { 'data-label': 'Last attempt' }, timeEl(d.last_attempt_at)),
          h('td', { 'data-label': 'Created' }, timeEl(d.created_at)));
      })))));
    fillWaiting();
    const seen = new Map();
    const fill = (id, ev) => {
      seen.set(id, ev);
      for (const { eventCell, employeeCell } of eventCells.get(id) || []) fillEvent(eventCell, employeeCell, id, ev);
    };
    // Once all are in, again: an employee named by one event (a hire) names them in the others.
    resolveEvents([...eventCells.keys()], fill, ctx.signal).then(() => {
      if (ctx.signal.aborted) return;
      for (const [id, ev] of seen) fill(id, ev);
      fillWaiting();
    });
  }

  function renderPager(next) {
    clear(pagerBox);
    const pageNo = pager.cursors.length + 1;
    const newer = h('button', { type: 'button', class: 'secondary', disabled: pageNo === 1 }, '← Newer');
    const older = h('button', { type: 'button', class: 'secondary', disabled: !next }, 'Older →');
    newer.addEventListener('click', () => {
      pager.cursors.pop();
      ctx.reload({ focus: 'pager-older' });
    });
    older.addEventListener('click', () => {
      pager.cursors.push(next);
      ctx.reload({ focus: 'pager-older' });
    });
    older.id = 'pager-older';
    newer.id = 'pager-newer';
    pagerBox.append(newer, h('span', { class: 'page-no' }, `Page ${pageNo}`), older);
  }

  await load();
}

// ---------------------------------------------------------------------------------------

// One attempt. An HTTP answer shows the receiver's status and body; a transport failure
// (no answer: could not connect, timed out, …) is hookd's own error, shown as such — never
// under "Response body" as if the receiver had said it.
// Headers as "name: value" lines; a value hookd did not keep (a custom header of the endpoint,
// which may hold a credential) shown as such.
function headerLines(entries) {
  return entries.map(([k, v], i) => [i ? '\n' : '', `${k}: `,
    v === '[redacted]' ? h('span', { class: 'redacted', title: 'Not kept: custom headers of the endpoint may hold credentials' }, v) : v]);
}

// What hookd sent, beside what came back: its headers (signature included) open, the
// response's folded.
function exchange(a, headers) {
  const sent = Object.entries(a.request_headers || {});
  return h('div', { class: 'attempt-headers' },
    sent.length ? h('details', { class: 'request-headers', open: true }, h('summary', {}, `Request headers sent by hookd (${sent.length})`),
      h('pre', { class: 'code', tabindex: '0' }, headerLines(sent))) : null,
    headers.length ? h('details', { class: 'response-headers' }, h('summary', {}, `Response headers (${headers.length})`),
      h('pre', { class: 'code', tabindex: '0' }, headerLines(headers))) : null);
}

function attemptCard(a) {
  const ok = !a.error;
  const headers = Object.entries(a.response_headers || {});
  const answered = Boolean(a.status_code);
  return h('li', { class: `attempt ${ok ? 'attempt-ok' : 'attempt-bad'}`, dataset: { number: a.number } },
    h('div', { class: 'attempt-head' },
      h('h3', {}, `Attempt ${a.number}`),
      h('span', { class: `badge ${ok ? 'badge-succeeded' : 'badge-failed'}` }, outcomeWords(a)),
      h('span', { class: 'sub' }, formatMs(a.duration_ms)),
      h('span', { class: 'sub' }, timeEl(a.started_at, { relative: false }))),
    answered
      ? [
        a.error_detail ? h('p', { class: 'error-detail' }, 'hookd: ', h('span', {}, a.error_detail)) : null,
        h('div', { class: 'attempt-body' },
          h('p', { class: 'label' }, `Response body (from the receiver, HTTP ${a.status_code})`),
          a.response_body
            ? h('pre', { class: 'code response-body', tabindex: '0' }, prettyText(a.response_body))
            : h('p', { class: 'muted' }, '(empty)')),
        exchange(a, headers),
      ]
      : [h('div', { class: 'attempt-error', role: 'note' },
        h('p', { class: 'label' }, 'Error (hookd, no response from the receiver)'),
        h('p', {}, h('strong', {}, errorWords(a.error)), a.error_detail ? [': ', h('span', { class: 'error-detail' }, a.error_detail)] : null)),
      exchange(a, [])]);
}

export async function deliveryDetail(ctx, id) {
  ctx.setTitle(`Delivery ${id}`);
  const statusP = h('p', { id: 'delivery-status' });
  const head = h('div', { class: 'page-head' });
  const info = h('section', { class: 'card', 'aria-labelledby': 'delivery-info' });
  const attemptsBox = h('section', { class: 'card', 'aria-labelledby': 'attempts-title' });
  const payloadBox = h('section', { class: 'card', 'aria-labelledby': 'payload-title' });
  ctx.main.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/deliveries' }, 'Deliveries'), ' / ', h('span', { 'aria-current': 'page', class: 'mono' }, id)),
    head, h('div', { class: 'columns' }, h('div', { class: 'col-main' }, attemptsBox), h('div', { class: 'col-side' }, info, payloadBox)));

  let timer = null;
  ctx.onCleanup(() => clearTimeout(timer));
  let loadedEvent = null; // the event, once fetched (false: it could not be)
  let lastSeen = null;

  // After "Retry now": the outcome of that attempt, and what happens next, in words.
  let retryWatch = null; // {before: attempts before the retry}
  let lastAttempts = 0;
  const retryBtn = actionButton('Retry now', async () => {
    const before = lastAttempts;
    await api.retry(id);
    retryWatch = { before, since: Date.now() };
    announce('Retrying: hookd attempts the delivery now…', 'info');
    await refresh();
  }, { class: 'primary' });

  function retryOutcome(d, latest) {
    const what = latest ? outcomeWords(latest) : d.status;
    if (d.status === 'succeeded') return [`Retry succeeded (${what}): the delivery is done.`, 'success'];
    const failed = `Retry failed again (${what}).`;
    if (d.status === 'pending' && d.next_attempt_at) {
      const t = new Date(d.next_attempt_at).getTime() - Date.now();
      const when = t < 86400000 ? `in ${Math.max(1, Math.round(t / 60000))} min, at ${formatTime(d.next_attempt_at)}` : `on ${formatTime(d.next_attempt_at)}`;
      return [`${failed} Next automatic attempt ${when}.`, 'error'];
    }
    if (d.status === 'held') return [`${failed} The endpoint is disabled: the delivery is held until you enable it.`, 'error'];
    return [`${failed} No automatic attempts left: the delivery stays failed until you retry it or recover the endpoint's failed deliveries.`, 'error'];
  }

  async function refresh() {
    clearTimeout(timer);
    const [d, at] = await Promise.all([api.delivery(id), api.attempts(id)]);
    if (ctx.signal.aborted) return;
    lastAttempts = at.data.length;
    let retried = false;
    if (retryWatch && at.data.length > retryWatch.before && !(d.status === 'pending' && d.next_attempt_at && new Date(d.next_attempt_at) <= Date.now())) {
      retryWatch = null;
      retried = true;
      const [msg, kind] = retryOutcome(d, at.data[0]);
      announce(msg, kind);
    }
    const endpoints = await getEndpoints();
    const ep = endpoints.find((e) => e.id === d.endpoint_id);

    retryBtn.disabled = d.status === 'canceled';
    const showStatus = () => append(clear(statusP), [deliveryBadge(d), ' ', waitingSentence(d)]);
    showStatus();
    const sig = `${d.status}/${d.attempts}/${at.data.length}`;
    const again = () => {
      if (retryWatch && Date.now() - retryWatch.since > 60000) retryWatch = null; // no news in a minute: stop watching
      if (retryWatch) timer = setTimeout(() => refresh().catch(() => {}), 400);
      else if (d.status === 'pending') timer = setTimeout(() => refresh().catch(() => {}), 2000);
    };
    if (sig === lastSeen) {
      again();
      return;
    }

    clear(info).append(h('h2', { id: 'delivery-info' }, 'Details'),
      h('dl', { class: 'props' },
        h('dt', {}, 'Endpoint'), h('dd', {}, ep ? h('a', { href: `#/endpoints/${encodeURIComponent(ep.id)}` }, endpointLabel(ep)) : h('span', { class: 'mono' }, d.endpoint_id)),
        h('dt', {}, 'Event'), h('dd', { id: 'delivery-event' }, idChip(d.event_id, { label: 'event id' })),
        h('dt', {}, 'Attempts'), h('dd', {}, String(d.attempts)),
        h('dt', {}, 'Last attempt'), h('dd', {}, timeEl(d.last_attempt_at, { relative: false })),
        h('dt', {}, 'Created'), h('dd', {}, timeEl(d.created_at, { relative: false }))));

    clear(attemptsBox).append(h('h2', { id: 'attempts-title' }, `Attempts (${at.data.length})`),
      at.data.length
        ? h('ol', { class: 'attempts', reversed: true }, at.data.map(attemptCard))
        : h('p', { class: 'muted' }, d.status === 'held' ? 'Held: no attempt until it is released.'
          : d.status === 'canceled' ? 'Canceled: the employee\'s data was erased before it was sent. It will not be sent.' : 'No attempt yet.'));

    if (loadedEvent === null) {
      try {
        loadedEvent = await api.event(d.event_id);
        clear(payloadBox).append(h('h2', { id: 'payload-title' }, 'Payload'),
          h('p', {}, h('code', {}, loadedEvent.type), ' · ', h('span', { class: 'sub' }, timeEl(loadedEvent.created_at, { relative: false }))),
          loadedEvent.erased
            ? h('p', { class: 'muted', id: 'payload-erased' }, 'Erased: this employee\'s data was erased (Erasures page). Nothing of it is kept.')
            : h('pre', { class: 'code', tabindex: '0' }, prettyText(loadedEvent.payload)));
      } catch (e) {
        loadedEvent = false;
        clear(payloadBox).append(h('h2', { id: 'payload-title' }, 'Payload'), h('p', { class: 'muted' }, e.message));
      }
    }
    if (loadedEvent) {
      const evCell = document.getElementById('delivery-event');
      const who = eventSubject(loadedEvent);
      const summary = eventSummary(loadedEvent);
      if (evCell) evCell.append(' ', h('code', {}, loadedEvent.type), summary ? h('div', { class: 'summary' }, summary) : null);
      if (who) evCell?.append(h('div', { class: 'sub' }, 'Employee: ', who.name ? `${who.name} (${who.id})` : who.id));
      showStatus(); // the event may have named the employee it waits for
    }

    if (lastSeen && !retried && !retryWatch) announce(`Delivery is now ${d.status} after ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}.`);
    lastSeen = sig;
    again();
  }
  head.append(
    h('div', {}, h('h1', { tabindex: '-1' }, 'Delivery'), h('p', { class: 'sub' }, idChip(id, { label: 'delivery id' })), statusP),
    h('div', { class: 'actions' }, retryBtn));
  await refresh();
}
