// Korean and English: the server picks the language (a saved choice, then
// Accept-Language, then English) before any script runs; the page keeps it
// through hydration; a switch in the call changes every name at once and is
// remembered; the server's refusals are worded in the reader's language.
import { test, expect } from '@playwright/test';
import {
  person, join, hydrated, tile, watch, expectVideoAdvancing, finish, ownServer, lines,
} from './people.mjs';

test.afterEach(finish);

const korean = { locale: 'ko-KR' };
const english = { locale: 'en-US' };

/** A fresh room's address, made without a browser. */
async function newRoom(request) {
  const res = await request.post('/new', { maxRedirects: 0 });
  expect(res.status()).toBe(303);
  return res.headers().location;
}

/** The page as the server sends it, before any script could change it. */
async function rawHtml(request, path, acceptLanguage) {
  const res = await request.get(path, { headers: { 'Accept-Language': acceptLanguage } });
  expect(res.ok()).toBe(true);
  return res.text();
}

test('the server renders home and room in the browser language, and hydration keeps it', async ({ browser, request }) => {
  const room = await newRoom(request);

  const homeKo = await rawHtml(request, '/', 'ko-KR,ko;q=0.9,en;q=0.5');
  expect(homeKo).toContain('<html lang="ko"');
  expect(homeKo).toContain('새 회의');
  expect(homeKo).not.toContain('New meeting');
  const roomKo = await rawHtml(request, room, 'ko-KR');
  expect(roomKo).toContain('<html lang="ko"');
  expect(roomKo).toContain('회의 참여');
  expect(roomKo).toContain('<title>회의 · moim</title>');

  const homeEn = await rawHtml(request, '/', 'en-US,en;q=0.9');
  expect(homeEn).toContain('<html lang="en"');
  expect(homeEn).toContain('New meeting');
  expect(homeEn).not.toContain('새 회의');
  const roomEn = await rawHtml(request, room, 'en-US');
  expect(roomEn).toContain('<html lang="en"');
  expect(roomEn).toContain('Join the meeting');
  expect(roomEn).toContain('<title>Meeting · moim</title>');
  // A language moim does not speak falls back to English.
  expect(await rawHtml(request, '/', 'fr-FR,fr;q=0.9')).toContain('<html lang="en"');

  // After hydration the page is still in the language it arrived in.
  const page = await person(browser, korean);
  watch(page, 'ko');
  await page.goto(room);
  await hydrated(page);
  await expect(page.locator('html')).toHaveAttribute('lang', 'ko');
  await expect(page.getByRole('button', { name: '참여', exact: true })).toBeVisible();
  await expect(page.getByLabel('이름')).toBeVisible();
  await expect(page).toHaveTitle('회의 · moim');
  await page.goto('/');
  await hydrated(page);
  await expect(page.getByRole('button', { name: '새 회의' })).toBeVisible();
});

