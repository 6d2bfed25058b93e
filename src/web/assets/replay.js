// Replay a time range (on the endpoint page): the form that starts a replay (from, to, and
// optionally only some of the endpoint's event types), the progress of the latest replay — a
// bar that fills as its deliveries finish, with a Cancel button while it runs — and the
// endpoint's earlier replays. The API: POST …/endpoints/{eid}/replay, GET …/replays/{rid},
// POST …/replays/{rid}/cancel, GET …/endpoints/{eid}/replays.
import { request, session } from './api.js';
import { h, clear, badge, timeEl, formatTime, formatUtc, timeZoneLabel } from './dom.js';
import { getFamilies, shortUrl } from './data.js';
import { announce, actionButton, confirmDialog, showFormErrors, clearFormErrors } from './ui.js';

const enc = encodeURIComponent;
const co = () => `/v1/companies/${enc(session.companyId)}`;

export const replayApi = {
  start: (eid, body) => request('POST', `${co()}/endpoints/${enc(eid)}/replay`, { body }),
  list: (eid, limit = 6) => request('GET', `${co()}/endpoints/${enc(eid)}/replays?limit=${limit}`),
  get: (rid) => request('GET', `${co()}/replays/${enc(rid)}`),
  cancel: (rid) => request('POST', `${co()}/replays/${enc(rid)}/cancel`, { body: {} }),
};

const number = (n) => Number(n).toLocaleString('en-US');

