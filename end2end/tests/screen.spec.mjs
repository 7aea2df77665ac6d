// The call screen as people meet it: a phone held upright, the keyboard
// shortcuts, and the two themes with readable contrast. With SCREENSHOTS
// set, the README's pictures of the call screen are taken here.
import { test, expect } from '@playwright/test';
import {
  person, join, hydrated, tile, watch, expectVideoAdvancing, finish, newMeeting, deviceSettings,
} from './people.mjs';
import { contrastProblems } from './axe.mjs';

test.afterEach(finish);

const shots = !!process.env.SCREENSHOTS;

test('on a phone held upright nothing scrolls sideways and every control is in reach', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const alice = await join(browser, url, 'Alice', { page });
  const phone = await person(browser, {
    viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, colorScheme: 'light',
  });
  await join(browser, url, 'Bob', { page: phone });
  await expectVideoAdvancing(phone, 'Alice');
  await expectVideoAdvancing(alice, 'Bob');

  const size = await phone.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth, window.innerHeight]);
  expect(size[0], 'no horizontal scroll').toBeLessThanOrEqual(size[1]);
  const bar = phone.getByRole('toolbar', { name: 'Call controls' });
  const buttons = await bar.getByRole('button').all();
  expect(buttons.length).toBeGreaterThanOrEqual(7);
  const rows = new Set();
  for (const button of buttons) {
    const box = await button.boundingBox();
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(size[1]);
    expect(box.y + box.height).toBeLessThanOrEqual(size[2]);
    // Big enough for a thumb (WCAG 2.5.8 asks for 24 px; 40 is comfortable).
    expect(Math.min(box.width, box.height)).toBeGreaterThanOrEqual(40);
    rows.add(Math.round(box.y));
  }
  expect(rows.size, 'the bar is one row').toBe(1);
  await expect(tile(phone, 'Bob (you)')).toBeInViewport();
  await expect(tile(phone, 'Alice')).toBeInViewport();
  // Stacked: one above the other, each the phone's width.
  const mine = await tile(phone, 'Bob (you)').boundingBox();
  const theirs = await tile(phone, 'Alice').boundingBox();
  expect(Math.abs(mine.x - theirs.x)).toBeLessThan(2);
  expect(mine.y).not.toBe(theirs.y);

  // A narrower phone (360 px) still has the bar in one row, on screen.
  await phone.setViewportSize({ width: 360, height: 740 });
  const narrow = new Set();
  for (const button of buttons) {
    const box = await button.boundingBox();
    expect(box.x + box.width).toBeLessThanOrEqual(360);
    narrow.add(Math.round(box.y));
  }
  expect(narrow.size, 'the bar is one row at 360 px').toBe(1);
  expect(await phone.evaluate(() => document.documentElement.scrollWidth <= innerWidth)).toBe(true);
  await phone.setViewportSize({ width: 390, height: 844 });

  // The More menu opens within the screen too.
  await bar.getByRole('button', { name: 'More', exact: true }).click();
  const menu = phone.getByRole('group', { name: 'More' });
  for (const item of await menu.getByRole('button').all()) await expect(item).toBeInViewport();
  await phone.keyboard.press('Escape');
  await expect(menu).toBeHidden();
  await focusNothing(phone);
  if (shots) await phone.screenshot({ path: '../docs/phone-call.png' });
});

/** Moves the focus off any control, as after a click on the picture. */
const focusNothing = (page) => page.evaluate(() => document.activeElement?.blur());

