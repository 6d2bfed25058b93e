// Replay a time range from the admin panel (issue 14), in a real browser (Chromium through
// playwright-core, the real hookd binary): on the endpoint page the administrator picks a
// window (and event types), confirms, and watches the progress bar fill up to "Completed" while
// the receiver gets every event of the window again with its original webhook-id; a slow replay
// is canceled with its button; a window the API refuses is shown at its field.
//
//   cd tests/browser && npm ci && node --test replay.test.mjs
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Company, Hookd, Receiver, hired, launchBrowser, screenshotDir, waitFor } from './lib.mjs';

const TIMEOUT = 30_000;
const EVENTS = 30;

// A Date as a datetime-local value (the browser's zone is the machine's here).
function localInput(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
const hoursAgo = (h) => localInput(new Date(Date.now() - h * 3600_000));

describe('admin panel: replay a time range', () => {
  let hookd;
  let co;
  let token;
  let rx;
  let browser;
  let page;
  let shots;
  let epId;
  const pageErrors = [];

  const shot = (name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  // A message the status line showed since the page was loaded — not only the one it shows now:
  // a 30-event replay may finish, and its end be announced, right after it was announced started.
  const status = (text) => page.waitForFunction(
    (t) => (window.hookdStatuses || []).some((s) => (t.re ? new RegExp(t.re).test(s) : s.includes(t.s))),
    text instanceof RegExp ? { re: text.source } : { s: text }, { timeout: TIMEOUT });
  const section = () => page.locator('#replay');
  const replays = async () => (await co.api.call('GET', `${co.base}/endpoints/${epId}/replays`, undefined, 200)).data;

  async function openEndpoint() {
    await page.goto(`${hookd.baseUrl}/#/endpoints/${epId}`);
    await page.reload();  // the same hash as before would not render the page afresh
    await page.getByRole('heading', { name: 'Replay a time range' }).waitFor();
  }
  async function startReplay({ types = [] } = {}) {
    for (const t of types) await section().getByLabel(t).check();
    await section().getByRole('button', { name: 'Replay', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Replay these events?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Start replay' }).click();
  }

  before(async () => {
    hookd = await new Hookd(['--retry-schedule', '300ms,300ms', '--request-timeout', '5s']).start();
    const created = await hookd.createCompany('Acme Iberia');
    co = new Company(created);
    token = created.api.token;
    rx = await new Receiver().start('/lake/hooks');
    epId = (await co.createEndpoint({ url: rx.url, description: 'HR data lake', event_types: ['employee.*'] })).id;
    for (let i = 0; i < EVENTS; i += 1) {
      await co.publish(hired({ id: `emp_${9000 + i}`, first: 'Ana', last: `García ${i}`, email: `ana.${i}@acme.example`, department: 'Engineering' }));
    }
    await waitFor('the original deliveries', () => rx.requests.length >= EVENTS, TIMEOUT);
    browser = await launchBrowser();
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await ctx.addInitScript(() => {
      window.hookdStatuses = [];
      document.addEventListener('DOMContentLoaded', () => {
        const el = document.getElementById('status');  // in index.html itself
        const note = () => {
          if (el.textContent) window.hookdStatuses.push(el.textContent);
        };
        note();
        new MutationObserver(note).observe(el, { childList: true, subtree: true, characterData: true });
      });
    });
    page = await ctx.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of \d{3}/.test(m.text())) {
        pageErrors.push(m.text());
      }
    });
    shots = screenshotDir();
    await page.goto(`${hookd.baseUrl}/`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
  });

  after(async () => {
    await browser?.close();
    await rx?.stop();
    await hookd?.stop();
  });

  test('a replay started from the endpoint page fills its progress bar and resends every event once', async () => {
    await openEndpoint();
    // The types offered are the endpoint's (employee.*), none ticked: all of them.
    await section().getByLabel('employee.hired').waitFor();
    assert.equal(await section().getByLabel('time_off.approved').count(), 0);
    await startReplay();
    await status(`Replaying ${EVENTS} events to “HR data lake”…`);
    const done = section().locator('.replay-progress[data-status="completed"]');
    await done.waitFor();
    await section().locator('#replay-words', { hasText: `${EVENTS} of ${EVENTS} done · ${EVENTS} delivered` }).waitFor();
    const bar = section().locator('#replay-bar');
    assert.equal(await bar.getAttribute('value'), String(EVENTS));
    assert.equal(await bar.getAttribute('max'), String(EVENTS));
    assert.equal(await done.locator('.badge').textContent(), 'Completed');
    await status(`Replay to “HR data lake” completed: ${EVENTS} of ${EVENTS} delivered.`);
    await shot('replay-completed');
    // The receiver got each event once more, with the id (and body) it first came with.
    await waitFor('the replayed deliveries', () => rx.requests.length >= 2 * EVENTS, TIMEOUT);
    const first = rx.requests.slice(0, EVENTS);
    const again = rx.requests.slice(EVENTS);
    assert.equal(again.length, EVENTS);
    assert.deepEqual(new Set(again.map((r) => r.headers['webhook-id'])), new Set(first.map((r) => r.headers['webhook-id'])));
    for (const r of again) {
      const original = first.find((o) => o.headers['webhook-id'] === r.headers['webhook-id']);
      assert.equal(r.body, original.body);
    }
    const [latest] = await replays();
    assert.equal(latest.status, 'completed');
    assert.equal(latest.delivered, EVENTS);
    assert.equal(latest.event_types, null);
  });

  test('a running replay shows how far it is and is canceled with its button', async () => {
    await co.patchEndpoint(epId, { rate_limit_per_second: 2 });
    const before = rx.requests.length;
    await openEndpoint();
    await page.locator('.props dd', { hasText: '2 per second' }).waitFor();
    await startReplay({ types: ['employee.hired'] });
    const running = section().locator('.replay-progress[data-status="running"]');
    await running.waitFor();
    assert.equal(await running.locator('.badge').textContent(), 'Running');
    assert.match(await running.locator('.replay-head').textContent(), /employee\.hired/);
    // It moves: a few delivered (2 a second), far from all.
    await section().locator('#replay-words', { hasText: /^[1-9]\d* of 30 done · [1-9]\d* delivered/ }).waitFor();
    assert.ok(Number(await section().locator('#replay-bar').getAttribute('value')) < EVENTS);
    // The earlier replay is listed below.
    assert.match(await section().locator('#replay-history summary').textContent(), /Earlier replays \(1\)/);
    await shot('replay-running');

    await section().getByRole('button', { name: 'Cancel replay' }).click();
    const dialog = page.getByRole('dialog', { name: 'Cancel this replay?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Cancel replay' }).click();
    await status(/Replay to “HR data lake” canceled: \d+ of 30 delivered\./);
    await section().locator('.replay-progress[data-status="canceled"] .badge', { hasText: 'Canceled' }).waitFor();
    await section().locator('#replay-words', { hasText: /canceled/ }).waitFor();
    assert.equal(await section().getByRole('button', { name: 'Cancel replay' }).count(), 0);
    const [latest] = await replays();
    assert.equal(latest.status, 'canceled');
    assert.ok(latest.canceled > 0, JSON.stringify(latest));
    assert.deepEqual(latest.event_types, ['employee.hired']);
    // Nothing more arrives (a request in flight at the cancel may still land).
    await new Promise((r) => setTimeout(r, 800));
    const atCancel = rx.requests.length;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(rx.requests.length, atCancel);
    assert.ok(atCancel - before < EVENTS);
    // Its deliveries are listed as canceled.
    await page.goto(`${hookd.baseUrl}/#/deliveries?status=canceled`);
    await page.locator('#deliveries-table .badge', { hasText: 'canceled' }).first().waitFor();
    await co.patchEndpoint(epId, { rate_limit_per_second: null });
  });

  test('a window the API refuses is shown at its field', async () => {
    await openEndpoint();
    await section().getByLabel(/^From/).fill(hoursAgo(1));
    await section().getByLabel(/^To/).fill(hoursAgo(2));
    await startReplay();
    const toField = section().getByLabel(/^To/);
    await section().locator('#replay-until-error', { hasText: 'must be later than since' }).waitFor();
    assert.equal(await toField.getAttribute('aria-invalid'), 'true');
    assert.match(await section().locator('.form-errors').textContent(), /until/);
    // Older than the retention (30 days by default).
    await section().getByLabel(/^To/).fill(hoursAgo(24 * 40));
    await section().getByLabel(/^From/).fill(hoursAgo(24 * 41));
    await startReplay();
    await section().locator('#replay-since-error', { hasText: 'within the retention' }).waitFor();
    assert.equal((await replays()).length, 2, 'a refused request made a replay');
  });

  test('no script errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
