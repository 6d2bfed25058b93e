// GitHub-style signatures, checked by a real third-party receiver: adnanh/webhook
// (Debian package `webhook`, /usr/bin/webhook) verifies X-Hub-Signature-256 with its
// `payload-hmac-sha256` rule and, for an employee.hired, runs provision-new-hire.sh, which
// appends "provisioned <email> (<first> <last>, <department>)" to a file.
//
// The hook (hooks.json.tmpl, loaded with `webhook -template`) answers 403 when its trigger
// rule is not satisfied. adnanh/webhook treats a signature mismatch as an *error* (500)
// unless `trigger-signature-soft-failures` is set and the signature match sits inside an
// "or" rule — then it is a plain mismatch and the configured 403 is returned.
//
// Proves, with the real hookd binary:
//   - a hire hookd signs with the endpoint's secret is accepted and provisioned, exactly
//     once, and hookd records the receiver's 200 and its output on the attempt;
//   - a hire signed with another endpoint's secret is refused (403 on every attempt, the
//     delivery ends `failed`) and provisions nobody;
//   - a correctly signed event that is not a hire is refused by the type rule;
//   - after a secret rotation, a receiver reconfigured with the new secret accepts again.
//
//   cd tests/e2e && node --test github_webhook.test.mjs   (HOOKD_BINARY=/path/to/hookd)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import {
  Company, Hookd, hired, makeTempDir, removeDir, stopProcess, track, waitFor,
} from './helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const WEBHOOK_BIN = process.env.WEBHOOK_BINARY || '/usr/bin/webhook';
const HOOKS_TEMPLATE = path.join(here, 'hooks.json.tmpl');
const PROVISION_SCRIPT = path.join(here, 'provision-new-hire.sh');
const HOOK_ID = 'provision-new-hire';

// The TCP port a process listens on (IPv4), from /proc: webhook accepts `-port 0` but
// only prints ":0", so the kernel is asked which port it got. Race-free, unlike picking a
// "free" port first.
function listeningPort(pid) {
  const inodes = new Set();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {} // fd closed meanwhile
  }
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 9 && f[3] === '0A' && inodes.has(f[9])) return parseInt(f[1].split(':')[1], 16);
  }
  return null;
}

// adnanh/webhook serving hooks.json.tmpl with `secret`, on a free loopback port.
class WebhookReceiver {
  constructor(dir, provisionLog) {
    this.dir = dir;
    this.provisionLog = provisionLog;
    this.logPath = path.join(dir, 'webhook.log');
    this.proc = null;
  }

  async start(secret) {
    const log = fs.openSync(this.logPath, 'a');
    this.proc = track(spawn(WEBHOOK_BIN,
      ['-template', '-hooks', HOOKS_TEMPLATE, '-ip', '127.0.0.1', '-port', '0', '-verbose'], {
        stdio: ['ignore', log, log],
        env: {
          PATH: process.env.PATH,
          HOOKD_ENDPOINT_SECRET: secret,
          PROVISION_SCRIPT,
          PROVISION_LOG: this.provisionLog,
        },
      }));
    fs.closeSync(log);
    const exited = new Promise((_, reject) => {
      this.proc.once('exit', (code, sig) => reject(new Error(`webhook exited (${code ?? sig}):\n${this.log()}`)));
      this.proc.once('error', (e) => reject(new Error(`cannot run ${WEBHOOK_BIN}: ${e.message}`)));
    });
    exited.catch(() => {});
    const port = await Promise.race([
      exited,
      waitFor('webhook to listen', () => this.proc.exitCode === null && listeningPort(this.proc.pid), 10_000),
    ]);
    assert.match(this.log(), new RegExp(`loaded: ${HOOK_ID}\\n`), 'webhook loaded the hook');
    this.url = `http://127.0.0.1:${port}/hooks/${HOOK_ID}`;
    return this.url;
  }

  stop() {
    return stopProcess(this.proc);
  }

