// Service-level A/B of the reserve fast paths (no HTTP): bursts of one-line reserves of one sku on
// SQLite in memory, the modes interleaved: both fast paths (on), none (off), and the batcher
// without the sold-out hint (batch), which isolates the hint. Prints the median burst per mode.
// Run: npx tsx bench/fast-path-micro.ts (BURST, ROUNDS to change the sizes).
import { performance } from 'node:perf_hooks';
import { systemClock } from '../src/domain/clock.js';
import { DomainEvents } from '../src/domain/events.js';
import { uuidGenerator } from '../src/domain/ids.js';
import { ReservationService } from '../src/services/reservation.service.js';
import { SoldOutCache } from '../src/services/sold-out-cache.js';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';

const BURST = Number(process.env.BURST ?? 200);
const ROUNDS = Number(process.env.ROUNDS ?? 10);

type Mode = 'on' | 'off' | 'batch';

async function burst(mode: Mode, onHand: number): Promise<number> {
  const fastPaths = mode !== 'off';
  const store = new SqliteStore({ filename: ':memory:' });
  const events = new DomainEvents();
  const soldOut = new SoldOutCache(events, () => store.writeQueue.discards());
  const service = new ReservationService({
    store, clock: systemClock, ids: uuidGenerator, events, reservationTtlMs: 300_000, fastPaths, ...(mode === 'on' ? { soldOut } : {}),
  });
  await store.transaction((tx) => tx.products.insert({ sku: 'HOT', productName: 'Hot', priceMinor: 100, onHand, maxPerUser: null }, Date.now()));
  // Warm up, then measure one burst.
  await Promise.allSettled(Array.from({ length: 20 }, (_, i) => service.reserve({ userId: `w${i}`, lines: [{ sku: 'HOT', quantity: 1 }] })));
  const start = performance.now();
  await Promise.allSettled(Array.from({ length: BURST }, (_, i) => service.reserve({ userId: `u${i}`, lines: [{ sku: 'HOT', quantity: 1 }] })));
  const ms = performance.now() - start;
  await store.close();
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
for (const [name, onHand] of [['hot-sku', 1_000_000], ['sold-out', 20]] as const) {
  const times: Record<Mode, number[]> = { on: [], off: [], batch: [] };
  const orders: Mode[][] = [['on', 'off', 'batch'], ['batch', 'on', 'off'], ['off', 'batch', 'on']];
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of orders[round % orders.length] ?? []) times[mode].push(await burst(mode, onHand));
  }
  const [on, off, batch] = [median(times.on), median(times.off), median(times.batch)];
  process.stdout.write(
    `${name}: ${BURST} reserves, median ms: on ${on.toFixed(1)}, off ${off.toFixed(1)}, batcher only ${batch.toFixed(1)};` +
      ` off/on ${(off / on).toFixed(2)}, batcher only/on ${(batch / on).toFixed(2)}\n`,
  );
}
