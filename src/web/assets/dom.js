// Small DOM and formatting helpers. Everything user- or server-provided goes into text
// nodes or attributes, never innerHTML: the panel renders receiver response bodies and
// endpoint descriptions, which are untrusted.

// h('button', {class: 'primary', onclick: fn, 'aria-label': 'x'}, 'text', childNode, [more])
export function h(tag, attrs, ...children) {
  const el = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' && 'value' in el && !(el instanceof SVGElement)) el.value = v;
    else if (k === 'checked' || k === 'indeterminate' || k === 'disabled' || k === 'selected') el[k] = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function svg(tag, attrs, ...children) {
  return h(`svg:${tag}`, attrs, ...children);
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// ---- formatting
// Times: one format everywhere — the browser's time zone, named ("3 Dec 2026, 17:29:05 CET");
// recent and upcoming things relative ("2 min ago", "in 4 min"); UTC on hover (title).

const dateTime = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
});
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayAndHour = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const zoneName = new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' });

// The browser's time zone, e.g. "Europe/Madrid (CET)".
export function timeZoneLabel(date = new Date()) {
  const iana = Intl.DateTimeFormat().resolvedOptions().timeZone || '';
  const short = zoneName.formatToParts(date).find((p) => p.type === 'timeZoneName')?.value || '';
  return iana && short && iana !== short ? `${iana} (${short})` : iana || short;
}

export function formatTime(iso) {
  return iso ? dateTime.format(new Date(iso)) : '—';
}

// "2026-12-03 16:29:05 UTC": what the hover shows.
export function formatUtc(iso) {
  if (!iso) return '';
  const s = new Date(iso).toISOString();
  return `${s.slice(0, 10)} ${s.slice(11, 19)} UTC`;
}

export function formatHour(iso) {
  return timeOnly.format(new Date(iso));
}

export function formatDayHour(iso) {
  return dayAndHour.format(new Date(iso));
}

// "12 s ago", "5 min ago", "3 h ago", "in 4 min", else the date.
export function relativeTime(iso, now = Date.now()) {
  if (!iso) return '—';
  const t = new Date(iso).getTime();
  const s = Math.round((now - t) / 1000);
  if (s < -5) {
    const f = -s;
    if (f < 60) return `in ${f} s`;
    if (f < 3600) return `in ${Math.round(f / 60)} min`;
    if (f < 86400) return `in ${Math.round(f / 3600)} h`;
    return formatTime(iso);
  }
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return formatTime(iso);
}

// A time that is due: "in 4 min" ahead, "now" once passed (a due attempt is never "1 min ago").
export function dueTime(iso, now = Date.now()) {
  return new Date(iso).getTime() <= now + 5000 ? 'now' : relativeTime(iso, now);
}

// <time>: relative when recent (the full local time and UTC on hover), else the full local
// time (UTC on hover). `due`: a time something is expected to happen ("in 4 min", "now").
export function timeEl(iso, { relative = true, due = false } = {}) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const full = formatTime(iso);
  const text = due ? dueTime(iso) : relative ? relativeTime(iso) : full;
  return h('time', { datetime: iso, title: text === full ? formatUtc(iso) : `${full} · ${formatUtc(iso)}` }, text);
}

export function formatMs(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

export function formatPercent(rate, digits = 1) {
  if (rate === null || rate === undefined) return '—';
  const p = rate * 100;
  return `${p === 100 || p === 0 ? p.toFixed(0) : p.toFixed(digits)} %`;
}

// Text with `backticked` spans as <code>, as the catalog descriptions write them.
export function richText(text) {
  return String(text ?? '').split(/`([^`]+)`/).map((part, i) => (i % 2 ? h('code', {}, part) : part));
}

export function prettyJson(value) {
  return JSON.stringify(value, null, 2);
}

// The JSON text pretty-printed when it parses, else as it is.
export function prettyText(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

// A badge for a delivery or endpoint status.
export function badge(status, label = status) {
  return h('span', { class: `badge badge-${status}` }, label);
}

// A delivery's status, with the reason of a canceled one ("canceled · erased").
export function deliveryBadge(d) {
  if (d.status === 'canceled' && d.canceled_reason)
    return h('span', { class: 'badge badge-canceled', title: 'Canceled: its employee\'s data was erased' }, `canceled · ${d.canceled_reason}`);
  return badge(d.status);
}

let uid = 0;
export function nextId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}
