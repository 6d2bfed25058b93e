// Endpoints: the list, and one endpoint's page (health chart, secret, test event, recent
// deliveries, recover, enable/disable, delete).
import { api } from './api.js';
import { h, clear, badge, deliveryBadge, timeEl, formatPercent, formatMs, formatTime, formatUtc, prettyJson, timeZoneLabel } from './dom.js';
import { getEndpoints, invalidateEndpoints, resolveEvents, shortUrl, outcomeWords } from './data.js';
import { fillEvent } from './deliveries.js';
import { renderStats, statsParams, RANGES } from './chart.js';
import { announce, announceError, actionButton, confirmDialog, copyText, idChip } from './ui.js';
import { waitingPhrase } from './waiting.js';
import { replaySection } from './replay.js';

function failing(ep) {
  return ep.status === 'enabled' && ep.health?.consecutive_failures > 0;
}

// Enabled (green) only while its attempts succeed: an endpoint whose last attempts failed is
// "Failing" (red), whatever its switch says.
function statusBadge(ep) {
  if (ep.status === 'enabled') return failing(ep) ? badge('failing', 'Failing') : badge('enabled', 'Enabled');
  const why = { gone: 'Disabled (410 Gone)', failing: 'Disabled (kept failing)' }[ep.disabled_reason] || 'Disabled';
  return badge('disabled', why);
}

// Succeeding now but often failing over the last 24 h (`s`: its stats): degraded, not a plain
// green. The list and the endpoint's page say it alike.
function degraded(ep, s) {
  return ep.status === 'enabled' && !failing(ep) && s?.attempts > 0 && s.success_rate < 0.9;
}

function degradedBadge(s) {
  return h('span', { class: 'badge badge-degraded', title: `${formatPercent(s.success_rate)} of the attempts of the last 24 h succeeded` }, 'Degraded');
}

function streak(n) {
  return `${n} failed attempt${n === 1 ? '' : 's'} in a row`;
}

// What the endpoint page says about its health, or null when all is well. `s`: its stats of
// the last 24 h, once loaded.
function healthNote(ep, s = null) {
  const hl = ep.health || {};
  if (degraded(ep, s)) {
    return h('p', { class: 'health-note health-warn', id: 'endpoint-health' }, h('strong', {}, 'Degraded'),
      `: ${formatPercent(s.success_rate)} of the attempts of the last 24 h succeeded (${s.succeeded} of ${s.attempts}). `,
      'Its latest attempt succeeded: no failure streak counts towards disabling it',
      hl.auto_disable_min_failures ? ` (hookd disables an endpoint only after ${hl.auto_disable_min_failures} failed attempts in a row and days without success)` : '',
      '.');
  }
  if (ep.status === 'disabled') {
    const why = {
      gone: 'hookd disabled it because the receiver answered 410 Gone.',
      failing: `hookd disabled it: no successful delivery for too long${hl.consecutive_failures ? ` (${streak(hl.consecutive_failures)})` : ''}.`,
    }[ep.disabled_reason] || 'It was disabled by hand.';
    return h('p', { class: 'health-note health-warn', id: 'endpoint-health' }, h('strong', {}, 'Disabled'), `: ${why} `,
      'New deliveries are held, not sent, until you enable it again.');
  }
  if (!failing(ep)) return null;
  const note = h('p', { class: 'health-note', id: 'endpoint-health' },
    h('strong', {}, 'Failing'), `: ${streak(hl.consecutive_failures)}, failing since `, timeEl(hl.failing_since), '.');
  if (hl.auto_disable_at) {
    const more = hl.consecutive_failures < hl.auto_disable_min_failures ? ` once it has ${hl.auto_disable_min_failures} failed attempts in a row` : '';
    const soon = new Date(hl.auto_disable_at).getTime() - Date.now() < 86400000;
    note.append(' If it keeps failing, hookd disables it ', soon ? '' : 'on ', timeEl(hl.auto_disable_at, { due: true }),
      soon ? [' (', formatTime(hl.auto_disable_at), ')'] : '', more, ' and holds its deliveries.');
  }
  return note;
}

function eventChips(types, max = 4) {
  const shown = types.slice(0, max).map((t) => h('code', { class: 'chip' }, t));
  if (types.length > max) shown.push(h('span', { class: 'chip more' }, `+${types.length - max}`));
  return h('span', { class: 'chips' }, shown);
}

