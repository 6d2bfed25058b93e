// Standard Webhooks, checked by an independent verifier: the reference JavaScript library
// (npm `standardwebhooks`, from the Standard Webhooks authors) verifies every request the
// real hookd binary sends to a receiver started here — realistic HR events, a retried
// delivery, a tampered body, and a secret rotation (old and new secret both verify during
// the grace period; with grace 0 the old one stops at once).
//
//   cd tests/e2e && npm ci && node --test standardwebhooks.test.mjs
//   (HOOKD_BINARY=/path/to/hookd, default ../../build/hookd)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import { Webhook, WebhookVerificationError } from 'standardwebhooks';

import {
  Company, Hookd, contractUpdated, hired, timeOffApproved, waitFor,
} from './helpers.mjs';

// A receiver hookd does not control: records every request (raw body bytes + headers).
// `respond(req)` → {status, body}; default 200 "ok".
class Receiver {
  constructor() {
    this.requests = [];
    this.respond = () => ({ status: 200, body: 'ok' });
    this.server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const r = { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) };
        this.requests.push(r);
        const { status, body } = this.respond(r);
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(body);
      });
    });
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${this.server.address().port}/hr-events`;
  }

  stop() {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  // Requests carrying webhook-id `id`.
  of(id) {
    return this.requests.filter((r) => r.headers['webhook-id'] === id);
  }

  waitCount(n, timeoutMs = 10_000) {
    return waitFor(`${n} requests at the receiver (have ${this.requests.length})`,
      () => this.requests.length >= n, timeoutMs);
  }
}

// The library's verify() on exactly what arrived: body as the received UTF-8 text, headers
// as Node parsed them. Returns the parsed payload or throws WebhookVerificationError.
function verify(secret, r, body = r.body.toString('utf8')) {
  return new Webhook(secret).verify(body, r.headers);
}

function signatureEntries(r) {
  return r.headers['webhook-signature'].split(' ');
}

describe('Standard Webhooks signatures, verified by the standardwebhooks npm package', () => {
  let hookd;
  let rx;
  let co;
  let endpoint; // {id, secret, …}

  before(async () => {
    hookd = new Hookd(['--retry-schedule', '300ms,300ms,300ms', '--request-timeout', '5s']);
    await hookd.start();
    rx = new Receiver();
    await rx.start();
    co = new Company(await hookd.createCompany('Acme Logística S.L.'));
    endpoint = await co.createEndpoint({
      url: rx.url,
      description: 'HR data warehouse',
      event_types: ['employee.*', 'time_off.*', 'contract.*'],
    });
    assert.match(endpoint.secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    assert.equal(endpoint.signature_scheme, 'standard');
  });

  after(async () => {
    // Both run even if one throws (or before() failed half way).
    await Promise.allSettled([rx?.stop(), hookd?.stop()]);
  });

  const events = [
    hired({
      id: 'emp_4821', first: 'Lucía', last: 'García', email: 'lucia.garcia@acme.example',
      department: 'Engineering',
    }),
    timeOffApproved,
    contractUpdated,
  ];
  const published = []; // [{event, id}]

  test('every request of several HR events verifies, with the payload that was published', async () => {
    // The receiver refuses the first attempt of the contract change once: its retry must be
    // signed afresh and verify too.
    let refused = false;
    rx.respond = (r) => {
      const payload = JSON.parse(r.body.toString('utf8'));
      if (payload.type === 'contract.updated' && !refused) {
        refused = true;
        return { status: 503, body: 'warehouse loading, try later' };
      }
      return { status: 200, body: 'ok' };
    };
    for (const event of events) published.push({ event, id: await co.publish(event) });
    await rx.waitCount(events.length + 1);

    for (const { event, id } of published) {
      const reqs = rx.of(id);
      assert.equal(reqs.length, event.type === 'contract.updated' ? 2 : 1, `requests for ${event.type}`);
      for (const r of reqs) {
        assert.equal(r.method, 'POST');
        assert.equal(r.url, '/hr-events');
        assert.equal(r.headers['content-type'], 'application/json');
        assert.match(r.headers['user-agent'], /^hookd\//);
        assert.match(r.headers['webhook-timestamp'], /^\d+$/);
        assert.ok(Math.abs(Number(r.headers['webhook-timestamp']) - Date.now() / 1000) < 60);
        assert.equal(signatureEntries(r).length, 1, 'one secret, one signature');
        assert.match(signatureEntries(r)[0], /^v1,[A-Za-z0-9+/]{43}=$/);

        const payload = verify(endpoint.secret, r);
        assert.equal(payload.id, id);
        assert.equal(payload.type, event.type);
        assert.equal(payload.company_id, co.cid);
        assert.match(payload.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assert.deepEqual(payload.data, event.data);
      }
      // Byte-for-byte the stored payload, the same on every attempt.
      const stored = await co.api.call('GET', `${co.base}/events/${id}`, undefined, 200);
      for (const r of reqs) assert.equal(r.body.toString('utf8'), stored.payload);
    }
    // hookd's own record agrees with what the receiver saw.
    for (const { event, id } of published) {
      const d = await co.waitDelivery(id, 'succeeded');
      const atts = await co.attempts(d.id);
      const codes = atts.map((a) => a.status_code);
      assert.deepEqual(codes, event.type === 'contract.updated' ? [200, 503] : [200]);
    }
  });

  test('a tampered request does not verify', () => {
    const r = rx.of(published.find((p) => p.event.type === 'contract.updated').id)[0];
    const body = r.body.toString('utf8');
    assert.ok(verify(endpoint.secret, r)); // the untouched request does

    // Someone bumps the salary in transit.
    const raised = body.replace('"amount":45500', '"amount":95500');
    assert.notEqual(raised, body, 'the body carries the salary as published');
    assert.throws(() => verify(endpoint.secret, r, raised), WebhookVerificationError);
    // One byte appended.
    assert.throws(() => verify(endpoint.secret, r, `${body} `), WebhookVerificationError);
    // The signature of one message replayed under another id.
    const otherId = { ...r, headers: { ...r.headers, 'webhook-id': published[0].id } };
    assert.throws(() => verify(endpoint.secret, otherId), WebhookVerificationError);
    // Another timestamp (replay protection is part of the signed content).
    const later = { ...r, headers: { ...r.headers, 'webhook-timestamp': String(Number(r.headers['webhook-timestamp']) + 1) } };
    assert.throws(() => verify(endpoint.secret, later), WebhookVerificationError);
    // Some other endpoint's secret.
    const stranger = `whsec_${randomBytes(32).toString('base64')}`;
    assert.throws(() => verify(stranger, r), WebhookVerificationError);
  });

  test('during a secret rotation deliveries verify with both the old and the new secret', async () => {
    rx.respond = () => ({ status: 200, body: 'ok' });
    const oldSecret = endpoint.secret;
    const { secret: newSecret } = await co.rotateSecret(endpoint.id, { grace_seconds: 3600 });
    assert.match(newSecret, /^whsec_/);
    assert.notEqual(newSecret, oldSecret);
    const fetched = await co.api.call('GET', `${co.base}/endpoints/${endpoint.id}/secret`, undefined, 200);
    assert.equal(fetched.secret, newSecret);

    const event = hired({
      id: 'emp_4830', first: 'Jordi', last: 'Puig i Ferrer', email: 'jordi.puig@acme.example',
      department: 'Finance', office: 'Barcelona – Poblenou',
    });
    const id = await co.publish(event);
    const [r] = await waitFor(`the delivery of ${id}`, () => (rx.of(id).length ? rx.of(id) : null));
    assert.equal(signatureEntries(r).length, 2, `two signatures while rotating: ${r.headers['webhook-signature']}`);
    assert.deepEqual(verify(newSecret, r).data, event.data);
    assert.deepEqual(verify(oldSecret, r).data, event.data);
    const stranger = `whsec_${randomBytes(32).toString('base64')}`;
    assert.throws(() => verify(stranger, r), WebhookVerificationError);

    // Rotating again with no grace: only the newest secret signs from now on.
    const { secret: newest } = await co.rotateSecret(endpoint.id, { grace_seconds: 0 });
    const id2 = await co.publish(contractUpdated);
    const [r2] = await waitFor(`the delivery of ${id2}`, () => (rx.of(id2).length ? rx.of(id2) : null));
    assert.equal(signatureEntries(r2).length, 1, `one signature after a rotation without grace: ${r2.headers['webhook-signature']}`);
    assert.deepEqual(verify(newest, r2).data, contractUpdated.data);
    assert.throws(() => verify(newSecret, r2), WebhookVerificationError);
    assert.throws(() => verify(oldSecret, r2), WebhookVerificationError);
  });
});
