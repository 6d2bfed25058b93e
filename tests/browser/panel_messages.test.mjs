// The admin panel's words, in a real browser (Chromium through playwright-core, the real
// hookd binary): times in one format with the browser's time zone (UTC on hover), messages
// that belong to their page and name what they are about, a transport error shown as hookd's
// error, a test sent to a disabled endpoint said to be held, what "Retry now" led to and when
// the next automatic attempt is, and the deliveries filters folded on a phone.
//
// hookd runs with a long retry schedule (10 min, then 30 min) so that a failing delivery
// stays pending with a next attempt in the future.
//
//   cd tests/browser && npm ci && node --test panel_messages.test.mjs
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Company, Hookd, Receiver, hired, launchBrowser, screenshotDir, timeOffApproved, waitFor } from './lib.mjs';

const TIMEOUT = 30_000;
const ZONE = 'America/New_York';

// A loopback port with nothing listening on it (bound, then closed).
async function closedPort() {
  const srv = net.createServer();
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

describe('admin panel messages and times', () => {
  let hookd;
  let co;
  let token;
  let failRx;
  let browser;
  let context;
  let page;
  let shots;
  const pageErrors = [];
  const ids = {};

  const shot = (name) => page.screenshot({ path: path.join(shots, `${name}.png`) });
  const status = (text, p = page) => p.locator('#status', { hasText: text }).waitFor({ timeout: TIMEOUT });

  async function newPage(options = {}) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-US', timezoneId: ZONE, ...options });
    const p = await ctx.newPage();
    p.setDefaultTimeout(TIMEOUT);
    p.on('pageerror', (e) => pageErrors.push(e.message));
    p.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of \d{3}/.test(m.text())) {
        pageErrors.push(m.text());
      }
    });
    return { ctx, p };
  }

  async function signIn(p) {
    await p.goto(`${hookd.baseUrl}/`);
    await p.getByLabel('API token').fill(token);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
  }

  before(async () => {
    hookd = await new Hookd(['--retry-schedule', '10m,30m', '--request-timeout', '5s']).start();
    const created = await hookd.createCompany('Acme Iberia');
    co = new Company(created);
    token = created.api.token;
    failRx = await new Receiver(() => ({ status: 500, body: '{"error":"ledger locked"}', headers: { 'content-type': 'application/json' } })).start('/erp/hooks');
    ids.fail = (await co.createEndpoint({ url: failRx.url, description: 'ERP sync', event_types: ['*'] })).id;
    ids.down = (await co.createEndpoint({ url: `http://127.0.0.1:${await closedPort()}/hooks`, description: 'Payroll bridge', event_types: ['*'] })).id;
    // A hire and her holiday: a delivery of each to each endpoint (a 500, a refused connection).
    ids.hire = await co.publish(hired({ id: 'emp_7001', first: 'Ana', last: 'García', email: 'ana.garcia@acme.example', department: 'Engineering' }));
    ids.off = await co.publish({ ...timeOffApproved, data: { ...timeOffApproved.data, request: { ...timeOffApproved.data.request, employee_id: 'emp_7001' } } });
    browser = await launchBrowser();
    ({ ctx: context, p: page } = await newPage());
    shots = screenshotDir();
    await signIn(page);
  });

  after(async () => {
    await browser?.close();
    await failRx?.stop();
    await hookd?.stop();
  });

  test('times: one format with the browser time zone, relative for recent things, UTC on hover', async () => {
    const ep = await co.api.call('GET', `${co.base}/endpoints/${ids.fail}`, undefined, 200);
    await page.goto(`${hookd.baseUrl}/#/endpoints/${ids.fail}`);
    await page.getByRole('heading', { name: 'ERP sync' }).waitFor();
    // An absolute time names the zone (New York: EST in December) and shows UTC on hover.
    const created = page.locator('.props time').first();
    assert.equal(await created.getAttribute('datetime'), ep.created_at);
    assert.match(await created.textContent(), /\d{4}, \d{2}:\d{2}:\d{2} (AM|PM) (EST|EDT)$/);
    const utc = new Date(ep.created_at).toISOString();
    assert.equal(await created.getAttribute('title'), `${utc.slice(0, 10)} ${utc.slice(11, 19)} UTC`);

    // Recent things are relative; the hover gives the full local time and UTC.
    await page.goto(`${hookd.baseUrl}/#/deliveries`);
    const row = page.locator('#deliveries-table tbody tr').first();
    await row.waitFor();
    const createdCell = row.locator('td[data-label="Created"] time');
    assert.match(await createdCell.textContent(), /^(just now|\d+ s ago)$/);
    assert.match(await createdCell.getAttribute('title'), /(EST|EDT) · \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);
  });

  test('"Failed since" shows the chosen time in the same format, with the zone', async () => {
    await page.goto(`${hookd.baseUrl}/#/endpoints/${ids.fail}`);
    await page.getByRole('heading', { name: 'ERP sync' }).waitFor();
    const when = page.locator('#recover-when');
    assert.match(await when.textContent(), /^Failed since \w{3} \d+, \d{4}, \d{2}:\d{2}:\d{2} (AM|PM) (EST|EDT)$/);
    await page.getByLabel('Failed since').selectOption('custom');
    await page.getByLabel(/^Time \(America\/New_York/).fill('2026-11-30T09:15');
    await when.locator('time', { hasText: 'Nov 30, 2026, 09:15:00 AM EST' }).waitFor();
    assert.equal(await when.locator('time').getAttribute('title'), '2026-11-30 14:15:00 UTC');
  });

  test('a transport error is hookd\'s error, in words — not the receiver\'s "Response body"', async () => {
    const ds = await co.api.call('GET', `${co.base}/deliveries?endpoint_id=${ids.down}`, undefined, 200);
    const d = await waitFor('an attempt to the closed port', async () => {
      const x = await co.api.call('GET', `${co.base}/deliveries/${ds.data[0].id}`, undefined, 200);
      return x.attempts >= 1 ? x : null;
    }, TIMEOUT);
    await page.goto(`${hookd.baseUrl}/#/deliveries/${d.id}`);
    const attempt = page.locator('.attempt').first();
    await attempt.waitFor();
    assert.equal(await attempt.locator('.badge').textContent(), 'could not connect');
    const err = attempt.locator('.attempt-error');
    assert.match(await err.textContent(), /Error \(hookd, no response from the receiver\)/);
    assert.match(await err.textContent(), /could not connect: .*connect/i);
    assert.equal(await attempt.locator('.response-body').count(), 0);
    assert.doesNotMatch(await attempt.textContent(), /Response body/);
  });

  test('"Retry now" on a failing delivery says it failed again and when the next automatic attempt is', async () => {
    const ds = await co.api.call('GET', `${co.base}/deliveries?endpoint_id=${ids.fail}`, undefined, 200);
    const d = await waitFor('the first attempt to fail', async () => {
      const x = await co.api.call('GET', `${co.base}/deliveries/${ds.data[0].id}`, undefined, 200);
      return x.attempts >= 1 && x.status === 'pending' ? x : null;
    }, TIMEOUT);
    await page.goto(`${hookd.baseUrl}/#/deliveries/${d.id}`);
    await page.locator('#attempts-title', { hasText: 'Attempts (1)' }).waitFor();
    // Future tense: the next attempt is ~10 min away.
    assert.match(await page.locator('#next-attempt').textContent(), /^next attempt in \d+ min$/);
    await page.getByRole('button', { name: 'Retry now' }).click();
    await page.locator('#attempts-title', { hasText: 'Attempts (2)' }).waitFor();
    await status(/Retry failed again \(HTTP 500\)\. Next automatic attempt in \d+ min, at \w{3} \d+, \d{4}, .* (EST|EDT)\./);
    const after2 = await co.api.call('GET', `${co.base}/deliveries/${d.id}`, undefined, 200);
    const mins = Math.round((new Date(after2.next_attempt_at) - Date.now()) / 60000);
    assert.ok(mins >= 20 && mins <= 37, `next attempt in ${mins} min (30 min ± 20 %)`);
    const text = await page.locator('#status').textContent();
    const shown = Number(/in (\d+) min/.exec(text)[1]);
    assert.ok(Math.abs(shown - mins) <= 1, `"${text}" vs ${mins} min`);
    await shot('delivery-retry');
  });

  test('messages name their endpoint and stay on their page; a test to a disabled endpoint is held', async () => {
    await page.goto(`${hookd.baseUrl}/#/endpoints/${ids.fail}`);
    await page.getByRole('heading', { name: 'ERP sync' }).waitFor();
    await page.getByRole('button', { name: 'Send test event' }).click();
    await status(/Test event to “ERP sync” failed \(HTTP 500\); hookd retries it in \d+ min/);
    // Moving to another page drops the message.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Deliveries' }).click();
    await page.getByRole('heading', { name: 'Deliveries', exact: true }).waitFor();
    assert.equal(await page.locator('#status').textContent(), '');

    // A test event to a disabled endpoint is held, and the panel says so.
    await co.api.call('POST', `${co.base}/endpoints/${ids.down}/disable`, {}, 200);
    await page.goto(`${hookd.baseUrl}/#/endpoints/${ids.down}`);
    await page.getByRole('heading', { name: 'Payroll bridge' }).waitFor();
    await page.getByRole('button', { name: 'Send test event' }).click();
    await status('Test event to “Payroll bridge” is held: the endpoint is disabled');
    const held = await co.api.call('GET', `${co.base}/deliveries?endpoint_id=${ids.down}&status=held`, undefined, 200);
    assert.ok(held.data.length >= 1);
  });

  test('deliveries name the employee and what happened, in one line, with short ids to copy', async () => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: hookd.baseUrl });
    await page.setViewportSize({ width: 1366, height: 850 });
    const one = async (ev) => (await co.api.call('GET', `${co.base}/deliveries?event_id=${ev}&endpoint_id=${ids.fail}`, undefined, 200)).data[0];
    const [hireD, offD] = [await one(ids.hire), await one(ids.off)];
    await page.goto(`${hookd.baseUrl}/#/deliveries`);
    const hireRow = page.locator(`#deliveries-table tr[data-delivery="${hireD.id}"]`);
    const offRow = page.locator(`#deliveries-table tr[data-delivery="${offD.id}"]`);
    await hireRow.locator('.summary', { hasText: /^hired into Engineering, Valencia, starts Dec 1$/ }).waitFor();
    await hireRow.locator('td[data-label="Employee"]', { hasText: /^Ana García$/ }).waitFor();
    await offRow.locator('.summary', { hasText: 'vacation approved: Aug 3 – Aug 14, 10 days' }).waitFor();
    // The holiday names only emp_7001: the hire gave the name.
    await offRow.locator('td[data-label="Employee"]', { hasText: /^Ana García$/ }).waitFor();
    assert.equal(await offRow.locator('td[data-label="Employee"] span').getAttribute('title'), 'emp_7001');

    // Ids shortened (the full one on hover), and a button copies the full id.
    const link = hireRow.locator('th a');
    assert.match(await link.textContent(), /^dlv_…[0-9A-Z]{7}$/);
    assert.equal(await link.getAttribute('title'), hireD.id);
    await page.bringToFront();
    await hireRow.getByRole('button', { name: `Copy delivery id ${hireD.id}` }).click();
    await status(`Copied ${hireD.id}`);
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), hireD.id);
    assert.match(await hireRow.locator('.event-line').getAttribute('title'), new RegExp(`\\(${ids.hire}\\)$`));

    // One line a row on a 1366 × 850 screen, and the table fits without sideways scrolling.
    await shot('deliveries');
    const rowHeights = await page.locator('#deliveries-table tbody tr').evaluateAll((rs) => rs.map((r) => r.getBoundingClientRect().height));
    assert.ok(Math.max(...rowHeights) < 50, `row heights ${rowHeights}`);
    const wrap = await page.locator('#deliveries-list .table-wrap').evaluate((w) => ({ sw: w.scrollWidth, cw: w.clientWidth }));
    assert.ok(wrap.sw <= wrap.cw + 1, `the table is ${wrap.sw} px wide in ${wrap.cw} px`);
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  test('on a phone the deliveries filters are folded, so the first deliveries show on the first screen', async () => {
    const { ctx, p } = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    try {
      await signIn(p);
      await p.goto(`${hookd.baseUrl}/#/deliveries`);
      const firstRow = p.locator('#deliveries-table tbody tr').first();
      await firstRow.waitFor();
      assert.equal(await p.locator('#filter-status').isVisible(), false, 'the filters are folded');
      const box = await firstRow.boundingBox();
      assert.ok(box.y < 844 - 60, `the first delivery starts at ${box.y} px, below the first screen`);
      await p.screenshot({ path: path.join(shots, 'phone-deliveries.png') });
      // One tap opens them.
      await p.locator('#filters-fold > summary', { hasText: 'Filters' }).click();
      await p.locator('#filter-status').waitFor({ state: 'visible' });
      await p.locator('#filter-status').selectOption('pending');
      await p.waitForFunction(() => /status=pending/.test(location.hash));
      await p.locator('#filters-fold > summary', { hasText: 'Filters (1 active)' }).waitFor();
    } finally {
      await ctx.close();
    }
  });

  test('no script errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
