// Screen sharing: real getDisplayMedia (Chromium's fake screen), real WebRTC.
import { test, expect } from '@playwright/test';
import { newMeeting, join, tile, expectVideoAdvancing, finish, denyingBrowser } from './people.mjs';

test.afterEach(finish);

const screenOf = (page, name) => page.getByRole('group', { name: `${name}'s screen`, exact: true });

test('a shared screen appears for the others and goes when stopped, either way', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const alice = await join(browser, url, 'Alice', { page });
  const bob = await join(browser, url, 'Bob');
  await expectVideoAdvancing(bob, 'Alice');

  await alice.getByRole('button', { name: 'Share screen' }).click();
  await expect(alice.getByText('You are sharing your screen')).toBeVisible();
  await expect(screenOf(bob, 'Alice')).toBeVisible();
  await expectVideoAdvancing(bob, "Alice's screen");
  // The camera stays on beside the screen.
  await expectVideoAdvancing(bob, 'Alice');
  if (process.env.SCREENSHOTS) {
    await bob.screenshot({ path: '../docs/screen-share.png' });
  }

  await alice.getByRole('button', { name: 'Stop sharing' }).click();
  await expect(screenOf(bob, 'Alice')).toHaveCount(0, { timeout: 2_000 });
  await expect(alice.getByText('You are sharing your screen')).toHaveCount(0);

  // Share again, then end the track as the browser's own stop control does.
  await alice.getByRole('button', { name: 'Share screen' }).click();
  await expectVideoAdvancing(bob, "Alice's screen");
  await alice.evaluate(() => {
    const track = document.querySelector('.share-preview').srcObject.getVideoTracks()[0];
    track.stop();
    track.dispatchEvent(new Event('ended'));
  });
  await expect(screenOf(bob, 'Alice')).toHaveCount(0, { timeout: 2_000 });
  await expect(alice.getByRole('button', { name: 'Share screen' })).toBeEnabled();
  await expectVideoAdvancing(bob, 'Alice');
});

test('someone who joins during a share sees it, and two can share at once', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const alice = await join(browser, url, 'Alice', { page });
  const bob = await join(browser, url, 'Bob');
  await alice.getByRole('button', { name: 'Share screen' }).click();
  await expectVideoAdvancing(bob, "Alice's screen");
  await bob.getByRole('button', { name: 'Share screen' }).click();
  await expectVideoAdvancing(alice, "Bob's screen");

  const carol = await join(browser, url, 'Carol');
  await expectVideoAdvancing(carol, "Alice's screen");
  await expectVideoAdvancing(carol, "Bob's screen");
  await expectVideoAdvancing(carol, 'Alice');
  await expectVideoAdvancing(carol, 'Bob');
});

test('a refused screen picker leaves the call as it was', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const alice = await join(browser, url, 'Alice', { page });
  const refusing = await denyingBrowser();
  try {
    const viewer = await join(refusing, url, 'Viewer');
    await expectVideoAdvancing(viewer, 'Alice');
    await viewer.getByRole('button', { name: 'Share screen' }).click();
    // A refusal is the person's own choice: the button comes back, with no
    // error to read.
    await expect(viewer.getByRole('button', { name: 'Share screen' })).toBeEnabled();
    await expect(viewer.getByRole('alert')).toHaveCount(0);
    await expectVideoAdvancing(viewer, 'Alice');
    await expect(tile(alice, 'Viewer')).toBeVisible();
    await expect(screenOf(alice, 'Viewer')).toHaveCount(0);
  } finally {
    await refusing.close();
  }
});
