// The event catalog: every type with its description, an example payload and its schema.
import { h, prettyJson, richText } from './dom.js';
import { getCatalog } from './data.js';

export async function catalogView(ctx) {
  ctx.setTitle('Event catalog');
  const types = await getCatalog();
  const families = new Map();
  for (const t of types) {
    if (!families.has(t.family)) families.set(t.family, []);
    families.get(t.family).push(t);
  }
  const search = h('input', { id: 'catalog-search', type: 'search', placeholder: 'employee.hired, time off, contract…', autocomplete: 'off', 'aria-describedby': 'catalog-count' });
  const count = h('p', { id: 'catalog-count', class: 'hint', 'aria-live': 'polite' }, `${types.length} event types`);

  const sections = [...families].map(([family, list]) => {
    const items = list.map((t) => h('article', { class: 'card event-type', id: `type-${t.name}`, dataset: { search: `${t.name} ${t.description}`.toLowerCase() } },
      h('h3', {}, h('code', {}, t.name), t.builtin ? null : h('span', { class: 'chip' }, 'custom')),
      h('p', {}, richText(t.description)),
      t.subject ? h('p', { class: 'hint' }, 'Ordering subject: ', h('code', {}, t.subject)) : null,
      h('details', { open: true }, h('summary', {}, 'Example payload ', h('span', { class: 'visually-hidden' }, `of ${t.name}`)),
        h('pre', { class: 'code', tabindex: '0' }, prettyJson({ type: t.name, data: t.example }))),
      h('details', {}, h('summary', {}, 'JSON Schema ', h('span', { class: 'visually-hidden' }, `of ${t.name}`)),
        h('pre', { class: 'code', tabindex: '0' }, prettyJson(t.schema)))));
    return h('section', { class: 'family-section', 'aria-labelledby': `fam-${family}` },
      h('h2', { id: `fam-${family}` }, family.replace(/_/g, ' '), ' ', h('code', { class: 'sub' }, family === 'webhook' ? 'webhook.test' : `${family}.*`)),
      h('div', { class: 'type-grid' }, items));
  });

  search.addEventListener('input', () => {
    const q = search.value.trim().toLowerCase();
    let shown = 0;
    for (const sec of sections) {
      let any = false;
      for (const art of sec.querySelectorAll('.event-type')) {
        const hit = !q || q.split(/\s+/).every((w) => art.dataset.search.includes(w));
        art.hidden = !hit;
        if (hit) {
          any = true;
          shown += 1;
        }
      }
      sec.hidden = !any;
    }
    count.textContent = q ? `${shown} of ${types.length} event types match` : `${types.length} event types`;
  });

  ctx.main.append(
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Event catalog')),
    h('p', { class: 'lead' }, 'What hookd can send. Every delivery is a POST of ',
      h('code', {}, '{"id", "type", "timestamp", "company_id", "data"}'), ', signed; ', h('code', {}, 'data'), ' looks like the examples below.'),
    h('div', { class: 'field search-field' }, h('label', { for: 'catalog-search' }, 'Search'), search, count),
    ...sections);
}
