// The audit log page (issue 13 items 3 and 5) in a real browser against the real binary: a
// company administrator sees who changed what, when and from where, newest first — with the
// action in words, the changed fields' names, the token's id (never a token, secret or header
// value on the page); a change made in the panel itself (revealing a secret) is there at once;
// the filters (action, target, time) and the pages; a bad hand-edited filter is the API's
// message; the operator widens the log to every company; nothing scrolls sideways on a phone.
//
//   cd tests/browser && npm ci && node --test audit.test.mjs
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { ADMIN_TOKEN, Company, Hookd, hasHorizontalScroll, launchBrowser, screenshotDir } from './lib.mjs';

const TIMEOUT = 30_000;

describe('audit log page', () => {
  let hookd;
  let co;
  let other;
  let token;
  let tokenId;
  let browser;
  let page;
  let shots;
  let secret;
  const pageErrors = [];
  const eps = {};

  async function newPage(options = {}) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...options });
    const p = await ctx.newPage();
    p.setDefaultTimeout(TIMEOUT);
    p.on('pageerror', (e) => pageErrors.push(e.message));
    return { ctx, p };
  }
  async function signIn(p, t = token) {
    await p.goto(`${hookd.baseUrl}/`);
    await p.getByLabel('API token').fill(t);
    await p.getByRole('button', { name: 'Sign in' }).click();
  }
  const nav = (p) => p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' });
  // The rows' data-* values, once the list shows exactly `want`.
  async function expectRows(p, attr, want) {
    await p.waitForFunction(([a, w]) => {
      const got = [...document.querySelectorAll('#audit-table tbody tr')].map((r) => r.dataset[a]);
      return JSON.stringify(got) === JSON.stringify(w);
    }, [attr, want]);
  }
  const apiRows = async (query = '') =>
    (await co.api.call('GET', `${co.base}/audit-log?limit=25${query}`, undefined, 200)).data;

  before(async () => {
    hookd = await new Hookd().start();
    const created = await hookd.createCompany('Acme Iberia');
    co = new Company(created);
    token = created.api.token;
    tokenId = (await co.api.call('GET', '/v1/me', undefined, 200)).token_id;
    other = new Company(await hookd.createCompany('Globex'));
    const op = hookd.client(ADMIN_TOKEN);
    await op.call('POST', '/v1/event-types', {
      name: 'payroll.closed', description: 'Payroll closed', schema: { type: 'object' }, example: { month: '2026-11' },
    }, 201);
    await other.createEndpoint({ url: 'http://127.0.0.1:9/globex', event_types: ['*'] });
    const ep = await co.createEndpoint({
      url: 'http://127.0.0.1:9/it/hooks?key=url-secret-123', description: 'Directory provisioning',
      event_types: ['employee.*'], headers: { authorization: 'Bearer header-secret-456' },
    });
    eps.it = ep.id;
    secret = ep.secret;
    eps.erp = (await co.createEndpoint({ url: 'http://127.0.0.1:9/erp', description: 'ERP', event_types: ['*'] })).id;
    // 30 edits: more than a page (25).
    for (let i = 0; i < 30; i += 1) await co.patchEndpoint(eps.erp, { timeout_ms: 1000 + i });
    await co.patchEndpoint(eps.it, { description: 'Directory provisioning v2', headers: { authorization: 'Bearer header-secret-789' } });
    browser = await launchBrowser();
    ({ p: page } = await newPage());
    shots = screenshotDir();
    await signIn(page);
    await page.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
  });

  after(async () => {
    await browser?.close();
    await hookd?.stop();
  });

  test('lists who changed what, when and from where, newest first, with no secret on the page', async () => {
    await nav(page).click();
    await page.getByRole('heading', { name: 'Audit log', exact: true }).waitFor();
    assert.equal(await nav(page).getAttribute('aria-current'), 'page');
    await expectRows(page, 'audit', (await apiRows()).map((r) => r.id));
    const first = page.locator('#audit-table tbody tr').first();
    assert.equal(await first.getAttribute('data-action'), 'endpoint.updated');
    assert.equal(await first.getAttribute('data-target'), eps.it);
    assert.equal(await first.locator('.audit-action').textContent(), 'Endpoint changed');
    assert.deepEqual(await first.locator('.audit-changes code.chip').allTextContents(), ['description', 'headers']);
    assert.match(await first.locator('.audit-who').textContent(), /Company token/);
    assert.equal(await first.locator('.audit-who .id-chip code').getAttribute('title'), tokenId);
    assert.match(await first.textContent(), /127\.0\.0\.1/);
    // The target links to its endpoint.
    assert.equal(await first.locator('a').first().getAttribute('href'), `#/endpoints/${eps.it}`);
    const text = await page.locator('main').textContent();
    for (const s of [token, ADMIN_TOKEN, secret, 'whsec_', 'hkd_', 'url-secret-123', 'header-secret-456', 'header-secret-789']) {
      assert.ok(!text.includes(s), `the page shows ${s}`);
    }
    // Only this company's entries: not Globex's endpoint, not the custom event type.
    const targets = await page.locator('#audit-table tbody tr').evaluateAll((rs) => rs.map((r) => r.dataset.target));
    assert.ok(!targets.includes('payroll.closed'));
    await page.screenshot({ path: path.join(shots, 'audit-log.png') });
  });

  test('pages: Older and Newer', async () => {
    await page.goto(`${hookd.baseUrl}/#/audit`);
    await page.locator('#audit-table').waitFor();
    const firstPage = (await apiRows()).map((r) => r.id);
    assert.equal(firstPage.length, 25);
    await page.getByRole('button', { name: 'Older →' }).click();
    await page.locator('.page-no', { hasText: 'Page 2' }).waitFor();
    const rest = await page.locator('#audit-table tbody tr').evaluateAll((rs) => rs.map((r) => r.dataset.audit));
    assert.ok(rest.length > 0 && !rest.some((id) => firstPage.includes(id)), 'page 2 repeats page 1');
    await page.getByRole('button', { name: '← Newer' }).click();
    await expectRows(page, 'audit', firstPage);
  });

  test('filters: action, target and time; a bad hand-edited one is the API\'s message', async () => {
    await page.goto(`${hookd.baseUrl}/#/audit`);
    await page.locator('#audit-table').waitFor();
    await page.getByLabel('Action', { exact: true }).selectOption('endpoint.created');
    await page.waitForFunction(() => /action=endpoint.created/.test(location.hash));
    await expectRows(page, 'target', [eps.erp, eps.it]);
    await page.getByLabel('Target id', { exact: true }).fill(eps.it);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForFunction((id) => location.hash.includes(`target_id=${id}`), eps.it);
    await expectRows(page, 'target', [eps.it]);
    await page.getByLabel('Action', { exact: true }).selectOption('');
    await expectRows(page, 'action', ['endpoint.updated', 'endpoint.created']);
    await page.screenshot({ path: path.join(shots, 'audit-log-filtered.png') });
    await page.getByLabel('Before', { exact: true }).fill('2020-01-01T00:00');
    await page.getByLabel('Before', { exact: true }).dispatchEvent('change');
    await page.locator('#audit-list', { hasText: 'No entries match.' }).waitFor();
    await page.getByRole('link', { name: 'Clear' }).click();
    await page.waitForFunction(() => document.querySelectorAll('#audit-table tbody tr').length === 25);

    await page.goto(`${hookd.baseUrl}/#/audit?target_id=${'x'.repeat(300)}`);
    await page.locator('#audit-list .form-errors', { hasText: 'target_id must be 1 to 255 characters' }).waitFor();
    await page.goto(`${hookd.baseUrl}/#/audit?after=last-tuesday`);
    await page.locator('#audit-list .form-errors', { hasText: 'after must be an RFC 3339 date-time' }).waitFor();
  });

  test('revealing a secret in the panel is in the log at once', async () => {
    await page.goto(`${hookd.baseUrl}/#/endpoints/${eps.it}`);
    await page.getByRole('button', { name: 'Reveal' }).click();
    await page.waitForFunction(() => /^whsec_[A-Za-z0-9+/=]{20,}$/.test(document.getElementById('secret-value').textContent));
    await nav(page).click();
    await page.locator('#audit-table').waitFor();
    const first = page.locator('#audit-table tbody tr').first();
    await page.waitForFunction(() => document.querySelector('#audit-table tbody tr')?.dataset.action === 'endpoint.secret_revealed');
    assert.equal(await first.getAttribute('data-target'), eps.it);
    assert.equal(await first.locator('.audit-action').textContent(), 'Secret revealed');
    assert.ok(!(await page.locator('main').textContent()).includes('whsec_'));
    // Its target opens the endpoint.
    await first.locator(`a[href="#/endpoints/${eps.it}"]`).click();
    await page.getByRole('heading', { name: 'Directory provisioning v2' }).waitFor();
  });

  test('the operator widens the log to every company', async () => {
    const { ctx, p } = await newPage();
    try {
      await signIn(p, ADMIN_TOKEN);
      await p.getByLabel('Company').selectOption({ label: `Acme Iberia (${co.cid})` });
      await p.getByRole('button', { name: 'Sign in' }).click();
      await p.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
      await nav(p).click();
      await p.locator('#audit-table').waitFor();
      // This company first: the operator's own changes to it (the company, its token) among them.
      await p.getByLabel('Action', { exact: true }).selectOption('token.created');
      await p.waitForFunction(() => document.querySelectorAll('#audit-table tbody tr').length === 1);
      assert.match(await p.locator('#audit-table tbody tr .audit-who').textContent(), /Operator/);
      await p.getByRole('link', { name: 'Clear' }).click();
      await p.getByLabel('Companies').selectOption('all');
      await p.waitForFunction(() => /scope=all/.test(location.hash));
      await p.getByRole('columnheader', { name: 'Company' }).waitFor();
      await p.getByLabel('Action', { exact: true }).selectOption('event_type.created');
      await p.waitForFunction(() => /scope=all/.test(location.hash) && /action=event_type.created/.test(location.hash));
      await expectRows(p, 'target', ['payroll.closed']);
      assert.match(await p.locator('#audit-table tbody tr').textContent(), /none/); // of no company
      await p.getByLabel('Action', { exact: true }).selectOption('endpoint.created');
      await p.waitForFunction(() => document.querySelectorAll('#audit-table tbody tr').length === 3); // both companies'
      await p.screenshot({ path: path.join(shots, 'audit-log-operator.png') });
    } finally {
      await ctx.close();
    }
  });

  test('on a phone nothing scrolls sideways', async () => {
    const { ctx, p } = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    try {
      await signIn(p);
      await p.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
      await p.goto(`${hookd.baseUrl}/#/audit`);
      await p.locator('#audit-table').waitFor();
      assert.equal(await hasHorizontalScroll(p), false);
    } finally {
      await ctx.close();
    }
  });

  test('no script errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
