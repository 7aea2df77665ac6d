// Playwright configuration for moim's browser tests.
//
// The tests run against the server that `make test` has already built
// (target/debug/moim and target/site); nothing is compiled here.
// Chromium comes from Debian (/usr/bin/chromium): never run `npx playwright install`.
import { defineConfig } from '@playwright/test';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const port = 3100;
const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: 'tests',
  // Two cores and several WebRTC peers per test: one test at a time.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: 'list',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  use: {
    baseURL,
    trace: 'retain-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        browserName: 'chromium',
        viewport: { width: 1280, height: 720 },
        launchOptions: {
          executablePath: '/usr/bin/chromium',
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            // Fake camera/microphone, and auto-accept the permission prompt.
            '--use-fake-device-for-media-stream',
            '--use-fake-ui-for-media-stream',
            '--auto-select-desktop-capture-source=Entire screen',
            '--autoplay-policy=no-user-gesture-required',
            // The forwarding unit listens on 127.0.0.1 in the tests, and
            // Chromium leaves loopback addresses out of WebRTC without this.
            '--allow-loopback-in-peer-connection',
          ],
        },
      },
    },
  ],
  webServer: {
    // Started from the repo root so the server finds Leptos.toml and target/site.
    command: `./target/debug/moim --addr 127.0.0.1:${port}`,
    cwd: repoRoot,
    env: { ...process.env, MOIM_CONFIG: 'end2end/server.toml' },
    url: `${baseURL}/`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
