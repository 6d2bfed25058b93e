// Helpers of the browser tests: Debian's Chromium through playwright-core, local receivers,
// and where screenshots go. hookd itself is started with tests/e2e/helpers.mjs (the real
// binary, HOOKD_BINARY, on a loopback port with a fresh SQLite database).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { makeTempDir } from '../e2e/helpers.mjs';

export * from '../e2e/helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

export const CHROMIUM = process.env.HOOKD_CHROMIUM || '/usr/bin/chromium';

// Headless Chromium as root, with nothing that would reach the internet.
export function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install chromium, or set HOOKD_CHROMIUM)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

// Screenshots go to $HOOKD_SCREENSHOTS when set (e.g. docs/screenshots to refresh the
// README's), else to a temporary directory removed at exit (kept with HOOKD_E2E_KEEP=1),
// so a test run never dirties the work tree.
export function screenshotDir() {
  if (!process.env.HOOKD_SCREENSHOTS) return makeTempDir('hookd-screens-');
  const dir = path.resolve(here, '../..', process.env.HOOKD_SCREENSHOTS);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

// A receiver on 127.0.0.1 that records every request and answers with `respond(req)`
// → {status, body, headers}.
export class Receiver {
  constructor(respond = () => ({ status: 200, body: 'ok' })) {
    this.requests = [];
    this.respond = respond;
    this.server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const r = { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        this.requests.push(r);
        const { status, body, headers = { 'content-type': 'text/plain' } } = this.respond(r);
        res.writeHead(status, headers);
        res.end(body);
      });
    });
  }

  async start(pathname = '/hooks') {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${this.server.address().port}${pathname}`;
    return this;
  }

  stop() {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

// True when the page can be scrolled sideways (what a phone user would hate).
export function hasHorizontalScroll(page) {
  return page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
}
