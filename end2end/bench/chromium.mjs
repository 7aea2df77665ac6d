// How every benchmark starts Chromium: Debian's, headless, with the fake
// camera, microphone and screen, nothing that calls out, and host
// candidates on 127.0.0.1 allowed (the forwarding unit listens there).
import { chromium } from '@playwright/test';

export const ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required', '--allow-loopback-in-peer-connection',
];

export const launch = () => chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
