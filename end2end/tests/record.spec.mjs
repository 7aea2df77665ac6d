// Recording the meeting: the REC badge for everyone, the file offered for
// download, the upload that survives a closed tab, the Recordings page.
import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import {
  newMeeting, join, finish, aliceAndBob, person, denyingBrowser, tile, expectVideoAdvancing, expectLiveAudio, ownServer, more, probe,
} from './people.mjs';

test.afterEach(finish);

const recBadge = (page) => page.getByRole('status', { name: /recording this meeting/ });

test('a recording shows REC to everyone, is offered for download and plays', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const { alice, bob } = await aliceAndBob(browser, url);

  await (await more(alice)).getByRole('button', { name: 'Start recording' }).click();
  await expect(recBadge(bob)).toHaveAccessibleName('Alice is recording this meeting');
  await expect(recBadge(alice)).toHaveAccessibleName('You are recording this meeting');
  await expect(alice.getByRole('region', { name: 'Your recording' })).toContainText('Recording 0:0');
  await alice.waitForTimeout(4_500);
  if (process.env.SCREENSHOTS) await alice.screenshot({ path: '../docs/recording.png' });
  await (await more(alice)).getByRole('button', { name: 'Stop recording' }).click();
  await expect(recBadge(bob)).toHaveCount(0);
  await expect(recBadge(alice)).toHaveCount(0);

  const bar = alice.getByRole('region', { name: 'Your recording' });
  await expect(bar).toContainText('Saved on the server.');
  const [download] = await Promise.all([
    alice.waitForEvent('download'),
    bar.getByRole('link', { name: /^Download recording/ }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^moim-[0-9a-f]{8}-\d{4}-\d\d-\d\d-\d{4}\.webm$/);
  const file = readFileSync(await download.path());
  const local = await probe(alice, { bytes: file });
  expect(local.duration, 'the downloaded file says how long it is').toBeGreaterThanOrEqual(3);
  expect(local.duration).toBeLessThan(10);
  expect(local.width).toBeGreaterThan(0);
  expect(local.played).toBeGreaterThan(0.2);

  // The Recordings page lists the copy the server kept, and plays it.
  const list = await person(browser);
  await list.goto(`${url}/recordings`);
  const item = list.getByRole('article', { name: /^Recording by Alice on / });
  await expect(item).toHaveCount(1);
  await expect(item).not.toContainText('not stopped');
  const src = await item.locator('video').getAttribute('src');
  const stored = await probe(list, { url: src });
  expect(stored.duration).toBeGreaterThanOrEqual(3);
  expect(stored.width).toBeGreaterThan(0);
  expect(stored.played).toBeGreaterThan(0.2);
  // Seeking needs range requests.
  const ranged = await list.request.get(src, { headers: { Range: 'bytes=0-99' } });
  expect(ranged.status()).toBe(206);
  expect((await ranged.body()).length).toBe(100);
  const [saved] = await Promise.all([list.waitForEvent('download'), item.getByRole('link', { name: 'Download' }).click()]);
  expect(saved.suggestedFilename()).toMatch(/^moim-[0-9a-f]{8}-.*\.webm$/);

  // Only a host's browser offers Delete, and it asks first.
  await expect(item.getByRole('button', { name: /^Delete/ })).toHaveCount(0);
  const hostPage = await alice.context().newPage();
  await hostPage.goto(`${url}/recordings`);
  const mine = hostPage.getByRole('article', { name: /^Recording by Alice on / });
  const remove = mine.getByRole('button', { name: /^Delete: Recording by Alice on / });
  hostPage.once('dialog', (dialog) => dialog.dismiss());
  await remove.click();
  await expect(mine).toHaveCount(1);
  hostPage.once('dialog', (dialog) => dialog.accept());
  await remove.click();
  await expect(hostPage.getByText('Nothing has been recorded in this meeting yet.')).toBeVisible();
  expect((await list.request.get(src)).status()).toBe(404);
});

test('a tab closed while recording leaves a recording on the server that plays', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const { alice, bob } = await aliceAndBob(browser, url);
  await (await more(alice)).getByRole('button', { name: 'Start recording' }).click();
  await expect(recBadge(bob)).toBeVisible();
  await alice.waitForTimeout(5_500);
  // Closed with no warning: whatever was in flight is cut off.
  await alice.close();
  await expect(recBadge(bob)).toHaveCount(0);

  await bob.goto(`${url}/recordings`);
  const item = bob.getByRole('article', { name: /^Recording by Alice on / });
  await expect(item).toHaveCount(1);
  const stored = await probe(bob, { url: await item.locator('video').getAttribute('src') });
  expect(stored.duration, 'all but the last second is kept').toBeGreaterThanOrEqual(4);
  expect(stored.width).toBeGreaterThan(0);
  expect(stored.played).toBeGreaterThan(0.2);
});

