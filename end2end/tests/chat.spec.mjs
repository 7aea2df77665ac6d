// In-call chat over the peer connections' data channels.
import { test, expect } from '@playwright/test';
import { newMeeting, join, finish, openChat, say, lines, chatButton, person } from './people.mjs';

test.afterEach(finish);

test('messages arrive with the right names, and unread ones are counted', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const alice = await join(browser, url, 'Alice', { page });
  const bob = await join(browser, url, 'Bob');
  await expect(alice.locator('.tiles > .tile:not(.self)')).toHaveCount(1);

  await say(alice, 'Hello Bob');
  await expect(chatButton(bob)).toHaveAccessibleName('Chat, 1 unread');
  await say(alice, 'Are you there?');
  await expect(chatButton(bob)).toHaveAccessibleName('Chat, 2 unread');

  await openChat(bob);
  await expect(chatButton(bob)).toHaveAccessibleName('Chat');
  await expect.poll(() => lines(bob)).toEqual([['Alice', 'Hello Bob'], ['Alice', 'Are you there?']]);

  // Shift+Enter makes a new line; Enter sends.
  const box = bob.getByRole('textbox', { name: 'Message' });
  await box.pressSequentially('Yes!');
  await box.press('Shift+Enter');
  await box.pressSequentially('Two lines.');
  await box.press('Enter');
  await expect(box).toHaveValue('');
  await expect.poll(() => lines(alice)).toEqual([
    ['Alice', 'Hello Bob'],
    ['Alice', 'Are you there?'],
    ['Bob', 'Yes!\nTwo lines.'],
  ]);
});

test('a message over 4,000 characters is refused with a clear message', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const alice = await join(browser, url, 'Alice', { page });
  const bob = await join(browser, url, 'Bob');
  await expect(alice.locator('.tiles > .tile:not(.self)')).toHaveCount(1);
  await openChat(bob);
  await say(alice, 'x'.repeat(4001));
  await expect(alice.getByRole('alert').filter({ hasText: 'at most 4,000 characters' }).first()).toBeVisible();
  await expect(alice.getByRole('textbox', { name: 'Message' })).toHaveValue('x'.repeat(4001));
  await say(alice, 'x'.repeat(4000));
  await expect.poll(() => lines(bob)).toEqual([['Alice', 'x'.repeat(4000)]]);
});

test('a late joiner gets the history once, in order', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const alice = await join(browser, url, 'Alice', { page });
  const bob = await join(browser, url, 'Bob');
  await expect(alice.locator('.tiles > .tile:not(.self)')).toHaveCount(1);
  await openChat(alice);
  await openChat(bob);
  const said = [];
  for (let i = 1; i <= 3; i++) {
    await say(alice, `from Alice ${i}`);
    said.push(['Alice', `from Alice ${i}`]);
    await expect.poll(() => lines(bob)).toContainEqual(said.at(-1));
    await say(bob, `from Bob ${i}`);
    said.push(['Bob', `from Bob ${i}`]);
    await expect.poll(() => lines(alice)).toContainEqual(said.at(-1));
  }

  const carol = await join(browser, url, 'Carol');
  await openChat(carol);
  // Both Alice and Bob answer Carol's request; each message shows once.
  await expect.poll(() => lines(carol)).toEqual(said);
  await carol.waitForTimeout(500);
  expect(await lines(carol)).toEqual(said);
});

