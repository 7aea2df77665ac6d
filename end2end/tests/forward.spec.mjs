// Rooms beyond the mesh: the server's forwarding unit.
import { test, expect } from '@playwright/test';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import {
  expectLiveAudio, expectVideoAdvancing, finish, frameGaps, join, lines, more, openChat, ownServer, person, probe, say, tile,
  watchFrames,
} from './people.mjs';

test.afterEach(finish);

/** Counts the page's RTCPeerConnections that are not closed. */
function countConnections() {
  const made = [];
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    made.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
  window.moimOpenConnections = () => made.filter((pc) => pc.connectionState !== 'closed').length;
}

/** A person who counts their connections, joined as `name`. */
async function counted(browser, url, name) {
  const page = await person(browser, { viewport: { width: 640, height: 480 } });
  await page.addInitScript(countConnections);
  return join(browser, url, name, { page });
}

const open = (page) => page.evaluate(() => window.moimOpenConnections());

/**
 * Runs `body(url, server)` in a fresh room of a server of the test's own
 * whose rooms move to forwarding past `meshMax` people; stops it after.
 */
async function withForwarding(port, meshMax, body) {
  const server = ownServer(port, { settings: `rooms_per_address_hour = 1000\n[forward]\nmesh_max = ${meshMax}\n` });
  await server.start();
  try {
    await body(await server.newRoom(), server);
  } finally {
    await server.stop();
  }
}

/** Every person sees every other one's picture move, on one connection. */
async function everyoneSeesEveryone(people) {
  for (const [name, page] of Object.entries(people)) {
    for (const other of Object.keys(people).filter((n) => n !== name)) await expectVideoAdvancing(page, other);
    await expect.poll(() => open(page), { message: `${name} has one connection`, timeout: 15_000 }).toBe(1);
  }
}

test('a room that grows past the mesh moves to the server, and every tile keeps moving', async ({ browser }) => {
  test.setTimeout(120_000);
  await withForwarding(3112, 2, async (url) => {
    const alice = await counted(browser, url, 'Alice');
    const bob = await counted(browser, url, 'Bob');
    await expectVideoAdvancing(alice, 'Bob');
    await expectVideoAdvancing(bob, 'Alice');
    expect(await open(alice), 'a mesh of two: one connection each').toBe(1);
    await expect(alice.getByRole('note', { name: /pass through the server/ })).toHaveCount(0);
    await watchFrames(alice, 'Bob');
    await watchFrames(bob, 'Alice');

    const carol = await counted(browser, url, 'Carol');
    const people = { Alice: alice, Bob: bob, Carol: carol };
    // Everyone is on the server now: one connection each, to it.
    await everyoneSeesEveryone(people);
    for (const page of Object.values(people)) {
      expect(await page.evaluate(() => window.moimUplink?.connectionState)).toBe('connected');
    }
    // The move darkened no tile: Alice and Bob saw each other all along.
    await alice.waitForTimeout(2_000);
    for (const [page, name] of [[alice, 'Bob'], [bob, 'Alice']]) {
      const { frames, seconds, longest } = await frameGaps(page, name);
      console.log(`${name} through the move: ${frames} frames in ${seconds.toFixed(1)} s, longest gap ${longest} ms`);
      expect(longest, `${name}'s video never stopped for more than a second`).toBeLessThan(1_000);
    }
    await expect(tile(carol, 'Alice')).toBeVisible();
    // The screen says where the media goes now.
    await expect(carol.getByRole('note', { name: /pass through the server/ })).toHaveText('Via the server');
  });
});

const screenOf = (page, name) => page.getByRole('group', { name: `${name}'s screen`, exact: true });