test('the language switch in a call renames the bar at once and is remembered', async ({ browser, request }) => {
  const room = await newRoom(request);
  const page = await person(browser, english);
  watch(page, 'Alice');
  await page.goto(room);
  await hydrated(page);
  await page.getByLabel('Your name').fill('Alice');
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  const bar = page.getByRole('toolbar', { name: 'Call controls' });
  await expect(bar.getByRole('button', { name: 'Mute microphone' })).toBeVisible();
  // A mark on this document: gone if the page reloads.
  await page.evaluate(() => (window.stillThisPage = true));

  await bar.getByRole('button', { name: 'More', exact: true }).click();
  await page.getByRole('group', { name: 'More' }).getByRole('button', { name: 'Settings', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Settings' });
  await dialog.getByRole('combobox', { name: 'Language' }).selectOption('ko');

  // The dialog, the bar and the page itself now speak Korean, in the same call.
  await expect(page.getByRole('dialog', { name: '설정' })).toBeVisible();
  await page.keyboard.press('Escape');
  const bar2 = page.getByRole('toolbar', { name: '통화 컨트롤' });
  await expect(bar2.getByRole('button', { name: '마이크 끄기' })).toBeVisible();
  await expect(bar2.getByRole('button', { name: '카메라 끄기' })).toBeVisible();
  await expect(bar2.getByRole('button', { name: '화면 공유' })).toBeVisible();
  await expect(bar2.getByRole('button', { name: '나가기' })).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('lang', 'ko');
  await expect(tile(page, 'Alice (나)')).toBeVisible();
  expect(await page.evaluate(() => window.stillThisPage)).toBe(true);

  // Remembered: the reload (which leaves the call) comes back in Korean,
  // though the browser still asks for English.
  await page.reload();
  await hydrated(page);
  await expect(page.locator('html')).toHaveAttribute('lang', 'ko');
  await expect(page.getByRole('button', { name: '참여', exact: true })).toBeVisible();
  // And switching back works the same way, from the prejoin page.
  await page.getByRole('button', { name: '설정', exact: true }).click();
  await page.getByRole('dialog', { name: '설정' }).getByRole('combobox', { name: '언어' }).selectOption('en');
  await expect(page.getByRole('dialog', { name: 'Settings' })).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByRole('button', { name: 'Join', exact: true })).toBeVisible();
});

/** Joins `url` as `name` in Korean, by the Korean names of the controls. */
const joinInKorean = (browser, url, name, options = {}) => join(browser, url, name, { ...options, korean: true });

test('a whole call in Korean: join, mute, share, chat, leave', async ({ browser, request }) => {
  const room = await newRoom(request);
  const minjun = await joinInKorean(browser, room, '민준');
  const seoyeon = await joinInKorean(browser, room, '서연');
  await expectVideoAdvancing(minjun, '서연');
  // A long Hangul name is cut with an ellipsis inside its tile.
  const longName = '아주긴이름을가진참가자'.repeat(5);
  const third = await joinInKorean(browser, room, longName);
  const label = tile(minjun, longName).locator('.name');
  await expect(label).toBeVisible();
  const cut = await label.evaluate((el) => ({
    cut: el.scrollWidth > el.clientWidth,
    inside: el.getBoundingClientRect().right <= el.closest('[role=group]').getBoundingClientRect().right + 0.5,
  }));
  expect(cut).toEqual({ cut: true, inside: true });
  await third.getByRole('button', { name: '나가기' }).click();
  await expect(tile(minjun, longName)).toHaveCount(0);
  await expectVideoAdvancing(seoyeon, '민준');

  // Mute: the button now says what pressing it does next, and the others
  // see the muted badge.
  await minjun.getByRole('button', { name: '마이크 끄기' }).click();
  await expect(minjun.getByRole('button', { name: '마이크 켜기' })).toHaveAttribute('aria-pressed', 'false');
  await expect(tile(seoyeon, '민준').getByRole('img', { name: '마이크 꺼짐' })).toBeVisible();

  // Share: the others see the screen by its Korean name.
  await minjun.getByRole('button', { name: '화면 공유' }).click();
  await expect(minjun.getByRole('button', { name: '공유 중지' })).toBeVisible();
  await expectVideoAdvancing(seoyeon, '민준님의 화면');
  await minjun.getByRole('button', { name: '공유 중지' }).click();
  await expect(seoyeon.getByRole('group', { name: '민준님의 화면' })).toHaveCount(0);

  // Chat, with Hangul both ways.
  await seoyeon.getByRole('button', { name: '채팅' }).click();
  await seoyeon.getByRole('textbox', { name: '메시지' }).fill('안녕하세요, 다들 잘 들리시나요?');
  await seoyeon.getByRole('textbox', { name: '메시지' }).press('Enter');
  await expect(minjun.getByRole('button', { name: '채팅, 읽지 않은 메시지 1개' })).toBeVisible();
  await minjun.getByRole('button', { name: /^채팅/ }).click();
  await expect(minjun.getByRole('complementary', { name: '채팅' })).toBeVisible();
  await expect.poll(() => lines(minjun)).toEqual([['서연', '안녕하세요, 다들 잘 들리시나요?']]);
  // Hangul without spaces wraps inside the panel; it never widens it.
  const long = '가나다라마바사아자차카타파하'.repeat(20);
  await seoyeon.getByRole('textbox', { name: '메시지' }).fill(long);
  await seoyeon.getByRole('textbox', { name: '메시지' }).press('Enter');
  const panel = minjun.getByRole('complementary', { name: '채팅' });
  const line = panel.locator('.chat-line .text').filter({ hasText: long });
  await expect(line).toBeVisible();
  const [lineBox, panelBox] = [await line.boundingBox(), await panel.boundingBox()];
  expect(lineBox.x + lineBox.width).toBeLessThanOrEqual(panelBox.x + panelBox.width);
  expect(lineBox.height).toBeGreaterThan(40);
  expect(await minjun.evaluate(() => document.documentElement.scrollWidth <= innerWidth)).toBe(true);

  // Leave: the page says so, and the other side sees the tile go.
  await minjun.getByRole('button', { name: '나가기' }).click();
  await expect(minjun.getByRole('heading', { name: '회의에서 나왔습니다' })).toBeVisible();
  await expect(minjun.getByRole('link', { name: '다시 참여' })).toBeVisible();
  await expect(tile(seoyeon, '민준')).toHaveCount(0);
});

test("the server's refusals are worded in the reader's language", async ({ browser, request }) => {
  // A wrong password: the server sends a code, the Korean page words it.
  const room = await newRoom(request);
  const host = await joinInKorean(browser, room, '민준');
  await host.getByRole('button', { name: '참가자', exact: true }).click();
  const panel = host.getByRole('complementary', { name: '참가자와 회의실 설정' });
  await panel.getByLabel('회의실 비밀번호').fill('열려라 참깨');
  await panel.getByRole('button', { name: '비밀번호 설정' }).click();
  await expect(panel.getByRole('status')).toHaveText('새로 들어오려면 회의실 비밀번호가 필요합니다.');

  const guest = await joinInKorean(browser, room, '지우', { admitted: false });
  await expect(guest.getByRole('alert')).toHaveText('이 회의에는 비밀번호가 필요합니다.');
  await guest.getByLabel('회의 비밀번호').fill('닫혀라 참깨');
  await guest.getByRole('button', { name: '참여', exact: true }).click();
  await expect(guest.getByRole('alert')).toHaveText('비밀번호가 틀렸습니다.');

  // A full room, on a server of its own that takes one person per room.
  const server = ownServer(3111, { settings: 'room_capacity = 1\n' });
  await server.start();
  try {
    const full = await server.newRoom();
    await joinInKorean(browser, full, '민준');
    const late = await joinInKorean(browser, full, '하은', { admitted: false });
    await expect(late.getByRole('heading', { name: '참여할 수 없습니다' })).toBeVisible();
    await expect(late.getByText('회의실이 가득 찼습니다 (1명). 누군가 나가면 다시 시도하세요.')).toBeVisible();
  } finally {
    await server.stop();
  }
});
