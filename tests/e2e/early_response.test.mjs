// A receiver that answers before it has read the request body — nginx's `return 204` — over
// TLS, under load: 1,000 deliveries of ~20 KiB, 200 in flight, to nginx offering HTTP/2
// (`listen … ssl http2`) and to nginx speaking HTTP/1.1 only. Every delivery must reach
// nginx exactly once and be recorded as one successful attempt.
//
// Over HTTP/2 such a receiver ends the stream with RST_STREAM(NO_ERROR) right after its
// answer, while the body is still being sent (RFC 9113 §8.1: the client must keep the
// response). With many streams on one connection libcurl 7.88.1 often loses that answer: the
// transfer ends with CURLE_HTTP2_STREAM and no status (hookd retries it: it cannot know the
// receiver answered), or curl sends the request again itself on a fresh connection. When
// hookd spoke HTTP/2, 145-677 of the 1,000 deliveries reached nginx twice in each of 10
// runs of this test. hookd therefore speaks HTTP/1.1 over TLS (src/dispatch/http_client.cc,
// NewHandle): the receiver that offers HTTP/2 gets HTTP/1.1, on at most max_concurrency
// kept-alive connections.
//
// Needs nginx with the http_v2 module (Debian's nginx-light; scripts/setup.sh --test). The
// test starts its own nginx, as the current user, on a free loopback port, with every path
// it writes inside a temp dir.
//
//   cd tests/e2e && npm ci && node --test early_response.test.mjs
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Company, Hookd, hired, makeTempDir, removeDir, stopProcess, track, waitFor } from './helpers.mjs';

const EVENTS = 1000;          // per receiver
const MAX_CONCURRENCY = 200;  // deliveries in flight to the endpoint
const BATCH = 250;            // events per POST …/events/batch
// Events of ~20 KiB, as HR events with notes and a document summary attached are: more than
// one 16 KiB upload buffer, so nginx answers while most of the body is still to be sent.
const NOTES = 'Bring the signed contract, a photo ID and the bank details form on the first day. '
  .repeat(240);

// A CA and a certificate for 127.0.0.1 that it signed (openssl, P-256 keys: fast to make).
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
  return { caFile: f('ca.pem'), cert: f('server.pem'), key: f('server.key') };
}

// nginx on the PATH or in an sbin directory (Debian's is /usr/sbin/nginx).
function findNginx() {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/usr/local/sbin'];
  const bin = dirs.map((d) => path.join(d, 'nginx')).find((p) => fs.existsSync(p));
  if (!bin) throw new Error('nginx not found (install nginx-light: scripts/setup.sh --test)');
  return bin;
}

// A port that was free a moment ago (nginx cannot listen on port 0).
async function freePort() {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  await new Promise((resolve) => s.close(resolve));
  return port;
}

