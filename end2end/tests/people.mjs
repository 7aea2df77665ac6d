// Helpers that act as people in a meeting: each person is a separate
// browser context (own storage, own fake camera and microphone).
import { expect, chromium } from '@playwright/test';
import { spawn } from 'node:child_process';
import { get as httpsGet } from 'node:https';
import { mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as join_ } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Uncaught errors and rejections, and Content-Security-Policy violations
 * (which Chromium reports on the console), seen on any person's page; a
 * test fails on any.
 */
export const pageErrors = [];

/** Browser contexts made for extra people; closed after each test. */
const contexts = [];

/**
 * A fresh browser context (one person), closed by `finish`; `options` are
 * Playwright's context options (locale, viewport, colorScheme…).
 */
export async function person(browser, options = {}) {
  const context = await browser.newContext(options);
  contexts.push(context);
  return context.newPage();
}

/**
 * Ends a test: closes every extra person (so no call keeps running into the
 * next test and loading the machine) and fails on uncaught page errors.
 */
export async function finish() {
  await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => {})));
  expect(pageErrors.splice(0), 'no uncaught errors on any page').toEqual([]);
}

/** Opens the home page and starts a new meeting; returns the room URL. */
export async function newMeeting(page) {
  await page.goto('/');
  await page.getByRole('button', { name: 'New meeting' }).click();
  await expect(page).toHaveURL(/\/r\/[0-9a-f-]{36}$/);
  return page.url();
}

/** Waits until the WebAssembly client has taken over the page. */
export async function hydrated(page) {
  await page.locator('html[data-hydrated]').waitFor({ timeout: 30_000 });
}

/** Collects a page's uncaught errors and policy violations into `pageErrors`. */
export function watch(page, name) {
  page.on('pageerror', (err) => pageErrors.push(`[${name}] ${err.message}`));
  page.on('console', (msg) => {
    if (msg.text().includes('Content Security Policy')) pageErrors.push(`[${name}] ${msg.text()}`);
  });
}

/** The prejoin form's and the bar's names, in each language moim speaks. */
const WORDS = {
  en: { name: 'Your name', join: 'Join', leave: 'Leave' },
  ko: { name: '이름', join: '참여', leave: '나가기' },
};

/**
 * A person in their own browser context who opens `url` and joins as
 * `name`; with `admitted: false` it only presses Join (the room may refuse).
 * With `korean: true` the browser asks for Korean, and the controls are
 * found by their Korean names.
 */
export async function join(browser, url, name, { page, admitted = true, korean = false } = {}) {
  if (!page) page = await person(browser, korean ? { locale: 'ko-KR' } : {});
  const words = WORDS[korean ? 'ko' : 'en'];
  watch(page, name);
  await page.goto(url);
  await hydrated(page);
  await page.getByLabel(words.name).fill(name);
  await page.getByRole('button', { name: words.join, exact: true }).click();
  if (admitted) await expect(page.getByRole('button', { name: words.leave })).toBeVisible();
  return page;
}

/** The tile of a participant, found by name as a screen reader would. */
export function tile(page, name) {
  return page.getByRole('group', { name, exact: true });
}

/** Frames rendered by a video element over about one second. */
export async function framesInOneSecond(video) {
  return video.evaluate(
    (v) =>
      new Promise((resolve) => {
        if (!v.srcObject || typeof v.requestVideoFrameCallback !== 'function') return resolve(0);
        let frames = 0;
        const onFrame = () => {
          frames += 1;
          v.requestVideoFrameCallback(onFrame);
        };
        v.requestVideoFrameCallback(onFrame);
        setTimeout(() => resolve(frames), 1000);
      }),
  );
}

/** Asserts that a participant's video shows moving pictures on `page`. */
export async function expectVideoAdvancing(page, name) {
  const video = tile(page, name).locator('video');
  await expect
    .poll(() => framesInOneSecond(video), {
      message: `${name}'s video should advance on this page`,
      timeout: 30_000,
    })
    .toBeGreaterThan(4);
}

/**
 * Counts the frames of `name`'s video on `page` from now on, and the longest
 * wait between two of them; read back with `frameGaps`.
 */
export async function watchFrames(page, name) {
  await tile(page, name).locator('video').evaluate((v) => {
    const watch = { frames: 0, start: performance.now(), last: performance.now(), longest: 0 };
    v.moimWatch = watch;
    const onFrame = (now) => {
      watch.frames += 1;
      watch.longest = Math.max(watch.longest, now - watch.last);
      watch.last = now;
      v.requestVideoFrameCallback(onFrame);
    };
    v.requestVideoFrameCallback(onFrame);
  });
}

export async function frameGaps(page, name) {
  return tile(page, name).locator('video').evaluate((v) => {
    const w = v.moimWatch;
    const now = performance.now();
    return { frames: w.frames, seconds: (now - w.start) / 1000, longest: Math.round(Math.max(w.longest, now - w.last)) };
  });
}

