// The filter form of the events and deliveries lists: event type (from the catalog),
// employee (subject), a time range, status and endpoint. Values live in the page's hash
// (#/deliveries?status=failed&endpoint_id=…), in the API's own form, so a filtered view is a
// link and the API call is the hash's query as it is. On a phone the form folds away.
import { h } from './dom.js';
import { getCatalog, endpointLabel } from './data.js';

export const STATUSES = ['pending', 'succeeded', 'failed', 'held', 'canceled'];

// "2026-11-26T10:00:00.000Z" → "2026-11-26T11:00" in the browser's zone (datetime-local).
function toLocalInput(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// The other way: a datetime-local value (browser's zone) → RFC 3339 UTC, '' when empty.
function fromLocalInput(v) {
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

// The filters of `query` (URLSearchParams of the hash) that `fields` names, validated
// lightly (the API checks them all and its 422 names the parameter).
export function readFilters(query, fields) {
  const out = {};
  for (const f of fields) {
    const v = (query.get(f.name) || '').trim();
    if (f.kind === 'status' && v && !STATUSES.includes(v)) continue;
    out[f.name] = v;
  }
  return out;
}

// Builds the form. `fields`: [{name, label, kind: 'type'|'subject'|'time'|'status'|'endpoint'|'event'}]
// (`name` is the API's parameter); `values`: readFilters' result; `apply(params)` navigates.
export async function filterForm({ fields, values, endpoints, apply, clearHref, label }) {
  const catalog = fields.some((f) => f.kind === 'type' || f.kind === 'event') ? await getCatalog() : [];
  const typeNames = new Set(catalog.map((t) => t.name));
  const controls = new Map();

  const control = (f) => {
    const id = `filter-${f.id || f.name.replace(/_/g, '-')}`;
    const v = values[f.name] || '';
    let el;
    switch (f.kind) {
      case 'status':
        el = h('select', { id, name: f.name },
          h('option', { value: '' }, 'Any status'),
          STATUSES.map((s) => h('option', { value: s, selected: v === s }, s)));
        break;
      case 'endpoint':
        el = h('select', { id, name: f.name },
          h('option', { value: '' }, 'Any endpoint'),
          endpoints.map((e) => h('option', { value: e.id, selected: v === e.id }, endpointLabel(e))));
        break;
      case 'type': {
        const families = new Map();
        for (const t of catalog) {
          if (!families.has(t.family)) families.set(t.family, []);
          families.get(t.family).push(t.name);
        }
        el = h('select', { id, name: f.name },
          h('option', { value: '' }, 'Any type'),
          [...families].map(([family, names]) => h('optgroup', { label: family },
            names.map((n) => h('option', { value: n, selected: v === n }, n)))));
        break;
      }
      case 'time':
        el = h('input', { id, name: f.name, type: 'datetime-local', value: v ? toLocalInput(v) : '' });
        break;
      default: // subject, event
        el = h('input', {
          id, name: f.name, type: 'search', value: v, spellcheck: 'false', autocomplete: 'off',
          placeholder: f.kind === 'subject' ? 'emp_1001' : 'evt_…',
        });
    }
    controls.set(f.name, { f, el });
    return h('div', { class: 'field' }, h('label', { for: id }, f.label), el);
  };

  const collect = () => {
    const p = {};
    for (const [name, { f, el }] of controls) {
      let v = f.kind === 'time' ? fromLocalInput(el.value) : el.value.trim();
      // A type typed where an event id goes is a type filter (e.g. "employee.hired").
      if (f.kind === 'event' && v && !v.startsWith('evt_') && typeNames.has(v)) {
        const typeField = [...controls.values()].find((c) => c.f.kind === 'type');
        if (typeField) p[typeField.f.name] = v;
        v = '';
      }
      if (v && p[name] === undefined) p[name] = v;
    }
    return p;
  };

  const fieldsEls = fields.map(control);
  for (const { f, el } of controls.values()) {
    if (el.tagName === 'SELECT' || f.kind === 'time') el.addEventListener('change', () => apply(collect()));
  }
  const active = fields.filter((f) => values[f.name]).length;
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': label },
    fieldsEls,
    h('div', { class: 'field filter-actions' }, h('button', { type: 'submit', class: 'secondary' }, 'Apply'),
      active ? h('a', { href: clearHref, class: 'button link' }, 'Clear') : null));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    apply(collect());
  });
  // Folded on a phone (the form would fill the first screen), open elsewhere.
  const narrow = window.matchMedia('(max-width: 720px)').matches;
  return h('details', { class: 'filter-fold', id: 'filters-fold', open: !narrow },
    h('summary', {}, active ? `Filters (${active} active)` : 'Filters'), form);
}

// "?a=1&b=2" from an object, empty values left out.
export function toQuery(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}