  log() {
    try {
      return fs.readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }
}

const lucia = hired({
  id: 'emp_4821', first: 'Lucía', last: 'García', email: 'lucia.garcia@acme.example', department: 'Engineering',
});
const LUCIA_LINE = 'provisioned lucia.garcia@acme.example (Lucía García, Engineering)';

describe('GitHub-style signatures, verified by adnanh/webhook', { timeout: 90_000 }, () => {
  let hookd;
  let wh;
  let dir;
  let provisionLog;
  let acme; // the company whose endpoint's secret the receiver knows
  let endpoint;

  const provisioned = () => (fs.existsSync(provisionLog) ? fs.readFileSync(provisionLog, 'utf8') : '');

  // Waits until the delivery of `eventId` has finished (succeeded or failed) and returns
  // it with its attempts (oldest first).
  async function finished(company, eventId) {
    const d = await waitFor(`the delivery of ${eventId} to finish`, async () => {
      const ds = await company.deliveriesOf(eventId);
      assert.ok(ds.length <= 1, `one delivery per event: ${JSON.stringify(ds)}`);
      return ds.length === 1 && ['succeeded', 'failed'].includes(ds[0].status) ? ds[0] : null;
    }, 20_000);
    return { ...d, attemptList: (await company.attempts(d.id)).reverse() };
  }

  before(async () => {
    assert.ok(fs.existsSync(WEBHOOK_BIN), `${WEBHOOK_BIN} missing: run scripts/setup.sh --test`);
    fs.accessSync(PROVISION_SCRIPT, fs.constants.X_OK);
    dir = makeTempDir('hookd-e2e-webhook-');
    provisionLog = path.join(dir, 'provisioned.txt');
    // Three attempts 200 ms apart, so refused deliveries reach `failed` quickly.
    hookd = new Hookd(['--retry-schedule', '200ms,200ms', '--request-timeout', '5s']);
    await hookd.start();
    acme = new Company(await hookd.createCompany('Acme Logística S.L.'));
    // The secret is needed to configure the receiver, and the receiver's port to point the
    // endpoint at it: create the endpoint with a placeholder URL (nothing is published
    // yet), start webhook with its secret, then PATCH the real URL in.
    endpoint = await acme.createEndpoint({
      url: `http://127.0.0.1:9/hooks/${HOOK_ID}`,
      description: 'IT: create the directory account of new hires',
      event_types: ['employee.*'],
      signature_scheme: 'github',
    });
    assert.equal(endpoint.signature_scheme, 'github');
    wh = new WebhookReceiver(dir, provisionLog);
    const url = await wh.start(endpoint.secret);
    const patched = await acme.patchEndpoint(endpoint.id, { url });
    assert.equal(patched.url, url);
    assert.equal(patched.signature_scheme, 'github');
  });

  after(async () => {
    await Promise.allSettled([wh?.stop(), hookd?.stop()]);
    removeDir(dir);
  });

  test('a hire signed with the endpoint secret is verified and provisioned exactly once', async () => {
    const id = await acme.publish(lucia);
    const d = await finished(acme, id);
    assert.equal(d.status, 'succeeded', `webhook log:\n${wh.log()}`);
    assert.equal(d.attemptList.length, 1);
    const [a] = d.attemptList;
    assert.equal(a.status_code, 200);
    assert.equal(a.error, null);
    // webhook answers with the command's output: the provisioning script's line.
    assert.equal(a.response_body, `${LUCIA_LINE}\n`);
    assert.equal(provisioned(), `${LUCIA_LINE}\n`);
    assert.match(wh.log(), new RegExp(`${HOOK_ID} hook triggered successfully`));
  });

  test('a hire signed with another secret is refused and provisions nobody', async () => {
    // Another tenant of the same hookd points its own endpoint (its own secret) at the hook.
    const other = new Company(await hookd.createCompany('Competencia Desleal S.A.'));
    const intruder = await other.createEndpoint({
      url: wh.url, event_types: ['employee.hired'], signature_scheme: 'github',
    });
    assert.notEqual(intruder.secret, endpoint.secret);
    const id = await other.publish(hired({
      id: 'emp_666', first: 'Mallory', last: 'Intrusa', email: 'mallory@acme.example', department: 'IT',
    }));
    const d = await finished(other, id);
    assert.equal(d.status, 'failed');
    assert.equal(d.attempts, 3);
    assert.deepEqual(d.attemptList.map((a) => a.number), [1, 2, 3]);
    for (const a of d.attemptList) {
      assert.equal(a.status_code, 403);
      assert.equal(a.error, 'http');
      assert.equal(a.response_body, 'Hook rules were not satisfied.');
    }
    assert.equal(provisioned(), `${LUCIA_LINE}\n`, 'nobody else was provisioned');
  });

  test('a correctly signed event that is not a hire is refused by the type rule', async () => {
    const id = await acme.publish({
      type: 'employee.left',
      data: {
        employee: { id: 'emp_3120', first_name: 'Pau', last_name: 'Soler', email: 'pau.soler@acme.example' },
        reason: 'deactivated',
        effective_date: '2026-12-31',
      },
    });
    const d = await finished(acme, id);
    assert.equal(d.status, 'failed');
    assert.deepEqual(d.attemptList.map((a) => a.status_code), [403, 403, 403]);
    assert.equal(provisioned(), `${LUCIA_LINE}\n`);
  });

  test('after a rotation, the receiver reconfigured with the new secret provisions again', async () => {
    const { secret } = await acme.rotateSecret(endpoint.id, { grace_seconds: 0 });
    assert.notEqual(secret, endpoint.secret);
    const jordi = hired({
      id: 'emp_4830', first: 'Jordi', last: 'Puig', email: 'jordi.puig@acme.example', department: 'Finance',
    });

    // The receiver still has the old secret: refused.
    const refused = await acme.publish(jordi);
    const d1 = await finished(acme, refused);
    assert.equal(d1.status, 'failed');
    assert.deepEqual(d1.attemptList.map((a) => a.status_code), [403, 403, 403]);
    assert.equal(provisioned(), `${LUCIA_LINE}\n`);

    // Reconfigured (restarted) with the new secret: the same delivery, retried, goes through.
    await wh.stop();
    await acme.patchEndpoint(endpoint.id, { url: await wh.start(secret) });
    await acme.api.call('POST', `${acme.base}/deliveries/${d1.id}/retry`, undefined, 202);
    const d2 = await acme.waitDelivery(refused, 'succeeded');
    assert.equal(d2.attempts, 4);
    const [last] = await acme.attempts(d2.id);
    assert.equal(last.number, 4);
    assert.equal(last.status_code, 200);
    const JORDI_LINE = 'provisioned jordi.puig@acme.example (Jordi Puig, Finance)';
    assert.equal(last.response_body, `${JORDI_LINE}\n`);
    assert.equal(provisioned(), `${LUCIA_LINE}\n${JORDI_LINE}\n`);
  });

  // SPEC §4: rotate-secret `{grace_seconds}` — "old secret keeps signing until the grace
  // ends". For the github scheme hookd sends "sha256=<new>,sha256=<old>" during the grace
  // period, which adnanh/webhook accepts: a receiver still holding the old secret keeps
  // working.
  test('during a grace period a receiver that still has the old secret keeps accepting', {
  }, async () => {
    await acme.rotateSecret(endpoint.id, { grace_seconds: 3600 });
    const id = await acme.publish(hired({
      id: 'emp_4877', first: 'Ana', last: 'Ruiz', email: 'ana.ruiz@acme.example', department: 'People',
    }));
    const d = await finished(acme, id);
    assert.deepEqual(d.attemptList.map((a) => a.status_code), [200]);
    assert.match(provisioned(), /\nprovisioned ana\.ruiz@acme\.example \(Ana Ruiz, People\)\n$/);
  });
});