test('in a forwarded room, chat (with the history for a late joiner), screen sharing and files work', async ({ browser }) => {
  test.setTimeout(120_000);
  await withForwarding(3113, 1, async (url) => {
    const alice = await counted(browser, url, 'Alice');
    const bob = await counted(browser, url, 'Bob');
    await expectVideoAdvancing(alice, 'Bob');
    await expectVideoAdvancing(bob, 'Alice');

    await openChat(bob);
    await say(alice, '안녕하세요, everyone');
    await expect.poll(() => lines(bob)).toEqual([['Alice', '안녕하세요, everyone']]);
    await say(bob, 'Hi Alice');
    await expect.poll(() => lines(alice)).toContainEqual(['Bob', 'Hi Alice']);

    // Carol comes late: the history comes from the others, through the server.
    const carol = await counted(browser, url, 'Carol');
    await expectVideoAdvancing(carol, 'Alice');
    await openChat(carol);
    await expect.poll(() => lines(carol)).toEqual([['Alice', '안녕하세요, everyone'], ['Bob', 'Hi Alice']]);

    await alice.getByRole('button', { name: 'Share screen' }).click();
    for (const page of [bob, carol]) {
      await expect(screenOf(page, 'Alice')).toBeVisible();
      await expectVideoAdvancing(page, "Alice's screen");
    }
    await alice.getByRole('button', { name: 'Stop sharing' }).click();
    await expect(screenOf(carol, 'Alice')).toHaveCount(0, { timeout: 2_000 });
    // Shared again: the same slot carries it.
    await alice.getByRole('button', { name: 'Share screen' }).click();
    await expectVideoAdvancing(carol, "Alice's screen");
    await expectVideoAdvancing(carol, 'Alice');
    for (const page of [alice, bob, carol]) expect(await open(page)).toBe(1);

    // A file goes browser to browser, on a connection made for it.
    const path = joinPath(mkdtempSync(joinPath(tmpdir(), 'moim-file-')), 'notes.bin');
    const data = randomBytes(300_000);
    writeFileSync(path, data);
    await bob.getByLabel('File to send to everyone').setInputFiles(path);
    const offer = carol.getByRole('group', { name: 'notes.bin from Bob' });
    await offer.getByRole('button', { name: 'Accept' }).click();
    const link = offer.getByRole('link', { name: 'Download notes.bin' });
    await expect(link).toBeVisible({ timeout: 30_000 });
    const [download] = await Promise.all([carol.waitForEvent('download'), link.click()]);
    const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
    expect(sha256(readFileSync(await download.path()))).toBe(sha256(data));
    await alice.getByRole('group', { name: 'notes.bin from Bob' }).getByRole('button', { name: 'Decline' }).click();
    // The tiles still come through the server.
    await expectVideoAdvancing(carol, 'Bob');
  });
});

test('six people in a forwarded room: five moving pictures each, one connection each, chat and a screen for all', async ({ browser }) => {
  test.setTimeout(240_000);
  await withForwarding(3114, 2, async (url) => {
    const names = ['Alice', 'Bob', 'Carol', 'Dan', 'Erin', 'Frank'];
    const people = {};
    for (const name of names.slice(0, 5)) people[name] = await counted(browser, url, name);
    await openChat(people.Bob);
    await say(people.Alice, 'before Frank came');
    await expect.poll(() => lines(people.Bob)).toEqual([['Alice', 'before Frank came']]);
    people.Frank = await counted(browser, url, 'Frank');
    await everyoneSeesEveryone(people);
    await openChat(people.Frank);
    await expect.poll(() => lines(people.Frank)).toEqual([['Alice', 'before Frank came']]);

    await people.Carol.getByRole('button', { name: 'Share screen' }).click();
    for (const name of names.filter((n) => n !== 'Carol')) {
      await expectVideoAdvancing(people[name], "Carol's screen");
    }
  });
});

