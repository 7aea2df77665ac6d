// The call foundation, as people would use it: real Chromium, real WebRTC,
// fake camera and microphone, one browser context per person.
import { test, expect } from '@playwright/test';
import {
  newMeeting, join, tile, expectVideoAdvancing, expectLiveAudio, hydrated, finish, person, denyingBrowser, watch,
  ownServer, more, deviceSettings,
} from './people.mjs';

test.afterEach(finish);

test('two people see and hear each other', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const alice = await join(browser, url, 'Alice', { page });
  const bob = await join(browser, url, 'Bob');

  await expectVideoAdvancing(alice, 'Bob');
  await expectVideoAdvancing(bob, 'Alice');
  await expectLiveAudio(alice, 'Bob');
  await expectLiveAudio(bob, 'Alice');
  // Each sees their own preview too, named as themselves.
  await expect(tile(alice, 'Alice (you)')).toBeVisible();
});

test('three people each see two others', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const people = {
    Alice: await join(browser, url, 'Alice', { page }),
    Bob: await join(browser, url, 'Bob'),
    Carol: await join(browser, url, 'Carol'),
  };
  for (const [me, p] of Object.entries(people)) {
    await expect(p.locator('.tiles > .tile:not(.self)')).toHaveCount(2);
    for (const other of Object.keys(people).filter((n) => n !== me)) {
      await expectVideoAdvancing(p, other);
    }
  }
  // Each camera is encoded once per peer: in a call of three, each sender
  // is capped for two (peer/quality.rs).
  const caps = () =>
    people.Alice.evaluate(() =>
      [...window.moimPeers.values()].map((pc) => {
        const video = pc.getSenders().find((s) => s.track?.kind === 'video');
        const [encoding] = video.getParameters().encodings;
        return [encoding.maxBitrate, encoding.maxFramerate];
      }),
    );
  await expect.poll(caps).toEqual([[600_000, 24], [600_000, 24]]);
  // When Carol leaves, Alice's one remaining connection gets the two-person caps.
  await people.Carol.getByRole('button', { name: 'Leave' }).click();
  await expect.poll(caps).toEqual([[1_000_000, 30]]);
});

test('people who leave or close the tab vanish within 2 s', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const alice = await join(browser, url, 'Alice', { page });
  const bob = await join(browser, url, 'Bob');
  const carol = await join(browser, url, 'Carol');
  await expect(tile(alice, 'Bob')).toBeVisible();
  await expect(tile(alice, 'Carol')).toBeVisible();

  await bob.getByRole('button', { name: 'Leave' }).click();
  await expect(bob.getByRole('heading', { name: 'You left the meeting' })).toBeVisible();
  await expect(tile(alice, 'Bob')).toHaveCount(0, { timeout: 2_000 });
  await expect(tile(carol, 'Bob')).toHaveCount(0, { timeout: 2_000 });

  await carol.close();
  await expect(tile(alice, 'Carol')).toHaveCount(0, { timeout: 2_000 });
  await expect(alice.locator('.tiles > .tile:not(.self)')).toHaveCount(0);
});

test('a muted microphone and a camera turned off show on the other side', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const alice = await join(browser, url, 'Alice', { page });
  const bob = await join(browser, url, 'Bob');
  await expectVideoAdvancing(bob, 'Alice');
  const aliceOnBob = tile(bob, 'Alice');
  await expect(aliceOnBob.getByRole('img', { name: 'Microphone muted' })).toHaveCount(0);

  await alice.getByRole('button', { name: 'Mute microphone' }).click();
  await expect(aliceOnBob.getByRole('img', { name: 'Microphone muted' })).toBeVisible();
  await alice.getByRole('button', { name: 'Unmute microphone' }).click();
  await expect(aliceOnBob.getByRole('img', { name: 'Microphone muted' })).toHaveCount(0);

  await alice.getByRole('button', { name: 'Turn camera off' }).click();
  await expect(aliceOnBob.getByRole('img', { name: 'Camera off' })).toBeVisible();
  // The camera is released, not just hidden.
  await expect
    .poll(() => alice.evaluate(() => document.querySelector('.tile.self video').srcObject?.getVideoTracks().length ?? 0))
    .toBe(0);

  await alice.getByRole('button', { name: 'Turn camera on' }).click();
  await expect(aliceOnBob.getByRole('img', { name: 'Camera off' })).toHaveCount(0);
  await expectVideoAdvancing(bob, 'Alice');
});

