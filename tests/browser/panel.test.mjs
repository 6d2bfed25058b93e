// The admin panel in a real browser: Debian's Chromium, driven by playwright-core, against
// the real hookd binary and local receivers. A company administrator signs in with a
// company token, creates endpoints by ticking event checkboxes, sends a test event and
// watches it arrive, opens deliveries and their attempts, rotates the secret, sees a
// failing receiver's answers, retries and recovers — by mouse, by keyboard, on a phone.
//
//   cd tests/browser && npm ci && node --test panel.test.mjs
//   HOOKD_SCREENSHOTS=docs/screenshots node --test panel.test.mjs   # refresh the README's
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  ADMIN_TOKEN, Company, Hookd, Receiver, hasHorizontalScroll, hired, launchBrowser, screenshotDir, timeOffApproved, waitFor,
} from './lib.mjs';

const TIMEOUT = 30_000;

describe('admin panel', () => {
  let hookd;
  let co;
  let token;
  let okRx;
  let failRx;
  let browser;
  let context;
  let page;
  let shots;
  const pageErrors = [];
  const foreign = []; // requests the browser made to anything but hookd
  const ids = {}; // endpoint ids created through the panel

  const shot = (name, p = page) => p.screenshot({ path: path.join(shots, `${name}.png`) });
  const status = (text, p = page) => p.locator('#status', { hasText: text }).waitFor({ timeout: TIMEOUT });
  const nav = (p, name) => p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name });
  const dismissStatus = async (p = page) => {
    const close = p.getByRole('button', { name: 'Dismiss message' });
    if (await close.isVisible()) await close.click();
  };

  async function newPage(options = {}) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...options });
    const p = await ctx.newPage();
    p.setDefaultTimeout(TIMEOUT);
    p.on('pageerror', (e) => pageErrors.push(e.message));
    p.on('console', (m) => {
      // The browser logs every non-2xx API answer; the tests provoke some on purpose.
      if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of \d{3}/.test(m.text())) {
        pageErrors.push(m.text());
      }
    });
    p.on('request', (r) => {
      if (!r.url().startsWith(`${hookd.baseUrl}/`) && !r.url().startsWith('data:')) foreign.push(r.url());
    });
    return { ctx, p };
  }

  async function signIn(p, t = token) {
    await p.goto(`${hookd.baseUrl}/`);
    await p.getByLabel('API token').fill(t);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
  }

  before(async () => {
    hookd = await new Hookd(['--retry-schedule', '300ms,300ms', '--request-timeout', '5s']).start();
    const created = await hookd.createCompany('Acme Iberia');
    co = new Company(created);
    token = created.api.token;
    okRx = await new Receiver(() => ({ status: 200, body: '{"received":true}', headers: { 'content-type': 'application/json' } })).start('/it/provision');
    failRx = await new Receiver(() => ({ status: 500, body: '{"error":"directory database is down"}', headers: { 'content-type': 'application/json' } })).start('/erp/hooks');
    browser = await launchBrowser();
    ({ ctx: context, p: page } = await newPage());
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: hookd.baseUrl });
    shots = screenshotDir();
  });

  after(async () => {
    await browser?.close();
    await okRx?.stop();
    await failRx?.stop();
    await hookd?.stop();
  });

  test('signs in with a company token (found through GET /v1/me) and keeps it in sessionStorage only', async () => {
    await page.goto(`${hookd.baseUrl}/`);
    // A bad token is refused next to the field.
    await page.getByLabel('API token').fill('hkd_wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#token-error', { hasText: 'not valid' }).waitFor();
    assert.equal(await page.getByLabel('API token').getAttribute('aria-invalid'), 'true');

    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
    await page.locator('#company-name', { hasText: 'Acme Iberia' }).waitFor();
    const stored = await page.evaluate(() => ({ s: { ...sessionStorage }, l: localStorage.length, c: document.cookie }));
    assert.equal(stored.s['hookd.token'], token);
    assert.equal(stored.s['hookd.company'], co.cid);
    assert.equal(stored.l, 0);
    assert.equal(stored.c, '');
  });

  test('the catalog shows every event type with its example', async () => {
    await nav(page, 'Event catalog').click();
    await page.getByRole('heading', { name: 'Event catalog' }).waitFor();
    const hired_ = page.locator('#type-employee\\.hired');
    await hired_.waitFor();
    const example = await hired_.locator('pre').first().textContent();
    assert.match(example, /"type": "employee.hired"/);
    assert.match(example, /"first_name"/);
    await page.getByLabel('Search').fill('time off');
    await page.locator('#catalog-count', { hasText: 'match' }).waitFor();
    assert.equal(await page.locator('#type-employee\\.hired').isVisible(), false);
    assert.equal(await page.locator('#type-time_off\\.approved').isVisible(), true);
  });

  test('API validation errors appear next to the fields they name', async () => {
    await nav(page, 'Endpoints').click();
    await page.getByRole('link', { name: 'Create your first endpoint' }).click();
    await page.getByRole('heading', { name: 'New endpoint' }).waitFor();
    await page.getByLabel('URL').fill('ftp://files.example.com/drop');
    await page.getByLabel('All employee.* events').check();
    await page.getByLabel('Filter (optional, JSON)').fill('{"data.employee.id": {"$bogus": 1}}');
    await page.getByLabel('Payload template (optional, JSON)').fill('{"text": "{{#data}}hi{{/data}}"}');
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    const urlError = page.locator('#field-url-error');
    await urlError.waitFor();
    assert.match(await urlError.textContent(), /http/);
    assert.equal(await page.getByLabel('URL').getAttribute('aria-invalid'), 'true');
    assert.ok(await page.locator('#field-filter-error').isVisible(), 'the filter error is shown at the filter');
    assert.match(await page.locator('#field-template-error').textContent(), /sections/, 'and the template error at the template');
    assert.match(await page.locator('.form-errors').textContent(), /./);
    // Focus went to the first bad field, for keyboard and screen reader users.
    assert.equal(await page.evaluate(() => document.activeElement.id), 'field-url');
  });

  test('creates an endpoint choosing events by checkbox (a family and a single type)', async () => {
    await page.getByLabel('URL').fill(okRx.url);
    await page.getByLabel('Description').fill('Directory provisioning');
    await page.getByLabel('Filter (optional, JSON)').fill('');
    await page.getByLabel('Payload template (optional, JSON)').fill('');
    // The family box covers its types: they show checked and disabled.
    assert.equal(await page.getByLabel('employee.hired').isChecked(), true);
    assert.equal(await page.getByLabel('employee.hired').isDisabled(), true);
    await page.getByLabel(/^time_off\.approved/).check();
    assert.equal(await page.getByLabel('All time_off.* events').evaluate((e) => e.indeterminate), true);
    await page.getByLabel('Ordering').selectOption('subject');
    await page.getByRole('button', { name: 'Add header' }).click();
    await page.getByLabel('Header 1 name').fill('x-api-key');
    await page.getByLabel('Header 1 value').fill('it-secret-123');
    // Editing a field clears its error.
    assert.equal(await page.locator('#field-url-error').isVisible(), false);
    assert.equal(await page.locator('#field-filter-error').isVisible(), false);
    await dismissStatus();
    await page.getByLabel('Description').scrollIntoViewIfNeeded();
    await page.evaluate(() => window.scrollTo(0, document.getElementById('field-description').getBoundingClientRect().top + window.scrollY - 90));
    await shot('endpoint-form');
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    await page.getByRole('heading', { name: 'Directory provisioning' }).waitFor();
    ids.ok = decodeURIComponent(new URL(page.url()).hash.split('/')[2]);
    assert.match(ids.ok, /^ep_/);

    const ep = await co.api.call('GET', `${co.base}/endpoints/${ids.ok}`, undefined, 200);
    assert.deepEqual(ep.event_types, ['employee.*', 'time_off.approved']);
    assert.equal(ep.url, okRx.url);
    assert.equal(ep.ordering, 'subject');
    assert.deepEqual(ep.headers, { 'x-api-key': 'it-secret-123' });
    assert.equal(ep.filter, null);
    assert.equal(ep.template, null);
  });

  test('sends a test event and watches it succeed', async () => {
    await page.getByRole('button', { name: 'Send test event' }).click();
    await status('Test event to “Directory provisioning” delivered (HTTP 200)');
    const row = page.locator('#recent-deliveries tbody tr').first();
    assert.equal(await row.getAttribute('data-status'), 'succeeded');
    assert.equal(okRx.requests.length, 1);
    const got = okRx.requests[0];
    assert.equal(JSON.parse(got.body).type, 'webhook.test');
    assert.equal(got.headers['x-api-key'], 'it-secret-123');
    assert.match(got.headers['webhook-signature'], /^v1,/);

    // …and in the deliveries list, with its event type.
    await nav(page, 'Deliveries').click();
    await page.getByRole('heading', { name: 'Deliveries', exact: true }).waitFor();
    const first = page.locator('#deliveries-table tbody tr').first();
    await first.locator('code', { hasText: 'webhook.test' }).waitFor();
    assert.equal(await first.getAttribute('data-status'), 'succeeded');
    assert.match(await first.textContent(), /Directory provisioning/);
  });

  test('opens the delivery and sees its attempt: 200, duration, response body', async () => {
    await page.locator('#deliveries-table tbody tr').first().getByRole('link').first().click();
    await page.getByRole('heading', { name: 'Delivery', exact: true }).waitFor();
    const attempt = page.locator('.attempt').first();
    await attempt.waitFor();
    assert.match(await attempt.textContent(), /Attempt 1/);
    assert.match(await attempt.locator('.badge').textContent(), /HTTP 200/);
    assert.match(await attempt.textContent(), /\d+ ms|\d+\.\d+ s/);
    assert.match(await attempt.locator('.response-body').textContent(), /"received": true/);
    await page.locator('#payload-title').waitFor();
    assert.match(await page.locator('#delivery-event').textContent(), /webhook\.test/);
  });

  test('reveals, copies and rotates the secret', async () => {
    await page.goto(`${hookd.baseUrl}/#/endpoints/${ids.ok}`);
    await page.getByRole('heading', { name: 'Directory provisioning' }).waitFor();
    const value = page.locator('#secret-value');
    assert.match(await value.textContent(), /^whsec_•+$/);
    await page.getByRole('button', { name: 'Reveal' }).click();
    await page.waitForFunction(() => /^whsec_[A-Za-z0-9+/=]{20,}$/.test(document.getElementById('secret-value').textContent));
    const before = await value.textContent();
    assert.equal(before, (await co.api.call('GET', `${co.base}/endpoints/${ids.ok}/secret`, undefined, 200)).secret);

    // The async clipboard API needs a focused document.
    await page.bringToFront();
    await page.getByRole('button', { name: 'Copy', exact: true }).click();
    await status('copied');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), before);

    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const dialog = page.getByRole('dialog', { name: 'Rotate the signing secret?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Rotate' }).click();
    await status('Secret rotated');
    const after_ = await value.textContent();
    assert.notEqual(after_, before);
    assert.match(after_, /^whsec_/);
    assert.equal(after_, (await co.api.call('GET', `${co.base}/endpoints/${ids.ok}/secret`, undefined, 200)).secret);
    assert.match(await page.locator('#secret-note').textContent(), /previous secret also signs/);
  });

  test('a second endpoint whose receiver answers 500 shows its failing attempts with status and body', async () => {
    await page.goto(`${hookd.baseUrl}/#/endpoints/new`);
    await page.getByLabel('URL').fill(failRx.url);
    await page.getByLabel('Description').fill('ERP sync');
    await page.getByLabel('All events *').check();
    assert.equal(await page.getByLabel('All employee.* events').isDisabled(), true);
    await page.getByLabel('GitHub style').check();
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    await page.getByRole('heading', { name: 'ERP sync' }).waitFor();
    ids.fail = decodeURIComponent(new URL(page.url()).hash.split('/')[2]);
    const ep = await co.api.call('GET', `${co.base}/endpoints/${ids.fail}`, undefined, 200);
    assert.deepEqual(ep.event_types, ['*']);
    assert.equal(ep.signature_scheme, 'github');

    // A hire reaches both endpoints; the ERP answers 500 three times and the delivery fails.
    const ev = await co.publish(hired({ id: 'emp_4821', first: 'Lucía', last: 'García', email: 'lucia.garcia@acme.example', department: 'Engineering' }));
    await waitFor('the failing delivery to give up', async () => {
      const ds = await co.deliveriesOf(ev);
      return ds.find((d) => d.endpoint_id === ids.fail && d.status === 'failed');
    }, TIMEOUT);

    await page.getByRole('button', { name: 'Refresh deliveries' }).click();
    const row = page.locator('#recent-deliveries tbody tr[data-status="failed"]').first();
    await row.waitFor();
    await row.getByRole('link').click();
    await page.getByRole('heading', { name: 'Delivery', exact: true }).waitFor();
    await page.locator('#delivery-status .badge', { hasText: 'failed' }).waitFor();
    const attempts = page.locator('.attempt');
    await page.locator('#attempts-title', { hasText: 'Attempts (3)' }).waitFor();
    for (let i = 0; i < 3; i++) {
      const a = attempts.nth(i);
      assert.match(await a.locator('.badge').textContent(), /HTTP 500/);
      assert.match(await a.locator('.response-body').textContent(), /directory database is down/);
      assert.match(await a.locator('.label').textContent(), /Response body \(from the receiver, HTTP 500\)/);
    }
    assert.match(await page.locator('#delivery-event').textContent(), /employee\.hired/);
    await dismissStatus();
    await shot('delivery-attempts');

    // Retry now: one more attempt, also 500 — and the panel says so, and that no automatic
    // attempt is left (the schedule is spent).
    await page.getByRole('button', { name: 'Retry now' }).click();
    await page.locator('#attempts-title', { hasText: 'Attempts (4)' }).waitFor();
    await status('Retry failed again (HTTP 500). No automatic attempts left');
  });

  test('filters deliveries by status and endpoint, and pages through them', async () => {
    // 30 approved holidays for the provisioning endpoint: more than one page of 25.
    const batch = Array.from({ length: 30 }, (_, i) => ({
      ...timeOffApproved,
      data: { ...timeOffApproved.data, request: { ...timeOffApproved.data.request, id: `tor_${1000 + i}` } },
    }));
    await co.api.call('POST', `${co.base}/events/batch`, batch, 202);
    await waitFor('the batch to be delivered', async () => okRx.requests.length >= 32, TIMEOUT);

    await nav(page, 'Deliveries').click();
    await page.getByRole('heading', { name: 'Deliveries', exact: true }).waitFor();
    await page.getByLabel('Status').focus();
    await page.getByLabel('Status').selectOption('failed');
    await page.waitForFunction(() => /status=failed/.test(location.hash));
    await page.locator('#deliveries-table').waitFor();
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('#deliveries-table tbody tr')];
      return rows.length > 0 && rows.every((r) => r.dataset.status === 'failed');
    });
    // Focus stays on the filter that changed the list.
    assert.equal(await page.evaluate(() => document.activeElement.id), 'filter-status');

    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('Endpoint').selectOption(ids.ok);
    await page.waitForFunction((id) => location.hash.includes(`endpoint_id=${id}`), ids.ok);
    await page.waitForFunction(() => document.querySelectorAll('#deliveries-table tbody tr').length === 25);
    const firstPage = await page.locator('#deliveries-table tbody tr').first().getAttribute('data-delivery');
    await page.getByRole('button', { name: 'Older →' }).click();
    await page.locator('.page-no', { hasText: 'Page 2' }).waitFor();
    const rows2 = await page.locator('#deliveries-table tbody tr').count();
    assert.equal(rows2, 32 - 25); // 30 holidays + the test event + the hire
    await page.getByRole('button', { name: '← Newer' }).click();
    await page.locator('.page-no', { hasText: 'Page 1' }).waitFor();
    assert.equal(await page.locator('#deliveries-table tbody tr').first().getAttribute('data-delivery'), firstPage);
  });

  test('shows per-endpoint success rate and latency over the last 24 h', async () => {
    await nav(page, 'Endpoints').click();
    await page.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
    await page.getByRole('link', { name: 'ERP sync' }).waitFor();
    // The list shows each endpoint's rate.
    await page.locator('tr', { hasText: 'ERP sync' }).locator('.bad', { hasText: '0 %' }).waitFor();
    await page.locator('tr', { hasText: 'Directory provisioning' }).locator('.ok', { hasText: '100 %' }).waitFor();

    await dismissStatus();
    await shot('endpoints');
    await page.getByRole('link', { name: 'Directory provisioning' }).click();
    await page.locator('.stats-summary', { hasText: 'of 32 attempts succeeded' }).waitFor();
    assert.match(await page.locator('.stat-rate').textContent(), /100 %/);
    const charts = page.locator('svg.chart');
    assert.equal(await charts.count(), 2);
    assert.ok(await charts.first().locator('rect.bar-ok').count() >= 1, 'the hour(s) with traffic are all good');
    assert.equal(await charts.first().locator('rect.bar-fail').count(), 0);
    assert.equal(await charts.first().locator('g.bucket').count(), 24);
    assert.match(await charts.first().getAttribute('aria-label'), /Success rate per hour/);
    // A healthy endpoint has no health warning.
    assert.equal(await page.locator('#endpoint-health').count(), 0);
    assert.equal(await page.locator('.badge', { hasText: 'Enabled' }).count(), 1);
    await dismissStatus();
    await shot('panel-overview');

    // The ERP endpoint takes every event: the hire, its retry and the 30 holidays, all refused.
    await waitFor('the ERP deliveries to give up', async () => {
      const r = await co.api.call('GET', `${co.base}/deliveries?endpoint_id=${ids.fail}&status=pending`, undefined, 200);
      return r.data.length === 0;
    }, TIMEOUT);
    const s = await co.api.call('GET', `${co.base}/endpoints/${ids.fail}/stats`, undefined, 200);
    assert.equal(s.attempts, 4 + 30 * 3);
    await page.goto(`${hookd.baseUrl}/#/endpoints/${ids.fail}`);
    await page.locator('.stats-summary', { hasText: `of ${s.attempts} attempts succeeded` }).waitFor();
    assert.match(await page.locator('.stat-rate').textContent(), /^0 %$/);
    // A bucket where every attempt failed is a full-height red bar, not a sliver that looks
    // like an empty one; an hour without attempts is drawn differently (grey, no red).
    const chart = page.locator('svg.chart').first();
    const allFailed = chart.locator('g.bucket[data-rate="0"]').first();
    await allFailed.waitFor();
    assert.equal(await allFailed.locator('rect.bar-ok').count(), 0);
    const failBox = await allFailed.locator('rect.bar-fail').boundingBox();
    assert.ok(failBox.height >= 80, `the 0 % bucket is ${failBox.height} px tall`);
    const empty = chart.locator('g.bucket[data-attempts="0"]').first();
    assert.equal(await empty.locator('rect.bar-fail').count(), 0);
    assert.ok((await empty.locator('rect.bar-none').boundingBox()).height <= 3);
    const [failFill, noneFill] = await Promise.all([
      allFailed.locator('rect.bar-fail').evaluate((e) => getComputedStyle(e).fill),
      empty.locator('rect.bar-none').evaluate((e) => getComputedStyle(e).fill)]);
    assert.notEqual(failFill, noneFill);

    // 1 h (per minute) and 7 d (per 6 hours) as well as 24 h.
    await page.getByRole('button', { name: 'Show the last hour' }).click();
    await page.locator('#stats-title', { hasText: 'last hour' }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('svg.chart')[0]?.querySelectorAll('g.bucket').length === 60);
    assert.match(await page.locator('svg.chart').first().getAttribute('aria-label'), /per minute, last hour/);
    assert.ok(await page.locator('svg.chart').first().locator('g.bucket[data-rate="0"] rect.bar-fail').count() >= 1);
    await page.getByRole('button', { name: 'Show the last 7 days' }).click();
    await page.waitForFunction(() => document.querySelectorAll('svg.chart')[0]?.querySelectorAll('g.bucket').length === 28);
    assert.equal(await page.getByRole('button', { name: 'Show the last 7 days' }).getAttribute('aria-pressed'), 'true');
    await page.locator('.stats-summary', { hasText: `of ${s.attempts} attempts succeeded` }).waitFor();
  });

  test('an endpoint at 0 % is not a green "Enabled": failing, since when, when it would be disabled', async () => {
    const ep = await co.api.call('GET', `${co.base}/endpoints/${ids.fail}`, undefined, 200);
    assert.ok(ep.health.consecutive_failures >= 10, JSON.stringify(ep.health));
    await nav(page, 'Endpoints').click();
    const row = page.locator('tr', { hasText: 'ERP sync' });
    await row.locator('.badge-failing', { hasText: 'Failing' }).waitFor();
    assert.equal(await row.locator('.badge-enabled').count(), 0);
    assert.match(await row.textContent(), /\d+ failed attempts in a row, since/);
    // The healthy one stays green.
    await page.locator('tr', { hasText: 'Directory provisioning' }).locator('.badge-enabled', { hasText: 'Enabled' }).waitFor();

    await page.getByRole('link', { name: 'ERP sync' }).click();
    const note = page.locator('#endpoint-health');
    await note.waitFor();
    const text = await note.textContent();
    assert.match(text, new RegExp(`Failing: ${ep.health.consecutive_failures} failed attempts in a row, failing since`));
    assert.match(text, /If it keeps failing, hookd disables it/);
    // The auto-disable time: the server's failing_since + --disable-after (5 days), UTC on hover.
    const times = note.locator('time');
    assert.equal(await times.nth(1).getAttribute('datetime'), ep.health.auto_disable_at);
    assert.match(await times.nth(1).getAttribute('title'), /UTC$/);
    assert.equal(new Date(ep.health.auto_disable_at) - new Date(ep.health.failing_since), 5 * 86400 * 1000);
    await dismissStatus();
    await shot('endpoint-failing');
  });

  test('recovers failed deliveries since a time, disables, enables and deletes an endpoint', async () => {
    await page.goto(`${hookd.baseUrl}/#/endpoints/${ids.fail}`);
    await page.getByRole('heading', { name: 'ERP sync' }).waitFor();
    await page.waitForFunction(() => document.querySelector('#recent-deliveries tbody tr[data-status="failed"]'));
    const failed = await co.api.call('GET', `${co.base}/deliveries?endpoint_id=${ids.fail}&status=failed&limit=500`, undefined, 200);
    assert.equal(failed.data.length, 31);
    await page.getByRole('button', { name: 'Re-queue failed deliveries' }).click();
    await status('Re-queued 31 failed deliveries');

    // Disabling asks first; cancelling changes nothing.
    await page.getByRole('button', { name: 'Disable' }).click();
    const disableDialog = page.getByRole('dialog', { name: 'Disable this endpoint?' });
    await disableDialog.waitFor();
    assert.match(await disableDialog.textContent(), /held, not dropped/);
    await disableDialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await co.api.call('GET', `${co.base}/endpoints/${ids.fail}`, undefined, 200)).status, 'enabled');
    await page.getByRole('button', { name: 'Disable' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Disable endpoint' }).click();
    await status('“ERP sync” disabled');
    // One word, not "Disabled — disabled".
    await page.locator('.page-head .badge', { hasText: /^Disabled$/ }).waitFor();
    assert.equal(await page.locator('.badge', { hasText: 'Disabled —' }).count(), 0);
    assert.match(await page.locator('#endpoint-health').textContent(), /disabled by hand/);
    await page.getByRole('button', { name: 'Enable' }).click();
    await status('“ERP sync” enabled');
    await page.locator('.page-head .badge', { hasText: /^(Enabled|Failing)$/ }).waitFor();

    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this endpoint?' });
    await dialog.waitFor();
    // Cancel first: nothing happens.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await co.api.request('GET', `${co.base}/endpoints/${ids.fail}`)).status, 200);
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete endpoint' }).click();
    await status('“ERP sync” deleted');
    await page.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
    assert.equal((await co.api.request('GET', `${co.base}/endpoints/${ids.fail}`)).status, 404);
  });

  test('signs in with the keyboard only, with a visible focus ring', async () => {
    const { ctx, p } = await newPage();
    try {
      await p.goto(`${hookd.baseUrl}/`);
      await p.getByLabel('API token').waitFor();
      // The token field has focus on arrival.
      assert.equal(await p.evaluate(() => document.activeElement.id), 'token');
      await p.keyboard.type(token);
      await p.keyboard.press('Tab'); // "Show"
      await p.keyboard.press('Tab'); // "Sign in"
      const focused = await p.evaluate(() => {
        const el = document.activeElement;
        return { text: el.textContent, outline: getComputedStyle(el).outlineStyle };
      });
      assert.equal(focused.text, 'Sign in');
      assert.equal(focused.outline, 'solid', 'keyboard focus is visible');
      await p.keyboard.press('Enter');
      // Focus moves to the new page's heading once it has loaded.
      await p.waitForFunction(() => document.activeElement.tagName === 'H1' && document.activeElement.textContent === 'Endpoints');
      // A fresh load starts at the top: the skip link first, then the navigation.
      await p.reload();
      await p.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
      await p.keyboard.press('Tab');
      assert.equal(await p.evaluate(() => document.activeElement.textContent), 'Skip to content');
      await p.keyboard.press('Tab'); // brand
      await p.keyboard.press('Tab'); // Endpoints
      await p.keyboard.press('Tab'); // Deliveries
      assert.equal(await p.evaluate(() => document.activeElement.textContent), 'Deliveries');
      await p.keyboard.press('Enter');
      // Focus moves to the new page's heading once it has loaded.
      await p.waitForFunction(() => document.activeElement.tagName === 'H1' && document.activeElement.textContent === 'Deliveries');
    } finally {
      await ctx.close();
    }
  });

  test('a phone-sized screen renders every page without horizontal scrolling', async () => {
    const { ctx, p } = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    try {
      await signIn(p);
      const check = async (hash, ready) => {
        await p.goto(`${hookd.baseUrl}/${hash}`);
        await ready();
        assert.equal(await hasHorizontalScroll(p), false, `${hash} scrolls sideways at 390 px`);
      };
      await check('#/endpoints', () => p.getByRole('link', { name: 'Directory provisioning' }).waitFor());
      await check(`#/endpoints/${ids.ok}`, () => p.locator('svg.chart').first().waitFor());
      await p.screenshot({ path: path.join(shots, 'phone-endpoint.png') });
      await check('#/endpoints/new', () => p.getByLabel('URL').waitFor());
      await check(`#/endpoints/${ids.ok}/edit`, () => p.getByRole('button', { name: 'Save changes' }).waitFor());
      await check('#/deliveries', () => p.locator('#deliveries-table').waitFor());
      const did = await p.locator('#deliveries-table tbody tr').first().getAttribute('data-delivery');
      await check(`#/deliveries/${did}`, () => p.locator('.attempt').first().waitFor());
      await check('#/catalog', () => p.locator('#type-employee\\.hired').waitFor());
    } finally {
      await ctx.close();
    }
  });

  test('edits an endpoint: the form is prefilled and saves a change', async () => {
    await page.goto(`${hookd.baseUrl}/#/endpoints/${ids.ok}/edit`);
    await page.getByRole('heading', { name: 'Edit endpoint' }).waitFor();
    assert.equal(await page.getByLabel('URL').inputValue(), okRx.url);
    assert.equal(await page.getByLabel('All employee.* events').isChecked(), true);
    assert.equal(await page.getByLabel(/^time_off\.approved/).isChecked(), true);
    assert.equal(await page.getByLabel('Header 1 value').inputValue(), 'it-secret-123');
    await page.getByLabel('Max concurrent requests').fill('4');
    await page.getByLabel('Rate limit (requests per second)').fill('20');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await status('Endpoint “Directory provisioning” saved');
    const ep = await co.api.call('GET', `${co.base}/endpoints/${ids.ok}`, undefined, 200);
    assert.equal(ep.max_concurrency, 4);
    assert.equal(ep.rate_limit_per_second, 20);
    assert.deepEqual(ep.event_types, ['employee.*', 'time_off.approved']);
  });

  test('the operator token signs in too, after picking a company', async () => {
    const { ctx, p } = await newPage();
    try {
      await p.goto(`${hookd.baseUrl}/`);
      await p.getByLabel('API token').fill(ADMIN_TOKEN);
      await p.getByRole('button', { name: 'Sign in' }).click();
      await p.getByLabel('Company').selectOption({ label: `Acme Iberia (${co.cid})` });
      await p.getByRole('button', { name: 'Sign in' }).click();
      await p.getByRole('link', { name: 'Directory provisioning' }).waitFor();
      assert.equal(await p.evaluate(() => sessionStorage.getItem('hookd.company')), co.cid);
    } finally {
      await ctx.close();
    }
  });

  test('a revoked token sends the user back to sign in; sign out forgets the token', async () => {
    const op = hookd.client(ADMIN_TOKEN);
    const extra = await op.call('POST', `${co.base}/tokens`, { scopes: ['manage'], description: 'revoked in the test' }, 201);
    const { ctx, p } = await newPage();
    try {
      await signIn(p, extra.token);
      await op.call('DELETE', `${co.base}/tokens/${extra.id}`, undefined, 204);
      await new Promise((r) => setTimeout(r, 100));
      await nav(p, 'Deliveries').click();
      await p.getByText('no longer accepted').waitFor();
      await p.getByLabel('API token').waitFor();
      assert.equal(await p.evaluate(() => sessionStorage.getItem('hookd.token')), null);
    } finally {
      await ctx.close();
    }
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  });

  test('no script errors, and nothing but hookd was contacted', async () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(foreign, []);
  });
});