function toLocalInput(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function selectorMatches(selector, type) {
  if (selector === '*') return type !== 'webhook.test';
  if (selector.endsWith('.*')) return type.startsWith(selector.slice(0, -1));
  return selector === type;
}

// "1,234 of 10,000 sent · 1,200 delivered · 3 failed · 31 waiting"
function progressWords(r) {
  const done = r.delivered + r.failed + r.canceled;
  const parts = [`${number(done)} of ${number(r.total)} done`, `${number(r.delivered)} delivered`];
  if (r.failed) parts.push(`${number(r.failed)} failed`);
  if (r.pending) parts.push(`${number(r.pending)} on their way`);
  if (r.canceled) parts.push(`${number(r.canceled)} canceled`);
  return parts.join(' · ');
}

function windowWords(r) {
  return [h('time', { datetime: r.since, title: formatUtc(r.since) }, formatTime(r.since)), ' – ',
    h('time', { datetime: r.until, title: formatUtc(r.until) }, formatTime(r.until))];
}

export function replaySection(ctx, ep) {
  const name = `“${ep.description || shortUrl(ep.url)}”`;
  const summary = h('div', { class: 'form-errors', role: 'alert', tabindex: '-1', hidden: true });
  const field = (id, label, input) => {
    const errorEl = h('p', { class: 'field-error', id: `${id}-error`, hidden: true });
    input.setAttribute('aria-describedby', `${id}-error`);
    return { el: h('span', { class: 'field-inline' }, h('label', { for: id }, `${label} (${timeZoneLabel()})`), input, errorEl), input, errorEl };
  };
  const now = new Date();
  const since = field('replay-since', 'From', h('input', { type: 'datetime-local', id: 'replay-since', value: toLocalInput(new Date(now.getTime() - 86400000)), required: true }));
  const until = field('replay-until', 'To', h('input', { type: 'datetime-local', id: 'replay-until', value: toLocalInput(new Date(now.getTime() + 60000)), required: true }));
  const typesBox = h('div', { class: 'replay-types' });
  const typesError = h('p', { class: 'field-error', id: 'replay-types-error', hidden: true });
  const typesField = h('fieldset', { class: 'replay-types-field', 'aria-describedby': 'replay-types-error replay-types-hint' },
    h('legend', {}, 'Event types'),
    h('p', { class: 'hint', id: 'replay-types-hint' }, 'None ticked: every type the endpoint receives.'),
    typesBox, typesError);
  getFamilies().then((families) => {
    for (const types of families.values()) {
      for (const t of types) {
        if (!ep.event_types.some((s) => selectorMatches(s, t.name))) continue;
        const id = `replay-type-${t.name.replace(/\W/g, '-')}`;
        typesBox.append(h('label', { class: 'check', for: id }, h('input', { type: 'checkbox', id, value: t.name }), ' ', h('code', {}, t.name)));
      }
    }
  }).catch(() => {});
  const fields = { since: since, until: until, event_types: { input: typesBox.querySelector('input'), errorEl: typesError } };

  const current = h('div', { id: 'replay-current', 'aria-live': 'polite' });
  const history = h('div', { id: 'replay-history' });
  let timer = null;
  let stopped = false;
  ctx.onCleanup(() => {
    stopped = true;
    clearTimeout(timer);
  });

  const showCurrent = (r) => {
    clear(current);
    if (!r) return;
    const done = r.delivered + r.failed + r.canceled;
    const bar = h('progress', { id: 'replay-bar', max: String(Math.max(1, r.total)), value: String(r.total ? done : 1), 'aria-label': 'Replay progress' });
    const head = h('p', { class: 'replay-head' }, badge(r.status, { running: 'Running', completed: 'Completed', canceled: 'Canceled' }[r.status] || r.status),
      ' ', h('span', {}, 'Events from ', ...windowWords(r)), r.event_types ? [' · ', r.event_types.map((t) => h('code', { class: 'chip' }, t))] : null);
    const words = h('p', { class: 'sub', id: 'replay-words' }, progressWords(r));
    const actions = h('div', { class: 'actions' });
    if (r.status === 'running') {
      actions.append(actionButton('Cancel replay', async () => {
        const ok = await confirmDialog({
          title: 'Cancel this replay?',
          body: `hookd stops sending the replay to ${name}. Events it has not sent yet are not sent (their deliveries are canceled); the endpoint's other deliveries go on.`,
          confirm: 'Cancel replay',
          danger: true,
        });
        if (!ok) return;
        const c = await replayApi.cancel(r.id);
        announce(`Replay to ${name} canceled: ${number(c.delivered)} of ${number(c.total)} delivered.`, 'success');
        await refresh();
      }, { class: 'danger', id: 'replay-cancel' }));
    }
    current.append(h('div', { class: 'replay-progress', dataset: { replay: r.id, status: r.status } }, head, bar, words, actions));
  };

  const showHistory = (older) => {
    clear(history);
    if (!older.length) return;
    history.append(h('details', {}, h('summary', {}, `Earlier replays (${older.length})`),
      h('ul', { class: 'plain replay-list' }, older.map((r) => h('li', { dataset: { replay: r.id } },
        badge(r.status), ' ', ...windowWords(r), h('span', { class: 'sub' }, ` · ${progressWords(r)} · started `, timeEl(r.created_at)))))));
  };

  let announcedEnd = null;
  async function refresh() {
    clearTimeout(timer);
    let page;
    try {
      page = await replayApi.list(ep.id);
    } catch {
      return;
    }
    if (stopped) return;
    const [latest, ...older] = page.data;
    showCurrent(latest);
    showHistory(older);
    if (latest?.status === 'running') {
      announcedEnd = latest.id;
      timer = setTimeout(refresh, 1000);
    } else if (latest && announcedEnd === latest.id && latest.status === 'completed') {
      announcedEnd = null;
      announce(`Replay to ${name} completed: ${number(latest.delivered)} of ${number(latest.total)} delivered${latest.failed ? `, ${number(latest.failed)} failed` : ''}.`, 'success');
    }
  }

  const btn = h('button', { type: 'submit', class: 'secondary', id: 'replay-start' }, 'Replay');
  const form = h('form', { class: 'replay-form', novalidate: true },
    h('div', { class: 'inline-form' }, since.el, until.el), typesField, summary, h('div', { class: 'actions' }, btn));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFormErrors(summary, fields);
    fields.event_types.input = typesBox.querySelector('input');
    const from = new Date(since.input.value);
    const to = new Date(until.input.value);
    const types = [...typesBox.querySelectorAll('input:checked')].map((i) => i.value);
    const body = {
      since: Number.isNaN(from.getTime()) ? since.input.value : from.toISOString(),
      until: Number.isNaN(to.getTime()) ? until.input.value : to.toISOString(),
    };
    if (types.length) body.event_types = types;
    const ok = await confirmDialog({
      title: 'Replay these events?',
      body: h('p', {}, 'hookd sends every ', types.length ? `${types.join(', ')} ` : '', 'event from ',
        Number.isNaN(from.getTime()) ? since.input.value : formatTime(body.since), ' to ',
        Number.isNaN(to.getTime()) ? until.input.value : formatTime(body.until), ' to ', h('strong', {}, name),
        ' again — delivered ones too — with their original webhook-id, at the endpoint\u2019s rate limit. Its live events keep going first.'),
      confirm: 'Start replay',
    });
    if (!ok) return;
    btn.setAttribute('aria-busy', 'true');
    try {
      const r = await replayApi.start(ep.id, body);
      // Its end is announced even when it is over before the next look (a few events).
      if (r.status === 'running') announcedEnd = r.id;
      announce(r.status === 'completed' && r.total === 0
        ? `No events to replay to ${name} in that time.`
        : `Replaying ${number(r.total)} event${r.total === 1 ? '' : 's'} to ${name}…`, 'info');
      await refresh();
    } catch (e) {
      showFormErrors(summary, fields, e).focus?.();
    } finally {
      btn.removeAttribute('aria-busy');
    }
  });

  refresh();
  return h('section', { class: 'card', 'aria-labelledby': 'replay-title', id: 'replay' },
    h('h2', { id: 'replay-title' }, 'Replay a time range'),
    h('p', { class: 'hint' }, 'When the receiver lost data: every event of the window goes again — delivered ones too — as new deliveries with the original webhook-id.'),
    form, current, history);
}
