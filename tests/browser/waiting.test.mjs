// Why a delivery waits, what hookd sent, and a degraded endpoint's own page (issue 15 items 1,
// 4 and 6), in a real browser against the real binary: on an endpoint that delivers each
// employee's events in order and whose receiver fails, a later event of the same employee says
// it waits behind the first one, for whom, and when that one tries again — never "next 1 min
// ago"; a delivery to a disabled endpoint says it is held and why; an attempt shows the request
// headers hookd sent (the signature as the receiver got it, a custom Authorization redacted);
// an endpoint that mostly failed today but succeeds now says "Degraded" on its page too.
//
// hookd runs with a long retry schedule (10 min, then 30 min): failed deliveries stay pending.
//
//   cd tests/browser && npm ci && node --test waiting.test.mjs
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Company, Hookd, Receiver, hired, launchBrowser, screenshotDir, timeOffApproved, waitFor } from './lib.mjs';

const TIMEOUT = 30_000;
const SECRET_HEADER = 'Bearer s3cr3t-erp-credential';

describe('why a delivery waits, what hookd sent', () => {
  let hookd;
  let co;
  let token;
  let failRx;
  let okRx;
  let flakyRx;
  let browser;
  let page;
  let shots;
  const pageErrors = [];
  const ids = {};

  const shot = (name) => page.screenshot({ path: path.join(shots, `${name}.png`) });
  const get = (p) => co.api.call('GET', `${co.base}${p}`, undefined, 200);
  const deliveryOf = async (event, endpoint) => (await get(`/deliveries?event_id=${event}&endpoint_id=${endpoint}`)).data[0];

  before(async () => {
    hookd = await new Hookd(['--retry-schedule', '10m,30m', '--request-timeout', '5s']).start();
    const created = await hookd.createCompany('Acme Iberia');
    co = new Company(created);
    token = created.api.token;
    failRx = await new Receiver(() => ({ status: 500, body: '{"error":"ledger locked"}', headers: { 'content-type': 'application/json' } })).start('/erp/hooks');
    okRx = await new Receiver().start('/payroll');
    let n = 0;
    flakyRx = await new Receiver(() => {
      n += 1;
      return n === 1 ? { status: 503, body: 'warming up' } : { status: 200, body: 'ok' };
    }).start('/directory');
    ids.erp = (await co.createEndpoint({
      url: failRx.url, description: 'ERP sync', event_types: ['*'], ordering: 'subject',
      headers: { Authorization: SECRET_HEADER, 'Accept-Language': 'es-ES' },
    })).id;
    ids.payroll = (await co.createEndpoint({ url: okRx.url, description: 'Payroll bridge', event_types: ['time_off.*'] })).id;
    await co.api.call('POST', `${co.base}/endpoints/${ids.payroll}/disable`, {}, 200);

    // Ana's hire fails at the ERP and waits 10 min for its retry; her holiday, accepted after
    // it, waits behind it; Luis's hire is another employee's and is tried at once.
    ids.hire = await co.publish(hired({ id: 'emp_7001', first: 'Ana', last: 'García', email: 'ana.garcia@acme.example', department: 'Engineering' }));
    await waitFor('the hire to fail once', async () => (await deliveryOf(ids.hire, ids.erp))?.attempts === 1, TIMEOUT);
    ids.off = await co.publish({ ...timeOffApproved, data: { ...timeOffApproved.data, request: { ...timeOffApproved.data.request, employee_id: 'emp_7001' } } });
    ids.luis = await co.publish(hired({ id: 'emp_7002', first: 'Luis', last: 'Pérez', email: 'luis@acme.example', department: 'Sales' }));
    await waitFor('Luis\'s hire to fail once', async () => (await deliveryOf(ids.luis, ids.erp))?.attempts === 1, TIMEOUT);

    browser = await launchBrowser();
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 850 }, locale: 'en-US', timezoneId: 'Europe/Madrid' });
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
    await failRx?.stop();
    await okRx?.stop();
    await flakyRx?.stop();
    await hookd?.stop();
  });

  test('a later event of the same employee says whom it waits behind, in the list and on its page', async () => {
    const hire = await deliveryOf(ids.hire, ids.erp);
    const off = await deliveryOf(ids.off, ids.erp);
    assert.equal(off.waiting.reason, 'behind_earlier_delivery');
    assert.equal(off.waiting.blocked_by, hire.id);

    await page.goto(`${hookd.baseUrl}/#/deliveries?endpoint_id=${ids.erp}`);
    const offRow = page.locator(`#deliveries-table tr[data-delivery="${off.id}"]`);
    const hireRow = page.locator(`#deliveries-table tr[data-delivery="${hire.id}"]`);
    const luisRow = page.locator(`#deliveries-table tr[data-delivery="${(await deliveryOf(ids.luis, ids.erp)).id}"]`);
    // The hire named Ana: the waiting one says her name, and the short id of the one before it.
    const short = `dlv_…${hire.id.slice(-7)}`;
    const waiting = offRow.locator('.waiting');
    await offRow.locator('.waiting', { hasText: `waiting behind ${short} for Ana García` }).waitFor();
    assert.equal(await waiting.textContent(), `waiting behind ${short} for Ana García`);
    assert.match(await waiting.getAttribute('title'), new RegExp(`^Waiting behind ${hire.id} for Ana García \\(emp_7001\\), whose next attempt is in \\d+ min`));
    // The first one, and another employee's, wait for their retry: in the future tense.
    assert.match(await hireRow.locator('.waiting').textContent(), /^next attempt in \d+ min$/);
    assert.match(await luisRow.locator('.waiting').textContent(), /^next attempt in \d+ min$/);
    for (const w of await page.locator('#deliveries-table .waiting').allTextContents()) assert.doesNotMatch(w, /\bago\b/);
    await shot('deliveries-waiting');

    // Its page says it in a sentence, with a link to the one it waits behind.
    await offRow.locator('th a').click();
    await page.waitForFunction((id) => location.hash === `#/deliveries/${id}`, off.id);
    const note = page.locator('#delivery-waiting');
    await note.locator('a').waitFor();
    await page.locator('#delivery-event .sub', { hasText: 'Ana García' }).waitFor();
    await note.filter({ hasText: 'Ana García' }).waitFor();
    assert.match(await note.textContent(),
      new RegExp(`^Waiting behind ${short} for Ana García \\(emp_7001\\), whose next attempt is in \\d+ min: this endpoint receives each employee's events in order\\.$`));
    assert.equal(await note.locator('a').getAttribute('href'), `#/deliveries/${hire.id}`);
    assert.equal(await page.locator('#next-attempt').count(), 0, 'no next attempt of its own to show: it goes after the first');
    await shot('delivery-waiting');
    await note.locator('a').click();
    await page.waitForFunction((id) => location.hash === `#/deliveries/${id}`, hire.id);
    assert.match(await page.locator('#next-attempt').textContent(), /^next attempt in \d+ min$/);
  });

  test('a delivery to a disabled endpoint says it is held, and why', async () => {
    ids.off2 = await co.publish({ ...timeOffApproved, data: { ...timeOffApproved.data, request: { ...timeOffApproved.data.request, id: 'tor_2', employee_id: 'emp_7002' } } });
    const held = await waitFor('the payroll delivery to be held', async () => {
      const d = await deliveryOf(ids.off2, ids.payroll);
      return d?.status === 'held' ? d : null;
    }, TIMEOUT);
    assert.deepEqual(held.waiting, { reason: 'endpoint_disabled', disabled_reason: 'manual' });
    await page.goto(`${hookd.baseUrl}/#/deliveries?endpoint_id=${ids.payroll}`);
    const row = page.locator(`#deliveries-table tr[data-delivery="${held.id}"]`);
    await row.locator('.waiting', { hasText: 'held: endpoint disabled' }).waitFor();
    await page.goto(`${hookd.baseUrl}/#/deliveries/${held.id}`);
    await page.locator('#delivery-waiting', { hasText: 'Held: the endpoint is disabled (by hand). Enable it to send this delivery.' }).waitFor();
  });

  test('every reason in words, in the future tense: an overdue time is "due now", never "ago"', async () => {
    const past = new Date(Date.now() - 90_000).toISOString();
    const soon = new Date(Date.now() + 4 * 60_000 + 20_000).toISOString();
    const words = await page.evaluate(async ([pastIso, soonIso]) => {
      const m = await import('/assets/waiting.js');
      const all = [
        { reason: 'retry_backoff', next_attempt_at: pastIso },
        { reason: 'retry_backoff', next_attempt_at: soonIso },
        { reason: 'scheduled', next_attempt_at: soonIso },
        { reason: 'behind_earlier_delivery', blocked_by: 'dlv_01JDQ8Z5R4K3M2N1P0Q9R8S7T6', subject: 'emp_9', ahead: 3, blocked_by_next_attempt_at: pastIso },
        { reason: 'rate_limited', rate_limit_per_second: 5 },
        { reason: 'concurrency_limit', max_concurrency: 10 },
        { reason: 'held' },
        { reason: 'sending' },
        { reason: 'due' },
      ];
      return all.map((w) => [m.waitingPhrase({ waiting: w }).textContent, m.waitingText({ waiting: w })]);
    }, [past, soon]);
    assert.deepEqual(words.map(([phrase]) => phrase), [
      'next attempt due now', 'next attempt in 4 min', 'first attempt in 4 min', 'waiting behind dlv_…9R8S7T6 for emp_9',
      'waiting for the rate limit (5/s)', 'waiting: 10 requests in flight', 'held: retry it to send it', 'sending now', 'due now',
    ]);
    assert.match(words[3][1], /^Waiting behind dlv_01JDQ8Z5R4K3M2N1P0Q9R8S7T6 for emp_9, whose next attempt is due now \(3 of this employee's deliveries go first\)/);
    for (const [phrase, sentence] of words) {
      assert.doesNotMatch(`${phrase} ${sentence}`, /\bago\b/);
    }
  });

  test('an attempt shows the request headers hookd sent beside the response, a custom credential redacted', async () => {
    const hire = await deliveryOf(ids.hire, ids.erp);
    const got = failRx.requests.find((r) => r.headers['webhook-id'] === ids.hire);
    assert.ok(got, 'the receiver got the hire');
    assert.equal(got.headers.authorization, SECRET_HEADER);
    await page.goto(`${hookd.baseUrl}/#/deliveries/${hire.id}`);
    const sent = page.locator('.attempt').first().locator('details.request-headers');
    await sent.waitFor();
    assert.equal(await sent.getAttribute('open'), '');
    assert.match(await sent.locator('summary').textContent(), /^Request headers sent by hookd \(\d+\)$/);
    const text = await sent.locator('pre').textContent();
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature', 'content-type', 'user-agent']) {
      assert.ok(text.includes(`${name}: ${got.headers[name]}`), `${name}: ${got.headers[name]} in\n${text}`);
    }
    assert.ok(text.includes('accept-language: es-ES'));
    assert.ok(text.includes('authorization: [redacted]'));
    assert.equal(await sent.locator('.redacted').count(), 1);
    assert.doesNotMatch(await page.locator('main').textContent(), /s3cr3t/);
    // Beside the receiver's answer (its headers folded next to them).
    await page.locator('.attempt').first().locator('details.response-headers').waitFor();
    await shot('attempt-request-headers');
  });

  test('an endpoint that mostly failed today but succeeds now is "Degraded" on its own page too', async () => {
    ids.dir = (await co.createEndpoint({ url: flakyRx.url, description: 'Directory provisioning', event_types: ['employee.*'] })).id;
    const a = await co.publish(hired({ id: 'emp_7003', first: 'Marta', last: 'Ruiz', email: 'marta@acme.example', department: 'Finance' }));
    await waitFor('the first to fail', async () => (await deliveryOf(a, ids.dir))?.attempts === 1, TIMEOUT);
    const b = await co.publish(hired({ id: 'emp_7004', first: 'Jon', last: 'Etxeberria', email: 'jon@acme.example', department: 'Sales' }));
    await waitFor('the second to succeed', async () => (await deliveryOf(b, ids.dir))?.status === 'succeeded', TIMEOUT);
    const ep = await get(`/endpoints/${ids.dir}`);
    assert.equal(ep.health.consecutive_failures, 0);

    await page.goto(`${hookd.baseUrl}/#/endpoints`);
    await page.locator('tr', { hasText: 'Directory provisioning' }).locator('.badge-degraded', { hasText: 'Degraded' }).waitFor();
    await page.getByRole('link', { name: 'Directory provisioning' }).click();
    await page.locator('#endpoint-status .badge-degraded', { hasText: 'Degraded' }).waitFor();
    const note = page.locator('#endpoint-health');
    await note.waitFor();
    assert.match(await note.textContent(), /^Degraded: 50(\.0)? % of the attempts of the last 24 h succeeded \(1 of 2\)\. Its latest attempt succeeded: no failure streak counts towards disabling it/);
    assert.equal(await page.locator('#endpoint-status .badge-enabled').count(), 0);
    await shot('endpoint-degraded');
  });

  test('no script errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
