// HTTPS receivers, with a private CA (`hookd serve --tls-ca-file`): hookd speaks HTTP/1.1
// over TLS, with keep-alive, also to a receiver that offers HTTP/2 (ALPN) — libcurl 7.88.1's
// HTTP/2 can lose the answer of a receiver that resets the stream after answering, and the
// receiver then gets the delivery twice (src/dispatch/http_client.cc, NewHandle;
// early_response.test.mjs). A receiver that speaks nothing but HTTP/2 cannot be reached.
// Receivers are Node's own http2/https servers; every request that arrives is checked by the
// standardwebhooks package.
//
//   cd tests/e2e && npm ci && node --test http2.test.mjs
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Webhook } from 'standardwebhooks';

import { Company, Hookd, hired, makeTempDir, removeDir, waitFor } from './helpers.mjs';

// A CA, and a certificate for 127.0.0.1 that it signed (openssl, P-256 keys: fast to make).
function makeCertificates(dir) {
  const f = (name) => path.join(dir, name);
  const ssl = (...args) => execFileSync('openssl', args, { stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2',
    '-subj', '/CN=hookd e2e test CA');
  ssl('req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(f('server.ext'),
    'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n');
  ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'),
    '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('server.ext'));
  return {
    caFile: f('ca.pem'),
    key: fs.readFileSync(f('server.key')),
    cert: fs.readFileSync(f('server.pem')),
  };
}

// Records requests (protocol version, headers, body) and the TLS connections they came on.
class TlsReceiver {
  constructor(kind, tls) {
    this.requests = [];
    this.connections = 0;
    const onRequest = (req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        this.requests.push({
          version: req.httpVersion,
          socket: req.socket?.remotePort ?? req.stream?.session?.socket?.remotePort,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        res.writeHead(204);
        res.end();
      });
    };
    // 'h2': HTTP/2 offered first, HTTP/1.1 too; 'h2-only': HTTP/2 and nothing else.
    this.server = kind === 'h1'
      ? https.createServer({ ...tls, ALPNProtocols: ['http/1.1'] }, onRequest)
      : http2.createSecureServer({ ...tls, allowHTTP1: kind === 'h2' }, onRequest);
    this.sockets = new Set();
    this.server.on('secureConnection', (socket) => {
      this.connections += 1;
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `https://127.0.0.1:${this.server.address().port}/hr-events`;
  }

  // hookd keeps its connections open for the next delivery: close() alone would wait for them.
  stop() {
    const closed = new Promise((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    return closed;
  }
}

describe('HTTPS receivers: HTTP/1.1 with keep-alive, also when HTTP/2 is offered; certificates from --tls-ca-file', () => {
  let dir;
  let certs;
  let hookd;
  let co;

  before(async () => {
    dir = makeTempDir('hookd-e2e-tls-');
    certs = makeCertificates(dir);
    hookd = new Hookd(['--tls-ca-file', certs.caFile, '--allow-destination', '127.0.0.1/32']);
    await hookd.start();
  });

  after(async () => {
    await hookd?.stop();
    removeDir(dir);
  });

  // A company of its own per receiver: its events reach that receiver only.
  async function deliverTo(rx, n) {
    co = new Company(await hookd.createCompany(`Acme ${rx.url}`));
    const endpoint = await co.createEndpoint({
      url: rx.url, event_types: ['employee.hired'], max_concurrency: 8,
    });
    const ids = await Promise.all(Array.from({ length: n }, (_, i) => co.publish(hired({
      id: `emp_${9000 + i}`, first: 'Aitana', last: `Ferrer ${i}`, email: `aitana${i}@acme.example`,
      department: 'People',
    }))));
    await waitFor(`${n} requests at ${rx.url} (have ${rx.requests.length})`, () => rx.requests.length >= n);
    const wh = new Webhook(endpoint.secret);
    for (const r of rx.requests) assert.equal(wh.verify(r.body, r.headers).type, 'employee.hired');
    assert.deepEqual(new Set(rx.requests.map((r) => r.headers['webhook-id'])), new Set(ids));
    // hookd records them as succeeded, with the receiver's status.
    for (const id of ids) {
      const d = await co.waitDelivery(id, 'succeeded');
      assert.equal((await co.attempts(d.id))[0].status_code, 204);
    }
    return endpoint;
  }

  test('a receiver that offers HTTP/2 and HTTP/1.1 gets HTTP/1.1, on reused keep-alive connections', async () => {
    const rx = new TlsReceiver('h2', certs);
    await rx.start();
    try {
      await deliverTo(rx, 24);
      assert.deepEqual(new Set(rx.requests.map((r) => r.version)), new Set(['1.1']));
      // At most max_concurrency (8) connections for 24 requests: they were reused.
      assert.ok(rx.connections >= 1 && rx.connections <= 8, `${rx.connections} connections`);
    } finally {
      await rx.stop();
    }
  });

  test('an HTTP/1.1-only receiver gets HTTP/1.1, on reused keep-alive connections', async () => {
    const rx = new TlsReceiver('h1', certs);
    await rx.start();
    try {
      await deliverTo(rx, 24);
      assert.deepEqual(new Set(rx.requests.map((r) => r.version)), new Set(['1.1']));
      // At most max_concurrency (8) connections for 24 requests: they were reused.
      assert.ok(rx.connections >= 1 && rx.connections <= 8, `${rx.connections} connections`);
    } finally {
      await rx.stop();
    }
  });

  // The price of HTTP/1.1 only: the TLS handshake finds no protocol in common (ALPN), the
  // attempt fails as a TLS error and the delivery is retried like any other failure.
  test('a receiver that speaks only HTTP/2 cannot be reached: the attempt is a TLS error', async () => {
    const rx = new TlsReceiver('h2-only', certs);
    await rx.start();
    try {
      co = new Company(await hookd.createCompany(`Acme ${rx.url}`));
      await co.createEndpoint({ url: rx.url, event_types: ['employee.hired'], max_concurrency: 8 });
      const id = await co.publish(hired({
        id: 'emp_9100', first: 'Aitana', last: 'Ferrer', email: 'aitana@acme.example', department: 'People',
      }));
      const attempt = await waitFor('the first attempt', async () => {
        const [d] = await co.deliveriesOf(id);
        return d ? (await co.attempts(d.id)).at(-1) : null;
      });
      assert.deepEqual({ error: attempt.error, status_code: attempt.status_code }, { error: 'tls', status_code: null });
      assert.equal(rx.requests.length, 0);
    } finally {
      await rx.stop();
    }
  });
});