/** Alice and then Bob join `url`; returns both once each sees the other's video move. */
export async function aliceAndBob(browser, url) {
  const alice = await join(browser, url, 'Alice');
  const bob = await join(browser, url, 'Bob');
  await expectVideoAdvancing(alice, 'Bob');
  await expectVideoAdvancing(bob, 'Alice');
  return { alice, bob };
}

/** Asserts that a participant's tile carries a live audio track. */
export async function expectLiveAudio(page, name) {
  const video = tile(page, name).locator('video');
  await expect
    .poll(() =>
      video.evaluate((v) => !!v.srcObject && v.srcObject.getAudioTracks().some((t) => t.readyState === 'live')),
    )
    .toBe(true);
}

/**
 * A second Chromium whose every permission prompt is answered "deny"
 * (camera, microphone and screen), beside the test's own browser where the
 * fake devices are allowed. The caller closes it.
 */
export async function denyingBrowser() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream=deny',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

/**
 * A moim server of the test's own (so the test may kill it), on `port`,
 * with its own data directory that survives its restarts.
 */
export function ownServer(port, { settings, https = false } = {}) {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const dataDir = mkdtempSync(join_(tmpdir(), 'moim-e2e-'));
  const base = `${https ? 'https' : 'http'}://127.0.0.1:${port}`;
  // Settings of its own (TOML text), or the repository's Leptos.toml.
  const env = { ...process.env };
  if (settings) {
    env.MOIM_CONFIG = join_(dataDir, 'settings.toml');
    writeFileSync(env.MOIM_CONFIG, settings);
  }
  let child = null;
  return {
    base,
    /** Starts the server and waits until it answers. */
    async start() {
      // MOIM_E2E_LOG=<file>: the server's log goes there (for debugging a test).
      const log = process.env.MOIM_E2E_LOG ? openSync(process.env.MOIM_E2E_LOG, 'a') : 'ignore';
      child = spawn('./target/debug/moim', ['--addr', `127.0.0.1:${port}`, '--data-dir', dataDir], {
        cwd: root,
        env,
        stdio: ['ignore', log, log],
      });
      // An HTTPS server's test certificate is its own: ask without checking
      // it. A port that accepts is not enough: the first page must come back.
      const up = https ? () => answersOverTls(base) : async () => (await fetch(base).catch(() => null))?.ok ?? false;
      await expect.poll(up, { timeout: 20_000 }).toBe(true);
    },
    /** Stops it with `signal` and waits for the process to end. */
    async stop(signal = 'SIGKILL') {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
    /** A fresh room on this server. */
    async newRoom() {
      const res = await fetch(`${base}/new`, { method: 'POST', redirect: 'manual' });
      return base + res.headers.get('location');
    },
  };
}

/** Whether `base` serves its home page over HTTPS (any certificate). */
function answersOverTls(base) {
  return new Promise((resolve) => {
    const req = httpsGet(base, { rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.setTimeout(2000, () => req.destroy());
    req.once('error', () => resolve(false));
  });
}

// Chat, as a person uses it.

export const chatButton = (page) => page.getByRole('button', { name: /^Chat/ });

export async function openChat(page) {
  if ((await chatButton(page).getAttribute('aria-pressed')) !== 'true') await chatButton(page).click();
  await expect(page.getByRole('complementary', { name: 'Chat' })).toBeVisible();
}

export async function say(page, text) {
  await openChat(page);
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('textbox', { name: 'Message' }).press('Enter');
}

/** The chat as the page shows it: [name, text] per line. */
export async function lines(page) {
  return page.locator('.chat-line').evaluateAll((ls) =>
    ls.map((l) => [l.querySelector('.who').textContent, l.querySelector('.text').textContent]),
  );
}

/** Opens the call bar's More menu (unless open) and returns it. */
export async function more(page) {
  const button = page.getByRole('button', { name: 'More', exact: true });
  if ((await button.getAttribute('aria-expanded')) !== 'true') await button.click();
  const menu = page.getByRole('group', { name: 'More', exact: true });
  await expect(menu).toBeVisible();
  return menu;
}

/** Opens the Settings dialog from the More menu and returns it. */
export async function deviceSettings(page) {
  await (await more(page)).getByRole('button', { name: 'Settings', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Settings' });
  await expect(dialog).toBeVisible();
  return dialog;
}

/** Loads WebM bytes (or a URL) into a <video> on `page`: its duration, size, and whether it plays. */
export async function probe(page, { bytes, url }) {
  return page.evaluate(
    async ({ b64, url }) => {
      const src = url ?? URL.createObjectURL(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'video/webm' }));
      const v = document.createElement('video');
      v.muted = true;
      v.src = src;
      await new Promise((ok, fail) => {
        v.onloadedmetadata = ok;
        v.onerror = () => fail(new Error(`cannot load: ${v.error?.message}`));
      });
      await v.play();
      await new Promise((ok) => setTimeout(ok, 700));
      return { duration: v.duration, width: v.videoWidth, height: v.videoHeight, played: v.currentTime };
    },
    { b64: bytes?.toString('base64'), url },
  );
}
