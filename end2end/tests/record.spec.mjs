// Recording the meeting: the REC badge for everyone, the file offered for
// download, the upload that survives a closed tab, the Recordings page.
import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { newMeeting, join, finish, aliceAndBob, person, denyingBrowser } from './people.mjs';

test.afterEach(finish);

const recBadge = (page) => page.getByRole('status', { name: /recording this meeting/ });

/** Loads WebM bytes (or a URL) into a <video> on `page`: its duration, size, and whether it plays. */
async function probe(page, { bytes, url }) {
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

test('a recording shows REC to everyone, is offered for download and plays', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const { alice, bob } = await aliceAndBob(browser, url);

  await alice.getByRole('button', { name: 'Start recording' }).click();
  await expect(recBadge(bob)).toHaveAccessibleName('Alice is recording this meeting');
  await expect(recBadge(alice)).toHaveAccessibleName('You are recording this meeting');
  await expect(alice.getByRole('region', { name: 'Your recording' })).toContainText('Recording 0:0');
  await alice.waitForTimeout(4_500);
  if (process.env.SCREENSHOTS) await alice.screenshot({ path: '../docs/recording.png' });
  await alice.getByRole('button', { name: 'Stop recording' }).click();
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
});

test('a tab closed while recording leaves a recording on the server that plays', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const { alice, bob } = await aliceAndBob(browser, url);
  await alice.getByRole('button', { name: 'Start recording' }).click();
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
    await watcher.getByRole('button', { name: 'Start recording' }).click();
    await expect(recBadge(camera)).toHaveAccessibleName('Control room is recording this meeting');
    await watcher.waitForTimeout(3_500);
    await watcher.getByRole('button', { name: 'Stop recording' }).click();
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
