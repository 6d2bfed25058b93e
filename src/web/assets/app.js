// The hookd admin panel: a hash router over small views. No framework, no build step:
// the browser loads these ES modules as they are, from the hookd binary itself.
import { api, session, setUnauthorizedHandler } from './api.js';
import { h, clear } from './dom.js';
import { resetCache } from './data.js';
import { announce, statusForRoute } from './ui.js';
import { signInView } from './signin.js';
import { endpointsList, endpointDetail } from './endpoints.js';
import { endpointForm } from './endpoint_form.js';
import { deliveriesList, deliveryDetail } from './deliveries.js';
import { eventsList } from './events.js';
import { catalogView } from './catalog.js';
import { erasuresView } from './erasures.js';
import { auditLogView } from './audit.js';

const routes = [
  [/^\/endpoints$/, (ctx) => endpointsList(ctx), 'endpoints'],
  [/^\/endpoints\/new$/, (ctx) => endpointForm(ctx, null), 'endpoints'],
  [/^\/endpoints\/([^/]+)\/edit$/, (ctx, id) => endpointForm(ctx, id), 'endpoints'],
  [/^\/endpoints\/([^/]+)$/, (ctx, id) => endpointDetail(ctx, id), 'endpoints'],
  [/^\/events$/, (ctx) => eventsList(ctx), 'events'],
  [/^\/deliveries$/, (ctx) => deliveriesList(ctx), 'deliveries'],
  [/^\/deliveries\/([^/]+)$/, (ctx, id) => deliveryDetail(ctx, id), 'deliveries'],
  [/^\/catalog$/, (ctx) => catalogView(ctx), 'catalog'],
  [/^\/erasures$/, (ctx) => erasuresView(ctx), 'erasures'],
  [/^\/audit$/, (ctx) => auditLogView(ctx), 'audit'],
];

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
let current = null; // {controller, cleanups}
let firstRender = true;
let signOutReason = null;
let pendingFocus = null; // id of the control to focus after a navigation it caused

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/endpoints';
  const [path, qs = ''] = raw.split('?');
  return { path: path.startsWith('/') ? path : `/${path}`, query: new URLSearchParams(qs) };
}

function stopCurrent() {
  if (!current) return;
  current.controller.abort();
  for (const fn of current.cleanups) {
    try {
      fn();
    } catch {
      // a cleanup must not stop the others
    }
  }
  current = null;
}

async function render({ focus } = {}) {
  stopCurrent();
  const controller = new AbortController();
  const cleanups = [];
  current = { controller, cleanups };
  const wantFocus = focus || pendingFocus;
  pendingFocus = null;
  // Each render draws into its own container: a view still loading when the user moves on
  // then writes into a detached node, never into the next page.
  const view = h('div', { class: 'view' });
  clear(main).append(view);
  main.setAttribute('aria-busy', 'true');
  const { path, query } = parseHash();
  const ctx = {
    main: view,
    query,
    signal: controller.signal,
    onCleanup: (fn) => cleanups.push(fn),
    setTitle: (t) => { document.title = `${t} · hookd`; },
    navigate: (hash, opts = {}) => {
      if (location.hash === hash) render(opts);
      else {
        pendingFocus = opts.keepFocus ? document.activeElement?.id || null : null;
        location.hash = hash;
      }
    },
    reload: (opts = {}) => render(opts),
  };

  updateChrome(path);
  statusForRoute();
  try {
    if (!session.signedIn) {
      const reason = signOutReason;
      signOutReason = null;
      signInView(ctx, { onSignedIn: signedIn, reason });
      return;
    }
    const match = routes.find(([re]) => re.test(path));
    if (!match) {
      ctx.setTitle('Not found');
      view.append(h('h1', { tabindex: '-1' }, 'Page not found'), h('p', {}, h('a', { href: '#/endpoints' }, 'Go to the endpoints')));
    } else {
      const [re, view] = match;
      const args = path.match(re).slice(1).map(decodeURIComponent);
      await view(ctx, ...args);
    }
    if (controller.signal.aborted) return;
    // Move focus for keyboard and screen reader users: to what the view asked for, back
    // to the control that changed the route, or to the new page's heading.
    const explicit = wantFocus && document.getElementById(wantFocus);
    if (explicit) explicit.focus();
    else if (!firstRender && !main.contains(document.activeElement)) main.querySelector('h1')?.focus();
  } catch (e) {
    if (controller.signal.aborted || e.name === 'AbortError') return;
    clear(view).append(
      h('h1', { tabindex: '-1' }, e.status === 404 ? 'Not found' : 'Something went wrong'),
      h('p', { class: 'form-errors', role: 'alert' }, e.message),
      h('p', {}, h('a', { href: '#/endpoints' }, 'Back to the endpoints')));
  } finally {
    firstRender = false;
    if (current?.controller === controller) main.setAttribute('aria-busy', 'false');
  }
}
function updateChrome(path) {
  const signedIn = session.signedIn;
  nav.hidden = !signedIn;
  who.hidden = !signedIn;
  for (const a of nav.querySelectorAll('a')) {
    const section = a.dataset.section;
    if (signedIn && path.startsWith(`/${section}`)) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function loadCompanyName() {
  const el = document.getElementById('company-name');
  clear(el);
  if (!session.signedIn) return;
  try {
    const c = await api.company(session.companyId);
    el.textContent = c.name;
    el.title = c.id;
  } catch {
    el.textContent = session.companyId;
  }
}

function signedIn() {
  resetCache();
  loadCompanyName();
  announce('Signed in.', 'success', { carry: true });
  const { path } = parseHash();
  if (!location.hash || path === '/signin') location.hash = '#/endpoints';
  else render();
}

function signOut(reason) {
  session.clear();
  resetCache();
  signOutReason = reason || null;
  clear(document.getElementById('company-name'));
  if (!reason) announce('Signed out.', 'info', { carry: true });
  render();
}

setUnauthorizedHandler(() => signOut('Your token is no longer accepted (revoked or expired). Sign in again.'));

document.getElementById('sign-out').addEventListener('click', () => signOut());
// The skip link must not change the route.
document.querySelector('.skip-link').addEventListener('click', (ev) => {
  ev.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', () => render());

loadCompanyName();
render();