export async function endpointsList(ctx) {
  ctx.setTitle('Endpoints');
  const eps = await getEndpoints({ fresh: true });
  const head = h('div', { class: 'page-head' },
    h('h1', { tabindex: '-1' }, 'Endpoints'),
    h('a', { href: '#/endpoints/new', class: 'button primary' }, 'New endpoint'));
  if (!eps.length) {
    ctx.main.append(head, h('section', { class: 'card empty' },
      h('h2', {}, 'No endpoints yet'),
      h('p', {}, 'An endpoint is a URL of yours that receives the HR events you choose, signed, with retries.'),
      h('a', { href: '#/endpoints/new', class: 'button primary' }, 'Create your first endpoint')));
    return;
  }
  const rateCells = new Map();
  const statusCells = new Map();
  const rows = eps.map((ep) => {
    statusCells.set(ep.id, h('td', { 'data-label': 'Status' }, statusBadge(ep),
      ep.kind === 'rest_hook' ? h('span', { class: 'chip' }, 'REST hook') : null,
      failing(ep) ? h('div', { class: 'sub' }, `${streak(ep.health.consecutive_failures)}, since `, timeEl(ep.health.failing_since)) : null));
    const rateCell = h('td', { 'data-label': 'Last 24 h', class: 'num' }, h('span', { class: 'muted' }, '…'));
    rateCells.set(ep.id, rateCell);
    return h('tr', {},
      h('th', { scope: 'row', 'data-label': 'Endpoint' },
        h('a', { href: `#/endpoints/${encodeURIComponent(ep.id)}`, class: 'strong' }, ep.description || shortUrl(ep.url)),
        h('div', { class: 'sub mono' }, ep.url)),
      h('td', { 'data-label': 'Events' }, eventChips(ep.event_types)),
      statusCells.get(ep.id),
      rateCell,
      h('td', { 'data-label': 'Created' }, timeEl(ep.created_at)));
  });
  ctx.main.append(head, h('div', { class: 'table-wrap' },
    h('table', { class: 'table responsive' },
      h('caption', { class: 'visually-hidden' }, 'Endpoints of your company'),
      h('thead', {}, h('tr', {}, ['Endpoint', 'Events', 'Status', 'Last 24 h', 'Created'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows))));

  // Success rates, four at a time.
  const queue = [...eps];
  const worker = async () => {
    while (queue.length && !ctx.signal.aborted) {
      const ep = queue.shift();
      const cell = rateCells.get(ep.id);
      try {
        const s = await api.stats(ep.id);
        // Succeeding now but often failing over the day: degraded, not a plain green.
        const badgeEl = statusCells.get(ep.id).querySelector('.badge');
        if (degraded(ep, s)) badgeEl.replaceWith(degradedBadge(s));
        clear(cell).append(s.attempts
          ? h('span', { title: `${s.succeeded} of ${s.attempts} attempts succeeded; average ${formatMs(s.avg_duration_ms)}` },
            h('span', { class: s.success_rate >= 0.99 ? 'ok' : s.success_rate >= 0.9 ? 'warn' : 'bad' }, formatPercent(s.success_rate)),
            h('span', { class: 'sub' }, ` · ${formatMs(s.avg_duration_ms)}`))
          : h('span', { class: 'muted' }, 'no traffic'));
      } catch {
        clear(cell).append('—');
      }
    }
  };
  Promise.all([worker(), worker(), worker(), worker()]);
}

// ---------------------------------------------------------------------------------------

function dl(pairs) {
  return h('dl', { class: 'props' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function secretSection(ep) {
  const masked = 'whsec_' + '•'.repeat(24);
  let secret = null;
  let shown = false;
  const value = h('code', { id: 'secret-value', class: 'secret mono' }, masked);
  const note = h('p', { class: 'hint', id: 'secret-note' });
  const load = async () => {
    const s = await api.secret(ep.id);
    secret = s.secret;
    clear(note);
    if (s.previous_secret_expires_at) {
      note.append('The previous secret also signs deliveries until ', timeEl(s.previous_secret_expires_at, { relative: false }), '.');
    }
    return secret;
  };
  const revealBtn = actionButton('Reveal', async () => {
    if (shown) {
      value.textContent = masked;
      shown = false;
      revealBtn.textContent = 'Reveal';
      revealBtn.setAttribute('aria-pressed', 'false');
      return;
    }
    value.textContent = await load();
    shown = true;
    revealBtn.textContent = 'Hide';
    revealBtn.setAttribute('aria-pressed', 'true');
  }, { class: 'secondary', 'aria-controls': 'secret-value', 'aria-pressed': 'false' });
  const copyBtn = actionButton('Copy', async () => {
    const s = secret || (await load());
    if (await copyText(s)) announce('Signing secret copied to the clipboard.', 'success');
    else announce('Could not copy: select the revealed secret and copy it by hand.', 'error');
  }, { class: 'secondary' });

  const grace = h('select', { id: 'rotate-grace' },
    h('option', { value: '0' }, 'Stop at once'),
    h('option', { value: '3600' }, '1 hour'),
    h('option', { value: '86400', selected: true }, '24 hours'),
    h('option', { value: '604800' }, '7 days'));
  const rotateBtn = actionButton('Rotate secret', async () => {
    const g = Number(grace.value);
    const ok = await confirmDialog({
      title: 'Rotate the signing secret?',
      body: g ? `A new secret signs every delivery from now on; the current one keeps signing too for ${grace.selectedOptions[0].textContent}, so your receiver can switch over.`
        : 'A new secret signs every delivery from now on, and the current one stops at once: receivers still using it will reject deliveries.',
      confirm: 'Rotate',
      danger: g === 0,
    });
    if (!ok) return;
    const r = await api.rotateSecret(ep.id, g);
    secret = r.secret;
    value.textContent = secret;
    shown = true;
    revealBtn.textContent = 'Hide';
    revealBtn.setAttribute('aria-pressed', 'true');
    clear(note);
    if (r.previous_secret_expires_at) note.append('The previous secret also signs deliveries until ', timeEl(r.previous_secret_expires_at, { relative: false }), '.');
    announce('Secret rotated. Update your receiver with the new secret.', 'success');
  }, { class: 'secondary' });

  return h('section', { class: 'card', 'aria-labelledby': 'secret-title' },
    h('h2', { id: 'secret-title' }, 'Signing secret'),
    h('p', { class: 'hint' }, ep.signature_scheme === 'github'
      ? 'Receivers check x-hub-signature-256 (HMAC-SHA256 of the body, keyed with this whole secret).'
      : 'Receivers check webhook-signature with this secret (Standard Webhooks; any of its libraries works).'),
    h('div', { class: 'secret-row' }, value, revealBtn, copyBtn),
    note,
    h('div', { class: 'inline-form' },
      h('label', { for: 'rotate-grace' }, 'Old secret keeps working for'), grace, rotateBtn));
}

// The endpoint's latest deliveries; polls while any is pending. `watch(deliveryId)` makes
// the first outcome of that delivery be announced (the test event), naming the endpoint;
// `onOutcome` runs then (the statistics have changed).
function recentDeliveries(ctx, ep, onOutcome) {
  const name = `“${ep.description || shortUrl(ep.url)}”`;
  const body = h('div', { class: 'recent' }, h('p', { class: 'muted' }, 'Loading…'));
  const watched = new Map(); // delivery id → announced?
  let timer = null;
  let stopped = false;
  ctx.onCleanup(() => {
    stopped = true;
    clearTimeout(timer);
  });

  const refresh = async () => {
    clearTimeout(timer);
    let page;
    try {
      page = await api.deliveries({ endpoint_id: ep.id, limit: 10 });
    } catch (e) {
      announceError(e, 'Cannot load deliveries');
      return;
    }
    if (stopped) return;
    const ds = page.data;
    clear(body);
    if (!ds.length) {
      body.append(h('p', { class: 'muted' }, 'No deliveries yet. Send a test event to try the endpoint.'));
    } else {
      const typeCells = new Map();
      body.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table responsive one-line', id: 'recent-deliveries' },
        h('caption', { class: 'visually-hidden' }, 'Latest deliveries to this endpoint'),
        h('thead', {}, h('tr', {}, ['Delivery', 'Event', 'Employee', 'Status', 'Attempts', 'Last attempt'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, ds.map((d) => {
          const typeCell = h('td', { 'data-label': 'Event', class: 'event-cell' }, idChip(d.event_id, { label: 'event id' }));
          const employeeCell = h('td', { 'data-label': 'Employee', class: 'employee-cell' }, h('span', { class: 'muted' }, '…'));
          if (!typeCells.has(d.event_id)) typeCells.set(d.event_id, []);
          typeCells.get(d.event_id).push({ typeCell, employeeCell });
          return h('tr', { dataset: { delivery: d.id, status: d.status } },
            h('th', { scope: 'row', 'data-label': 'Delivery' }, idChip(d.id, { href: `#/deliveries/${encodeURIComponent(d.id)}`, label: 'delivery id' })),
            typeCell, employeeCell,
            h('td', { 'data-label': 'Status', class: 'status-cell' }, deliveryBadge(d), ' ', waitingPhrase(d) || ''),
            h('td', { 'data-label': 'Attempts', class: 'num' }, d.attempts),
            h('td', { 'data-label': 'Last attempt' }, timeEl(d.last_attempt_at)));
        })))));
      const seen = new Map();
      const fill = (id, ev) => {
        seen.set(id, ev);
        for (const c of typeCells.get(id) || []) fillEvent(c.typeCell, c.employeeCell, id, ev);
      };
      resolveEvents([...typeCells.keys()], fill, ctx.signal).then(() => {
        if (!stopped) for (const [id, ev] of seen) fill(id, ev);
      });
    }
    // Announce the watched deliveries' first outcome.
    for (const d of ds) {
      if (!watched.has(d.id) || watched.get(d.id)) continue;
      if (d.attempts === 0) continue;
      watched.set(d.id, true);
      let code = '';
      try {
        const at = (await api.attempts(d.id)).data[0];
        code = at ? ` (${outcomeWords(at)})` : '';
      } catch {
        // the status alone will do
      }
      if (stopped) return;
      if (d.status === 'succeeded') announce(`Test event to ${name} delivered${code}.`, 'success');
      else if (d.status === 'pending' && d.next_attempt_at) {
        announce(`Test event to ${name} failed${code}; hookd retries it ${relativeOrAt(d.next_attempt_at)}.`, 'error');
      } else announce(`Test event to ${name} failed${code}.`, 'error');
      onOutcome?.();
    }
    // Quick polls while something is on its way, slow ones otherwise (new events arrive).
    const busy = ds.some((d) => d.status === 'pending') || [...watched.values()].some((v) => !v);
    if (!stopped) timer = setTimeout(refresh, busy ? 1500 : 10000);
  };
  return {
    el: h('section', { class: 'card', 'aria-labelledby': 'recent-title' },
      h('div', { class: 'section-head' },
        h('h2', { id: 'recent-title' }, 'Recent deliveries'),
        h('span', { class: 'actions' },
          h('button', { type: 'button', class: 'link', 'aria-label': 'Refresh deliveries', onclick: () => refresh() }, 'Refresh'),
          h('a', { href: `#/deliveries?endpoint_id=${encodeURIComponent(ep.id)}` }, 'All deliveries of this endpoint'))),
      body),
    refresh,
    watch: (id) => {
      watched.set(id, false);
      refresh();
    },
  };
}

// "in 4 min (17:32:05 CET)", or the full time when it is far.
function relativeOrAt(iso) {
  const t = new Date(iso).getTime() - Date.now();
  if (t <= 5000) return 'now';
  if (t < 86400000) return `in ${Math.max(1, Math.round(t / 60000))} min (${formatTime(iso)})`;
  return `on ${formatTime(iso)}`;
}

function toLocalInput(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

// "Failed since": a few presets or a time of the user's choosing, shown back in the panel's
// one format (local, zone named, UTC on hover) whatever the browser's picker looks like.
function recoverSection(ep, onDone) {
  const presets = [['3600', 'Last hour'], ['86400', 'Last 24 hours'], ['604800', 'Last 7 days'], ['custom', 'A time of my choosing…']];
  const preset = h('select', { id: 'recover-since', 'aria-describedby': 'recover-hint recover-when' },
    presets.map(([v, label]) => h('option', { value: v, selected: v === '86400' }, label)));
  const custom = h('input', { type: 'datetime-local', id: 'recover-custom', value: toLocalInput(new Date(Date.now() - 86400000)), 'aria-describedby': 'recover-when' });
  const customField = h('span', { class: 'field-inline', hidden: true },
    h('label', { for: 'recover-custom' }, `Time (${timeZoneLabel()})`), custom);
  const when = h('output', { id: 'recover-when', for: 'recover-since recover-custom', class: 'hint' });
  const sinceDate = () => (preset.value === 'custom' ? new Date(custom.value) : new Date(Date.now() - Number(preset.value) * 1000));
  const showWhen = () => {
    const d = sinceDate();
    clear(when);
    if (Number.isNaN(d.getTime())) when.append('Pick a date and time.');
    else {
      const iso = d.toISOString();
      when.append('Failed since ', h('time', { datetime: iso, title: formatUtc(iso) }, formatTime(iso)));
    }
  };
  preset.addEventListener('change', () => {
    customField.hidden = preset.value !== 'custom';
    showWhen();
  });
  custom.addEventListener('input', showWhen);
  showWhen();
  const btn = h('button', { type: 'submit', class: 'secondary' }, 'Re-queue failed deliveries');
  const form = h('form', { class: 'inline-form' },
    h('label', { for: 'recover-since' }, 'Failed since'), preset, customField, btn);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const d = sinceDate();
    if (Number.isNaN(d.getTime())) {
      announce('Pick a date and time.', 'error');
      custom.focus();
      return;
    }
    btn.setAttribute('aria-busy', 'true');
    try {
      const r = await api.recover(ep.id, d.toISOString());
      const name = `“${ep.description || shortUrl(ep.url)}”`;
      announce(r.requeued ? `Re-queued ${r.requeued} failed deliver${r.requeued === 1 ? 'y' : 'ies'} of ${name}.` : `No failed deliveries of ${name} since ${formatTime(d.toISOString())}.`, 'success');
      onDone();
    } catch (e) {
      announceError(e, 'Recover failed');
    } finally {
      btn.removeAttribute('aria-busy');
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'recover-title' },
    h('h2', { id: 'recover-title' }, 'Recover failed deliveries'),
    h('p', { class: 'hint', id: 'recover-hint' }, 'After an outage of your receiver: deliveries that gave up are sent again, oldest first.'),
    form, when);
}

export async function endpointDetail(ctx, id) {
  const ep = await api.endpoint(id);
  const title = ep.description || shortUrl(ep.url);
  ctx.setTitle(title);

  const name = `“${title}”`;

  // Health over a range: 1 h (per minute), 24 h (per hour), 7 d (per 6 hours).
  const statsBox = h('div', { class: 'stats', 'aria-live': 'off' }, h('p', { class: 'muted' }, 'Loading…'));
  let range = '24h';
  let stopChart = null;
  ctx.onCleanup(() => stopChart?.());
  const statsTitle = h('h2', { id: 'stats-title' }, `Health, ${RANGES[range].long}`);
  const loadStats = async () => {
    try {
      const s = await api.stats(ep.id, statsParams(range));
      if (ctx.signal.aborted) return;
      stopChart?.();
      stopChart = renderStats(statsBox, s, range);
    } catch (e) {
      clear(statsBox).append(h('p', { class: 'muted' }, `Cannot load statistics: ${e.message}`));
    }
  };
  const rangeButtons = Object.entries(RANGES).map(([key, r]) => h('button', {
    type: 'button', class: 'secondary small', 'aria-pressed': String(key === range), 'aria-label': `Show the ${r.long}`,
    onclick: (ev) => {
      range = key;
      for (const b of rangeButtons) b.setAttribute('aria-pressed', String(b === ev.currentTarget));
      statsTitle.textContent = `Health, ${r.long}`;
      loadStats();
    },
  }, r.label));

  // Its status and health under the title: read again after a test event's outcome (a failure
  // starts a streak; a success may end one), and "Degraded" once the day's stats are in.
  const badgeBox = h('p', { id: 'endpoint-status' }, statusBadge(ep));
  const noteBox = h('div', {}, healthNote(ep));
  const showHealth = async (fresh) => {
    let now = ep;
    if (fresh) {
      try {
        now = await api.endpoint(ep.id);
      } catch {
        return;
      }
    }
    let day = null;
    try {
      day = await api.stats(ep.id);
    } catch {
      // the badge without the day's rate
    }
    if (ctx.signal.aborted) return;
    clear(badgeBox).append(degraded(now, day) ? degradedBadge(day) : statusBadge(now));
    clear(noteBox).append(healthNote(now, day) || '');
  };

  const recent = recentDeliveries(ctx, ep, () => {
    loadStats();
    showHealth(true);
  });

  const testBtn = actionButton('Send test event', async () => {
    const r = await api.sendTest(ep.id);
    const d = await api.delivery(r.delivery_id).catch(() => null);
    if (d?.status === 'held') {
      announce(`Test event to ${name} is held: the endpoint is disabled. Enable it to send the test (and the other held deliveries).`, 'info');
      recent.refresh();
      return;
    }
    announce(`Test event sent to ${name}; waiting for the receiver…`, 'info');
    recent.watch(r.delivery_id);
  }, { class: 'primary' });

  const toggleBtn = actionButton(ep.status === 'enabled' ? 'Disable' : 'Enable', async () => {
    if (ep.status === 'enabled') {
      const ok = await confirmDialog({
        title: 'Disable this endpoint?',
        body: h('p', {}, 'hookd stops sending to ', h('strong', {}, title), '. New and pending deliveries are held, not dropped, until you enable it again.'),
        confirm: 'Disable endpoint',
      });
      if (!ok) return;
      await api.disable(ep.id);
      announce(`${name} disabled. Its deliveries are held until you enable it again.`, 'success');
    } else {
      const r = await api.enable(ep.id);
      announce(r.released ? `${name} enabled; ${r.released} held deliveries released.` : `${name} enabled.`, 'success');
    }
    invalidateEndpoints();
    ctx.reload();
  }, { class: 'secondary' });

  const deleteBtn = actionButton('Delete', async () => {
    const ok = await confirmDialog({
      title: 'Delete this endpoint?',
      body: h('p', {}, 'Deleting ', h('strong', {}, ep.url), ' stops all deliveries to it and drops its pending ones. This cannot be undone.'),
      confirm: 'Delete endpoint',
      danger: true,
    });
    if (!ok) return;
    await api.deleteEndpoint(ep.id);
    invalidateEndpoints();
    announce(`${name} deleted.`, 'success', { carry: true });
    ctx.navigate('#/endpoints');
  }, { class: 'danger' });

  const config = dl([
    ['URL', h('span', { class: 'mono break' }, ep.url)],
    ['Events', eventChips(ep.event_types, 50)],
    ['Filter', ep.filter ? h('pre', { class: 'code' }, prettyJson(ep.filter)) : h('span', { class: 'muted' }, 'none — every event of these types')],
    ['Payload template', ep.template ? h('pre', { class: 'code' }, prettyJson(ep.template)) : h('span', { class: 'muted' }, 'none — the event as it is')],
    ['Signature scheme', ep.signature_scheme === 'github' ? 'GitHub style (x-hub-signature-256)' : 'Standard Webhooks'],
    ['Ordering', ep.ordering === 'subject' ? 'per employee' : 'none'],
    ['Max concurrent requests', String(ep.max_concurrency)],
    ['Rate limit', ep.rate_limit_per_second ? `${ep.rate_limit_per_second} per second` : 'none'],
    ['Timeout', formatMs(ep.timeout_ms)],
    ['Custom headers', Object.keys(ep.headers).length
      ? h('ul', { class: 'plain' }, Object.entries(ep.headers).map(([k, v]) => h('li', { class: 'mono' }, `${k}: ${v}`)))
      : h('span', { class: 'muted' }, 'none')],
    ['Kind', ep.kind === 'rest_hook' ? 'REST hook (Zapier)' : 'endpoint'],
    ['Created', timeEl(ep.created_at, { relative: false })],
    ['Updated', timeEl(ep.updated_at, { relative: false })],
    ['Id', h('span', { class: 'mono' }, ep.id)],
  ]);

  ctx.main.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/endpoints' }, 'Endpoints'), ' / ', h('span', { 'aria-current': 'page' }, title)),
    h('div', { class: 'page-head' },
      h('div', {},
        h('h1', { tabindex: '-1' }, title),
        h('p', { class: 'sub mono break' }, ep.url),
        badgeBox,
        noteBox),
      h('div', { class: 'actions wrap' },
        testBtn,
        h('a', { href: `#/endpoints/${encodeURIComponent(ep.id)}/edit`, class: 'button secondary' }, 'Edit'),
        toggleBtn, deleteBtn)),
    h('div', { class: 'columns' },
      h('div', { class: 'col-main' },
        h('section', { class: 'card', 'aria-labelledby': 'stats-title' },
          h('div', { class: 'section-head' },
            statsTitle,
            h('span', { class: 'actions' },
              h('span', { class: 'range-picker', role: 'group', 'aria-label': 'Time range' }, rangeButtons),
              h('button', { type: 'button', class: 'link', 'aria-label': 'Refresh statistics', onclick: loadStats }, 'Refresh'))),
          statsBox),
        recent.el,
        recoverSection(ep, () => recent.refresh()),
        replaySection(ctx, ep)),
      h('div', { class: 'col-side' },
        secretSection(ep),
        h('section', { class: 'card', 'aria-labelledby': 'config-title' }, h('h2', { id: 'config-title' }, 'Configuration'), config))));
  loadStats();
  showHealth(false);
  recent.refresh();
}
