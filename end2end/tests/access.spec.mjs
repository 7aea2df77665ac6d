// Room access as people meet it: the host's "Room settings" panel, a
// password asked for before joining, a locked room, a removal, host-only
// screen sharing, and a full room. The person who opens a room first is
// its host.
import { test, expect } from '@playwright/test';
import {
  newMeeting, join, hydrated, tile, aliceAndBob, expectVideoAdvancing, finish, ownServer,
} from './people.mjs';

test.afterEach(finish);

const screenOf = (page, name) => page.getByRole('group', { name: `${name}'s screen`, exact: true });

async function openSettings(page) {
  const button = page.getByRole('button', { name: 'People', exact: true });
  if ((await button.getAttribute('aria-pressed')) !== 'true') await button.click();
  const panel = page.getByRole('complementary', { name: 'People and room settings' });
  await expect(panel).toBeVisible();
  return panel;
}

/** A newcomer called `name` who opens `url` and presses Join; returns the page, in or not. */
const knock = (browser, url, name) => join(browser, url, name, { admitted: false });

test('a room password: asked for before joining, a wrong one refused, the right one admits', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const alice = await join(browser, url, 'Alice', { page });
  const panel = await openSettings(alice);
  await expect(panel.getByRole('status')).toHaveText('Anyone with the link can join.');
  await panel.getByLabel('Room password').fill('open sesame');
  await panel.getByRole('button', { name: 'Set password' }).click();
  await expect(panel.getByRole('status')).toHaveText("Newcomers need the room's password.");

  const bob = await knock(browser, url, 'Bob');
  await expect(bob.getByRole('alert')).toHaveText('This meeting needs a password.');
  const field = bob.getByLabel('Meeting password');
  await expect(field).toBeFocused();
  if (process.env.SCREENSHOTS) {
    await bob.screenshot({ path: '/tmp/password-prejoin.png' });
  }
  // Still on the prejoin form, camera preview running.
  await expectVideoAdvancing(bob, 'Bob (you)');

  await field.fill('open says me');
  await bob.getByRole('button', { name: 'Join', exact: true }).click();
  await expect(bob.getByRole('alert')).toHaveText('Wrong password.');
  await expect(tile(alice, 'Bob')).toHaveCount(0);

  await bob.getByLabel('Meeting password').fill('open sesame');
  await bob.getByRole('button', { name: 'Join', exact: true }).click();
  await expect(bob.getByRole('button', { name: 'Leave' })).toBeVisible();
  await expectVideoAdvancing(alice, 'Bob');
  await expectVideoAdvancing(bob, 'Alice');
  if (process.env.SCREENSHOTS) {
    await alice.screenshot({ path: '../docs/room-settings.png' });
  }

  // Only a host changes settings: Bob sees them, without the controls.
  const bobs = await openSettings(bob);
  await expect(bobs.getByText('Only a host can change these settings.')).toBeVisible();
  await expect(bobs.getByRole('checkbox', { name: 'Lock room' })).toBeDisabled();
  await expect(bobs.getByRole('button', { name: 'Set password' })).toHaveCount(0);
  await expect(bobs.getByRole('button', { name: 'Remove Alice' })).toHaveCount(0);
});

test('a locked room refuses a newcomer with a clear message, and lets them in once unlocked', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const alice = await join(browser, url, 'Alice', { page });
  const panel = await openSettings(alice);
  await panel.getByRole('checkbox', { name: 'Lock room' }).check();
  await expect(panel.getByRole('status')).toHaveText('The room is locked: nobody new can join.');
  await expect(alice.getByText('Locked', { exact: true })).toBeVisible();

  const carol = await knock(browser, url, 'Carol');
  await expect(carol.getByRole('heading', { name: 'You could not join' })).toBeVisible();
  await expect(carol.getByText('The host has locked this meeting.')).toBeVisible();
  await expect(tile(alice, 'Carol')).toHaveCount(0);
  // Refused before anything was set up: the camera is released.
  await expect.poll(() => carol.evaluate(() => document.querySelectorAll('video').length)).toBe(0);

  await panel.getByRole('checkbox', { name: 'Lock room' }).uncheck();
  await expect(panel.getByRole('status')).toHaveText('Anyone with the link can join.');
  await carol.getByRole('link', { name: 'Try again' }).click();
  await join(browser, url, 'Carol', { page: carol });
  await expectVideoAdvancing(alice, 'Carol');
});

