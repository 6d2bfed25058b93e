// Shared helpers of the end-to-end tests: spawn the real `hookd` binary on a loopback port
// with a fresh SQLite database, talk to its API, and make sure every process a test starts
// is gone when the test file ends (after() hooks, plus a last-resort exit handler).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export const ADMIN_TOKEN = 'hkd_e2e_operator_token_0123456789abcdefghijklmnop';

// HOOKD_BINARY (set by ctest to the built target), else ../../build/hookd.
export function hookdBinary() {
  const bin = process.env.HOOKD_BINARY || path.resolve(here, '../../build/hookd');
  if (!fs.existsSync(bin)) throw new Error(`hookd binary not found at ${bin} (set HOOKD_BINARY)`);
  return bin;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls `fn` until it returns a truthy value; throws with `what` (and the last value) on timeout.
export async function waitFor(what, fn, timeoutMs = 10_000, everyMs = 50) {
  const until = Date.now() + timeoutMs;
  let last;
  while (Date.now() < until) {
    last = await fn();
    if (last) return last;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
}

// ---------------------------------------------------------------------------------------------
// Child processes: every one is registered so it can be killed on any exit path.

const children = new Set();
const tempDirs = new Set();

process.once('exit', () => {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {}
  }
  for (const d of tempDirs) removeDir(d);
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => process.exit(128 + os.constants.signals[sig]));
}

export function track(child) {
  children.add(child);
  child.on('error', () => {}); // reported by the caller (e.g. spawn EACCES), never uncaught
  child.once('exit', () => children.delete(child));
  return child;
}

// SIGTERM, then SIGKILL if it has not exited after `graceMs`. Resolves once it is reaped.
export async function stopProcess(child, graceMs = 5_000) {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return; // never ran / gone
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

// A fresh directory under the system temp dir, removed by removeDir() or at exit.
export function makeTempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeDir(dir) {
  if (!dir || !tempDirs.delete(dir)) return;
  if (process.env.HOOKD_E2E_KEEP) process.stderr.write(`kept ${dir}\n`);
  else fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

// ---------------------------------------------------------------------------------------------
// hookd

export class Hookd {
  // `extraArgs` are appended to `hookd serve …`.
  constructor(extraArgs = []) {
    this.extraArgs = extraArgs;
    this.dir = makeTempDir('hookd-e2e-');
    this.logPath = path.join(this.dir, 'hookd.log');
    this.proc = null;
    this.baseUrl = null;
  }

  async start() {
    const args = [
      'serve',
      '--listen', '127.0.0.1:0',
      '--db', `sqlite:${path.join(this.dir, 'hookd.db')}`,
      '--admin-token', ADMIN_TOKEN,
      '--allow-http',
      '--allow-private-destinations',
      ...this.extraArgs,
    ];
    const log = fs.openSync(this.logPath, 'a');
    this.proc = track(spawn(hookdBinary(), args, { stdio: ['ignore', 'pipe', log] }));
    fs.closeSync(log);
    const lines = readline.createInterface({ input: this.proc.stdout });
    const first = new Promise((resolve, reject) => {
      lines.once('line', resolve);
      this.proc.once('exit', (code, sig) =>
        reject(new Error(`hookd exited during start-up (${code ?? sig}):\n${this.log()}`)));
      this.proc.once('error', (e) => reject(new Error(`cannot run hookd: ${e.message}`)));
    });
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`hookd did not start in 20 s:\n${this.log()}`)), 20_000);
    });
    let line;
    try {
      line = await Promise.race([first, timeout]);
    } finally {
      clearTimeout(timer);
    }
    // Keep draining stdout so hookd never blocks on a full pipe.
    lines.on('line', () => {});
    const m = /^hookd listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
    if (!m) throw new Error(`unexpected first line from hookd: ${JSON.stringify(line)}`);
    this.baseUrl = m[1];
    return this;
  }

  log() {
    try {
      return fs.readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  // Stops hookd and removes its directory (kept, and named on stderr, with HOOKD_E2E_KEEP=1).
  async stop() {
    await stopProcess(this.proc);
    removeDir(this.dir);
  }

  client(token) {
    return new Api(this.baseUrl, token);
  }

  // A company with a manage+publish token: {cid, api} where api uses the company token.
  async createCompany(name) {
    const op = this.client(ADMIN_TOKEN);
    const co = await op.call('POST', '/v1/companies', { name }, 201);
    const tok = await op.call('POST', `/v1/companies/${co.id}/tokens`,
      { scopes: ['manage', 'publish'], description: 'e2e' }, 201);
    return { cid: co.id, api: this.client(tok.token) };
  }
}

export class Api {
  constructor(baseUrl, token) {
    this.baseUrl = baseUrl;
    this.token = token;
  }

  // Sends `body` as JSON; returns {status, headers, text, json}.
  async request(method, p, body) {
    const res = await fetch(this.baseUrl + p, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {}
    return { status: res.status, headers: res.headers, text, json };
  }

  // Like request() but throws unless the status is `expect`; returns the parsed body.
  async call(method, p, body, expect) {
    const r = await this.request(method, p, body);
    if (r.status !== expect) {
      throw new Error(`${method} ${p} answered ${r.status}, expected ${expect}: ${r.text}`);
    }
    return r.json;
  }
}

// Company-scoped API calls used by both tests.
export class Company {
  constructor({ cid, api }) {
    this.cid = cid;
    this.api = api;
    this.base = `/v1/companies/${cid}`;
  }

  createEndpoint(body) {
    return this.api.call('POST', `${this.base}/endpoints`, body, 201);
  }

  patchEndpoint(id, body) {
    return this.api.call('PATCH', `${this.base}/endpoints/${id}`, body, 200);
  }

  rotateSecret(id, body) {
    return this.api.call('POST', `${this.base}/endpoints/${id}/rotate-secret`, body, 200);
  }

  // Returns the event id.
  async publish(event) {
    const r = await this.api.call('POST', `${this.base}/events`, event, 202);
    return r.id;
  }

  async deliveriesOf(eventId) {
    const r = await this.api.call('GET', `${this.base}/deliveries?event_id=${encodeURIComponent(eventId)}`,
      undefined, 200);
    return r.data;
  }

  // The one delivery of `eventId`, once it has reached `status`.
  async waitDelivery(eventId, status, timeoutMs = 15_000) {
    return waitFor(`the delivery of ${eventId} to become ${status}`, async () => {
      const ds = await this.deliveriesOf(eventId);
      if (ds.length > 1) throw new Error(`expected one delivery of ${eventId}, got ${JSON.stringify(ds)}`);
      return ds.length === 1 && ds[0].status === status ? ds[0] : null;
    }, timeoutMs);
  }

  // Attempts of a delivery, newest first.
  async attempts(deliveryId) {
    const r = await this.api.call('GET', `${this.base}/deliveries/${deliveryId}/attempts`, undefined, 200);
    return r.data;
  }
}

// ---------------------------------------------------------------------------------------------
// Realistic HR events (SPEC §2).

export function hired({ id, first, last, email, department, office = 'Valencia', start = '2026-12-01' }) {
  return {
    type: 'employee.hired',
    data: {
      employee: {
        id,
        first_name: first,
        last_name: last,
        email,
        start_date: start,
        job_title: 'Backend Engineer',
        department: { id: `dep_${department.toLowerCase().replace(/[^a-z]/g, '')}`, name: department },
        office: { id: 'off_3', name: office },
        manager_id: 'emp_1203',
        employment_type: 'full_time',
      },
    },
  };
}

export const timeOffApproved = {
  type: 'time_off.approved',
  data: {
    request: {
      id: 'tor_88213',
      employee_id: 'emp_4821',
      type: 'vacation',
      start_date: '2026-08-03',
      end_date: '2026-08-14',
      days: 10,
      comment: 'Vacaciones de verano en Asturias',
    },
    reviewer: { id: 'emp_1203', name: 'Marta Sánchez Ruiz' },
    comment: 'Aprobado. ¡Disfruta del verano!',
  },
};

export const contractUpdated = {
  type: 'contract.updated',
  data: {
    contract: {
      id: 'ctr_20931',
      employee_id: 'emp_4821',
      type: 'permanent',
      start_date: '2026-01-12',
      end_date: null,
      hours_per_week: 40,
      salary: { amount: 45500, currency: 'EUR', period: 'year' },
    },
    changes: [{ field: 'salary.amount', from: 42000, to: 45500 }],
  },
};