test('someone without camera or microphone can record the others', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const camera = await join(browser, url, 'Camera', { page });
  // A receive-only browser: the camera and microphone are refused.
  const other = await denyingBrowser();
  try {
    const watcher = await join(other, url, 'Control room');
    await (await more(watcher)).getByRole('button', { name: 'Start recording' }).click();
    await expect(recBadge(camera)).toHaveAccessibleName('Control room is recording this meeting');
    await watcher.waitForTimeout(3_500);
    await (await more(watcher)).getByRole('button', { name: 'Stop recording' }).click();
    const bar = watcher.getByRole('region', { name: 'Your recording' });
    await expect(bar).toContainText('Saved on the server.');
    await camera.goto(`${url}/recordings`);
    const item = camera.getByRole('article', { name: /^Recording by Control room on / });
    const stored = await probe(camera, { url: await item.locator('video').getAttribute('src') });
    expect(stored.duration).toBeGreaterThanOrEqual(2);
    expect(stored.width).toBeGreaterThan(0);
  } finally {
    await other.close();
  }
});

/** A WebM clip of `seconds`, made in `page` from an animated canvas and a tone. */
async function makeClip(page, seconds) {
  const b64 = await page.evaluate(async (seconds) => {
    const canvas = Object.assign(document.createElement('canvas'), { width: 320, height: 240 });
    const g = canvas.getContext('2d');
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    const out = audio.createMediaStreamDestination();
    tone.connect(out);
    tone.start();
    const stream = new MediaStream([...canvas.captureStream(25).getTracks(), ...out.stream.getTracks()]);
    const recorder = new MediaRecorder(stream, { mimeType: 'video/webm' });
    const parts = [];
    recorder.ondataavailable = (e) => parts.push(e.data);
    let frame = 0;
    const timer = setInterval(() => {
      g.fillStyle = `hsl(${(frame * 7) % 360} 80% 50%)`;
      g.fillRect(0, 0, 320, 240);
      g.fillStyle = '#fff';
      g.fillText(String(frame++), 150, 120);
    }, 40);
    recorder.start();
    await new Promise((ok) => setTimeout(ok, seconds * 1000));
    await new Promise((ok) => {
      recorder.onstop = ok;
      recorder.stop();
    });
    clearInterval(timer);
    audio.close();
    const bytes = new Uint8Array(await new Blob(parts).arrayBuffer());
    let text = '';
    for (const b of bytes) text += String.fromCharCode(b);
    return btoa(text);
  }, seconds);
  return Buffer.from(b64, 'base64');
}

test('a video file played into the call reaches the others as a live tile, until it ends', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const { alice, bob } = await aliceAndBob(browser, url);
  const clip = await makeClip(alice, 6);
  await alice.getByLabel('Video to play into the call').setInputFiles({ name: 'clip.webm', mimeType: 'video/webm', buffer: clip });
  await expect(alice.getByText('You are playing clip.webm into the call')).toBeVisible();
  await expect((await more(alice)).getByRole('button', { name: 'Play a video' })).toBeDisabled();
  const shown = tile(bob, "Alice's screen");
  await expect(shown).toBeVisible();
  await expectVideoAdvancing(bob, "Alice's screen");
  await expectLiveAudio(bob, "Alice's screen");
  // The end of the video ends the share, for everyone.
  await expect(shown).toBeHidden({ timeout: 15_000 });
  await expect(alice.getByText('You are playing clip.webm into the call')).toHaveCount(0);
  await expect((await more(alice)).getByRole('button', { name: 'Play a video' })).toBeEnabled();
});

test('an upload cut off by a server restart catches up, and the stored recording is whole', async ({ browser }) => {
  const server = ownServer(3108);
  await server.start();
  try {
    const url = await server.newRoom();
    const alice = await join(browser, url, 'Alice');
    await (await more(alice)).getByRole('button', { name: 'Start recording' }).click();
    const bar = alice.getByRole('region', { name: 'Your recording' });
    await expect(bar).toContainText(/Saved on the server: 2 of/);
    await server.stop('SIGKILL');
    await alice.waitForTimeout(3_000);
    await server.start();
    // Everything recorded meanwhile goes up once the server is back.
    await expect(bar).toContainText(/Saved on the server: ([7-9]|\d\d) of/, { timeout: 30_000 });
    await (await more(alice)).getByRole('button', { name: 'Stop recording' }).click();
    await expect(bar).toContainText('Saved on the server.', { timeout: 20_000 });
    const seconds = Number((await bar.getByRole('status').textContent()).match(/(\d+):(\d\d)/).slice(1).reduce((m, s) => m * 60 + Number(s), 0));

    const list = await person(browser);
    await list.goto(`${url}/recordings`);
    const item = list.getByRole('article', { name: /^Recording by Alice on / });
    await expect(item).not.toContainText('not stopped');
    const stored = await probe(list, { url: await item.locator('video').getAttribute('src') });
    expect(stored.duration, 'nothing recorded while the server was away is missing').toBeGreaterThanOrEqual(seconds - 1);
    expect(stored.width).toBeGreaterThan(0);
  } finally {
    await server.stop();
  }
});
