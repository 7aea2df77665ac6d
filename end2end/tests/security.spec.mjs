// What the browser enforces for moim: the page's Content-Security-Policy.
// (Every other test fails on any policy violation, so the app itself runs
// under it; this one shows the policy really bites.)
import { test, expect } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newMeeting, join as joinAs, finish, pageErrors, ownServer, expectVideoAdvancing } from './people.mjs';

test.afterEach(finish);

test('an injected script and a request elsewhere are refused by the Content-Security-Policy', async ({ browser, page }) => {
  const url = await newMeeting(page);
  const alice = await joinAs(browser, url, 'Alice', { page });
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

test('the built-in HTTPS listener: a call over https, with camera and wss signaling', async ({ browser }) => {
  // A throwaway self-signed certificate for 127.0.0.1.
  const dir = mkdtempSync(join(tmpdir(), 'moim-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  const server = ownServer(3107, { https: true, settings: `[tls]\ncert = "${cert}"\nkey = "${key}"\n` });
  await server.start();
  // The browser is told to accept that certificate, as a person would
  // accept a private CA's.
  const contexts = await Promise.all([1, 2].map(() => browser.newContext({ ignoreHTTPSErrors: true })));
  try {
    const url = `${server.base}/r/${randomUUID()}`;
    const [alice, bob] = await Promise.all(contexts.map((c) => c.newPage()));
    await joinAs(browser, url, 'Alice', { page: alice });
    await joinAs(browser, url, 'Bob', { page: bob });
    expect(await alice.evaluate(() => [location.protocol, window.isSecureContext])).toEqual(['https:', true]);
    await expectVideoAdvancing(alice, 'Bob');
    await expectVideoAdvancing(bob, 'Alice');
  } finally {
    await Promise.all(contexts.map((c) => c.close()));
    await server.stop();
  }
});
