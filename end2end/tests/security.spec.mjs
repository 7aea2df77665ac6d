// What the browser enforces for moim: the page's Content-Security-Policy.
// (Every other test fails on any policy violation, so the app itself runs
// under it; this one shows the policy really bites.)
import { test, expect } from '@playwright/test';
import { newMeeting, join, finish, pageErrors } from './people.mjs';

test.afterEach(finish);

test('an injected script and a request elsewhere are refused by the Content-Security-Policy', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const alice = await join(browser, url, 'Alice', { page });
  const ran = await alice.evaluate(async () => {
    const script = document.createElement('script');
    script.textContent = 'window.injected = true;';
    document.head.append(script);
    // A request to another origin (on this machine; it is refused before
    // any packet leaves the browser).
    const fetched = await fetch('http://127.0.0.2:9/').then(() => true, () => false);
    await new Promise((r) => setTimeout(r, 200));
    return { inline: window.injected === true, fetched };
  });
  expect(ran).toEqual({ inline: false, fetched: false });
  // Both refusals were reported; they are this test's doing, not the app's.
  const violations = pageErrors.splice(0);
  expect(violations.length).toBeGreaterThanOrEqual(2);
  expect(violations.every((v) => v.includes('Content Security Policy'))).toBe(true);
});
