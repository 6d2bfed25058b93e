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

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

export function formatTime(iso) {
  return iso ? dateTime.format(new Date(iso)) : '—';
}

export function formatHour(iso) {
  return timeOnly.format(new Date(iso));
}

// "12 s ago", "5 min ago", "3 h ago", else the date.
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

// <time> with a relative label and the exact local time as its tooltip.
export function timeEl(iso, { relative = true } = {}) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: iso, title: formatTime(iso) }, relative ? relativeTime(iso) : formatTime(iso));
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

let uid = 0;
export function nextId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}