test('a removed participant is disconnected at once and kept out', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const alice = await join(browser, url, 'Alice', { page });
  const bob = await join(browser, url, 'Bob');
  await expectVideoAdvancing(alice, 'Bob');

  const panel = await openSettings(alice);
  await panel.getByRole('button', { name: 'Remove Bob' }).click();
  await expect(bob.getByRole('heading', { name: 'You were removed from the meeting' })).toBeVisible();
  await expect(tile(alice, 'Bob')).toHaveCount(0);
  await expect(alice.getByText('Only you')).toBeVisible();
  // Bob's camera is released and his connection to Alice is gone.
  await expect.poll(() => bob.evaluate(() => document.querySelectorAll('video').length)).toBe(0);

  // Coming back from the same browser, even under another name, is refused.
  await bob.goto(url);
  await hydrated(bob);
  await bob.getByLabel('Your name').fill('Not Bob');
  await bob.getByRole('button', { name: 'Join', exact: true }).click();
  await expect(bob.getByText('The host removed you from this meeting.')).toBeVisible();
  await expect(tile(alice, 'Not Bob')).toHaveCount(0);
});

test('host-only screen sharing: the button is disabled for others, a running share stops, the server refuses', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const alice = await join(browser, url, 'Alice', { page });
  const bob = await join(browser, url, 'Bob');
  await expectVideoAdvancing(alice, 'Bob');

  await bob.getByRole('button', { name: 'Share screen' }).click();
  await expectVideoAdvancing(alice, "Bob's screen");

  const panel = await openSettings(alice);
  await panel.getByRole('checkbox', { name: 'Only hosts can share screens' }).check();
  await expect(screenOf(alice, 'Bob')).toHaveCount(0);
  await expect(bob.getByText('You are sharing your screen')).toHaveCount(0);
  await expect(bob.getByRole('alert')).toContainText('screen sharing host-only');
  await expect(bob.getByRole('button', { name: 'Share screen' })).toBeDisabled();
  await expect(alice.getByRole('button', { name: 'Share screen' })).toBeEnabled();

  // A client that ignores the disabled button is refused by the server.
  const refusal = await bob.evaluate(
    (room) =>
      new Promise((resolve) => {
        const ws = new WebSocket(`ws://${location.host}/ws`);
        ws.onopen = () =>
          ws.send(JSON.stringify({ type: 'join', version: 2, room, name: 'Mallory', media: { audio: false, video: false } }));
        ws.onmessage = (ev) => {
          const msg = JSON.parse(ev.data);
          if (msg.type === 'welcome') ws.send(JSON.stringify({ type: 'media', media: { audio: false, video: false, screen: true } }));
          if (msg.type === 'error') {
            resolve(msg.code);
            ws.close();
          }
        };
        setTimeout(() => resolve('no answer'), 5000);
      }),
    url.split('/').pop(),
  );
  expect(refusal).toBe('not_allowed');

  // The host still shares; a new host may share too.
  await alice.getByRole('button', { name: 'Share screen' }).click();
  await expectVideoAdvancing(bob, "Alice's screen");
  await panel.getByRole('button', { name: 'Make Bob a host' }).click();
  await expect(bob.getByRole('button', { name: 'Share screen' })).toBeEnabled();
  expect(await bob.evaluate((room) => localStorage.getItem(`moim-host-${room}`), url.split('/').pop())).toBeTruthy();

  // Taken back, Bob is a guest again, and his browser forgets the capability.
  await panel.getByRole('button', { name: 'Take host away from Bob' }).click();
  await expect(bob.getByRole('button', { name: 'Share screen' })).toBeDisabled();
  await expect(panel.getByRole('button', { name: 'Make Bob a host' })).toBeVisible();
  await expect
    .poll(() => bob.evaluate((room) => localStorage.getItem(`moim-host-${room}`), url.split('/').pop()))
    .toBeNull();
});

test('a full room refuses one more person with a clear message', async ({ browser }) => {
  const server = ownServer(3106, { settings: 'room_capacity = 2\n' });
  await server.start();
  try {
    const url = await server.newRoom();
    const { alice } = await aliceAndBob(browser, url);
    const carol = await knock(browser, url, 'Carol');
    await expect(carol.getByRole('heading', { name: 'You could not join' })).toBeVisible();
    await expect(carol.getByText('This room is full (2 people); try again when someone leaves.')).toBeVisible();
    await expect(tile(alice, 'Carol')).toHaveCount(0);
  } finally {
    await server.stop();
  }
});
