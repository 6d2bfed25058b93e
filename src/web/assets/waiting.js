// Why a delivery waits (the API's `waiting`), in words: a short phrase for a list row and a
// sentence for the delivery's page. Times are always ahead ("next attempt in 4 min"); one that
// has passed while the page was open is "due now", never "1 min ago".
import { h, dueTime, formatTime, formatUtc } from './dom.js';
import { shortId } from './data.js';
import { employeeName } from './summary.js';

const DISABLED_WHY = { gone: '410 Gone', failing: 'kept failing', manual: 'by hand' };

// "in 4 min", or "on <date>" when far; "due now" once passed.
function ahead(iso) {
  const t = dueTime(iso);
  if (t === 'now') return 'due now';
  return t.startsWith('in ') ? t : `on ${t}`;
}

function when(iso, prefix) {
  const t = ahead(iso);
  const text = t === 'due now' ? `${prefix} due now` : `${prefix} ${t}`;
  return h('time', { datetime: iso, title: `${formatTime(iso)} · ${formatUtc(iso)}` }, text);
}

// "Ana García" once an event named her, else the id.
function person(subject) {
  return employeeName(subject) || subject;
}

// The full sentence's words about the employee: "Ana García (emp_7001)".
function personFull(subject) {
  const name = employeeName(subject);
  return name ? `${name} (${subject})` : subject;
}

// A short phrase (text or nodes) for a list row, with the full sentence on hover; null when
// the delivery does not wait (finished).
export function waitingPhrase(d) {
  const w = d?.waiting;
  if (!w) return null;
  let text;
  let node = null;
  switch (w.reason) {
    case 'behind_earlier_delivery':
      text = `waiting behind ${shortId(w.blocked_by)} for ${person(w.subject)}`;
      break;
    case 'retry_backoff':
      node = when(w.next_attempt_at, 'next attempt');
      break;
    case 'scheduled':
      node = when(w.next_attempt_at, 'first attempt');
      break;
    case 'endpoint_disabled':
      text = 'held: endpoint disabled';
      break;
    case 'held':
      text = 'held: retry it to send it';
      break;
    case 'rate_limited':
      text = `waiting for the rate limit (${w.rate_limit_per_second}/s)`;
      break;
    case 'concurrency_limit':
      text = `waiting: ${w.max_concurrency} requests in flight`;
      break;
    case 'sending':
      text = 'sending now';
      break;
    default:
      text = 'due now';
  }
  return h('span', { class: 'sub waiting', title: waitingText(d), dataset: { reason: w.reason } }, node || text);
}

// The sentence, as plain text (the hover of the phrase).
export function waitingText(d) {
  const w = d?.waiting;
  if (!w) return '';
  switch (w.reason) {
    case 'behind_earlier_delivery': {
      const more = w.ahead > 1 ? ` (${w.ahead} of this employee's deliveries go first)` : '';
      const next = w.blocked_by_next_attempt_at ? `, whose next attempt is ${ahead(w.blocked_by_next_attempt_at)}` : '';
      return `Waiting behind ${w.blocked_by} for ${personFull(w.subject)}${next}${more}: this endpoint receives each employee's events in order.`;
    }
    case 'retry_backoff': return `An attempt failed; next attempt ${ahead(w.next_attempt_at)} (${formatTime(w.next_attempt_at)}).`;
    case 'scheduled': return `First attempt ${ahead(w.next_attempt_at)} (${formatTime(w.next_attempt_at)}).`;
    case 'endpoint_disabled': return `Held: the endpoint is disabled${DISABLED_WHY[w.disabled_reason] ? ` (${DISABLED_WHY[w.disabled_reason]})` : ''}. Enable it to send this delivery.`;
    case 'held': return 'Held: the endpoint was enabled without releasing its held deliveries. Retry it to send it now.';
    case 'rate_limited': return `Due, waiting for the endpoint's rate limit (${w.rate_limit_per_second} per second).`;
    case 'concurrency_limit': return `Due, waiting for a free slot: the endpoint's ${w.max_concurrency} requests at a time are in flight.`;
    case 'sending': return 'Being sent now.';
    default: return 'Due now: hookd sends it next.';
  }
}

// The sentence for the delivery's page, with a link to the delivery it waits behind and the
// next attempt's time (#next-attempt) when it waits for one.
export function waitingSentence(d) {
  const w = d?.waiting;
  if (!w) return null;
  const p = h('p', { id: 'delivery-waiting', class: 'waiting-note', dataset: { reason: w.reason } });
  switch (w.reason) {
    case 'behind_earlier_delivery': {
      p.append('Waiting behind ',
        h('a', { href: `#/deliveries/${encodeURIComponent(w.blocked_by)}`, class: 'mono', title: w.blocked_by }, shortId(w.blocked_by)),
        ` for ${personFull(w.subject)}`);
      if (w.blocked_by_next_attempt_at) p.append(', whose ', when(w.blocked_by_next_attempt_at, 'next attempt is'));
      if (w.ahead > 1) p.append(` (${w.ahead} of this employee's deliveries go first)`);
      p.append(': this endpoint receives each employee\'s events in order.');
      break;
    }
    case 'retry_backoff':
    case 'scheduled': {
      const t = when(w.next_attempt_at, w.reason === 'scheduled' ? 'first attempt' : 'next attempt');
      t.id = 'next-attempt';
      p.append(t);
      break;
    }
    default:
      p.append(waitingText(d));
  }
  return p;
}