test('names and messages with HTML or script are shown as text', async ({ browser, page }) => {
  let dialogs = 0;
  const url = await newMeeting(page);
  const alice = await join(browser, url, '<script>alert(1)</script>', { page });
  const bob = await join(browser, url, 'Bob');
  for (const p of [alice, bob]) p.on('dialog', async (d) => { dialogs += 1; await d.dismiss(); });
  await expect(bob.locator('.tiles > .tile:not(.self)')).toHaveCount(1);

  await say(alice, '<img src=x onerror=alert(1)> see https://example.org/x and javascript:alert(2)');
  await openChat(bob);
  await expect.poll(() => lines(bob)).toEqual([
    ['<script>alert(1)</script>', '<img src=x onerror=alert(1)> see https://example.org/x and javascript:alert(2)'],
  ]);
  await expect(bob.locator('.chat-line img, .chat-line script')).toHaveCount(0);
  const links = bob.locator('.chat-line a');
  await expect(links).toHaveCount(1);
  await expect(links).toHaveAttribute('href', 'https://example.org/x');
  await expect(links).toHaveAttribute('rel', 'noopener noreferrer');
  await expect(bob.getByRole('group', { name: '<script>alert(1)</script>', exact: true })).toBeVisible();
  expect(dialogs).toBe(0);
});

// Mallory runs a modified browser: her page hands the test its chat
// channels and what the server tells it, and the test speaks through them.
const tapChat = () => {
  window.tapped = { chat: [], server: [] };
  const create = RTCPeerConnection.prototype.createDataChannel;
  RTCPeerConnection.prototype.createDataChannel = function (label, init) {
    const channel = create.call(this, label, init);
    if (label === 'chat') window.tapped.chat.push(channel);
    return channel;
  };
  const Socket = window.WebSocket;
  window.WebSocket = class extends Socket {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => window.tapped.server.push(JSON.parse(e.data)));
    }
  };
};

test('chat history speaks only for its authors, and is bounded', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const alice = await join(browser, url, 'Alice', { page });
  const bob = await join(browser, url, 'Bob');
  await expect(alice.locator('.tiles > .tile:not(.self)')).toHaveCount(1);
  await openChat(bob);
  await say(alice, 'hello from Alice');
  await expect.poll(() => lines(bob)).toEqual([['Alice', 'hello from Alice']]);

  const mallory = await person(browser);
  await mallory.addInitScript(tapChat);
  await join(browser, url, 'Mallory', { page: mallory });
  await expect(mallory.locator('.tiles > .tile:not(.self)')).toHaveCount(2);
  await expect.poll(() => mallory.evaluate(() => window.tapped.chat.filter((c) => c.readyState === 'open').length)).toBe(2);
  await mallory.evaluate(() => {
    const welcome = window.tapped.server.find((m) => m.type === 'welcome');
    const aliceId = welcome.peers.find((p) => p.name === 'Alice').id;
    const line = (from, name, text, time = Date.now()) => ({ id: crypto.randomUUID(), from, name, time, text });
    const send = (messages) => window.tapped.chat.forEach((c) => c.send(JSON.stringify({ type: 'history', messages })));
    // Words put in the mouth of someone in the room, and of someone gone.
    send([line(aliceId, 'Alice', 'forged by Mallory'), line(crypto.randomUUID(), 'Zed', 'from someone gone')]);
    // And far more history than anyone keeps, all older than the rest.
    const long_ago = Date.now() - 3_600_000;
    for (let batch = 0; batch < 30; batch++) {
      send(Array.from({ length: 50 }, (_, i) => line(crypto.randomUUID(), 'Ghost', `old ${batch * 50 + i}`, long_ago + batch * 50 + i)));
    }
  });
  const zed = bob.locator('.chat-line', { hasText: 'from someone gone' });
  await expect(zed.locator('.via')).toHaveText('(passed on by Mallory)');
  await expect.poll(() => bob.locator('.chat-line').count()).toBeGreaterThan(900);
  const shown = await lines(bob);
  expect(shown.length).toBeLessThanOrEqual(1000);
  expect(shown.filter(([, text]) => text === 'forged by Mallory')).toEqual([]);
  expect(shown.filter(([, text]) => text === 'hello from Alice')).toEqual([['Alice', 'hello from Alice']]);
  // The oldest went first.
  expect(shown.slice(-2)).toEqual([['Alice', 'hello from Alice'], ['Zed', 'from someone gone']]);
});
