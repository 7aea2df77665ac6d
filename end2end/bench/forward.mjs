// Six people forwarded against the same six in a mesh (`make bench`,
// section 6), and the sixth joiner's call setup against the floor.
//
// Runs the release server twice on 127.0.0.1:3203, with `mesh_max` 8 (the
// room stays a mesh) and then 1 (forwarded from the second person). Each
// time five people join one room, each in a browser context of its own
// with the fake camera (640x360, as moim asks for) and a 640x480 window;
// then the sixth opens the room page, which clicks Join itself the moment
// it has hydrated, and the time from its navigation start to the first
// rendered frame of each of the five others is taken on its own clock.
// Once all are in, the call runs SECONDS (default 20) and every person's
// incoming videos are read from getStats (window.moimPeers in a mesh,
// window.moimUplink when forwarded): frames decoded per second over the
// window and Chromium's freeze count. Prints the slowest stream, the
// freezes, and the sixth joiner's times beside the floor (floor.mjs) taken
// in the same run.
import { launch } from './chromium.mjs';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { floorRun } from './floor.mjs';

const SECONDS = Number(process.env.SECONDS ?? 20);
const RUNS = Number(process.env.RUNS ?? 3);
const PEOPLE = ['Ana', 'Ben', 'Cai', 'Dee', 'Eve', 'Fin'];
const PORT = 3203;
const BASE = `http://127.0.0.1:${PORT}`;
const root = fileURLToPath(new URL('../..', import.meta.url));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Every incoming video of a page: frames decoded, freezes, size. */
const inbound = (page) =>
  page.evaluate(async () => {
    const pcs = [...(window.moimPeers?.values() ?? []), ...(window.moimUplink ? [window.moimUplink] : [])];
    const out = [];
    for (const pc of pcs) {
      if (pc.connectionState === 'closed') continue;
      for (const s of (await pc.getStats()).values()) {
        if (s.type === 'inbound-rtp' && s.kind === 'video' && s.framesDecoded > 0) {
          out.push({ id: s.id, frames: s.framesDecoded, freezes: s.freezeCount ?? 0, width: s.frameWidth });
        }
      }
    }
    return out;
  });

/** Joins the page by itself at hydration, as `name`. */
const AUTO_JOIN = (name) => {
  new MutationObserver((_, observer) => {
    if (!document.documentElement.hasAttribute('data-hydrated')) return;
    observer.disconnect();
    const input = document.getElementById('name');
    input.value = name;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    [...document.querySelectorAll('button')].find((b) => b.textContent.trim() === 'Join').click();
  }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-hydrated'] });
};

/** On the page: ms from navigation start to the first frame of each named tile. */
const firstFrames = (names) =>
  Promise.all(
    names.map(
      (name) =>
        new Promise((resolve) => {
          const look = () => {
            const v = document.querySelector(`figure[aria-label="${name}"] video`);
            if (v && v.srcObject) v.requestVideoFrameCallback((now) => resolve(now));
            else setTimeout(look, 5);
          };
          look();
        }),
    ),
  );

async function startServer(meshMax) {
  const config = join(mkdtempSync(join(tmpdir(), 'moim-forward-bench-')), 'moim.toml');
  const shared = readFileSync(join(root, 'end2end/server.toml'), 'utf8');
  writeFileSync(config, `${shared}\n[forward]\nmesh_max = ${meshMax}\n`);
  const server = spawn(
    process.env.MOIM_BIN ?? './target/release/moim',
    ['--config', config, '--addr', `127.0.0.1:${PORT}`, '--data-dir', mkdtempSync(join(tmpdir(), 'moim-forward-data-'))],
    { cwd: root, stdio: 'ignore' },
  );
  for (let i = 0; ; i++) {
    if ((await fetch(BASE).catch(() => null))?.ok) return server;
    if (i > 100) throw new Error('server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function joinAs(browser, url, name) {
  const page = await (await browser.newContext({ viewport: { width: 640, height: 480 } })).newPage();
  await page.goto(url);
  await page.locator('html[data-hydrated]').waitFor();
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  return page;
}

/** One room of six; returns the sixth joiner's times and the streams' figures. */
async function room(browser, how) {
  const res = await fetch(`${BASE}/new`, { method: 'POST', redirect: 'manual' });
  const url = BASE + res.headers.get('location');
  const pages = [];
  for (const name of PEOPLE.slice(0, 5)) pages.push(await joinAs(browser, url, name));
  for (const [i, page] of pages.entries()) {
    await page.evaluate(firstFrames, PEOPLE.slice(0, 5).filter((_, j) => j !== i));
  }
  const sixth = await (await browser.newContext({ viewport: { width: 640, height: 480 } })).newPage();
  await sixth.addInitScript(AUTO_JOIN, PEOPLE[5]);
  await sixth.goto(url);
  const frames = await sixth.evaluate(firstFrames, PEOPLE.slice(0, 5));
  pages.push(sixth);
  await new Promise((r) => setTimeout(r, 3000)); // let the encoders settle
  const before = await Promise.all(pages.map(inbound));
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const after = await Promise.all(pages.map(inbound));
  let slowest = Infinity;
  let freezes = 0;
  let streams = 0;
  pages.forEach((_, i) => {
    for (const end of after[i]) {
      const start = before[i].find((s) => s.id === end.id);
      if (!start) continue;
      slowest = Math.min(slowest, (end.frames - start.frames) / SECONDS);
      freezes += end.freezes - start.freezes;
      streams += 1;
    }
  });
  for (const page of pages) await page.context().close();
  console.log(
    `${how}: sixth joiner's first picture ${Math.min(...frames).toFixed(0)} ms, all five ${Math.max(...frames).toFixed(0)} ms; ` +
      `${streams} streams, slowest ${slowest.toFixed(1)} fps, ${freezes} freezes in ${SECONDS} s`,
  );
  return { first: Math.min(...frames), all: Math.max(...frames), slowest, freezes };
}

const browser = await launch();
const results = {};
for (const [how, meshMax] of [['mesh', 8], ['forwarded', 1]]) {
  const server = await startServer(meshMax);
  try {
    results[how] = [];
    for (let i = 0; i < RUNS; i++) results[how].push(await room(browser, how));
  } finally {
    server.kill('SIGTERM');
  }
}
const floorServer = await startServer(8);
const floors = [];
try {
  await floorRun(browser, BASE); // warm-up
  for (let i = 0; i < RUNS; i++) floors.push(await floorRun(browser, BASE));
} finally {
  floorServer.kill('SIGTERM');
}
await browser.close();
const floor = median(floors);
console.log(`\nfloor (bare page, loopback peer connection), median of ${RUNS}: ${floor.toFixed(0)} ms`);
for (const [how, runs] of Object.entries(results)) {
  const all = median(runs.map((r) => r.all));
  console.log(
    `${how}, median of ${RUNS}: sixth joiner sees all five after ${all.toFixed(0)} ms (${(all / floor).toFixed(2)}x floor), ` +
      `first after ${median(runs.map((r) => r.first)).toFixed(0)} ms; slowest stream ${median(runs.map((r) => r.slowest)).toFixed(1)} fps, ` +
      `${median(runs.map((r) => r.freezes))} freezes`,
  );
}
