import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { buildApp, type Stockhold } from '../../src/app.js';
import { parseOptions } from '../../src/cli/flash-sale/options.js';
import type { FlashSaleReport } from '../../src/cli/flash-sale/report.js';
import { runFlashSale } from '../../src/cli/flash-sale/run.js';
import { planShopper } from '../../src/cli/flash-sale/shopper.js';
import { loadConfig } from '../../src/config.js';

// The rehearsal tool against a real stockhold listening on a real socket, in this process.

class Capture {
  text = '';
  constructor(readonly isTTY = false) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

async function startServer(env: Record<string, string> = {}): Promise<{ stockhold: Stockhold; url: string }> {
  // Every simulated shopper comes from 127.0.0.1: rate limiting would throttle the rehearsal itself.
  const config = loadConfig({ DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'silent', RATE_LIMIT_MAX: '0', ...env });
  const stockhold = await buildApp({ config });
  const url = await stockhold.app.listen({ port: 0, host: '127.0.0.1' });
  return { stockhold, url };
}

async function createProduct(s: Stockhold, sku: string, totalQuantity: number): Promise<void> {
  const res = await s.app.inject({ method: 'POST', url: '/inventory', payload: { sku, productName: `Product ${sku}`, price: 10, totalQuantity } });
  assert.equal(res.statusCode, 201, res.body);
}

async function productOf(s: Stockhold, sku: string) {
  const res = await s.app.inject({ method: 'GET', url: `/inventory/${sku}` });
  return res.json().data as { totalQuantity: number; availableQuantity: number; reservedQuantity: number; soldQuantity: number };
}

async function rehearse(args: string[], stderr = new Capture()) {
  const stdout = new Capture();
  const code = await runFlashSale(args, { stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

async function rehearseJson(args: string[]) {
  const run = await rehearse([...args, '--json']);
  assert.equal(run.stderr, '', '--json prints no progress');
  return { code: run.code, report: JSON.parse(run.stdout) as FlashSaleReport };
}

const FAST = ['--users', '300', '--concurrency', '50', '--think-ms', '0-5'];

describe('flash-sale rehearsal', { timeout: 300_000 }, () => {
  let s: Stockhold;
  let url: string;
  before(async () => {
    ({ stockhold: s, url } = await startServer());
  });
  after(() => s.app.close());

  it('300 shoppers for 20 units: nothing oversold, every shopper accounted for, counters agree', async () => {
    await createProduct(s, 'FLASH20', 20);
    const { code, report } = await rehearseJson(['--url', url, '--sku', 'flash20', ...FAST]);
    const sh = report.shoppers;
    assert.equal(code, 0);
    assert.equal(report.ok, true, JSON.stringify(report.checks));
    assert.deepEqual(sh.errors, {});
    // Cancelled holds go back on sale and can be reserved again by later shoppers.
    assert.ok(sh.reservedOk <= 20 + sh.cancelled, `reserved ${sh.reservedOk}, cancelled ${sh.cancelled}`);
    assert.ok(sh.confirmed <= 20);
    assert.equal(sh.confirmed + sh.cancelled + sh.abandoned, sh.reservedOk);
    assert.equal(sh.rejected, 300 - sh.reservedOk);
    assert.equal(report.oversold, 0);
    const product = await productOf(s, 'FLASH20');
    assert.equal(product.soldQuantity, sh.confirmed);
    assert.equal(product.reservedQuantity, sh.abandoned);
    assert.deepEqual(report.stock.after, {
      totalQuantity: product.totalQuantity,
      availableQuantity: product.availableQuantity,
      reservedQuantity: product.reservedQuantity,
      soldQuantity: product.soldQuantity,
    });
    assert.equal(report.latency.reserve.count, 300);
    assert.equal(report.latency.confirm.count, sh.confirmed);
    assert.ok(report.throughput.requestsPerSecond > 0);
  });

  it('with no cancels, exactly the stock is reserved and the rest are rejected', async () => {
    await createProduct(s, 'FLASHNC', 20);
    const { code, report } = await rehearseJson(['--url', url, '--sku', 'FLASHNC', ...FAST, '--cancel', '0']);
    assert.equal(code, 0);
    assert.equal(report.shoppers.reservedOk, 20);
    assert.equal(report.shoppers.rejected, 280);
    assert.equal((await productOf(s, 'FLASHNC')).soldQuantity, report.shoppers.confirmed);
  });

  it('a second run on the same product uses fresh userIds and starts from what the first left', async () => {
    await createProduct(s, 'TWICE', 200);
    const first = await rehearseJson(['--url', url, '--sku', 'TWICE', ...FAST, '--users', '50']);
    const second = await rehearseJson(['--url', url, '--sku', 'TWICE', ...FAST, '--users', '50']);
    assert.notEqual(first.report.runId, second.report.runId);
    assert.equal(second.code, 0);
    assert.equal(second.report.shoppers.reservedOk, 50, 'no RESERVATION_CONFLICT from the first run');
    assert.deepEqual(second.report.stock.before, first.report.stock.after);
  });

  it('prints a text report, and a progress bar on a terminal', async () => {
    await createProduct(s, 'TEXT', 5);
    const tty = new Capture(true);
    const { code, stdout, stderr } = await rehearse(['--url', url, '--sku', 'TEXT', ...FAST, '--users', '100'], tty);
    assert.equal(code, 0);
    assert.ok(stderr.startsWith('\r\u001b[2K['), 'redraws one line: carriage return, clear line');
    assert.match(stderr, /\[[#.]+\] \d+\/100 {2}sold \d+ {2}rejected \d+ {2}errors 0 {2}\d+ req\/s/);
    for (const text of ['reserved OK', 'rejected', 'confirmed (sold)', 'abandoned', 'oversold 0', 'req/s', 'p99', 'PASS']) {
      assert.ok(stdout.includes(text), `report lacks "${text}":\n${stdout}`);
    }
    assert.match(stdout, /\n {2}reserve\n( {4}(<\d+m?s|>=1s) +#* +\d+ +[\d.]+%\n)+/, 'a text histogram of reserve latencies');
  });

  it('an unknown sku is a usage error naming --sku', async () => {
    const { code, stderr } = await rehearse(['--url', url, '--sku', 'NOPE404']);
    assert.equal(code, 2);
    assert.match(stderr, /--sku: no product NOPE404/);
  });
});

describe('flash-sale options', { timeout: 300_000 }, () => {
  const bad: [string[], string][] = [
    [['--sku', 'X1'], '--url'],
    [['--url', 'http://127.0.0.1:1'], '--sku'],
    [['--url', 'ftp://127.0.0.1', '--sku', 'X1'], '--url'],
    [['--url', 'http://127.0.0.1:1', '--sku', 'bad sku!'], '--sku'],
    [['--url', 'http://127.0.0.1:1', '--sku', 'X1', '--users', '0'], '--users'],
    [['--url', 'http://127.0.0.1:1', '--sku', 'X1', '--users=many'], '--users'],
    [['--url', 'http://127.0.0.1:1', '--sku', 'X1', '--concurrency'], '--concurrency'],
    [['--url', 'http://127.0.0.1:1', '--sku', 'X1', '--think-ms', '900-100'], '--think-ms'],
    [['--url', 'http://127.0.0.1:1', '--sku', 'X1', '--confirm', '1.5'], '--confirm'],
    [['--url', 'http://127.0.0.1:1', '--sku', 'X1', '--confirm', '0.7', '--cancel', '0.5'], '--cancel'],
    [['--url', 'http://127.0.0.1:1', '--sku', 'X1', '--seed', '-3'], '--seed'],
    [['--url', 'http://127.0.0.1:1', '--sku', 'X1', '--idempotency=maybe'], '--idempotency'],
    [['--url', 'http://127.0.0.1:1', '--sku', 'X1', '--bogus'], '--bogus'],
  ];
  for (const [args, flag] of bad) {
    it(`${args.join(' ')} -> exit 2 naming ${flag}`, async () => {
      const { code, stdout, stderr } = await rehearse(args);
      assert.equal(code, 2);
      assert.equal(stdout, '');
      assert.ok(stderr.includes(flag), stderr);
    });
  }

  it('--help prints the usage and exits 0', async () => {
    const { code, stdout } = await rehearse(['--help']);
    assert.equal(code, 0);
    assert.match(stdout, /usage: npm run flash-sale/);
  });

  it('has the documented defaults and both flag spellings', () => {
    const o = parseOptions(['--url', 'http://h:5000/', '--sku=camera001', '--no-idempotency']);
    assert.equal(o.url, 'http://h:5000');
    assert.equal(o.sku, 'CAMERA001');
    assert.deepEqual(
      [o.users, o.concurrency, o.thinkMs, o.confirm, o.cancel, o.seed, o.idempotency, o.json, o.waitExpiry],
      [1000, 200, { min: 200, max: 2000 }, 0.6, 0.2, 1, false, false, false],
    );
  });

  it('a seed gives the same plan whatever order shoppers run in, in the asked proportions', () => {
    const o = parseOptions(['--url', 'http://h', '--sku', 'X1', '--seed', '42']);
    const plans = Array.from({ length: 10_000 }, (_, i) => planShopper(o, 'run', i));
    assert.deepEqual(planShopper(o, 'run', 9_999), plans[9_999]);
    const share = (action: string) => plans.filter((p) => p.action === action).length / plans.length;
    assert.ok(Math.abs(share('confirm') - 0.6) < 0.02 && Math.abs(share('cancel') - 0.2) < 0.02);
    assert.ok(plans.every((p) => p.thinkMs >= 200 && p.thinkMs <= 2000));
    const other = parseOptions(['--url', 'http://h', '--sku', 'X1', '--seed', '43']);
    assert.notDeepEqual(planShopper(other, 'run', 0).thinkMs + planShopper(other, 'run', 1).thinkMs, plans[0]!.thinkMs + plans[1]!.thinkMs);
  });
});

describe('flash-sale retries', { timeout: 300_000 }, () => {
  let s: Stockhold;
  let upstream: string;
  let proxy: http.Server;
  let proxyUrl: string;
  /** Requests seen by the proxy, by method, path and body. */
  const seen = new Map<string, number>();
  /** What the proxy does to the first attempt of a POST: forward it, then lose the answer. */
  const sabotage = { reserve: 'drop' as 'drop' | 'none', confirm: '503' as '503' | 'none' };

  before(async () => {
    ({ stockhold: s, url: upstream } = await startServer());
    proxy = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const body = Buffer.concat(chunks).toString();
        const key = `${req.method} ${req.url} ${body}`;
        const attempt = (seen.get(key) ?? 0) + 1;
        seen.set(key, attempt);
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (req.headers['idempotency-key']) headers['idempotency-key'] = String(req.headers['idempotency-key']);
        // Always forwarded: the server acts, and only the answer is lost on a first attempt.
        const answer = await fetch(`${upstream}${req.url}`, { method: req.method, headers, ...(req.method === 'POST' ? { body } : {}) });
        const text = await answer.text();
        if (attempt === 1 && req.url === '/inventory/reserve' && sabotage.reserve === 'drop') return req.socket.destroy();
        if (attempt === 1 && req.url === '/checkout/confirm' && sabotage.confirm === '503') {
          res.writeHead(503, headers).end(JSON.stringify({ success: false, statusCode: 503, code: 'SERVICE_UNAVAILABLE', error: 'lost' }));
          return;
        }
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(text);
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => proxy.close(resolve));
    await s.app.close();
  });

  for (const idempotency of ['--idempotency', '--no-idempotency']) {
    it(`answers lost after the server acted are retried without buying twice (${idempotency})`, async () => {
      const sku = idempotency === '--idempotency' ? 'RETRYK' : 'RETRYN';
      await createProduct(s, sku, 10);
      const { code, report } = await rehearseJson(['--url', proxyUrl, '--sku', sku, ...FAST, '--users', '40', '--confirm', '1', idempotency]);
      const sh = report.shoppers;
      assert.equal(code, 0, JSON.stringify(report.checks));
      assert.deepEqual(sh.errors, {});
      assert.equal(sh.reservedOk, 10);
      assert.equal(sh.rejected, 30);
      assert.equal(sh.confirmed, 10);
      assert.equal(report.throughput.retries, 40 + 10, 'every reserve and every confirm was sent twice');
      const product = await productOf(s, sku);
      assert.equal(product.soldQuantity, 10);
      assert.equal(product.reservedQuantity, 0);
      // The ledger: one hold and one sale per winning shopper, none doubled by a retry.
      const movements = (await s.app.inject({ method: 'GET', url: `/inventory/${sku}/movements?limit=1000` })).json().data as { reason: string }[];
      assert.equal(movements.filter((m) => m.reason === 'RESERVE').length, 10);
      assert.equal(movements.filter((m) => m.reason === 'CONFIRM').length, 10);
    });
  }
});

describe('flash-sale --wait-expiry', { timeout: 300_000 }, () => {
  let s: Stockhold;
  let url: string;
  before(async () => {
    ({ stockhold: s, url } = await startServer({ RESERVATION_TTL: '300', CLEANUP_INTERVAL: '50' }));
    s.sweeper.start();
  });
  after(() => s.app.close());

  it('waits for the abandoned holds to expire and counts them as expired', async () => {
    await createProduct(s, 'EXPIRE', 10);
    const { code, report } = await rehearseJson(['--url', url, '--sku', 'EXPIRE', ...FAST, '--users', '30', '--confirm', '0', '--cancel', '0', '--wait-expiry']);
    assert.equal(code, 0, JSON.stringify(report.checks));
    assert.ok(report.shoppers.abandoned >= 10);
    assert.equal(report.expiry.expiredAbandoned, report.shoppers.abandoned);
    assert.equal(report.shoppers.expired, report.shoppers.abandoned);
    assert.equal(report.stock.afterExpiry?.reservedQuantity, 0);
    assert.equal(report.stock.afterExpiry?.availableQuantity, 10);
  });
});
