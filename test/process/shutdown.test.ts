import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'node:test';
import { http, logLines, startServer, tempDir, type HttpResult } from './server-process.js';

const SHUTDOWN_LINE = 'shutting down: finishing in-flight requests';
const EXIT_BOUND_MS = 10_000;
const BATCH = 60;

function assertEnvelope(res: HttpResult): void {
  const body = res.body as Record<string, unknown> | undefined;
  assert.ok(body && typeof body === 'object', `not JSON: ${res.status} ${res.raw}`);
  assert.equal(body.statusCode, res.status, `statusCode mirrors the HTTP status: ${res.raw}`);
  if (body.success === true) {
    assert.ok(res.status < 400, res.raw);
    assert.equal(typeof body.message, 'string', res.raw);
    assert.ok('data' in body, res.raw);
  } else {
    assert.equal(body.success, false, res.raw);
    assert.ok(res.status >= 400, res.raw);
    assert.equal(typeof body.code, 'string', res.raw);
    assert.equal(typeof body.error, 'string', res.raw);
  }
}

function errorCode(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } } | null)?.cause;
  return cause?.code ?? cause?.message ?? String(err);
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} drains in-flight requests and exits 0 within 10 s`, async (t) => {
    const file = join(tempDir(t), 'x.db');
    const server = await startServer(t, { databaseUrl: `sqlite:${file}` });
    const url = server.baseUrl;

    // A mixed batch: reserves that write (more than the stock, so some are refused) and reads.
    let signalled: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> | undefined;
    const sendSignal = () => {
      signalled ??= server.stop(signal);
    };
    const batch = Array.from({ length: BATCH }, (_, i) => {
      const request =
        i % 3 === 2
          ? http(url, 'GET', '/inventory/HEADSET001')
          : http(url, 'POST', '/inventory/reserve', { userId: `drain-${i}`, sku: 'HEADSET001', quantity: 1 });
      // The signal goes out as soon as the first answer is back, so the rest are in flight.
      return request.finally(sendSignal);
    });
    const settled = await Promise.allSettled(batch);
    sendSignal();
    const exit = await (signalled as NonNullable<typeof signalled>);

    const answered = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    assert.ok(answered.length > 1, `some requests were answered (${answered.length}/${BATCH})`);
    // Requests turned away during the drain still get the envelope, with Retry-After.
    for (const res of answered) assertEnvelope(res);
    const shed = answered.filter((r) => r.status === 503);
    for (const res of shed) {
      assert.equal(res.body.code, 'SERVICE_UNAVAILABLE', res.raw);
      assert.ok(res.headers.get('retry-after'), 'a 503 carries Retry-After');
    }
    const reserved = answered.filter((r) => r.status === 201).length;
    const refused = answered.filter((r) => r.status === 400 && r.body.code === 'INSUFFICIENT_INVENTORY').length;
    assert.ok(reserved <= 20, 'never more than the stock of 20');

    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, server.stderr());
    assert.ok(exit.ms < EXIT_BOUND_MS, `exited in ${Math.round(exit.ms)} ms`);
    assert.equal(server.stderr().trim(), '', 'nothing on stderr');
    const lines = logLines(server.stdout());
    assert.ok(
      lines.some((l) => l.msg === SHUTDOWN_LINE && l.signal === signal),
      `the log names the shutdown and its signal:\n${server.stdout()}`,
    );
    assert.ok(!lines.some((l) => typeof l.level === 'number' && l.level >= 50), `no error logged:\n${server.stdout()}`);

    // Nothing was cut off after its effect: every reservation on disk had its 201 delivered.
    // The WAL is gone, so the database was closed cleanly (the last close checkpoints and removes it).
    assert.equal(existsSync(`${file}-wal`), false, 'the database was closed, WAL checkpointed');
    const db = new Database(file, { readonly: true });
    try {
      const onDisk = db.prepare("SELECT COUNT(*) FROM reservations WHERE user_id LIKE 'drain-%'").pluck().get();
      const held = db.prepare("SELECT reserved FROM products WHERE sku = 'HEADSET001'").pluck().get();
      assert.deepEqual({ onDisk, held }, { onDisk: reserved, held: reserved }, 'effects on disk = 201s delivered');
    } finally {
      db.close();
    }

    const failures = settled.flatMap((s) => (s.status === 'rejected' ? [errorCode(s.reason)] : []));
    const counts = new Map<string, number>();
    for (const code of failures) counts.set(code, (counts.get(code) ?? 0) + 1);
    const byCode = [...counts].map(([code, n]) => `${code} x${n}`);
    t.diagnostic(`unanswered: ${byCode.join(', ') || 'none'}`);
    t.diagnostic(`${answered.length}/${BATCH} answered (${reserved} reserved, ${refused} sold out, ${shed.length} shed with 503); exit in ${Math.round(exit.ms)} ms`);
  });
}
