// Signaling restart benchmark (`make bench-restart`).
//
// Starts the release server on 127.0.0.1:3201 with a data directory of its
// own. Alice and Bob join one room and see each other. Then, RUNS times for
// each way of stopping (SIGTERM: a deploy; SIGKILL: a crash), the server is
// stopped and started again at once. The figure is the time from the new
// server first answering HTTP to the later of Alice and Bob showing
// "Connected" again (each page notes the moment its status changes, by the
// same machine clock). Their peer connection is checked to be the same one
// throughout. Prints every run and the median per way of stopping.
import { launch } from './chromium.mjs';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNS = Number(process.env.RUNS ?? 5);
const PORT = 3201;
const BASE = `http://127.0.0.1:${PORT}`;
const root = fileURLToPath(new URL('../..', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'moim-bench-'));

let server = null;

/** Starts the server; resolves with Date.now() when it first answers. */
async function start() {
  server = spawn('./target/release/moim', ['--config', 'end2end/server.toml', '--addr', `127.0.0.1:${PORT}`, '--data-dir', dataDir], {
    cwd: root,
    stdio: 'ignore',
  });
  for (let i = 0; i < 2000; i++) {
    try {
      if ((await fetch(`${BASE}/`)).ok) return Date.now();
    } catch {}
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('server did not start');
}

async function stop(signal) {
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill(signal);
  await exited;
}

async function joinAs(browser, url, name) {
  const page = await (await browser.newContext()).newPage();
  await page.goto(url);
  await page.locator('html[data-hydrated]').waitFor();
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  await page.getByRole('button', { name: 'Leave' }).waitFor();
  return page;
}

/** Records, on the page, when its link status next reads `text`. */
async function noteWhen(page, text) {
  await page.evaluate((text) => {
    window.moimNoted = null;
    const el = document.querySelector('.link-state');
    const observer = new MutationObserver(() => {
      if (el.textContent === text && window.moimNoted === null) {
        window.moimNoted = Date.now();
        observer.disconnect();
      }
    });
    observer.observe(el, { childList: true, characterData: true, subtree: true });
  }, text);
}

async function noted(page) {
  await page.waitForFunction(() => window.moimNoted !== null, null, { timeout: 30_000 });
  return page.evaluate(() => window.moimNoted);
}

const firstPc = (page) => page.evaluate(() => (window.moimBench ??= [...window.moimPeers.values()][0]) === [...window.moimPeers.values()][0]);

try {
  await start();
  const browser = await launch();
  const res = await fetch(`${BASE}/new`, { method: 'POST', redirect: 'manual' });
  const url = BASE + res.headers.get('location');
  const alice = await joinAs(browser, url, 'Alice');
  const bob = await joinAs(browser, url, 'Bob');
  for (const page of [alice, bob]) {
    await page.waitForFunction(() => [...(window.moimPeers?.values() ?? [])].some((pc) => pc.connectionState === 'connected'));
    await firstPc(page);
  }
  for (const signal of ['SIGTERM', 'SIGKILL']) {
    const times = [];
    for (let i = 0; i < RUNS; i++) {
      await stop(signal);
      for (const page of [alice, bob]) await page.locator('.link-state', { hasText: 'Reconnecting…' }).waitFor();
      for (const page of [alice, bob]) await noteWhen(page, 'Connected');
      const back = await start();
      const rejoined = Math.max(await noted(alice), await noted(bob));
      for (const page of [alice, bob]) {
        if (!(await firstPc(page))) throw new Error('a peer connection was replaced');
      }
      times.push(rejoined - back);
      console.log(`${signal} run ${i + 1}: ${rejoined - back} ms`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const sorted = [...times].sort((a, b) => a - b);
    console.log(`${signal}: server answering -> both rejoined, median of ${RUNS}: ${sorted[Math.floor(RUNS / 2)]} ms\n`);
  }
  await browser.close();
} finally {
  server?.kill('SIGKILL');
}
