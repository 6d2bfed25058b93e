// Erasure per employee (issue 13) in a real browser against the real binary: an admin erases one
// employee from the Erasures page; the erasure is listed with its counts and only a hash of the
// employee; the employee's delivery that was waiting shows as canceled (reason: erased), its
// payload as erased, and cannot be retried; a colleague's delivery is untouched.
//
//   cd tests/browser && npm ci && node --test erasure.test.mjs
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Company, Hookd, Receiver, hired, launchBrowser, waitFor } from './lib.mjs';

const TIMEOUT = 30_000;

describe('panel erasures and the canceled status', () => {
  let hookd;
  let co;
  let token;
  let rx;
  let browser;
  let page;
  const pageErrors = [];
  const ev = {};

  before(async () => {
    hookd = await new Hookd(['--retry-schedule', '1h']).start();
    const created = await hookd.createCompany('Acme Iberia');
    co = new Company(created);
    token = created.api.token;
    rx = await new Receiver(() => ({ status: 503, body: 'busy' })).start('/erp/hooks');
    await co.createEndpoint({ url: rx.url, description: 'ERP', event_types: ['*'] });
    ev.gone = await co.publish(hired({ id: 'emp_3001', first: 'Ana', last: 'Gone', email: 'ana.gone@acme.example', department: 'Sales' }));
    ev.kept = await co.publish(hired({ id: 'emp_3002', first: 'Bea', last: 'Kept', email: 'bea.kept@acme.example', department: 'Sales' }));
    await waitFor('both first attempts', async () => rx.requests.length >= 2, TIMEOUT);
    browser = await launchBrowser();
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await ctx.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.on('pageerror', (e) => pageErrors.push(e.message));
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

  test('an admin erases an employee; the erasure is listed with its counts and a hash only', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Erasures' }).click();
    await page.getByRole('heading', { name: 'Erasures', exact: true }).waitFor();
    await page.getByText('No erasure yet.').waitFor();
    // Empty: refused by the API, the error shown at the field.
    await page.getByRole('button', { name: 'Erase' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Erase' }).click();
    await page.locator('#erasure-subject[aria-invalid="true"]').waitFor();

    await page.getByLabel('Employee id').fill('emp_3001');
    await page.getByRole('button', { name: 'Erase' }).click();
    const dialog = page.getByRole('dialog', { name: 'Erase emp_3001?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Erase' }).click();
    const row = page.locator('#erasures tbody tr[data-status="completed"]');
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    assert.equal(cells[0], 'completed');
    assert.match(cells[1], /^[0-9a-f]{12}…$/);
    assert.deepEqual(cells.slice(2, 6), ['1', '1', '0', '1']);  // events, attempts, idempotency, canceled
    assert.doesNotMatch(await page.locator('#erasures').innerText(), /emp_3001/);
  });

  test('the employee\'s delivery shows as canceled (erased), with its payload erased, and cannot be retried', async () => {
    await page.goto(`${hookd.baseUrl}/#/deliveries?status=canceled`);
    const rows = page.locator('#deliveries-table tbody tr');
    await page.waitForFunction(() => document.querySelectorAll('#deliveries-table tbody tr[data-status="canceled"]').length === 1);
    assert.equal(await rows.count(), 1);
    assert.equal((await rows.first().locator('.badge').textContent()).trim(), 'canceled · erased');
    // The status filter offers it.
    assert.ok((await page.locator('select option').allTextContents()).includes('canceled'));

    await rows.first().locator('th a').click();
    await page.getByRole('heading', { name: 'Delivery', exact: true }).waitFor();
    await page.locator('#delivery-status .badge-canceled').waitFor();
    assert.equal((await page.locator('#delivery-status .badge').textContent()).trim(), 'canceled · erased');
    await page.locator('#payload-erased').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Retry now' }).isDisabled(), true);
    assert.doesNotMatch(await page.locator('main').innerText(), /ana\.gone@acme\.example/);

    // The colleague's delivery is still waiting for its retry.
    const kept = await co.api.call('GET', `${co.base}/deliveries?event_id=${ev.kept}`, undefined, 200);
    assert.equal(kept.data[0].status, 'pending');
    assert.deepEqual(pageErrors, []);
  });
});
