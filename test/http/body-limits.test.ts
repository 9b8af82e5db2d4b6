import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../../src/http/json-body.js';
import { startTestApp } from '../helpers/test-app.js';
import { padTo, readingCostMs, WORST_BODIES } from '../helpers/worst-bodies.js';

const JSON_HEADERS = { 'content-type': 'application/json' };

describe('body limits', () => {
  it('every POST route accepts its largest valid body padded to its limit, and answers 413 to one byte more', async () => {
    const t = await startTestApp();
    try {
      for (const worst of WORST_BODIES) {
        const send = (payload: string) => t.app.inject({ method: 'POST', url: worst.url, payload, headers: JSON_HEADERS });
        const atLimit = await send(padTo(worst.body, worst.limit));
        assert.notEqual(atLimit.statusCode, 413, `${worst.route} refused a body at its limit`);
        assert.notEqual(atLimit.json().code, 'VALIDATION_ERROR', `${worst.route}: ${atLimit.body.slice(0, 200)}`);
        const over = await send(padTo(worst.body, worst.limit + 1));
        assert.equal(over.statusCode, 413, `${worst.route} took ${worst.limit + 1} bytes`);
        assert.equal(over.json().code, 'PAYLOAD_TOO_LARGE');
      }
    } finally {
      await t.close();
    }
  });

  it('no route takes a valid body padded to 64 KiB: a reserve needs kilobytes, not a MiB', async () => {
    const t = await startTestApp();
    try {
      for (const worst of WORST_BODIES) {
        const res = await t.app.inject({ method: 'POST', url: worst.url, payload: padTo(worst.body, 64 * 1024), headers: JSON_HEADERS });
        assert.equal(res.statusCode, 413, worst.route);
      }
    } finally {
      await t.close();
    }
  });

  it('reading and validating the worst body each route accepts costs under 5 ms of CPU', () => {
    for (const worst of WORST_BODIES) {
      const ms = readingCostMs(worst, 50);
      assert.ok(ms < 5, `${worst.route}: ${ms.toFixed(3)} ms of CPU`);
    }
  });

  it('refuses nesting deeper than any schema allows before parsing it, in the envelope', async () => {
    const t = await startTestApp();
    try {
      const nested = `${'{"a":'.repeat(MAX_JSON_DEPTH + 1)}1${'}'.repeat(MAX_JSON_DEPTH + 1)}`;
      const res = await t.app.inject({ method: 'POST', url: '/inventory/reserve', payload: nested, headers: JSON_HEADERS });
      assert.equal(res.statusCode, 400);
      assert.deepEqual(res.json(), {
        success: false,
        statusCode: 400,
        error: `the JSON body nests objects and arrays more than ${MAX_JSON_DEPTH} deep`,
        code: 'VALIDATION_ERROR',
        details: { errors: [{ field: '(body)', message: 'nested too deep' }] },
      });
    } finally {
      await t.close();
    }
  });

  it('counts nesting outside strings only, escaped quotes included', () => {
    assert.equal(nestsDeeperThan('{"a":[{"b":1}]}', 3), false);
    assert.equal(nestsDeeperThan('{"a":[{"b":[1]}]}', 3), true);
    assert.equal(nestsDeeperThan('{"a":"[[[[{{{{\\"[[[["}', 1), false);
    assert.equal(nestsDeeperThan('{"a":"\\\\"}', 1), false);
    assert.equal(nestsDeeperThan('{"unterminated', 1), false);
  });
});

/** Percentile of a list of latencies. */
const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

// The senders run in a worker thread: their own event loop, so the server's loop, which /healthz
// shares with the attack, pays only for what the server does with the bodies.
const SENDERS = `
const { request } = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const nested = (bytes) => Buffer.from('{"a":'.repeat(Math.floor((bytes - 1) / 6)) + '1');
const bodies = [nested(1024 * 1024), nested(30 * 1024)];
let attacking = true;
const answers = [];
parentPort.on('message', () => (attacking = false));
const post = (body) => new Promise((resolve) => {
  const req = request({ host: '127.0.0.1', port: workerData.port, path: '/inventory/reserve', method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': body.length }, timeout: 10000 }, (res) => {
    res.resume();
    res.on('end', () => resolve(res.statusCode));
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => resolve(0));
  req.end(body);
});
Promise.all([0, 1, 2, 3].map(async (i) => {
  while (attacking) answers.push(await post(bodies[i % 2]));
})).then(() => parentPort.postMessage(answers));
`;

function healthLatency(port: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', timeout: 5_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - started));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(5_000));
    req.end();
  });
}

async function probeHealth(port: number, durationMs: number): Promise<number[]> {
  const latencies: number[] = [];
  const until = performance.now() + durationMs;
  while (performance.now() < until) {
    latencies.push(await healthLatency(port));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return latencies;
}

describe('the nested-body attack', () => {
  it('four senders of 1 MiB and 30 KiB nested bodies leave /healthz p99 where it was without them', async () => {
    const t = await startTestApp();
    try {
      const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
      const port = Number(new URL(address).port);
      const baseline = await probeHealth(port, 2_000);
      const senders = new Worker(SENDERS, { eval: true, workerData: { port } });
      const answered = new Promise<number[]>((resolve) => senders.once('message', resolve));
      const underAttack = await probeHealth(port, 3_000);
      senders.postMessage('stop');
      const answers = await answered;
      await senders.terminate();

      const before = percentile(baseline, 99);
      const during = percentile(underAttack, 99);
      // Generous for a loaded machine, yet far below one parse of a 1 MiB nested body (130-230 ms).
      assert.ok(during < Math.max(3 * before, before + 40), `/healthz p99 ${during.toFixed(1)} ms under attack, ${before.toFixed(1)} ms without`);
      assert.ok(answers.length > 20, `the senders got ${answers.length} answers`);
      // A 1 MiB upload refused with 413 before it has all been sent may see its connection closed
      // under it (0 here): refused too. Nothing may be accepted or fail on the server's side.
      assert.deepEqual([...new Set(answers.filter((status) => status !== 0))].sort(), [400, 413], 'every attack body was refused');
    } finally {
      await t.close();
    }
  });
});