// Resolves once something accepts TCP connections on `port`.
function accepting(port) {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

// nginx answering every request with 204 at once (`return 204`: it reads no body), over TLS,
// offering HTTP/2 and HTTP/1.1 (ALPN) or HTTP/1.1 only; one access-log line per request it
// answered.
class Nginx {
  constructor(dir, certs, { http2 }) {
    this.dir = dir;
    this.certs = certs;
    this.http2 = http2;
    this.accessLog = path.join(dir, 'access.log');
    this.errorLog = path.join(dir, 'error.log');
    this.proc = null;
  }

  config(port) {
    const d = (name) => path.join(this.dir, name);
    // One process, as the test's user (no master switching workers to another user), which
    // the helpers' exit handler kills with nothing left behind.
    return `master_process off;
pid ${d('nginx.pid')};
error_log ${this.errorLog} notice;
events { worker_connections 1024; }
http {
  client_body_temp_path ${d('client_body_temp')};
  proxy_temp_path ${d('proxy_temp')};
  fastcgi_temp_path ${d('fastcgi_temp')};
  uwsgi_temp_path ${d('uwsgi_temp')};
  scgi_temp_path ${d('scgi_temp')};
  log_format hookd '$http_webhook_id $status $server_protocol $connection';
  access_log ${this.accessLog} hookd;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:${port} ssl${this.http2 ? ' http2' : ''};
    ssl_certificate ${this.certs.cert};
    ssl_certificate_key ${this.certs.key};
    location / { return 204; }
  }
}
`;
  }

  // Another port when the chosen one was taken meanwhile (nginx exits at once then).
  async start() {
    const bin = findNginx();
    for (let tries = 0; tries < 5; ++tries) {
      const port = await freePort();
      const conf = path.join(this.dir, 'nginx.conf');
      fs.writeFileSync(conf, this.config(port));
      const err = fs.openSync(path.join(this.dir, 'stderr.log'), 'a');
      const proc = track(spawn(bin, ['-p', this.dir, '-c', conf, '-g', 'daemon off;'],
        { stdio: ['ignore', 'ignore', err] }));
      fs.closeSync(err);
      const up = await waitFor(`nginx listening on ${port}`, async () => {
        if (proc.exitCode !== null || proc.signalCode !== null) return 'exited';
        return (await accepting(port)) ? 'up' : null;
      }, 10_000, 20);
      if (up === 'up') {
        this.proc = proc;
        this.url = `https://127.0.0.1:${port}/hr-events`;
        return;
      }
    }
    throw new Error(`nginx did not start:\n${this.log()}`);
  }

  log() {
    const read = (f) => { try { return fs.readFileSync(f, 'utf8'); } catch { return ''; } };
    return read(path.join(this.dir, 'stderr.log')) + read(this.errorLog);
  }

  // [{id, status, protocol, connection}] of every request answered so far (connection: nginx's
  // serial number of the connection it came on).
  requests() {
    let text = '';
    try {
      text = fs.readFileSync(this.accessLog, 'utf8');
    } catch {}
    return text.split('\n').filter(Boolean).map((line) => {
      const [id, status, protocol, connection] = line.split(' ');
      return { id, status, protocol, connection };
    });
  }

  stop() {
    return stopProcess(this.proc);
  }
}

// The value of one sample of hookd's /metrics, 0 when absent.
async function metric(hookd, name) {
  const text = await (await fetch(`${hookd.baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

describe('a TLS receiver that answers 204 without reading the body gets each delivery once, 200 in flight', () => {
  let dir;
  let certs;

  before(() => {
    findNginx();
    dir = makeTempDir('hookd-e2e-early-');
    certs = makeCertificates(dir);
  });

  after(() => removeDir(dir));

  async function deliverMany(http2) {
    const ngDir = path.join(dir, http2 ? 'nginx-h2' : 'nginx-h1');
    fs.mkdirSync(ngDir);
    const nginx = new Nginx(ngDir, certs, { http2 });
    // Retries come quickly, so that a delivery taken for failed is sent again within the test;
    // batches of 250 events of ~20 KiB are larger than the default --max-payload.
    const hookd = new Hookd(['--tls-ca-file', certs.caFile, '--retry-schedule', '1s,1s',
      '--max-payload', '8MiB']);
    try {
      await nginx.start();
      await hookd.start();
      const co = new Company(await hookd.createCompany('Acme Early Answers'));
      const endpoint = await co.createEndpoint({
        url: nginx.url, event_types: ['employee.hired'], max_concurrency: MAX_CONCURRENCY,
      });
      const events = Array.from({ length: EVENTS }, (_, i) => hired({
        id: `emp_${20000 + i}`, first: 'Nerea', last: `Goikoetxea ${i}`,
        email: `nerea${i}@acme.example`, department: 'People',
      }));
      for (const e of events) e.data.employee.onboarding_notes = NOTES;
      const ids = [];
      for (let i = 0; i < events.length; i += BATCH) {
        const r = await co.api.call('POST', `${co.base}/events/batch`, events.slice(i, i + BATCH), 202);
        ids.push(...r.map((e) => e.id));
      }
      assert.equal(ids.length, EVENTS);

      // Every delivery final: succeeded, or failed after its last retry.
      const final = async () => (await metric(hookd, 'hookd_deliveries_total{outcome="succeeded"}')) +
        (await metric(hookd, 'hookd_deliveries_total{outcome="failed"}'));
      await waitFor(`${EVENTS} deliveries to be final`, async () => (await final()) >= EVENTS, 40_000, 100);
      // nginx writes a request's log line once it has answered it.
      await waitFor(`${EVENTS} requests in nginx's access log`, () => nginx.requests().length >= EVENTS, 5_000);

      // hookd's attempts are stored shortly after they are counted.
      const statsPath = `${co.base}/endpoints/${endpoint.id}/stats`;
      const stats = await waitFor(`${EVENTS} attempts stored`, async () => {
        const st = await co.api.call('GET', statsPath, undefined, 200);
        return st.attempts >= EVENTS ? st : null;
      }, 10_000);

      const requests = nginx.requests();
      const perId = new Map();
      for (const r of requests) perId.set(r.id, (perId.get(r.id) ?? 0) + 1);
      assert.deepEqual(new Set(perId.keys()), new Set(ids));
      const repeated = [...perId].filter(([, n]) => n > 1);
      // The attempts of one delivery that nginx got more than once, to show what hookd made of them.
      let repeatedAttempts = [];
      if (repeated.length > 0) {
        const [d] = await co.deliveriesOf(repeated[0][0]);
        repeatedAttempts = (await co.attempts(d.id)).map((a) =>
          ({ status_code: a.status_code, error: a.error, detail: a.response_body }));
      }
      // nginx got each delivery exactly once, over HTTP/1.1 also where HTTP/2 was offered; hookd
      // made one attempt per delivery, without error.
      assert.deepEqual({
        protocols_and_statuses: [...new Set(requests.map((r) => `${r.protocol} ${r.status}`))],
        nginx_requests: requests.length,
        deliveries_received_more_than_once: repeated.length,
        attempts: stats.attempts,
        attempts_with_an_error: stats.failed,
        deliveries_succeeded: await metric(hookd, 'hookd_deliveries_total{outcome="succeeded"}'),
        attempts_of_a_repeated_delivery: repeatedAttempts,
      }, {
        protocols_and_statuses: ['HTTP/1.1 204'],
        nginx_requests: EVENTS,
        deliveries_received_more_than_once: 0,
        attempts: EVENTS,
        attempts_with_an_error: 0,
        deliveries_succeeded: EVENTS,
        attempts_of_a_repeated_delivery: [],
      });
      // Kept-alive connections: at most one per delivery in flight.
      const connections = new Set(requests.map((r) => r.connection)).size;
      assert.ok(connections <= MAX_CONCURRENCY, `${connections} connections for ${EVENTS} requests`);
      const d = await co.waitDelivery(ids[ids.length - 1], 'succeeded');
      const [attempt] = await co.attempts(d.id);
      assert.deepEqual({ status_code: attempt.status_code, error: attempt.error }, { status_code: 204, error: null });
    } finally {
      await hookd.stop();
      await nginx.stop();
    }
  }

  test('nginx offering HTTP/2 (`listen … ssl http2`), which resets the stream after its 204', async () => {
    await deliverMany(true);
  });

  test('nginx with HTTP/1.1 only (`listen … ssl`)', async () => {
    await deliverMany(false);
  });
});
