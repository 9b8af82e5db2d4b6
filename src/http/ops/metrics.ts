import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock } from '../../domain/clock.js';
import type { DomainEvents } from '../../domain/events.js';
import type { InventoryService } from '../../services/inventory.service.js';
import type { Store } from '../../storage/store.js';

export type ReserveOutcome = 'created' | 'replayed' | 'insufficient' | 'conflict' | 'limit' | 'invalid';

/** Error codes of POST /inventory/reserve, by outcome; codes not listed (auth, 429, 5xx) are not outcomes. */
const OUTCOME_OF_CODE: Readonly<Record<string, ReserveOutcome>> = {
  INSUFFICIENT_INVENTORY: 'insufficient',
  RESERVATION_CONFLICT: 'conflict',
  IDEMPOTENCY_KEY_MISMATCH: 'conflict',
  IDEMPOTENCY_IN_PROGRESS: 'conflict',
  PURCHASE_LIMIT_EXCEEDED: 'limit',
  VALIDATION_ERROR: 'invalid',
  PRODUCT_NOT_FOUND: 'invalid',
  BAD_REQUEST: 'invalid',
  UNSUPPORTED_MEDIA_TYPE: 'invalid',
  PAYLOAD_TOO_LARGE: 'invalid',
};

export const reserveOutcomeOf = (status: number, code: string | undefined): ReserveOutcome | undefined =>
  status === 201 ? 'created' : status === 200 ? 'replayed' : code === undefined ? undefined : OUTCOME_OF_CODE[code];

// Node's own metrics (event-loop lag, heap, GC) are per process, not per app: collected once, in a
// registry of their own that every app's scrape merges in.
let processRegistry: Registry | undefined;
function nodeMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export interface MetricsSources {
  events: DomainEvents;
  store: Store;
  clock: Clock;
  inventory: InventoryService;
  skuLimit: number;
  /** Seconds since the newest scheduled backup; absent when scheduled backups are off. */
  backupAgeSeconds?: () => number;
}

const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The app's Prometheus metrics. Counters move on HTTP responses and on domain events; the stock
 * gauges and the sweeper lag are read from the store when scraped, so they cost nothing between
 * scrapes. Gauges read at scrape time say `aggregator: 'first'`: every worker reads the same store.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route template and status class',
    labelNames: ['method', 'route', 'status_class'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });
  private readonly reserves = new Counter({
    name: 'stockhold_reserve_requests_total',
    help: 'POST /inventory/reserve answers by outcome: created, replayed, insufficient, conflict, limit, invalid',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly replays = new Counter({
    name: 'stockhold_idempotent_replays_total',
    help: 'Responses replayed for a repeated Idempotency-Key',
    registers: [this.registry],
  });
  private readonly rateLimited = new Counter({
    name: 'stockhold_rate_limited_requests_total',
    help: 'Requests refused with 429 by a rate limit',
    registers: [this.registry],
  });

  constructor(private readonly sources: MetricsSources) {
    const { registry } = this;
    const { events } = sources;
    const confirms = new Counter({ name: 'stockhold_orders_confirmed_total', help: 'Reservations confirmed into orders', registers: [registry] });
    const cancels = new Counter({
      name: 'stockhold_cancellations_total',
      help: 'Cancellations, of a live reservation or of a confirmed order',
      labelNames: ['kind'] as const,
      registers: [registry],
    });
    const expirations = new Counter({ name: 'stockhold_reservations_expired_total', help: 'Reservations expired (by the sweeper or on read)', registers: [registry] });
    events.on('order.confirmed', () => confirms.inc());
    events.on('order.cancelled', () => cancels.inc({ kind: 'order' }));
    events.on('reservation.cancelled', () => cancels.inc({ kind: 'reservation' }));
    events.on('reservation.expired', () => expirations.inc());
    this.stockGauges();
    const { backupAgeSeconds } = sources;
    if (backupAgeSeconds) {
      new Gauge({
        name: 'stockhold_backup_age_seconds',
        help: 'Seconds since the newest scheduled backup was taken (since start-up while there is none)',
        registers: [registry],
        collect() {
          this.set(backupAgeSeconds());
        },
      });
    }
  }

  /** One answered request; `code` is the error code of an error envelope. */
  observe(method: string, route: string, status: number, seconds: number, code: string | undefined, replayed: boolean): void {
    this.httpDuration.observe({ method, route, status_class: `${Math.floor(status / 100)}xx` }, seconds);
    if (replayed) this.replays.inc();
    if (status === 429) this.rateLimited.inc();
    if (method === 'POST' && route === '/inventory/reserve') {
      // A stored response replayed for its Idempotency-Key keeps its first status (201), but is a replay.
      const outcome = replayed && status < 300 ? 'replayed' : reserveOutcomeOf(status, code);
      if (outcome !== undefined) this.reserves.inc({ outcome });
    }
  }

  private stockGauges(): void {
    const { store, clock, inventory, skuLimit } = this.sources;
    const registers = [this.registry];
    new Gauge({
      name: 'stockhold_sweeper_lag_seconds',
      help: 'Age of the oldest reservation past its expiry that is not yet expired (0: none)',
      registers,
      aggregator: 'first',
      async collect() {
        const earliest = await store.transaction((tx) => tx.reservations.earliestExpiry());
        this.set(earliest === null ? 0 : Math.max(0, clock.now() - earliest) / 1000);
      },
    });
    // Read together, once per scrape, by whichever of the three is collected first.
    let reading: Promise<void> | undefined;
    const collect = () => (reading ??= read().finally(() => setImmediate(() => (reading = undefined))));
    const perSku = (field: 'available' | 'reserved' | 'sold', help: string) =>
      new Gauge({ name: `stockhold_sku_${field}_units`, help, labelNames: ['sku'] as const, registers, aggregator: 'first', collect });
    const available = perSku('available', `Units on sale per SKU (first ${skuLimit} SKUs by code)`);
    const reserved = perSku('reserved', `Units held by live reservations per SKU (first ${skuLimit} SKUs by code)`);
    const sold = perSku('sold', `Units sold per SKU (first ${skuLimit} SKUs by code)`);
    const read = async () => {
      available.reset();
      reserved.reset();
      sold.reset();
      let cursor: string | undefined;
      for (let left = skuLimit; left > 0; ) {
        const page = await inventory.list(Math.min(left, 500), cursor);
        for (const p of page.items) {
          available.set({ sku: p.sku }, p.onHand - p.reserved);
          reserved.set({ sku: p.sku }, p.reserved);
          sold.set({ sku: p.sku }, p.sold);
        }
        left -= page.items.length;
        if (page.nextCursor === null || page.items.length === 0) break;
        cursor = page.nextCursor;
      }
    };
  }

  /** Everything, in Prometheus's text format, as one registry (this app's metrics and Node's). */
  merged(): Registry {
    return Registry.merge([this.registry, nodeMetrics()]);
  }
}
