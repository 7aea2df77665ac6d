// Files sent browser to browser over the files data channel.
import { test, expect } from '@playwright/test';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { newMeeting, finish, aliceAndBob } from './people.mjs';

test.afterEach(finish);

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** A file of random bytes on disk. */
function randomFile(name, bytes) {
  const path = joinPath(mkdtempSync(joinPath(tmpdir(), 'moim-file-')), name);
  const data = randomBytes(bytes);
  writeFileSync(path, data);
  return { path, data };
}

/** Records every progress value a page shows, to tell later that it moved. */
async function watchProgress(page) {
  await page.evaluate(() => {
    window.seenProgress = [];
    new MutationObserver((changes) => {
      for (const c of changes) {
        if (c.target.tagName === 'PROGRESS') window.seenProgress.push([Number(c.target.value), Number(c.target.max)]);
      }
    }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['value'] });
  });
}

const inBetween = (page) =>
  page.evaluate(() => window.seenProgress.filter(([v, max]) => v > 0 && v < max).length);

test('a 20 MB file arrives intact, with progress on both sides', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const { alice, bob } = await aliceAndBob(browser, url);
  await watchProgress(alice);
  await watchProgress(bob);
  const file = randomFile('big.bin', 20 * 1024 * 1024);

  await alice.getByLabel('File to send to everyone').setInputFiles(file.path);
  const offer = bob.getByRole('group', { name: 'big.bin from Alice' });
  await expect(offer).toContainText('Alice sends big.bin (21.0 MB)');
  await expect(alice.getByRole('group', { name: 'big.bin to Bob' })).toContainText('waiting for Bob to accept');
  const started = Date.now();
  await offer.getByRole('button', { name: 'Accept' }).click();

  const link = offer.getByRole('link', { name: 'Download big.bin' });
  await expect(link).toBeVisible({ timeout: 60_000 });
  console.log(`20 MiB moved and checked in ${Date.now() - started} ms`);
  await expect(alice.getByRole('group', { name: 'big.bin to Bob' })).toContainText('delivered');
  const [download] = await Promise.all([bob.waitForEvent('download'), link.click()]);
  expect(download.suggestedFilename()).toBe('big.bin');
  expect(sha256(readFileSync(await download.path()))).toBe(sha256(file.data));
  expect(await inBetween(alice), 'the sender saw progress').toBeGreaterThan(0);
  expect(await inBetween(bob), 'the receiver saw progress').toBeGreaterThan(0);
});

test('a declined file is not sent, and says so', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const { alice, bob } = await aliceAndBob(browser, url);
  const file = randomFile('notes.txt', 1000);
  await alice.getByLabel('File to send to everyone').setInputFiles(file.path);
  const offer = bob.getByRole('group', { name: 'notes.txt from Alice' });
  await offer.getByRole('button', { name: 'Decline' }).click();
  await expect(offer).toContainText('You declined it.');
  await expect(alice.getByRole('group', { name: 'notes.txt to Bob' })).toContainText('Bob declined it.');
  await bob.getByRole('button', { name: 'Dismiss notes.txt from Alice' }).click();
  await expect(offer).toHaveCount(0);
});

/** Alice sends Bob an 80 MB `name`; returns once Bob's bar has moved. */
async function halfwayThrough(browser, page, name) {
  const url = await newMeeting(page);
  const { alice, bob } = await aliceAndBob(browser, url);
  await alice.getByLabel('File to send to everyone').setInputFiles(randomFile(name, 80 * 1024 * 1024).path);
  const offer = bob.getByRole('group', { name: `${name} from Alice` });
  await offer.getByRole('button', { name: 'Accept' }).click();
  await expect.poll(() => offer.getByRole('progressbar').evaluate((p) => p.value)).toBeGreaterThan(0);
  return { alice, bob, offer };
}

test('the sender leaving mid-transfer is said plainly on the other side', async ({ browser, page }) => {
  const { alice, offer } = await halfwayThrough(browser, page, 'film.bin');
  await alice.getByRole('button', { name: 'Leave' }).click();
  await expect(offer).toContainText('Alice left before sending all of it.');
  await expect(offer.getByRole('link')).toHaveCount(0);
});

test('the receiver cancelling mid-transfer stops the sender, with a message on both sides', async ({ browser, page }) => {
  const { alice, offer } = await halfwayThrough(browser, page, 'archive.bin');
  await offer.getByRole('button', { name: 'Cancel' }).click();
  await expect(offer).toContainText('You cancelled it.');
  const sending = alice.getByRole('group', { name: 'archive.bin to Bob' });
  await expect(sending).toContainText('Bob cancelled it.');
  // The sender stopped: its bar moves no more.
  const at = await sending.getByRole('progressbar').evaluate((p) => p.value);
  await alice.waitForTimeout(1_000);
  expect(await sending.getByRole('progressbar').evaluate((p) => p.value)).toBe(at);
});

test('a received file is only saved, never opened as a page, and its name cannot turn around', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const { alice, bob } = await aliceAndBob(browser, url);
  // U+202E would make "notes‮lmth.txt" read as "notestxt.html".
  await alice.getByLabel('File to send to everyone').setInputFiles({
    name: 'notes\u202Elmth.txt',
    mimeType: 'text/html',
    buffer: Buffer.from('<script>parent.document.title = "run as moim"</script>'),
  });
  const offer = bob.getByRole('group', { name: 'noteslmth.txt from Alice' });
  await offer.getByRole('button', { name: 'Accept' }).click();
  const link = offer.getByRole('link', { name: 'Download noteslmth.txt' });
  await expect(link).toBeVisible();
  // Opened from its link in a tab, it is saved, not shown as a page of
  // moim's origin (a blob: URL has the origin of the page that made it).
  const tab = await bob.context().newPage();
  const [saved] = await Promise.all([tab.waitForEvent('download'), tab.goto(await link.getAttribute('href')).catch(() => {})]);
  expect(await saved.failure()).toBeNull();
  expect(await bob.title()).not.toBe('run as moim');
});