test('switching microphone in the call keeps the same connection', async ({ browser, page }) => {
  // Count peer connections as they are made (the real ones, only counted).
  await page.addInitScript(() => {
    const Real = window.RTCPeerConnection;
    window.__peerConnections = 0;
    window.RTCPeerConnection = function (...args) {
      window.__peerConnections += 1;
      return new Real(...args);
    };
    window.RTCPeerConnection.prototype = Real.prototype;
  });
  const url = await newMeeting(page);
  const alice = await join(browser, url, 'Alice', { page });
  const bob = await join(browser, url, 'Bob');
  await expectVideoAdvancing(alice, 'Bob');

  const picker = (await deviceSettings(alice)).getByRole('combobox', { name: 'Microphone' });
  const options = await picker.locator('option').evaluateAll((os) => os.map((o) => ({ value: o.value, label: o.textContent })));
  test.skip(options.length < 2, 'this browser offers only one microphone');
  const before = await alice.evaluate(() => window.__peerConnections);
  const current = await picker.inputValue();
  const next = options.find((o) => o.value !== current);
  await picker.selectOption(next.value);
  await expect
    .poll(() => alice.evaluate(() => document.querySelector('.tile.self video').srcObject?.getAudioTracks()[0]?.label))
    .toBe(next.label);
  expect(await alice.evaluate(() => window.__peerConnections)).toBe(before);
  await expectLiveAudio(bob, 'Alice');
  await expectVideoAdvancing(bob, 'Alice');
});

test('someone who denies camera and microphone is told so and can still watch', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const alice = await join(browser, url, 'Alice', { page });

  // A second browser whose permission prompts are all answered "deny".
  const denying = await denyingBrowser();
  try {
    const viewer = await (await denying.newContext()).newPage();
    await viewer.goto(url);
    await hydrated(viewer);
    await expect(viewer.getByRole('alert')).toContainText('permission was denied');
    await expect(viewer.getByRole('alert')).toContainText('watch and listen');
    await join(denying, url, 'Viewer', { page: viewer });

    await expectVideoAdvancing(viewer, 'Alice');
    await expectLiveAudio(viewer, 'Alice');
    await expect(viewer.getByRole('button', { name: 'Turn camera on' })).toBeDisabled();
    // Alice sees the viewer, with camera and microphone off.
    await expect(tile(alice, 'Viewer').getByRole('img', { name: 'Camera off' })).toBeVisible();
    await expect(tile(alice, 'Viewer').getByRole('img', { name: 'Microphone muted' })).toBeVisible();
  } finally {
    await denying.close();
  }
});

test('a Join click that lands before the page has hydrated is not lost', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const alice = await join(browser, url, 'Alice', { page });

  const bob = await person(browser);
  // Hold the WebAssembly back until Bob has clicked Join.
  let release;
  const held = new Promise((resolve) => (release = resolve));
  await bob.route('**/pkg/*.wasm', async (route) => {
    await held;
    try {
      await route.continue();
    } catch {
      // The first page's request went away when the form navigated.
    }
  });
  await bob.goto(url);
  await bob.getByLabel('Your name').fill('Bob');
  await bob.getByRole('button', { name: 'Join', exact: true }).click();
  await expect(bob).toHaveURL(/[?&]join=/);
  release();

  await expect(bob.getByRole('button', { name: 'Leave' })).toBeVisible();
  await expectVideoAdvancing(bob, 'Alice');
  await expectVideoAdvancing(alice, 'Bob');
});

test('a Join pressed while the camera opens joins once it is open, after the early socket timed out', async ({
  browser,
}) => {
  // The page opens the signaling socket as soon as Join is pressed, while
  // the camera is still opening. Here the camera takes 2.5 s and the server
  // drops sockets that have not joined within 1 s: the join must still go
  // through, on a new socket.
  const server = ownServer(3109, { settings: 'join_timeout_secs = 1\n' });
  await server.start();
  try {
    const alice = await person(browser);
    watch(alice, 'Alice');
    await alice.goto(`${server.base}/`);
    await alice.getByRole('button', { name: 'New meeting' }).click();
    await expect(alice).toHaveURL(/\/r\/[0-9a-f-]{36}$/);
    const url = alice.url();
    await join(browser, url, 'Alice', { page: alice });

    const bob = await person(browser);
    watch(bob, 'Bob');
    await bob.addInitScript(() => {
      const open = MediaDevices.prototype.getUserMedia;
      MediaDevices.prototype.getUserMedia = function (...args) {
        return new Promise((resolve) => setTimeout(resolve, 2500)).then(() => open.apply(this, args));
      };
    });
    await bob.goto(url);
    await hydrated(bob);
    await bob.getByLabel('Your name').fill('Bob');
    await bob.getByRole('button', { name: 'Join', exact: true }).click();
    await expect(bob.getByText('Joining as soon as your camera and microphone are ready')).toBeVisible();
    // The call screen shows at once; recording waits until Bob is in.
    const record = (await more(bob)).getByRole('button', { name: 'Start recording' });
    await expect(record).toBeDisabled();

    await expect(record).toBeEnabled({ timeout: 10_000 });
    await expectVideoAdvancing(bob, 'Alice');
    await expectVideoAdvancing(alice, 'Bob');
    await expect(alice.getByRole('group', { name: /^Bob/ })).toHaveCount(1);
  } finally {
    await server.stop();
  }
});

test('the home page works without JavaScript', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/');
  await page.getByRole('button', { name: 'New meeting' }).click();
  await expect(page).toHaveURL(/\/r\/[0-9a-f-]{36}$/);
  const room = page.url().split('/r/')[1];
  await expect(page.getByText(room)).toBeVisible();
  await expect(page.getByLabel('Your name')).toBeVisible();

  await page.goto('/');
  await page.getByLabel('Meeting link or code').fill(`http://elsewhere.example/r/${room}`);
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/r/${room}$`));
});