test('a forwarded call comes back by itself after a server restart', async ({ browser }) => {
  test.setTimeout(120_000);
  await withForwarding(3115, 1, async (url, server) => {
    const alice = await counted(browser, url, 'Alice');
    const bob = await counted(browser, url, 'Bob');
    const carol = await counted(browser, url, 'Carol');
    const people = { Alice: alice, Bob: bob, Carol: carol };
    await expectVideoAdvancing(alice, 'Carol');

    await server.stop('SIGKILL');
    await server.start();
    await everyoneSeesEveryone(people);
    for (const [name, page] of Object.entries(people)) {
      await expect(page.locator('.tiles > .tile:not(.self)'), `${name} sees each other person once`).toHaveCount(2);
    }
  });
});

test('each receiver gets the camera layer that fits the tile it shows', async ({ browser }) => {
  test.setTimeout(120_000);
  await withForwarding(3117, 1, async (url) => {
    const alice = await join(browser, url, 'Alice', { page: await person(browser, { viewport: { width: 1280, height: 720 } }) });
    const bob = await counted(browser, url, 'Bob');
    await expectVideoAdvancing(alice, 'Bob');
    const width = () => tile(alice, 'Bob').locator('video').evaluate((v) => v.videoWidth);
    // Bob's camera is 640×360, sent as 320×180 and 640×360 (Chromium may
    // stop the bigger one for a while when short of CPU: then a big tile
    // gets what there is).
    try {
      await expect.poll(width, { timeout: 20_000, message: 'a big tile gets the whole picture' }).toBe(640);
    } catch (err) {
      console.log(JSON.stringify(await bob.evaluate(async () => [...(await window.moimUplink.getStats()).values()]
        .filter((s) => s.type === 'outbound-rtp' && s.kind === 'video')
        .map((s) => ({ rid: s.rid, w: s.frameWidth, fps: s.framesPerSecond, q: s.qualityLimitationReason, kf: s.keyFramesEncoded, pli: s.pliCount, bytes: s.bytesSent })))));
      console.log(JSON.stringify(await alice.evaluate(async () => [...(await window.moimUplink.getStats()).values()]
        .filter((s) => s.type === 'inbound-rtp' && s.kind === 'video')
        .map((s) => ({ w: s.frameWidth, fps: s.framesPerSecond, kf: s.keyFramesDecoded, pli: s.pliCount, bytes: s.bytesReceived })))));
      throw err;
    }

    await alice.setViewportSize({ width: 400, height: 300 });
    await expect.poll(width, { timeout: 20_000, message: 'a small tile gets a smaller layer' }).toBe(320);
    await expectVideoAdvancing(alice, 'Bob');

    await alice.setViewportSize({ width: 1280, height: 720 });
    try {
      await expect.poll(width, { timeout: 20_000, message: 'grown again, the whole picture again' }).toBe(640);
    } catch (err) {
      console.log(JSON.stringify(await alice.evaluate(async () => [...(await window.moimUplink.getStats()).values()]
        .filter((s) => s.type === 'inbound-rtp' && s.kind === 'video')
        .map((s) => ({ mid: s.mid, w: s.frameWidth, fps: s.framesPerSecond, dec: s.framesDecoded, kf: s.keyFramesDecoded, drop: s.framesDropped, fr: s.freezeCount, pli: s.pliCount, lost: s.packetsLost, bytes: s.bytesReceived })))));
      console.log(await tile(alice, 'Bob').locator('video').evaluate((v) => JSON.stringify({ w: v.videoWidth, tracks: v.srcObject?.getVideoTracks().map((t) => [t.id, t.readyState, t.muted]) })));
      console.log(JSON.stringify(await alice.evaluate(() => window.moimUplink.getReceivers().map((r) => [r.track.kind, r.track.id, r.track.readyState]))));
      throw err;
    }
    await expectVideoAdvancing(alice, 'Bob');
    await expectVideoAdvancing(bob, 'Alice');
  });
});

