// Mesh quality benchmark (`make bench`, section 5).
//
// Four participants join one room on the release server (port 3202), each
// in its own browser context with the fake camera (capture at 640x360, as
// moim asks for). After the mesh is up, the call runs for SECONDS (default
// 30); then every participant's getStats is read (through window.moimPeers)
// for each of its three incoming videos: frames decoded per second over the
// window, and Chrome's freeze count. Prints each receiver and stream, and the
// worst figures against the budget (>= 15 fps, 0 freezes).
import { launch } from './chromium.mjs';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SECONDS = Number(process.env.SECONDS ?? 30);
const PEOPLE = ['Ana', 'Ben', 'Cai', 'Dee'];
const PORT = 3202;
const BASE = `http://127.0.0.1:${PORT}`;
const root = fileURLToPath(new URL('../..', import.meta.url));

/** Per incoming video: frames decoded, freezes, and the receiving size. */
const inbound = (page) =>
  page.evaluate(async () => {
    const out = [];
    for (const [id, pc] of window.moimPeers) {
      const stats = await pc.getStats();
      for (const s of stats.values()) {
        if (s.type === 'inbound-rtp' && s.kind === 'video' && s.framesDecoded > 0) {
          out.push({ id, frames: s.framesDecoded, freezes: s.freezeCount ?? 0, width: s.frameWidth, height: s.frameHeight });
        }
      }
    }
    return out;
  });

const server = spawn('./target/release/moim', ['--config', 'end2end/server.toml', '--addr', `127.0.0.1:${PORT}`, '--data-dir', mkdtempSync(join(tmpdir(), 'moim-mesh-'))], {
  cwd: root,
  stdio: 'ignore',
});
try {
  for (let i = 0; ; i++) {
    if ((await fetch(BASE).catch(() => null))?.ok) break;
    if (i > 100) throw new Error('server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const res = await fetch(`${BASE}/new`, { method: 'POST', redirect: 'manual' });
  const url = BASE + res.headers.get('location');
  const browser = await launch();
  const pages = [];
  for (const name of PEOPLE) {
    const page = await (await browser.newContext()).newPage();
    await page.goto(url);
    await page.locator('html[data-hydrated]').waitFor();
    await page.getByLabel('Your name').fill(name);
    await page.getByRole('button', { name: 'Join', exact: true }).click();
    pages.push(page);
  }
  for (const page of pages) {
    await page.waitForFunction(
      (n) => [...(window.moimPeers?.values() ?? [])].filter((pc) => pc.connectionState === 'connected').length === n,
      PEOPLE.length - 1,
      { timeout: 60_000 },
    );
  }
  await new Promise((r) => setTimeout(r, 3000)); // let the encoders settle
  const before = await Promise.all(pages.map(inbound));
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const after = await Promise.all(pages.map(inbound));
  let worstFps = Infinity;
  let freezes = 0;
  pages.forEach((_, i) => {
    for (const end of after[i]) {
      const start = before[i].find((s) => s.id === end.id) ?? { frames: 0, freezes: 0 };
      const fps = (end.frames - start.frames) / SECONDS;
      const froze = end.freezes - start.freezes;
      worstFps = Math.min(worstFps, fps);
      freezes += froze;
      console.log(`${PEOPLE[i]} receives ${end.width}x${end.height}: ${fps.toFixed(1)} fps, ${froze} freezes`);
    }
  });
  console.log(
    `mesh of ${PEOPLE.length} for ${SECONDS} s: slowest stream ${worstFps.toFixed(1)} fps, ${freezes} freezes in all (budget: >= 15 fps, 0 freezes)`,
  );
  await browser.close();
} finally {
  server.kill('SIGTERM');
}
