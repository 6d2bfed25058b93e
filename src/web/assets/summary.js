// What an event is about, in words an HR admin reads at a glance: its subject (the employee,
// by name once any event named them) and a one-line summary per type taken from its data
// (SPEC §2), e.g. "hired into Engineering, Valencia HQ, starts Dec 1" or "vacation approved:
// Dec 22 – Jan 2, 8 days" — beside the employee's name, so the summary does not repeat it.
// Unknown (custom) types and the test event get none; nothing here throws on data of an
// unexpected shape.

const names = new Map(); // employee id → "First Last", from the events seen this session

const day = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });
const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

function str(v) {
  return typeof v === 'string' && v ? v : null;
}

// "2026-12-22" → "22 Dec" (a calendar date: no time zone shift).
function date(v) {
  const s = str(v);
  if (!s || !/^\d{4}-\d{2}-\d{2}$/.test(s)) return s;
  return day.format(new Date(`${s}T00:00:00Z`));
}

function range(from, to) {
  const a = date(from);
  const b = date(to);
  return a && b && a !== b ? `${a} – ${b}` : a || b || '';
}

function learn(emp) {
  const id = str(emp?.id);
  const name = [str(emp?.first_name), str(emp?.last_name)].filter(Boolean).join(' ');
  if (id && name) names.set(id, name);
}

// The employee's name, once an event of this session named them; else null.
export function employeeName(id) {
  return names.get(id) || null;
}

// The employee an event concerns: {id, name|null}, or null.
export function eventSubject(ev) {
  const d = ev?.data || {};
  if (d.employee) learn(d.employee);
  const id = str(ev?.subject) || str(d.employee?.id) || str(d.request?.employee_id) || str(d.entry?.employee_id)
    || str(d.contract?.employee_id) || str(d.process?.employee_id);
  return id ? { id, name: names.get(id) || null } : null;
}

function minutes(m) {
  if (typeof m !== 'number') return null;
  const hh = Math.floor(m / 60);
  const mm = m % 60;
  return hh ? `${hh} h${mm ? ` ${mm} min` : ''}` : `${mm} min`;
}

function place(x) {
  return str(x?.name);
}

function value(v) {
  if (v === null || v === undefined) return '—';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

const SUMMARIES = {
  'employee.hired': (d) => {
    const where = [place(d.employee?.department), place(d.employee?.office)].filter(Boolean).join(', ');
    const start = date(d.employee?.start_date);
    return `hired${where ? ` into ${where}` : ''}${start ? `, starts ${start}` : ''}`;
  },
  'employee.left': (d) => `left${str(d.reason) ? ` (${d.reason})` : ''}${date(d.effective_date) ? `, effective ${date(d.effective_date)}` : ''}`,
  'employee.department_changed': (d) => {
    const from = place(d.from?.department) || place(d.from?.office);
    const to = place(d.to?.department) || place(d.to?.office);
    return `moved${from ? ` from ${from}` : ''}${to ? ` to ${to}` : ''}${date(d.effective_date) ? `, ${date(d.effective_date)}` : ''}`;
  },
  'time_off.requested': (d) => timeOff('requested', d),
  'time_off.approved': (d) => timeOff('approved', d),
  'time_off.rejected': (d) => timeOff('rejected', d),
  'time_entry.clocked_in': (d) => clocked('in', d),
  'time_entry.clocked_out': (d) => clocked('out', d),
  'contract.created': (d) => {
    const c = d.contract || {};
    const parts = [str(c.type), typeof c.hours_per_week === 'number' ? `${c.hours_per_week} h/week` : null,
      date(c.start_date) ? `from ${date(c.start_date)}` : null].filter(Boolean);
    return `contract created${parts.length ? `: ${parts.join(', ')}` : ''}`;
  },
  'contract.updated': (d) => {
    const ch = Array.isArray(d.changes) ? d.changes : [];
    if (!ch.length) return 'contract updated';
    const first = ch[0] || {};
    return `contract updated: ${value(first.field)} ${value(first.from)} → ${value(first.to)}${ch.length > 1 ? ` (+${ch.length - 1} more)` : ''}`;
  },
  'onboarding.started': (d) => onboarding('started', d),
  'onboarding.completed': (d) => onboarding('completed', d),
};

function timeOff(what, d) {
  const r = d.request || {};
  const span = range(r.start_date, r.end_date);
  const days = typeof r.days === 'number' ? `${r.days} day${r.days === 1 ? '' : 's'}` : null;
  const kind = str(r.type) && r.type !== 'other' ? r.type : 'time off';
  return `${kind} ${what}${span ? `: ${span}` : ''}${days ? `, ${days}` : ''}`;
}

function clocked(dir, d) {
  const e = d.entry || {};
  const at = str(e.at) && !Number.isNaN(Date.parse(e.at)) ? clock.format(new Date(e.at)) : null;
  const worked = dir === 'out' ? minutes(e.worked_minutes) : null;
  return `clocked ${dir}${at ? ` at ${at}` : ''}${str(e.source) ? ` (${e.source})` : ''}${worked ? `, ${worked} worked` : ''}`;
}

function onboarding(what, d) {
  const p = d.process || {};
  const tasks = typeof p.tasks_total === 'number' ? `, ${p.tasks_done ?? 0} of ${p.tasks_total} tasks` : '';
  return `onboarding ${what}${str(p.template) ? ` (${p.template})` : ''}${tasks}`;
}

// The one-line summary of an event, or '' for a type without one.
export function eventSummary(ev) {
  const f = SUMMARIES[ev?.type];
  if (!f) return '';
  try {
    eventSubject(ev); // learn the name, if the event gives it
    return f(ev.data || {});
  } catch {
    return '';
  }
}
