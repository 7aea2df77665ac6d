// Call-setup benchmark and room-page weight (`make bench-call`).
//
// Starts the release server on 127.0.0.1:3200, then, RUNS times over:
// Alice joins a fresh room; Bob opens the room page, the page itself clicks
// Join the moment it has hydrated, and the time from Bob's navigation start to
// the first rendered frame of Alice's video on Bob's page is taken from
// Bob's own clock (performance.now() is relative to navigation start).
// Prints every run and the median, then the weight of every file the room
// page loaded: raw, gzip and brotli as the server sends them.
//
// The floor, in the same run: a bare page with no framework (served by the
// benchmark itself) that takes the camera and microphone and sends them over
// a loopback RTCPeerConnection pair in the one tab; its time from navigation
// start to the first rendered remote frame is what no app can beat here.
import { launch } from './chromium.mjs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import { floorRun } from './floor.mjs';

const RUNS = Number(process.env.RUNS ?? 7);
const PORT = 3200;
const BASE = `http://127.0.0.1:${PORT}`;
const root = fileURLToPath(new URL('../..', import.meta.url));

async function waitForServer() {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${BASE}/`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not start');
}

async function newRoom() {
  const res = await fetch(`${BASE}/new`, { method: 'POST', redirect: 'manual' });
  return BASE + res.headers.get('location');
}

async function joinAs(page, url, name) {
  await page.goto(url);
  await page.locator('html[data-hydrated]').waitFor();
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Join', exact: true }).click();
}

/**
 * Marks the steps of Bob's join on his own clock, without touching the app:
 * wraps the browser APIs it calls. Read back as `window.__steps`.
 */
const STEPS = () => {
  const steps = (window.__steps = {});
  const mark = (name) => (steps[name] ??= performance.now());
  new MutationObserver(() => document.documentElement.hasAttribute('data-hydrated') && mark('hydrated')).observe(
    document, { attributes: true, subtree: true, attributeFilter: ['data-hydrated'] });
  const gum = MediaDevices.prototype.getUserMedia;
  MediaDevices.prototype.getUserMedia = function (...args) {
    mark('camera asked');
    return gum.apply(this, args).then((s) => (mark('camera open'), s));
  };
  const WS = window.WebSocket;
  window.WebSocket = function (...args) {
    mark('socket opened');
    const ws = new WS(...args);
    ws.addEventListener('open', () => mark('socket open'));
    ws.addEventListener('message', (e) => {
      const data = String(e.data);
      if (data.includes('"welcome"')) mark('welcome');
      if (data.includes('"peer_joined"')) mark('peer joined');
    });
    return ws;
  };
  window.WebSocket.prototype = WS.prototype;
  const send = WS.prototype.send;
  WS.prototype.send = function (data) {
    if (String(data).includes('"join"')) mark('join sent');
    return send.call(this, data);
  };
  Object.assign(window.WebSocket, { OPEN: 1, CLOSED: 3, CONNECTING: 0, CLOSING: 2 });
  const PC = window.RTCPeerConnection;
  const setLocal = PC.prototype.setLocalDescription;
  PC.prototype.setLocalDescription = function (...args) {
    mark('local description');
    return setLocal.apply(this, args);
  };
  const setRemote = PC.prototype.setRemoteDescription;
  PC.prototype.setRemoteDescription = function (...args) {
    mark('remote description');
    return setRemote.apply(this, args);
  };
  window.RTCPeerConnection = function (...args) {
    mark('peer made');
    const pc = new PC(...args);
    pc.addEventListener('connectionstatechange', () => pc.connectionState === 'connected' && mark('connected'));
    pc.addEventListener('track', () => mark('track'));
    return pc;
  };
  window.RTCPeerConnection.prototype = PC.prototype;
};

/**
 * Bob's join, done by the page itself the moment it has hydrated (name
 * typed, Join clicked): no driver round trips in the figure, and the
 * earliest click a person could make.
 */
const AUTO_JOIN = () => {
  new MutationObserver((_, observer) => {
    if (!document.documentElement.hasAttribute('data-hydrated')) return;
    observer.disconnect();
    const name = document.getElementById('name');
    name.value = 'Bob';
    name.dispatchEvent(new Event('input', { bubbles: true }));
    [...document.querySelectorAll('button')].find((b) => b.textContent.trim() === 'Join').click();
  }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-hydrated'] });
};

/** One run: ms from Bob's navigation start to Alice's first frame on Bob's page. */
async function oneRun(browser, loaded, steps) {
  const url = await newRoom();
  const alice = await (await browser.newContext()).newPage();
  if (steps) await alice.addInitScript(STEPS);
  await joinAs(alice, url, 'Alice');
  await alice.getByRole('button', { name: 'Leave' }).waitFor();

  const bobContext = await browser.newContext();
  const bob = await bobContext.newPage();
  if (loaded) bob.on('response', (r) => loaded.add(r.url()));
  if (steps) await bob.addInitScript(STEPS);
  await bob.addInitScript(AUTO_JOIN);
  await bob.goto(url);
  const ms = await bob.evaluate(
    () =>
      new Promise((resolve) => {
        const look = () => {
          const v = document.querySelector('figure[aria-label="Alice"] video');
          if (v && v.srcObject) v.requestVideoFrameCallback((now) => resolve(now));
          else setTimeout(look, 5);
        };
        look();
      }),
  );
  if (steps) {
    const marks = await bob.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const wasm = performance.getEntriesByType('resource').find((r) => r.name.endsWith('.wasm'));
      return { 'page in': nav.responseEnd, 'wasm in': wasm?.responseEnd, ...window.__steps, origin: performance.timeOrigin };
    });
    // Alice's side of the offer and answer, moved onto Bob's clock.
    const theirs = await alice.evaluate(() => ({ ...window.__steps, origin: performance.timeOrigin }));
    const shift = theirs.origin - marks.origin;
    const onBobs = (t) => (t === undefined ? undefined : t + shift);
    delete marks.origin;
    steps.push({
      ...marks,
      'Alice: hears of Bob': onBobs(theirs['peer joined']),
      'Alice: offer in': onBobs(theirs['remote description']),
      'Alice: answer': onBobs(theirs['local description']),
      'first frame': ms,
    });
  }
  await alice.context().close();
  await bobContext.close();
  return ms;
}

/** The median time of each step over the runs, in the order they happen. */
function printSteps(steps) {
  const names = [...new Set(steps.flatMap((s) => Object.keys(s)))];
  const rows = names
    .map((name) => [name, median(steps.map((s) => s[name]).filter((t) => t !== undefined))])
    .sort((a, b) => a[1] - b[1]);
  console.log('\nwhere the time goes (median ms after navigation start, Bob\'s page;');
  console.log('local/remote description: Bob makes the offer, takes the answer):');
  for (const [name, t] of rows) console.log(`  ${name.padEnd(20)} ${t.toFixed(0).padStart(5)}`);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function weight(urls) {
  const rows = [];
  for (const url of [...urls].filter((u) => u.startsWith(BASE)).sort()) {
    rows.push({
      url: url.slice(BASE.length),
      raw: await rawSize(url, 'identity'),
      gzip: await rawSize(url, 'gzip'),
      br: await rawSize(url, 'br'),
    });
  }
  return rows;
}

/** Bytes on the wire for one encoding, read with a plain HTTP request. */
async function rawSize(url, encoding) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { 'accept-encoding': encoding } }, (res) => {
        let n = 0;
        res.on('data', (chunk) => (n += chunk.length));
        res.on('end', () => resolve({ bytes: n, encoding: res.headers['content-encoding'] ?? 'identity' }));
      })
      .on('error', reject);
  });
}

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

const server = spawn('./target/release/moim', ['--config', 'end2end/server.toml', '--addr', `127.0.0.1:${PORT}`], { cwd: root, stdio: 'ignore' });
try {
  await waitForServer();
  const browser = await launch();
  const loaded = new Set();
  await oneRun(browser, null); // warm-up: first compile of the WASM module
  const times = [];
  const steps = [];
  for (let i = 0; i < RUNS; i++) {
    const ms = await oneRun(browser, i === 0 ? loaded : null, steps);
    times.push(ms);
    console.log(`run ${i + 1}: ${ms.toFixed(0)} ms`);
  }
  await floorRun(browser, BASE); // warm-up
  const floors = [];
  for (let i = 0; i < RUNS; i++) {
    const ms = await floorRun(browser, BASE);
    floors.push(ms);
    console.log(`floor run ${i + 1}: ${ms.toFixed(0)} ms`);
  }
  await browser.close();
  const moim = median(times);
  const floor = median(floors);
  console.log(`call setup (room page opened -> first remote frame), median of ${RUNS}: ${moim.toFixed(0)} ms`);
  console.log(`floor (bare page, loopback peer connection), median of ${RUNS}: ${floor.toFixed(0)} ms`);
  console.log(`call setup / floor: ${(moim / floor).toFixed(2)}x (budget: <= 2x)`);
  printSteps(steps);

  const rows = await weight(loaded);
  const total = { raw: 0, gzip: 0, br: 0 };
  console.log('\nroom page weight, as served:');
  for (const r of rows) {
    console.log(`  ${r.url.padEnd(40)} raw ${kb(r.raw.bytes).padStart(10)}  gzip ${kb(r.gzip.bytes).padStart(10)}  br ${kb(r.br.bytes).padStart(10)}`);
    total.raw += r.raw.bytes;
    total.gzip += r.gzip.bytes;
    total.br += r.br.bytes;
  }
  console.log(`room page total (${rows.length} files): raw ${kb(total.raw)}, gzip ${kb(total.gzip)}, brotli ${kb(total.br)} (budget: brotli <= 250 KB)`);
} finally {
  server.kill('SIGTERM');
}
