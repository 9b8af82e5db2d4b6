// The restore drill's load and its check: shoppers reserving, confirming and cancelling (and
// letting short holds expire) while a backup is taken, then a check that the restored copy holds
// everything acknowledged before the backup began, each in a state its history allows.
import assert from 'node:assert/strict';
import { http } from './server-process.js';

interface Acked {
  /** When the 201 came back (performance.now()). */
  createdAt: number;
  confirmedAt?: number;
  cancelledAt?: number;
  orderId?: string;
}

export interface DrillLog {
  reservations: Map<string, Acked>;
  requests: number;
}

export interface DrillLoad {
  /** Stops the shoppers after their current step and returns what was acknowledged. */
  stop(): Promise<DrillLog>;
}

/** `shoppers` loops, each reserve -> confirm | cancel | walk away, over the skus, until stopped (or `maxSteps` each). */
export function startDrillLoad(baseUrl: string, skus: readonly string[], shoppers = 6, maxSteps = 5_000): DrillLoad {
  const log: DrillLog = { reservations: new Map(), requests: 0 };
  let stopping = false;
  const shopper = async (n: number) => {
    for (let step = 0; step < maxSteps && !stopping; step++) {
      const userId = `drill-${n}-${step}`;
      const sku = skus[(n + step) % skus.length] as string;
      log.requests++;
      const reserved = await http(baseUrl, 'POST', '/inventory/reserve', { userId, sku, quantity: 1 });
      if (reserved.status !== 201) continue;
      const id = reserved.body.data.reservationId as string;
      const acked: Acked = { createdAt: performance.now() };
      log.reservations.set(id, acked);
      const choice = step % 3;
      log.requests++;
      if (choice === 0) {
        const confirmed = await http(baseUrl, 'POST', '/checkout/confirm', { userId, reservationId: id });
        if (confirmed.status === 201 || confirmed.status === 200) {
          acked.confirmedAt = performance.now();
          acked.orderId = confirmed.body.data.orderId as string;
        }
      } else if (choice === 1) {
        const cancelled = await http(baseUrl, 'POST', '/inventory/reserve/cancel', { userId, reservationId: id });
        if (cancelled.status === 200) acked.cancelledAt = performance.now();
      }
      // choice 2: walk away; the short TTL expires the hold.
    }
  };
  const running = Promise.all(Array.from({ length: shoppers }, (_, n) => shopper(n)));
  return {
    stop: async () => {
      stopping = true;
      await running;
      return log;
    },
  };
}

/**
 * Every reservation acknowledged before `backupStartedAt` exists on the restored server, in a state
 * its acknowledged history allows; every order acknowledged before it exists too. Returns how many
 * reservations and orders were checked.
 */
export async function checkRestored(baseUrl: string, log: DrillLog, backupStartedAt: number): Promise<{ reservations: number; orders: number }> {
  let reservations = 0;
  let orders = 0;
  for (const [id, acked] of log.reservations) {
    if (acked.createdAt >= backupStartedAt) continue;
    reservations++;
    const res = await http(baseUrl, 'GET', `/reservation/${id}`);
    assert.equal(res.status, 200, `reservation ${id}, acknowledged before the backup, is in the restored copy: ${res.raw}`);
    const status = res.body.data.status as string;
    if (acked.confirmedAt !== undefined && acked.confirmedAt < backupStartedAt) {
      assert.equal(status, 'CONFIRMED', `reservation ${id} was confirmed before the backup`);
      orders++;
      const order = await http(baseUrl, 'GET', `/order/${acked.orderId}`);
      assert.equal(order.status, 200, `order ${acked.orderId}, acknowledged before the backup, is in the restored copy`);
      assert.equal(order.body.data.reservationId, id);
    } else if (acked.cancelledAt !== undefined && acked.cancelledAt < backupStartedAt) {
      assert.equal(status, 'CANCELLED', `reservation ${id} was cancelled before the backup`);
    } else {
      // Its confirm or cancel, if any, came back after the backup began: it may or may not be in the copy.
      assert.ok(['RESERVED', 'EXPIRED', 'CONFIRMED', 'CANCELLED'].includes(status), `reservation ${id}: ${status}`);
      if (status === 'CONFIRMED') {
        assert.ok(acked.confirmedAt !== undefined, `reservation ${id} is CONFIRMED though no confirm of it was ever answered`);
      }
      if (status === 'CANCELLED') {
        assert.ok(acked.cancelledAt !== undefined, `reservation ${id} is CANCELLED though no cancel of it was ever answered`);
      }
    }
  }
  return { reservations, orders };
}
