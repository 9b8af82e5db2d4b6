import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

// Linux routes all of 127.0.0.0/8 to loopback, so each of these is a distinct client address.
const ATTACKER = '127.0.0.2';
const SHOPPER = '127.0.0.3';
const BALANCER = '127.0.0.4';

async function listen(t: TestApp): Promise<number> {
  const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
  return Number(new URL(address).port);
}

interface Held {
  socket: Socket;
  /** Resolves true once a response arrived on it, false when it was closed first. */
  answered: Promise<boolean>;
}

/** A raw socket from `localAddress` that sends one GET /healthz (keep-alive) and then stays idle. */
function idleClient(port: number, localAddress: string): Held {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => undefined);
  const answered = new Promise<boolean>((resolve) => {
    socket.once('data', () => resolve(true));
    socket.once('close', () => resolve(false));
  });
  socket.once('connect', () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
  return { socket, answered };
}

/** One GET on a fresh connection from `localAddress`: its status and latency, or 0 on failure. */
function fetchOnce(port: number, localAddress: string, path: string, timeoutMs = 2_000): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, localAddress, path, agent: false, headers: { connection: 'close' }, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, ms: performance.now() - started }));
    req.end();
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with how long after `since` the socket closed, or null if it is still open after `withinMs`. */
function closedWithin(socket: Socket, since: number, withinMs: number): Promise<{ afterMs: number | null; data: string }> {
  return new Promise((resolve) => {
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString()));
    const timer = setTimeout(() => resolve({ afterMs: null, data }), withinMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ afterMs: performance.now() - since, data });
    });
  });
}

describe('fair connections', () => {
  it('one address holding 2,000 idle sockets leaves another client served at normal latency, and /healthz answering', async () => {
    // A ceiling the attacker could fill alone without a per-address cap.
    // Idle sockets are kept for the whole test: this one is about the cap, not the idle timeout.
    const t = await startTestApp({ env: { MAX_CONNECTIONS: '1000', MAX_CONNECTIONS_PER_CLIENT: '100', KEEP_ALIVE_TIMEOUT: '120000' } });
    const held: Held[] = [];
    try {
      const port = await listen(t);
      for (let batch = 0; batch < 10; batch++) {
        const opened = Array.from({ length: 200 }, () => idleClient(port, ATTACKER));
        held.push(...opened);
        await Promise.all(opened.map((h) => Promise.race([h.answered, sleep(3_000)])));
      }
      // Each socket was either answered or dropped at accept: both settle, so this wait is bounded.
      const attackerServed = (await Promise.all(held.map((h) => h.answered))).filter(Boolean).length;

      const shopper: Array<{ status: number; ms: number }> = [];
      for (let i = 0; i < 20; i++) shopper.push(await fetchOnce(port, SHOPPER, '/inventory'));
      assert.deepEqual(shopper.map((r) => r.status), Array(20).fill(200), 'every request of the second client succeeded');
      const slowest = Math.max(...shopper.map((r) => r.ms));
      assert.ok(slowest < 500, `the second client's slowest request took ${slowest.toFixed(0)} ms`);
      const health = await fetchOnce(port, SHOPPER, '/healthz');
      assert.equal(health.status, 200);
      assert.equal(attackerServed, 100, 'the attacker was served on exactly MAX_CONNECTIONS_PER_CLIENT sockets');
    } finally {
      for (const h of held) h.socket.destroy();
      await t.close();
    }
  });

  it('closes a kept-alive connection left idle after KEEP_ALIVE_TIMEOUT, and a slow second request after HEADERS_TIMEOUT', async () => {
    const t = await startTestApp({ env: { KEEP_ALIVE_TIMEOUT: '3000', HEADERS_TIMEOUT: '1000', REQUEST_TIMEOUT: '1000' } });
    try {
      const port = await listen(t);
      const idle = idleClient(port, SHOPPER);
      assert.equal(await idle.answered, true);
      const idleClosed = await closedWithin(idle.socket, performance.now(), 8_000);
      // 3 s of idleness, plus up to 1 s for Node's check of connection deadlines, plus slack for a loaded machine.
      assert.ok(idleClosed.afterMs !== null && idleClosed.afterMs < 6_000, `idle socket closed after ${idleClosed.afterMs} ms`);

      // The next request of a kept-alive connection gets the header deadline too.
      const slow = idleClient(port, SHOPPER);
      assert.equal(await slow.answered, true);
      slow.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
      const slowClosed = await closedWithin(slow.socket, performance.now(), 8_000);
      assert.match(slowClosed.data, /^HTTP\/1\.1 408/);
      assert.ok(slowClosed.afterMs !== null && slowClosed.afterMs < 3_000, `slow request's socket closed after ${slowClosed.afterMs} ms`);
    } finally {
      await t.close();
    }
  });

  it('does not cap a proxy TRUST_PROXY believes, whose connections carry many clients', async () => {
    const t = await startTestApp({ env: { MAX_CONNECTIONS_PER_CLIENT: '3', TRUST_PROXY: BALANCER } });
    const held: Held[] = [];
    try {
      const port = await listen(t);
      const fromProxy = Array.from({ length: 6 }, () => idleClient(port, BALANCER));
      const fromClient = Array.from({ length: 6 }, () => idleClient(port, ATTACKER));
      held.push(...fromProxy, ...fromClient);
      const served = async (group: Held[]) => (await Promise.all(group.map((h) => h.answered))).filter(Boolean).length;
      assert.equal(await served(fromProxy), 6);
      assert.equal(await served(fromClient), 3);
    } finally {
      for (const h of held) h.socket.destroy();
      await t.close();
    }
  });
});
