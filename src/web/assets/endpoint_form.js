// Create or edit an endpoint. Events are chosen by checkbox: "all events" (`*`), a whole
// family (`employee.*`, which also covers types added to the family later) or single types.
// The API's problem+json field errors are shown next to the field their pointer names.
import { api, ApiError } from './api.js';
import { h, prettyJson, richText } from './dom.js';
import { getFamilies, invalidateEndpoints, shortUrl } from './data.js';
import { announce, showFormErrors, clearFormErrors } from './ui.js';

const DEFAULTS = {
  url: '', description: '', event_types: [], filter: null, template: null, signature_scheme: 'standard', headers: {},
  ordering: 'none', max_concurrency: 10, rate_limit_per_second: null, timeout_ms: 15000,
};

function field(id, label, input, hint) {
  const errorEl = h('p', { id: `${id}-error`, class: 'field-error', hidden: true });
  const hintEl = hint ? h('p', { id: `${id}-hint`, class: 'hint' }, hint) : null;
  input.setAttribute('aria-describedby', [hintEl ? `${id}-hint` : '', `${id}-error`].join(' ').trim());
  return { el: h('div', { class: 'field' }, h('label', { for: id }, label), input, hintEl, errorEl), input, errorEl };
}

// The event checkboxes. Returns {el, value(), errorEl, focusTarget}.
function eventPicker(families, selected) {
  const sel = new Set(selected);
  const all = h('input', { type: 'checkbox', id: 'ev-all', value: '*', checked: sel.has('*') });
  const familyBoxes = [];
  const typeBoxes = [];
  const groups = [];
  for (const [family, types] of families) {
    const fam = h('input', { type: 'checkbox', id: `ev-fam-${family}`, value: `${family}.*`, checked: sel.has(`${family}.*`), dataset: { family } });
    familyBoxes.push(fam);
    const items = types.map((t) => {
      const box = h('input', { type: 'checkbox', id: `ev-${t.name}`, value: t.name, checked: sel.has(t.name), dataset: { family } });
      typeBoxes.push(box);
      return h('li', {}, box,
        h('label', { for: box.id }, h('code', {}, t.name), h('span', { class: 'type-desc' }, richText(t.description))));
    });
    groups.push(h('fieldset', { class: 'family' },
      h('legend', {}, h('span', { class: 'family-name' }, family.replace(/_/g, ' '))),
      h('div', { class: 'family-all' }, fam, h('label', { for: fam.id }, 'All ', h('code', {}, `${family}.*`), ' events')),
      h('ul', { class: 'type-list' }, items)));
  }

  // A box covered by a wildcard shows checked and disabled; family boxes show
  // "indeterminate" when only some of their types are picked.
  const sync = () => {
    for (const fam of familyBoxes) {
      fam.disabled = all.checked;
      const kids = typeBoxes.filter((b) => b.dataset.family === fam.dataset.family);
      const covered = all.checked || fam.checked;
      for (const k of kids) {
        k.disabled = covered;
        if (covered) k.checked = true;
      }
      if (all.checked) fam.checked = true;
      fam.indeterminate = !covered && kids.some((k) => k.checked) && !kids.every((k) => k.checked);
    }
  };
  // When a wildcard is unticked, untick what it covered (the user picks singles again).
  all.addEventListener('change', () => {
    if (!all.checked) {
      for (const b of [...familyBoxes, ...typeBoxes]) b.checked = false;
    }
    sync();
  });
  for (const fam of familyBoxes) {
    fam.addEventListener('change', () => {
      if (!fam.checked) for (const k of typeBoxes.filter((b) => b.dataset.family === fam.dataset.family)) k.checked = false;
      sync();
    });
  }
  for (const b of typeBoxes) b.addEventListener('change', sync);
  // Custom types the catalog no longer lists, or patterns we cannot show, are kept as they are.
  const known = new Set([all, ...familyBoxes, ...typeBoxes].map((b) => b.value));
  const unknown = selected.filter((s) => !known.has(s));
  sync();

  const errorEl = h('p', { id: 'field-event_types-error', class: 'field-error', hidden: true });
  const el = h('fieldset', { class: 'events', id: 'field-event_types', 'aria-describedby': 'events-hint field-event_types-error' },
    h('legend', {}, 'Events'),
    h('p', { id: 'events-hint', class: 'hint' }, 'Pick whole families or single event types. A family also covers types added to it later.'),
    h('div', { class: 'family-all all-events' }, all, h('label', { for: all.id }, 'All events ', h('code', {}, '*'))),
    h('div', { class: 'families' }, groups),
    unknown.length ? h('p', { class: 'hint' }, 'Also kept: ', unknown.map((u) => h('code', {}, u, ' '))) : null,
    errorEl);

  const value = () => {
    if (all.checked) return ['*'];
    const out = [];
    for (const fam of familyBoxes) {
      if (fam.checked) out.push(fam.value);
      else for (const k of typeBoxes) if (k.dataset.family === fam.dataset.family && k.checked) out.push(k.value);
    }
    return [...out, ...unknown];
  };
  return { el, value, errorEl, focusTarget: all };
}