test('each shortcut does its job, none fires while typing, and Space talks only while held', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const alice = await join(browser, url, 'Alice', { page });
  const bar = alice.getByRole('toolbar', { name: 'Call controls' });
  await expectVideoAdvancing(alice, 'Alice (you)');
  await focusNothing(alice);

  await alice.keyboard.press('m');
  await expect(bar.getByRole('button', { name: 'Unmute microphone' })).toHaveAttribute('aria-pressed', 'false');
  // Push-to-talk: the microphone is on while Space is down, and only then.
  await alice.keyboard.down('Space');
  await expect(bar.getByRole('button', { name: 'Mute microphone' })).toBeVisible();
  expect(await alice.evaluate(() => window.scrollY)).toBe(0);
  await alice.keyboard.up('Space');
  await expect(bar.getByRole('button', { name: 'Unmute microphone' })).toBeVisible();
  await alice.keyboard.press('m');
  await expect(bar.getByRole('button', { name: 'Mute microphone' })).toBeVisible();
  // Space while the microphone is on changes nothing.
  await alice.keyboard.down('Space');
  await alice.keyboard.up('Space');
  await expect(bar.getByRole('button', { name: 'Mute microphone' })).toBeVisible();

  await alice.keyboard.press('v');
  await expect(bar.getByRole('button', { name: 'Turn camera on' })).toHaveAttribute('aria-pressed', 'false');
  await alice.keyboard.press('v');
  await expect(bar.getByRole('button', { name: 'Turn camera off' })).toBeVisible();

  await alice.keyboard.press('s');
  await expect(bar.getByRole('button', { name: 'Stop sharing' })).toHaveAttribute('aria-pressed', 'true');
  await alice.keyboard.press('s');
  await expect(bar.getByRole('button', { name: 'Share screen' })).toBeVisible();

  await alice.keyboard.press('?');
  const keys = alice.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await expect(keys).toBeVisible();
  await expect(keys).toContainText('Hold to talk while muted');
  await alice.keyboard.press('Escape');
  await expect(keys).toHaveCount(0);

  // C opens the chat; what is typed there stays text.
  await focusNothing(alice);
  await alice.keyboard.press('c');
  const box = alice.getByRole('textbox', { name: 'Message' });
  await expect(box).toBeVisible();
  await box.focus();
  await alice.keyboard.type('mvsc ?');
  await expect(box).toHaveValue('mvsc ?');
  await expect(bar.getByRole('button', { name: 'Mute microphone' })).toBeVisible();
  await expect(bar.getByRole('button', { name: 'Turn camera off' })).toBeVisible();
  await expect(bar.getByRole('button', { name: 'Share screen' })).toBeVisible();
  await expect(alice.getByRole('complementary', { name: 'Chat' })).toBeVisible();
  await expect(alice.getByRole('dialog')).toHaveCount(0);
  await focusNothing(alice);
  await alice.keyboard.press('c');
  await expect(alice.getByRole('complementary', { name: 'Chat' })).toHaveCount(0);

  // Turned off in Settings (kept in this browser): single keys do nothing.
  const settings = await deviceSettings(alice);
  await settings.getByRole('checkbox', { name: /Single-key shortcuts/ }).uncheck();
  await alice.keyboard.press('Escape');
  await focusNothing(alice);
  await alice.keyboard.press('m');
  await alice.keyboard.press('c');
  await expect(bar.getByRole('button', { name: 'Mute microphone' })).toBeVisible();
  await expect(alice.getByRole('complementary', { name: 'Chat' })).toHaveCount(0);
  expect(await alice.evaluate(() => localStorage.getItem('moim.shortcuts'))).toBe('off');

  // Every control is reachable by Tab, with a visible focus ring.
  await focusNothing(alice);
  const reached = new Set();
  for (let i = 0; i < 40 && reached.size < 7; i++) {
    await alice.keyboard.press('Tab');
    const focused = await alice.evaluate(() => {
      const el = document.activeElement;
      if (!el?.closest('[role=toolbar]')) return null;
      const style = getComputedStyle(el);
      return { name: el.getAttribute('aria-label'), ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 };
    });
    if (focused) {
      expect(focused.ring, `${focused.name} shows where the focus is`).toBe(true);
      reached.add(focused.name);
    }
  }
  expect([...reached]).toEqual(
    expect.arrayContaining(['Mute microphone', 'Turn camera off', 'Share screen', 'Chat', 'People', 'More', 'Leave']),
  );
});

for (const scheme of ['dark', 'light']) {
  test(`the ${scheme} theme: every text readable (WCAG AA contrast)`, async ({ browser }) => {
    const options = { colorScheme: scheme, locale: scheme === 'dark' ? 'ko-KR' : 'en-US' };
    const host = await person(browser, options);
    watch(host, 'host');
    await host.goto('/');
    await hydrated(host);
    expect(await contrastProblems(host), 'home page').toEqual([]);
    await host.getByRole('button', { name: scheme === 'dark' ? '새 회의' : 'New meeting' }).click();
    await expect(host).toHaveURL(/\/r\/[0-9a-f-]{36}$/);
    const url = host.url();
    await hydrated(host);
    expect(await contrastProblems(host), 'prejoin page').toEqual([]);

    const names = scheme === 'dark' ? ['민준', '서연'] : ['Alice', 'Bob'];
    const nameLabel = scheme === 'dark' ? '이름' : 'Your name';
    const joinName = scheme === 'dark' ? '참여' : 'Join';
    await host.getByLabel(nameLabel).fill(names[0]);
    await host.getByRole('button', { name: joinName, exact: true }).click();
    const guest = await person(browser, options);
    watch(guest, 'guest');
    await guest.goto(url);
    await hydrated(guest);
    await guest.getByLabel(nameLabel).fill(names[1]);
    await guest.getByRole('button', { name: joinName, exact: true }).click();
    await expectVideoAdvancing(host, names[1]);
    await expectVideoAdvancing(guest, names[0]);
    // The chat open, with a line in it, as a call usually looks.
    const chat = scheme === 'dark' ? '채팅' : 'Chat';
    await guest.getByRole('button', { name: chat, exact: true }).click();
    await guest.getByRole('textbox', { name: scheme === 'dark' ? '메시지' : 'Message' }).fill(
      scheme === 'dark' ? '안녕하세요! 화면 잘 보여요.' : 'Hello! I can see you.',
    );
    await guest.keyboard.press('Enter');
    await host.getByRole('button', { name: new RegExp(`^${chat}`) }).click();
    await expect(host.locator('.chat-line')).toHaveCount(1);
    await focusNothing(host);
    expect(await contrastProblems(host), 'call screen').toEqual([]);
    await host.getByRole('button', { name: scheme === 'dark' ? '더보기' : 'More', exact: true }).click();
    expect(await contrastProblems(host), 'More menu').toEqual([]);
    await host.keyboard.press('Escape');
    await focusNothing(host);
    await host.screenshot({ path: shots ? `../docs/call-${scheme}.png` : test.info().outputPath(`call-${scheme}.png`) });
  });
}
