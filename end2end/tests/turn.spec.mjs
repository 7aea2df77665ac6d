// A call through a real TURN relay (Debian's coturn on 127.0.0.1), with the
// short-lived credentials moim hands out, and expired credentials refused.
import { test, expect } from '@playwright/test';
import { spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { finish, ownServer, aliceAndBob, join, expectVideoAdvancing } from './people.mjs';

test.afterEach(finish);

const TURN_PORT = 3478;
const SECRET = 'moim-e2e-turn-secret';
const TURN_URL = `turn:127.0.0.1:${TURN_PORT}?transport=udp`;
const haveCoturn = spawnSync('turnserver', ['--version']).status === 0;

/**
 * coturn with `use-auth-secret`, relaying on loopback only. Loopback peers
 * are allowed, since both browsers live on this machine.
 */
async function startCoturn() {
  const child = spawn(
    'turnserver',
    [
      '-n', '--no-cli', '--no-tls', '--no-dtls', '--fingerprint',
      '--listening-ip=127.0.0.1', `--listening-port=${TURN_PORT}`, '--relay-ip=127.0.0.1',
      '--min-port=49152', '--max-port=49252', '--allow-loopback-peers',
      '--use-auth-secret', `--static-auth-secret=${SECRET}`, '--realm=moim.test',
      '--log-file=stdout', '--simple-log',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  await expect.poll(() => log.includes('Total General servers') || child.exitCode !== null).toBe(true);
  expect(child.exitCode, `coturn did not start:\n${log}`).toBeNull();
  return { stop: () => child.kill('SIGTERM'), log: () => log };
}

/** TURN REST credentials made here, independently of moim. */
function credentials(expiry) {
  const username = `${expiry}:e2e`;
  const credential = createHmac('sha1', SECRET).update(username).digest('base64');
  return { urls: [TURN_URL], username, credential };
}

/** The candidate types a relay-only connection with `server` gathers, and its ICE errors. */
function gather(page, server) {
  return page.evaluate(async (server) => {
    const pc = new RTCPeerConnection({ iceServers: [server], iceTransportPolicy: 'relay' });
    const types = [];
    const errors = [];
    pc.addEventListener('icecandidate', (e) => e.candidate && types.push(e.candidate.type));
    pc.addEventListener('icecandidateerror', (e) => errors.push(e.errorCode));
    pc.createDataChannel('probe');
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((done) => {
      if (pc.iceGatheringState === 'complete') done();
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && done());
      setTimeout(done, 10_000);
    });
    pc.close();
    return { types, errors };
  }, server);
}

test('a relay-only call connects through TURN with expiring credentials', async ({ browser }) => {
  test.skip(!haveCoturn, 'needs coturn (scripts/setup.sh installs it)');
  const turn = await startCoturn();
  const server = ownServer(3105, {
    settings: `relay_only = true\n[turn]\nurls = ["${TURN_URL}"]\nsecret = "${SECRET}"\nttl_secs = 600\n`,
  });
  await server.start();
  try {
    const { alice, bob } = await aliceAndBob(browser, await server.newRoom());

    // The pair in use is relayed, on both sides; and what the browser was
    // handed is a credential of its own, not the secret.
    for (const page of [alice, bob]) {
      const pair = await page.evaluate(async () => {
        const pc = [...window.moimPeers.values()][0];
        const stats = await pc.getStats();
        const transport = [...stats.values()].find((s) => s.type === 'transport');
        const pair = stats.get(transport.selectedCandidatePairId);
        return {
          local: stats.get(pair.localCandidateId).candidateType,
          remote: stats.get(pair.remoteCandidateId).candidateType,
          ice: pc.getConfiguration().iceServers,
          policy: pc.getConfiguration().iceTransportPolicy,
        };
      });
      expect(pair.local).toBe('relay');
      expect(pair.remote).toBe('relay');
      expect(pair.policy).toBe('relay');
      const [ice] = pair.ice;
      expect(ice.username).toMatch(/^\d+:[0-9a-f-]{36}$/);
      const expiry = Number(ice.username.split(':')[0]);
      const now = Date.now() / 1000;
      expect(expiry).toBeGreaterThan(now + 500);
      expect(expiry).toBeLessThan(now + 700);
      expect(ice.credential).not.toContain(SECRET);
    }

    // Credentials made by the same rule: fresh ones get a relay, expired
    // ones are refused by coturn (401) and get none.
    const fresh = await gather(alice, credentials(Math.floor(Date.now() / 1000) + 60));
    expect(fresh.types).toContain('relay');
    const expired = await gather(alice, credentials(Math.floor(Date.now() / 1000) - 60));
    expect(expired.types).toEqual([]);
    expect(expired.errors).toContain(401);
  } finally {
    await server.stop();
    turn.stop();
  }
});

test('a relay-only room that is forwarded reaches the server through TURN', async ({ browser }) => {
  test.skip(!haveCoturn, 'needs coturn (scripts/setup.sh installs it)');
  const turn = await startCoturn();
  const server = ownServer(3116, {
    settings: `relay_only = true\n[turn]\nurls = ["${TURN_URL}"]\nsecret = "${SECRET}"\nttl_secs = 600\n[forward]\nmesh_max = 1\n`,
  });
  await server.start();
  try {
    const url = await server.newRoom();
    const alice = await join(browser, url, 'Alice');
    const bob = await join(browser, url, 'Bob');
    await expectVideoAdvancing(alice, 'Bob');
    await expectVideoAdvancing(bob, 'Alice');
    for (const page of [alice, bob]) {
      const local = await page.evaluate(async () => {
        const pc = window.moimUplink;
        const stats = await pc.getStats();
        const transport = [...stats.values()].find((s) => s.type === 'transport');
        const pair = stats.get(transport.selectedCandidatePairId);
        return stats.get(pair.localCandidateId).candidateType;
      });
      expect(local, 'the browser reaches the forwarding unit only through its relay').toBe('relay');
    }
  } finally {
    await server.stop();
    turn.stop();
  }
});