// Custom header rows: name + value, add and remove.
function headersEditor(initial) {
  const rows = h('div', { class: 'header-rows' });
  let n = 0;
  const addRow = (name = '', value = '', focus = false) => {
    n += 1;
    const nameIn = h('input', { type: 'text', id: `hdr-name-${n}`, value: name, placeholder: 'x-api-key', autocomplete: 'off', spellcheck: 'false', class: 'hdr-name' });
    const valueIn = h('input', { type: 'text', id: `hdr-value-${n}`, value, autocomplete: 'off', spellcheck: 'false', class: 'hdr-value' });
    const row = h('div', { class: 'header-row' },
      h('label', { for: nameIn.id, class: 'visually-hidden' }, `Header ${n} name`), nameIn,
      h('label', { for: valueIn.id, class: 'visually-hidden' }, `Header ${n} value`), valueIn,
      h('button', { type: 'button', class: 'secondary small', 'aria-label': `Remove header ${n}`, onclick: () => { row.remove(); addBtn.focus(); } }, 'Remove'));
    rows.append(row);
    if (focus) nameIn.focus();
  };
  const addBtn = h('button', { type: 'button', class: 'secondary small', onclick: () => addRow('', '', true) }, 'Add header');
  for (const [k, v] of Object.entries(initial || {})) addRow(k, v);
  const errorEl = h('p', { id: 'field-headers-error', class: 'field-error', hidden: true });
  const el = h('fieldset', { class: 'headers', id: 'field-headers', 'aria-describedby': 'headers-hint field-headers-error' },
    h('legend', {}, 'Custom headers'),
    h('p', { id: 'headers-hint', class: 'hint' }, 'Added to every request, e.g. an API key your receiver expects. hookd’s own headers cannot be overridden.'),
    rows, addBtn, errorEl);
  const value = () => {
    const out = {};
    for (const row of rows.querySelectorAll('.header-row')) {
      const k = row.querySelector('.hdr-name').value.trim();
      const v = row.querySelector('.hdr-value').value;
      if (k) out[k] = v;
    }
    return out;
  };
  return { el, value, errorEl, focusTarget: addBtn };
}

