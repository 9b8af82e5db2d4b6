import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { rawRequest, portClosed, type RawAnswer } from './raw-http.js';
import { logLines, type ServerProcess } from './server-process.js';

export const SHUTDOWN_LINE = 'shutting down: finishing in-flight requests';
const HELD = 50;
const BURST = 20;

export interface DrainCounts {
  inFlight: number;
  answered: number;
  reset: number;
  byStatus: Record<string, number>;
  reserved: number;
  exitMs: number;
}

function assertEnvelope(res: RawAnswer): void {
  const body = res.body as Record<string, unknown> | undefined;
  assert.ok(body && typeof body === 'object', `not JSON: ${res.status} ${res.raw}`);
  assert.equal(body.statusCode, res.status, `statusCode mirrors the HTTP status: ${res.raw}`);
  assert.equal(body.success, res.status < 400, res.raw);
}

async function until(what: string, ready: () => boolean, timeoutMs: number, output: () => string): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !ready(); await new Promise((r) => setTimeout(r, 20))) {
    assert.ok(Date.now() < deadline, `${what} within ${timeoutMs} ms:\n${output()}`);
  }
}

/**
 * Holds HELD requests half-sent (headers and part of the body: received, not yet at a handler)
 * and sends a BURST of complete ones, each on its own connection, then signals. Once the port
 * refuses new connections the held bodies are completed. Every one of them must get an HTTP
 * answer, none a reset, and the process must exit 0 within the deadline.
 */
export async function drainWithRequestsInFlight(
  t: TestContext,
  server: ServerProcess,
  options: { sku: string; signal: NodeJS.Signals; deadlineMs: number },
): Promise<DrainCounts> {
  const { sku, signal, deadlineMs } = options;
  const reserve = (i: number, holdBack = 0) =>
    rawRequest(server.port, 'POST', '/inventory/reserve', { userId: `drain-${i}`, sku, quantity: 1 }, { holdBack });
  const held = Array.from({ length: HELD }, (_, i) => (i % 5 === 4 ? rawRequest(server.port, 'GET', `/inventory/${sku}`) : reserve(i, 4)));
  // A GET has no body to hold back: it is complete, and answered (or not) like the burst.
  await Promise.all(held.map((r) => r.sent));
  const burst = Array.from({ length: BURST }, (_, i) => reserve(HELD + i));
  await Promise.all(burst.map((r) => r.sent));
  // The signal goes out once the first of the burst is answered, so the rest are mid-way.
  await Promise.race(burst.map((r) => r.answer)).catch(() => undefined);

  const stopped = server.stop(signal);
  await until('the shutdown line', () => logLines(server.stdout()).some((l) => l.msg === SHUTDOWN_LINE), deadlineMs, server.stdout);
  assert.ok(await portClosed(server.port, deadlineMs), 'the listener closes during the drain');
  for (const r of held) r.finish();

  const all = [...held, ...burst];
  const settled = await Promise.allSettled(all.map((r) => r.answer));
  const exit = await stopped;
  const answered = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failures = settled.flatMap((s) => (s.status === 'rejected' ? [String((s.reason as { code?: string }).code)] : []));
  const byStatus: Record<string, number> = {};
  for (const res of answered) byStatus[res.status] = (byStatus[res.status] ?? 0) + 1;
  const counts: DrainCounts = {
    inFlight: all.length,
    answered: answered.length,
    reset: failures.length,
    byStatus,
    reserved: answered.filter((r) => r.status === 201).length,
    exitMs: Math.round(exit.ms),
  };
  t.diagnostic(`in flight ${counts.inFlight}, answered ${counts.answered}, reset ${counts.reset} (${failures.join(', ') || 'none'}); by status ${JSON.stringify(byStatus)}; exit in ${counts.exitMs} ms`);

  assert.deepEqual(failures, [], 'no request in flight was reset or dropped');
  assert.equal(answered.length, all.length);
  for (const res of answered) {
    assertEnvelope(res);
    assert.ok([200, 201, 400, 409, 503].includes(res.status), `an answer, not a fault: ${res.status} ${res.raw}`);
    if (res.status === 503) {
      assert.equal(res.body.code, 'SERVICE_UNAVAILABLE', res.raw);
      assert.equal(res.headers.get('retry-after'), '1', 'a 503 carries Retry-After');
      assert.equal(res.headers.get('connection'), 'close', 'the socket closes after a drained answer');
    }
  }
  assert.ok((byStatus['503'] ?? 0) >= HELD - HELD / 5, 'the held reserves reached no handler: each was turned away with the 503');
  assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, server.stderr());
  assert.ok(exit.ms < deadlineMs, `exited in ${Math.round(exit.ms)} ms`);
  const lines = logLines(server.stdout());
  assert.ok(lines.some((l) => l.msg === SHUTDOWN_LINE && l.signal === signal), `the log names the shutdown and its signal:\n${server.stdout()}`);
  assert.ok(!lines.some((l) => typeof l.level === 'number' && l.level >= 50), `no error logged:\n${server.stdout()}`);
  return counts;
}
