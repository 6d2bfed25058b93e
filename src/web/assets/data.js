// Data the views share, cached for the session: the event catalog (it rarely changes) and
// the company's endpoints (refetched after any change to them).
import { api } from './api.js';

let catalog = null;
let endpoints = null;
const events = new Map(); // event id → event, for delivery lists (events never change)

export function resetCache() {
  catalog = null;
  endpoints = null;
  events.clear();
}

// [{name, family, description, schema, example, …}] sorted by family then name.
export async function getCatalog() {
  if (!catalog) {
    catalog = api.eventTypes().then((r) => r.data.slice().sort((a, b) =>
      a.family.localeCompare(b.family) || a.name.localeCompare(b.name)));
    catalog.catch(() => { catalog = null; });
  }
  return catalog;
}

// Family name → [types], in catalog order. `webhook.test` is left out: it is sent only by
// the "send test event" action and no subscription can select it.
export async function getFamilies() {
  const families = new Map();
  for (const t of await getCatalog()) {
    if (t.name === 'webhook.test') continue;
    if (!families.has(t.family)) families.set(t.family, []);
    families.get(t.family).push(t);
  }
  return families;
}

// Every endpoint of the company (all pages).
export async function getEndpoints({ fresh = false } = {}) {
  if (fresh || !endpoints) {
    endpoints = (async () => {
      const all = [];
      let cursor;
      do {
        const page = await api.endpoints(cursor ? { cursor } : {});
        all.push(...page.data);
        cursor = page.next_cursor;
      } while (cursor);
      return all;
    })();
    endpoints.catch(() => { endpoints = null; });
  }
  return endpoints;
}

export function invalidateEndpoints() {
  endpoints = null;
}

// Each event (its type, subject and data), fetched at most 4 at a time; `onEvent(id, ev)` is
// called as they arrive (from the cache at once).
export async function resolveEvents(ids, onEvent, signal) {
  const todo = [];
  for (const id of new Set(ids)) {
    if (events.has(id)) onEvent(id, events.get(id));
    else todo.push(id);
  }
  const worker = async () => {
    while (todo.length && !signal?.aborted) {
      const id = todo.shift();
      try {
        const ev = await api.event(id);
        events.set(id, ev);
        if (!signal?.aborted) onEvent(id, ev);
      } catch {
        // leave the cell as it is
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

// The type of each event id, as resolveEvents.
export function resolveEventTypes(ids, onType, signal) {
  return resolveEvents(ids, (id, ev) => onType(id, ev.type), signal);
}

// "dlv_…M22A2JR": the prefix and the last characters of a typed id (the full id on hover).
export function shortId(id) {
  const s = String(id ?? '');
  const i = s.indexOf('_');
  return i > 0 && s.length - i > 10 ? `${s.slice(0, i + 1)}…${s.slice(-7)}` : s;
}

export function shortUrl(url) {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return url;
  }
}

export function endpointLabel(ep) {
  return ep.description ? `${ep.description} (${shortUrl(ep.url)})` : shortUrl(ep.url);
}

// An attempt's error class in words (SPEC §4 attempt object).
const ERROR_WORDS = {
  timeout: 'timed out',
  connect: 'could not connect',
  dns: 'host name not found',
  tls: 'TLS handshake or certificate refused',
  blocked: 'destination blocked (private address)',
};

export function errorWords(error) {
  return ERROR_WORDS[error] || error || 'no answer';
}

// "HTTP 500", "could not connect", …: what came of an attempt.
export function outcomeWords(attempt) {
  return attempt.status_code ? `HTTP ${attempt.status_code}` : errorWords(attempt.error);
}