export async function endpointForm(ctx, id) {
  const editing = Boolean(id);
  const [families, ep] = await Promise.all([getFamilies(), editing ? api.endpoint(id) : Promise.resolve(DEFAULTS)]);
  ctx.setTitle(editing ? 'Edit endpoint' : 'New endpoint');

  const url = field('field-url', 'URL', h('input', { id: 'field-url', type: 'url', required: true, value: ep.url, placeholder: 'https://it.example.com/hooks/hookd', autocomplete: 'url', spellcheck: 'false' }),
    'Where hookd POSTs the events (https, absolute).');
  const description = field('field-description', 'Description', h('input', { id: 'field-description', type: 'text', value: ep.description, placeholder: 'Directory provisioning', maxlength: '1000' }), 'Optional, for people.');
  const events = eventPicker(families, ep.event_types);
  const filter = field('field-filter', 'Filter (optional, JSON)',
    h('textarea', { id: 'field-filter', rows: '4', spellcheck: 'false', class: 'mono', placeholder: '{"data.contract.salary.amount": {"$gte": 50000}}' }),
    'Only events whose payload matches are delivered. Keys are dot paths; operators $eq $neq $gt $gte $lt $lte $in $nin $exists $regex $and $or. Empty: every event of the chosen types.');
  filter.input.value = ep.filter ? prettyJson(ep.filter) : '';
  const template = field('field-template', 'Payload template (optional, JSON)',
    h('textarea', { id: 'field-template', rows: '4', spellcheck: 'false', class: 'mono', placeholder: '{"text": "{{data.employee.id}} asked for {{data.request.days}} days off"}' }),
    'The body the receiver gets instead of the event, in its own format (e.g. Slack’s {"text": …}). Strings may hold {{dot.paths}} into the event, filled in escaped. “Send a test” shows it rendered. Empty: the event as it is.');
  template.input.value = ep.template ? prettyJson(ep.template) : '';

  const schemeOpts = [
    ['standard', 'Standard Webhooks', 'webhook-signature: v1,… (recommended)'],
    ['github', 'GitHub style', 'x-hub-signature-256: sha256=…, for receivers that only know GitHub’s scheme'],
  ];
  const schemeErr = h('p', { id: 'field-signature_scheme-error', class: 'field-error', hidden: true });
  const scheme = h('fieldset', { class: 'radios', id: 'field-signature_scheme', 'aria-describedby': 'field-signature_scheme-error' },
    h('legend', {}, 'Signature scheme'),
    schemeOpts.map(([v, label, hint]) => h('div', { class: 'radio' },
      h('input', { type: 'radio', name: 'signature_scheme', id: `scheme-${v}`, value: v, checked: ep.signature_scheme === v }),
      h('label', { for: `scheme-${v}` }, label, h('span', { class: 'hint' }, hint)))),
    schemeErr);
  const ordering = field('field-ordering', 'Ordering',
    h('select', { id: 'field-ordering' },
      h('option', { value: 'none', selected: ep.ordering === 'none' }, 'None — fastest'),
      h('option', { value: 'subject', selected: ep.ordering === 'subject' }, 'Per employee — in acceptance order')),
    'Per employee: a later event of one employee waits while an earlier one is retrying.');
  const maxConc = field('field-max_concurrency', 'Max concurrent requests',
    h('input', { id: 'field-max_concurrency', type: 'number', min: '1', max: '1000', step: '1', required: true, value: String(ep.max_concurrency), inputmode: 'numeric' }), '1 to 1000.');
  const rate = field('field-rate_limit_per_second', 'Rate limit (requests per second)',
    h('input', { id: 'field-rate_limit_per_second', type: 'number', min: '1', max: '100000', step: '1', value: ep.rate_limit_per_second ?? '', inputmode: 'numeric', placeholder: 'No limit' }), 'Empty: no limit.');
  const timeout = field('field-timeout_ms', 'Timeout (ms)',
    h('input', { id: 'field-timeout_ms', type: 'number', min: '100', max: '60000', step: '100', required: true, value: String(ep.timeout_ms), inputmode: 'numeric' }), '100 to 60000 per attempt.');
  const headers = headersEditor(ep.headers);

  const summary = h('div', { class: 'form-errors', role: 'alert', tabindex: '-1', hidden: true });
  const fields = {
    url, description, event_types: { input: events.focusTarget, errorEl: events.errorEl }, filter, template,
    signature_scheme: { input: scheme.querySelector('input'), errorEl: schemeErr }, ordering,
    max_concurrency: maxConc, rate_limit_per_second: rate, timeout_ms: timeout,
    headers: { input: headers.focusTarget, errorEl: headers.errorEl },
  };
  // An error goes away as soon as its field is edited; the summary once none is left.
  const containers = [[url.el, 'url'], [description.el, 'description'], [events.el, 'event_types'], [filter.el, 'filter'], [template.el, 'template'],
    [scheme, 'signature_scheme'], [ordering.el, 'ordering'], [maxConc.el, 'max_concurrency'], [rate.el, 'rate_limit_per_second'],
    [timeout.el, 'timeout_ms'], [headers.el, 'headers']];
  for (const [container, key] of containers) {
    const clearOne = () => {
      const f = fields[key];
      if (f.errorEl.hidden) return;
      f.errorEl.hidden = true;
      f.errorEl.replaceChildren();
      f.input?.removeAttribute('aria-invalid');
      if (Object.values(fields).every((x) => x.errorEl.hidden) && !summary.querySelector('ul')) summary.hidden = true;
    };
    container.addEventListener('input', clearOne);
    container.addEventListener('change', clearOne);
  }
  const submit = h('button', { type: 'submit', class: 'primary' }, editing ? 'Save changes' : 'Create endpoint');
  const cancelHref = editing ? `#/endpoints/${encodeURIComponent(id)}` : '#/endpoints';

  const form = h('form', { class: 'endpoint-form', novalidate: true },
    summary,
    h('section', { class: 'card' }, h('h2', {}, 'Destination'), url.el, description.el),
    h('section', { class: 'card' }, events.el, filter.el, template.el),
    h('section', { class: 'card' }, h('h2', {}, 'Delivery'),
      scheme,
      h('div', { class: 'grid-2' }, ordering.el, maxConc.el, rate.el, timeout.el),
      headers.el),
    h('div', { class: 'actions sticky-actions' },
      h('a', { href: cancelHref, class: 'button secondary' }, 'Cancel'), submit));

  // Client-side checks the API would refuse anyway, phrased for the form; the API has the last word.
  const localErrors = (body) => {
    const errs = [];
    if (!body.url) errs.push({ pointer: '/url', message: 'is required' });
    if (!body.event_types.length) errs.push({ pointer: '/event_types', message: 'pick at least one event type' });
    if (body.filter === undefined) errs.push({ pointer: '/filter', message: 'is not valid JSON' });
    if (body.template === undefined) errs.push({ pointer: '/template', message: 'is not valid JSON' });
    for (const k of ['max_concurrency', 'timeout_ms', 'rate_limit_per_second']) {
      if (Number.isNaN(body[k])) errs.push({ pointer: `/${k}`, message: 'must be a whole number' });
    }
    return errs;
  };

  const num = (input, nullable) => {
    const v = input.value.trim();
    if (v === '') return nullable ? null : NaN;
    return /^\d+$/.test(v) ? Number(v) : NaN;
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFormErrors(summary, fields);
    let parsedFilter = null;
    const ftext = filter.input.value.trim();
    if (ftext) {
      try {
        parsedFilter = JSON.parse(ftext);
      } catch {
        parsedFilter = undefined;
      }
    }
    let parsedTemplate = null;
    const ttext = template.input.value.trim();
    if (ttext) {
      try {
        parsedTemplate = JSON.parse(ttext);
      } catch {
        parsedTemplate = undefined;
      }
    }
    const body = {
      url: url.input.value.trim(),
      description: description.input.value.trim(),
      event_types: events.value(),
      filter: parsedFilter,
      template: parsedTemplate,
      signature_scheme: form.querySelector('input[name=signature_scheme]:checked')?.value || 'standard',
      headers: headers.value(),
      ordering: ordering.input.value,
      max_concurrency: num(maxConc.input, false),
      rate_limit_per_second: num(rate.input, true),
      timeout_ms: num(timeout.input, false),
    };
    const local = localErrors(body);
    if (local.length) {
      const first = showFormErrors(summary, fields, new ApiError(422, { detail: 'Please correct the marked fields.', errors: local }));
      first.focus();
      return;
    }
    submit.setAttribute('aria-busy', 'true');
    try {
      const saved = editing ? await api.updateEndpoint(id, body) : await api.createEndpoint(body);
      invalidateEndpoints();
      const name = `“${saved.description || shortUrl(saved.url)}”`;
      announce(editing ? `Endpoint ${name} saved.` : `Endpoint ${name} created. Its signing secret is in the “Signing secret” section.`, 'success', { carry: true });
      ctx.navigate(`#/endpoints/${encodeURIComponent(saved.id)}`);
    } catch (e) {
      const first = showFormErrors(summary, fields, e);
      first.focus();
    } finally {
      submit.removeAttribute('aria-busy');
    }
  });

  ctx.main.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' },
      h('a', { href: '#/endpoints' }, 'Endpoints'), editing ? [' / ', h('a', { href: cancelHref }, ep.description || ep.url)] : null),
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, editing ? 'Edit endpoint' : 'New endpoint')),
    form);
  if (!editing) url.input.focus();
}
