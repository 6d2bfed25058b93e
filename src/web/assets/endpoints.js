// Endpoints: the list, and one endpoint's page (health chart, secret, test event, recent
// deliveries, recover, enable/disable, delete).
import { api } from './api.js';
import { h, clear, badge, timeEl, formatPercent, formatMs, prettyJson } from './dom.js';
import { getEndpoints, invalidateEndpoints, resolveEventTypes, shortUrl } from './data.js';
import { renderStats } from './chart.js';
import { announce, announceError, actionButton, confirmDialog, copyText } from './ui.js';

function statusBadge(ep) {
  if (ep.status === 'enabled') return badge('enabled', 'Enabled');
  const why = { manual: 'disabled', gone: 'gone (410)', failing: 'failing' }[ep.disabled_reason] || 'disabled';
  return badge('disabled', `Disabled — ${why}`);
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
  const rows = eps.map((ep) => {
    const rateCell = h('td', { 'data-label': 'Last 24 h', class: 'num' }, h('span', { class: 'muted' }, '…'));
    rateCells.set(ep.id, rateCell);
    return h('tr', {},
      h('th', { scope: 'row', 'data-label': 'Endpoint' },
        h('a', { href: `#/endpoints/${encodeURIComponent(ep.id)}`, class: 'strong' }, ep.description || shortUrl(ep.url)),
        h('div', { class: 'sub mono' }, ep.url)),
      h('td', { 'data-label': 'Events' }, eventChips(ep.event_types)),
      h('td', { 'data-label': 'Status' }, statusBadge(ep), ep.kind === 'rest_hook' ? h('span', { class: 'chip' }, 'REST hook') : null),
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
// the next completion of that delivery be announced (the test event).
function recentDeliveries(ctx, ep) {
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
      body.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table responsive', id: 'recent-deliveries' },
        h('caption', { class: 'visually-hidden' }, 'Latest deliveries to this endpoint'),
        h('thead', {}, h('tr', {}, ['Delivery', 'Event', 'Status', 'Attempts', 'Last attempt'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, ds.map((d) => {
          const typeCell = h('td', { 'data-label': 'Event' }, h('span', { class: 'mono sub' }, d.event_id));
          if (!typeCells.has(d.event_id)) typeCells.set(d.event_id, []);
          typeCells.get(d.event_id).push(typeCell);
          return h('tr', { dataset: { delivery: d.id, status: d.status } },
            h('th', { scope: 'row', 'data-label': 'Delivery' }, h('a', { href: `#/deliveries/${encodeURIComponent(d.id)}`, class: 'mono' }, d.id)),
            typeCell,
            h('td', { 'data-label': 'Status' }, badge(d.status)),
            h('td', { 'data-label': 'Attempts', class: 'num' }, d.attempts),
            h('td', { 'data-label': 'Last attempt' }, timeEl(d.last_attempt_at)));
        })))));
      resolveEventTypes([...typeCells.keys()], (id, type) => {
        for (const c of typeCells.get(id) || []) clear(c).append(h('code', {}, type));
      }, ctx.signal);
    }
    // Announce the watched deliveries' first outcome.
    for (const d of ds) {
      if (!watched.has(d.id) || watched.get(d.id)) continue;
      if (d.attempts === 0) continue;
      watched.set(d.id, true);
      let code = '';
      try {
        const at = (await api.attempts(d.id)).data[0];
        code = at ? (at.status_code ? ` (HTTP ${at.status_code})` : ` (${at.error})`) : '';
      } catch {
        // the status alone will do
      }
      if (d.status === 'succeeded') announce(`Test event delivered${code}.`, 'success');
      else announce(`Test delivery failed${code}; hookd will retry it.`, 'error');
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

function toLocalInput(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function recoverSection(ep, onDone) {
  const since = h('input', { type: 'datetime-local', id: 'recover-since', required: true, value: toLocalInput(new Date(Date.now() - 86400000)), 'aria-describedby': 'recover-hint' });
  const btn = h('button', { type: 'submit', class: 'secondary' }, 'Re-queue failed deliveries');
  const form = h('form', { class: 'inline-form' },
    h('label', { for: 'recover-since' }, 'Failed since'), since, btn);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const d = new Date(since.value);
    if (Number.isNaN(d.getTime())) {
      announce('Pick a date and time.', 'error');
      since.focus();
      return;
    }
    btn.setAttribute('aria-busy', 'true');
    try {
      const r = await api.recover(ep.id, d.toISOString());
      announce(r.requeued ? `Re-queued ${r.requeued} failed deliver${r.requeued === 1 ? 'y' : 'ies'}.` : 'No failed deliveries since then.', 'success');
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
    form);
}

export async function endpointDetail(ctx, id) {
  const ep = await api.endpoint(id);
  const title = ep.description || shortUrl(ep.url);
  ctx.setTitle(title);

  const statsBox = h('div', { class: 'stats', 'aria-live': 'off' }, h('p', { class: 'muted' }, 'Loading…'));
  const loadStats = async () => {
    try {
      const s = await api.stats(ep.id);
      if (ctx.signal.aborted) return;
      const stop = renderStats(statsBox, s);
      ctx.onCleanup(stop);
    } catch (e) {
      clear(statsBox).append(h('p', { class: 'muted' }, `Cannot load statistics: ${e.message}`));
    }
  };

  const recent = recentDeliveries(ctx, ep);

  const testBtn = actionButton('Send test event', async () => {
    const r = await api.sendTest(ep.id);
    announce(`Test event ${r.event_id} sent; waiting for the receiver…`, 'info');
    recent.watch(r.delivery_id);
  }, { class: 'primary' });

  const toggleBtn = actionButton(ep.status === 'enabled' ? 'Disable' : 'Enable', async () => {
    if (ep.status === 'enabled') {
      await api.disable(ep.id);
      announce('Endpoint disabled. New deliveries are held until you enable it again.', 'success');
    } else {
      const r = await api.enable(ep.id);
      announce(r.released ? `Endpoint enabled; ${r.released} held deliveries released.` : 'Endpoint enabled.', 'success');
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
    announce('Endpoint deleted.', 'success');
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
        h('p', {}, statusBadge(ep))),
      h('div', { class: 'actions wrap' },
        testBtn,
        h('a', { href: `#/endpoints/${encodeURIComponent(ep.id)}/edit`, class: 'button secondary' }, 'Edit'),
        toggleBtn, deleteBtn)),
    h('div', { class: 'columns' },
      h('div', { class: 'col-main' },
        h('section', { class: 'card', 'aria-labelledby': 'stats-title' },
          h('div', { class: 'section-head' },
            h('h2', { id: 'stats-title' }, 'Last 24 hours'),
            h('button', { type: 'button', class: 'link', 'aria-label': 'Refresh statistics', onclick: loadStats }, 'Refresh')),
          statsBox),
        recent.el,
        recoverSection(ep, () => recent.refresh())),
      h('div', { class: 'col-side' },
        secretSection(ep),
        h('section', { class: 'card', 'aria-labelledby': 'config-title' }, h('h2', { id: 'config-title' }, 'Configuration'), config))));
  loadStats();
  recent.refresh();
}