test('a lecture: one presenter, six watchers who see and hear it, send nothing, chat, and present when let', async ({ browser }) => {
  test.setTimeout(240_000);
  await withForwarding(3118, 4, async (url) => {
    const teacher = await join(browser, url, 'Teacher', { page: await person(browser, { viewport: { width: 640, height: 480 } }) });
    await teacher.getByRole('button', { name: 'People', exact: true }).click();
    const panel = teacher.getByRole('complementary', { name: 'People and room settings' });
    await panel.getByRole('checkbox', { name: /^Presenters only/ }).check();
    await expect(teacher.getByText('Lecture', { exact: true })).toBeVisible();

    const names = ['Ann', 'Ben', 'Cho', 'Dae', 'Eun', 'Fay'];
    const watchers = {};
    for (const name of names) {
      watchers[name] = await join(browser, url, name, { page: await person(browser, { viewport: { width: 480, height: 360 } }) });
    }
    for (const [name, page] of Object.entries(watchers)) {
      await expectVideoAdvancing(page, 'Teacher');
      await expectLiveAudio(page, 'Teacher');
      await expect(page.getByRole('status').filter({ hasText: 'You are watching this lecture' })).toBeVisible();
      for (const control of ['Share screen', 'Turn camera on', 'Turn camera off', 'Mute microphone', 'Unmute microphone']) {
        await expect(page.getByRole('button', { name: control }), `${name} has no ${control}`).toHaveCount(0);
      }
      // Nothing of the watcher's devices is open or sent.
      await expect
        .poll(() => page.evaluate(() => window.moimUplink.getSenders().filter((s) => s.track).length), { message: `${name} sends nothing` })
        .toBe(0);
      await expect(page.locator('.tiles > .tile'), `${name} sees the presenter alone`).toHaveCount(1);
    }
    // The presenter's screen shows no wall of watchers.
    await expect(teacher.locator('.tiles > .tile:not(.self)')).toHaveCount(0);

    await openChat(watchers.Ann);
    await openChat(teacher);
    await say(watchers.Ben, 'a question from the back');
    await expect.poll(() => lines(teacher)).toEqual([['Ben', 'a question from the back']]);
    await expect.poll(() => lines(watchers.Ann)).toEqual([['Ben', 'a question from the back']]);

    // The teacher lets Ann present: her camera reaches the others.
    await teacher.getByRole('button', { name: 'People', exact: true }).click();
    await panel.getByRole('button', { name: 'Let Ann present' }).click();
    await expect(watchers.Ann.getByRole('alert')).toContainText('let you present');
    await watchers.Ann.getByRole('button', { name: 'Turn camera on' }).click();
    await expectVideoAdvancing(watchers.Ben, 'Ann');
    await expectVideoAdvancing(teacher, 'Ann');
  });
});

test('in a forwarded room a recording shows REC to everyone and holds what its maker saw', async ({ browser }) => {
  test.setTimeout(120_000);
  await withForwarding(3119, 1, async (url) => {
    const alice = await counted(browser, url, 'Alice');
    const bob = await counted(browser, url, 'Bob');
    const carol = await counted(browser, url, 'Carol');
    await expectVideoAdvancing(carol, 'Alice');
    await expectVideoAdvancing(carol, 'Bob');
    await (await more(carol)).getByRole('button', { name: 'Start recording' }).click();
    for (const page of [alice, bob]) {
      await expect(page.getByRole('status', { name: 'Carol is recording this meeting' })).toBeVisible();
    }
    await carol.waitForTimeout(3_500);
    await (await more(carol)).getByRole('button', { name: 'Stop recording' }).click();
    await expect(alice.getByRole('status', { name: /recording this meeting/ })).toHaveCount(0);
    const bar = carol.getByRole('region', { name: 'Your recording' });
    await expect(bar).toContainText('Saved on the server.');
    const [download] = await Promise.all([
      carol.waitForEvent('download'),
      bar.getByRole('link', { name: /^Download recording/ }).click(),
    ]);
    const file = readFileSync(await download.path());
    const played = await probe(carol, { bytes: file });
    expect(played.duration).toBeGreaterThanOrEqual(2.5);
    expect(played.width).toBeGreaterThan(0);
    expect(played.played).toBeGreaterThan(0.2);
  });
});
