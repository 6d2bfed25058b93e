// What the panel stands on, over plain HTTP against the real hookd binary: the static files
// (content types, security headers, ETag revalidation, every module the page imports is
// embedded), GET /v1/me, and the per-endpoint stats API behind the 24 h chart.
//
//   cd tests/browser && npm ci && node --test panel_api.test.mjs
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { ADMIN_TOKEN, Company, Hookd, Receiver, hired, waitFor } from './lib.mjs';

describe('panel static files, /v1/me and endpoint stats', () => {
  let hookd;
  let co;
  let ok;
  let failing;

  before(async () => {
    hookd = await new Hookd(['--retry-schedule', '200ms,200ms']).start();
    co = new Company(await hookd.createCompany('Acme'));
    ok = await new Receiver(() => ({ status: 200, body: 'ok' })).start();
    failing = await new Receiver(() => ({ status: 500, body: 'down' })).start();
  });

  after(async () => {
    await ok?.stop();
    await failing?.stop();
    await hookd?.stop();
  });

  test('GET / serves the page without a token, with a strict CSP and security headers', async () => {
    const res = await fetch(`${hookd.baseUrl}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy');
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    const html = await res.text();
    assert.match(html, /<script type="module" src="\/assets\/app\.js"><\/script>/);
    assert.doesNotMatch(html, /<script>|<style>|style="/, 'no inline script or style (the CSP forbids them)');
  });

  test('every file the page loads is embedded with its content type, and nothing comes from elsewhere', async () => {
    const html = await (await fetch(`${hookd.baseUrl}/`)).text();
    const seen = new Set();
    const queue = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
    assert.ok(queue.includes('/assets/style.css'));
    const types = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml' };
    while (queue.length) {
      const p = queue.shift();
      if (seen.has(p)) continue;
      seen.add(p);
      const res = await fetch(hookd.baseUrl + p);
      assert.equal(res.status, 200, p);
      assert.equal(res.headers.get('content-type'), types[p.split('.').pop()], p);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', p);
      const text = await res.text();
      assert.doesNotMatch(text, /https?:\/\/(?!127\.0\.0\.1|www\.w3\.org\/2000\/svg|it\.example\.com)/, `${p} refers to another origin`);
      if (p.endsWith('.js')) {
        for (const m of text.matchAll(/^import .* from '\.\/([^']+)';$/gm)) queue.push(`/assets/${m[1]}`);
      }
    }
    assert.ok(seen.size >= 10, `only ${seen.size} files reached`);
  });

  test('assets revalidate with ETag; unknown files are a problem+json 404; HEAD works', async () => {
    const first = await fetch(`${hookd.baseUrl}/assets/app.js`);
    const etag = first.headers.get('etag');
    assert.match(etag, /^"[0-9a-f]{32}"$/);
    const again = await fetch(`${hookd.baseUrl}/assets/app.js`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), '');
    const changed = await fetch(`${hookd.baseUrl}/assets/app.js`, { headers: { 'if-none-match': '"other"' } });
    assert.equal(changed.status, 200);

    const missing = await fetch(`${hookd.baseUrl}/assets/nope.js`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('content-type'), 'application/problem+json');
    const traversal = await fetch(`${hookd.baseUrl}/assets/..%2F..%2Fetc%2Fpasswd`);
    assert.equal(traversal.status, 404);

    const head = await fetch(`${hookd.baseUrl}/assets/style.css`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-type'), 'text/css; charset=utf-8');
  });

  test('GET /v1/me says whose token it is', async () => {
    const me = await co.api.call('GET', '/v1/me', undefined, 200);
    assert.equal(me.company_id, co.cid);
    assert.equal(me.operator, false);
    assert.deepEqual(me.scopes, ['manage', 'publish']);
    assert.match(me.token_id, /^tok_/);

    const op = await hookd.client(ADMIN_TOKEN).call('GET', '/v1/me', undefined, 200);
    assert.equal(op.company_id, null);
    assert.equal(op.operator, true);

    const publishOnly = await hookd.client(ADMIN_TOKEN).call('POST', `/v1/companies/${co.cid}/tokens`,
      { scopes: ['publish'], description: 'publisher' }, 201);
    const pub = await hookd.client(publishOnly.token).call('GET', '/v1/me', undefined, 200);
    assert.deepEqual(pub.scopes, ['publish']);

    const anon = await fetch(`${hookd.baseUrl}/v1/me`);
    assert.equal(anon.status, 401);
    assert.equal((await hookd.client('hkd_not_a_token').request('GET', '/v1/me')).status, 401);
  });

  test('endpoint stats count attempts, successes and durations over the last 24 h', async () => {
    const good = await co.createEndpoint({ url: ok.url, event_types: ['employee.*'] });
    const bad = await co.createEndpoint({ url: failing.url, event_types: ['employee.*'] });
    const ev = await co.publish(hired({ id: 'emp_1', first: 'Lucía', last: 'García', email: 'lucia@acme.example', department: 'Engineering' }));
    await waitFor('both deliveries to finish', async () => {
      const ds = await co.deliveriesOf(ev);
      return ds.length === 2 && ds.every((d) => d.status !== 'pending');
    }, 15_000);

    const base = `/v1/companies/${co.cid}/endpoints`;
    const s = await co.api.call('GET', `${base}/${good.id}/stats`, undefined, 200);
    assert.equal(s.endpoint_id, good.id);
    assert.equal(s.bucket_seconds, 3600);
    assert.equal(s.buckets.length, 24);
    assert.equal(s.attempts, 1);
    assert.equal(s.succeeded, 1);
    assert.equal(s.failed, 0);
    assert.equal(s.success_rate, 1);
    assert.ok(s.avg_duration_ms >= 0 && s.max_duration_ms >= s.avg_duration_ms);
    const last = s.buckets.at(-1);
    assert.equal(last.attempts, 1, 'the attempt is in the current hour');
    assert.ok(s.buckets.slice(0, -1).every((b) => b.attempts === 0 && b.success_rate === null));
    assert.equal(new Date(s.buckets[0].start).getUTCMinutes(), 0, 'hourly buckets start on the hour');

    const f = await co.api.call('GET', `${base}/${bad.id}/stats`, undefined, 200);
    assert.equal(f.attempts, 3); // first attempt + two retries
    assert.equal(f.succeeded, 0);
    assert.equal(f.success_rate, 0);

    // An explicit window and bucket.
    const since = new Date(Date.now() - 10 * 60_000).toISOString();
    const w = await co.api.call('GET', `${base}/${bad.id}/stats?since=${since}&bucket=60`, undefined, 200);
    assert.ok(w.buckets.length >= 10 && w.buckets.length <= 11);
    assert.equal(w.buckets.reduce((n, b) => n + b.attempts, 0), 3);

    // Bad input, another company, missing scope.
    for (const q of ['bucket=5', 'since=yesterday', `since=${new Date(Date.now() + 3600_000).toISOString()}`,
      `since=${new Date(Date.now() - 40 * 86400_000).toISOString()}`]) {
      const r = await co.api.request('GET', `${base}/${good.id}/stats?${q}`);
      assert.equal(r.status, 422, q);
      assert.ok(r.json.errors[0].pointer.startsWith('/query/'), q);
    }
    const other = new Company(await hookd.createCompany('Globex'));
    assert.equal((await other.api.request('GET', `${base}/${good.id}/stats`)).status, 404);
    assert.equal((await other.api.request('GET', `/v1/companies/${other.cid}/endpoints/${good.id}/stats`)).status, 404);
    const publishOnly = await hookd.client(ADMIN_TOKEN).call('POST', `/v1/companies/${co.cid}/tokens`, { scopes: ['publish'] }, 201);
    assert.equal((await hookd.client(publishOnly.token).request('GET', `${base}/${good.id}/stats`)).status, 403);
  });
});
