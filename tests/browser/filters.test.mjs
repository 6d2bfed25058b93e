// The filters an admin reaches for (issue 15 item 3) and a receiver's reconciliation view
// (issue 14 item 3), in a real browser against the real binary: deliveries by event type,
// employee, time, status and endpoint together; "employee.hired" typed into the event id box
// filters by type instead of failing; the events page lists what one endpoint failed to get;
// on a phone the filters fold away and nothing scrolls sideways.
//
//   cd tests/browser && npm ci && node --test filters.test.mjs
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  Company, Hookd, Receiver, hasHorizontalScroll, hired, launchBrowser, screenshotDir, timeOffApproved, waitFor,
} from './lib.mjs';

const TIMEOUT = 30_000;

describe('panel filters', () => {
  let hookd;
  let co;
  let token;
  let okRx;
  let failRx;
  let browser;
  let page;
  let shots;
  const pageErrors = [];
  const eps = {};
  const ev = {};

  async function newPage(options = {}) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...options });
    const p = await ctx.newPage();
    p.setDefaultTimeout(TIMEOUT);
    p.on('pageerror', (e) => pageErrors.push(e.message));
    await p.goto(`${hookd.baseUrl}/`);
    await p.getByLabel('API token').fill(token);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
    return { ctx, p };
  }
  const rows = (p, table) => p.locator(`#${table} tbody tr`);
  // Waits for the list to show exactly these data-* values (in order).
  async function expectRows(p, table, attr, want) {
    await p.waitForFunction(([t, a, w]) => {
      const got = [...document.querySelectorAll(`#${t} tbody tr`)].map((r) => r.dataset[a]);
      return JSON.stringify(got) === JSON.stringify(w);
    }, [table, attr, want]);
  }

  before(async () => {
    hookd = await new Hookd(['--retry-schedule', '200ms']).start();
    const created = await hookd.createCompany('Acme Iberia');
    co = new Company(created);
    token = created.api.token;
    okRx = await new Receiver().start('/it/provision');
    failRx = await new Receiver(() => ({ status: 500, body: 'erp down' })).start('/erp/hooks');
    eps.ok = (await co.createEndpoint({ url: okRx.url, description: 'Directory provisioning', event_types: ['*'] })).id;
    eps.erp = (await co.createEndpoint({ url: failRx.url, description: 'ERP org chart', event_types: ['employee.*'] })).id;
    ev.ana = await co.publish(hired({ id: 'emp_2001', first: 'Ana', last: 'García', email: 'ana@acme.example', department: 'Engineering' }));
    ev.luis = await co.publish(hired({ id: 'emp_2002', first: 'Luis', last: 'Pérez', email: 'luis@acme.example', department: 'Sales' }));
    ev.holiday = await co.publish({ ...timeOffApproved, data: { ...timeOffApproved.data, request: { ...timeOffApproved.data.request, employee_id: 'emp_2001' } } });
    // Both hires fail to reach the ERP for good (one retry); everything reaches provisioning.
    await waitFor('the ERP deliveries to fail', async () => {
      const r = await co.api.call('GET', `${co.base}/deliveries?endpoint_id=${eps.erp}&status=failed`, undefined, 200);
      return r.data.length === 2;
    }, TIMEOUT);
    await waitFor('provisioning to get all three', async () => okRx.requests.length >= 3, TIMEOUT);
    browser = await launchBrowser();
    ({ p: page } = await newPage());
    shots = screenshotDir();
  });

  after(async () => {
    await browser?.close();
    await okRx?.stop();
    await failRx?.stop();
    await hookd?.stop();
  });

  test('deliveries: event type, employee, status and endpoint together', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Deliveries' }).click();
    await page.locator('#deliveries-table').waitFor();
    await page.getByLabel('Event type').selectOption('employee.hired');
    await page.waitForFunction(() => /event_type=employee.hired/.test(location.hash));
    await page.waitForFunction(() => document.querySelectorAll('#deliveries-table tbody tr').length === 4);
    await page.getByLabel('Status').selectOption('failed');
    await page.getByLabel('Endpoint').selectOption(eps.erp);
    await page.waitForFunction((id) => location.hash.includes(`endpoint_id=${id}`) && location.hash.includes('status=failed'), eps.erp);
    await page.waitForFunction(() => {
      const r = [...document.querySelectorAll('#deliveries-table tbody tr')];
      return r.length === 2 && r.every((x) => x.dataset.status === 'failed');
    });
    await page.getByLabel('Employee').fill('emp_2002');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForFunction(() => /subject=emp_2002/.test(location.hash));
    await page.waitForFunction(() => document.querySelectorAll('#deliveries-table tbody tr').length === 1);
    const only = await co.api.call('GET', `${co.base}/deliveries?endpoint_id=${eps.erp}&subject=emp_2002`, undefined, 200);
    await expectRows(page, 'deliveries-table', 'delivery', [only.data[0].id]);
    await page.screenshot({ path: path.join(shots, 'deliveries-filters.png') });

    // A time range that ends before anything happened shows nothing; clearing shows all again.
    await page.getByLabel('Created before').fill('2020-01-01T00:00');
    await page.getByLabel('Created before').dispatchEvent('change');
    await page.waitForFunction(() => /before=2020-01-0/.test(location.hash));
    await page.locator('#deliveries-list', { hasText: 'No deliveries match.' }).waitFor();
    await page.getByRole('link', { name: 'Clear' }).click();
    await page.waitForFunction(() => document.querySelectorAll('#deliveries-table tbody tr').length === 5);
  });

  test('"employee.hired" typed into the event id box filters by type, no error', async () => {
    await page.goto(`${hookd.baseUrl}/#/deliveries`);
    await page.locator('#deliveries-table').waitFor();
    await page.getByLabel('Event id').fill('employee.hired');
    await page.getByLabel('Event id').press('Enter');
    await page.waitForFunction(() => /event_type=employee.hired/.test(location.hash) && !/event_id=/.test(location.hash));
    await page.waitForFunction(() => document.querySelectorAll('#deliveries-table tbody tr').length === 4);
    assert.equal(await page.getByLabel('Event type').inputValue(), 'employee.hired');
    assert.equal(await page.locator('.form-errors').count(), 0);
    // A real event id still narrows to that event.
    await page.getByLabel('Event type').selectOption('');
    await page.getByLabel('Event id').fill(ev.holiday);
    await page.getByLabel('Event id').press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('#deliveries-table tbody tr').length === 1);
  });

  test('events: what one endpoint failed to receive, and one employee\'s events', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Events' }).click();
    await page.getByRole('heading', { name: 'Events', exact: true }).waitFor();
    await expectRows(page, 'events-table', 'event', [ev.holiday, ev.luis, ev.ana]);
    await page.getByLabel('Sent to endpoint').selectOption(eps.erp);
    await page.getByLabel('Delivery status').selectOption('failed');
    await page.waitForFunction(() => /delivery_status=failed/.test(location.hash) && /endpoint_id=/.test(location.hash));
    await expectRows(page, 'events-table', 'event', [ev.luis, ev.ana]);
    await page.screenshot({ path: path.join(shots, 'events-reconciliation.png') });
    await page.getByLabel('Delivery status').selectOption('succeeded');
    await page.locator('#events-list', { hasText: 'No events match.' }).waitFor();

    // Each row says what happened and to whom, in one line, with the deliveries' own helper
    // (summary.js): the hire names Ana, and so her holiday too.
    await page.goto(`${hookd.baseUrl}/#/events`);
    await page.locator('#events-table').waitFor();
    const anaRow = page.locator(`tr[data-event="${ev.ana}"]`);
    const holidayRow = page.locator(`tr[data-event="${ev.holiday}"]`);
    assert.match(await anaRow.locator('.summary').textContent(), /^hired into Engineering, Valencia, starts \S+ \S+$/);
    assert.match(await holidayRow.locator('.summary').textContent(), /^vacation approved: .+ – .+, 10 days$/);
    assert.equal(await holidayRow.locator('td[data-label="Employee"]').textContent(), 'Ana García');
    assert.equal(await holidayRow.locator('td[data-label="Employee"] a').getAttribute('title'), 'emp_2001: all events of this employee');
    assert.match(await anaRow.locator('th a').textContent(), /^evt_…[0-9A-Z]{7}$/);
    const rowHeights = await rows(page, 'events-table').evaluateAll((rs) => rs.map((r) => r.getBoundingClientRect().height));
    assert.ok(Math.max(...rowHeights) < 50, `row heights ${rowHeights}`);
    await page.screenshot({ path: path.join(shots, 'events.png') });

    // An employee's link lists that employee's events: the hire and the holiday.
    await page.locator(`tr[data-event="${ev.ana}"]`).getByRole('link', { name: 'Ana García' }).click();
    await page.waitForFunction(() => /subject=emp_2001/.test(location.hash));
    await expectRows(page, 'events-table', 'event', [ev.holiday, ev.ana]);
    assert.equal(await page.getByLabel('Employee').inputValue(), 'emp_2001');
    // An event's id opens its deliveries.
    await page.locator(`tr[data-event="${ev.ana}"] th a[title="${ev.ana}"]`).click();
    await page.waitForFunction((id) => location.hash.includes(`event_id=${id}`), ev.ana);
    await page.waitForFunction(() => document.querySelectorAll('#deliveries-table tbody tr').length === 2);
  });

  test('a bad value from a hand-edited link is shown as the API\'s message', async () => {
    await page.goto(`${hookd.baseUrl}/#/events?subject=${'x'.repeat(300)}`);
    await page.locator('#events-list .form-errors', { hasText: 'subject must be 1 to 255 characters' }).waitFor();
  });

  test('on a phone the filters fold away and nothing scrolls sideways', async () => {
    const { ctx, p } = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    try {
      for (const [hash, table] of [['#/deliveries', 'deliveries-table'], [`#/events?endpoint_id=${eps.erp}`, 'events-table']]) {
        await p.goto(`${hookd.baseUrl}/${hash}`);
        await p.locator(`#${table}`).waitFor();
        assert.equal(await p.locator('details.filter-fold').getAttribute('open'), null, `${hash}: filters folded`);
        assert.equal(await hasHorizontalScroll(p), false, `${hash} scrolls sideways at 390 px`);
        // The first screen shows rows, not the form.
        const top = await rows(p, table).first().boundingBox();
        assert.ok(top && top.y < 844, `${hash}: the first row is on the first screen (y=${top?.y})`);
      }
      assert.match(await p.locator('details.filter-fold summary').textContent(), /Filters \(1 active\)/);
      await p.locator('details.filter-fold summary').click();
      await p.getByLabel('Delivery status').waitFor();
      assert.equal(await hasHorizontalScroll(p), false, 'the unfolded form scrolls sideways');
      await p.screenshot({ path: path.join(shots, 'phone-events-filters.png') });
    } finally {
      await ctx.close();
    }
  });

  test('no script errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
