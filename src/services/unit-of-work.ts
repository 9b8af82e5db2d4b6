import { DomainError } from '../domain/errors.js';
import type { DomainEvents, EventMap } from '../domain/events.js';
import type { Store, StoreTx } from '../storage/store.js';

export type Emit = <K extends keyof EventMap>(name: K, payload: EventMap[K]) => void;

/** Runs inside the use case's own transaction, after its effect: how idempotency records commit with it. */
export type AfterEffect<R> = (tx: StoreTx, result: R) => Promise<void>;

/**
 * One transaction, with events held back until it commits. A use case may *return* a
 * DomainError: what it did so far (expiring a due reservation, say) commits, and the error is
 * thrown afterwards. A thrown error rolls everything back.
 */
export async function atomically<T>(
  store: Store,
  events: DomainEvents,
  work: (tx: StoreTx, emit: Emit) => Promise<T | DomainError>,
  afterEffect?: AfterEffect<T>,
): Promise<T> {
  let pending: Array<() => void> = [];
  const emit: Emit = (name, payload) => {
    if (name === 'stock.changed') events.emit('stock.released', payload as EventMap['stock.changed']);
    pending.push(() => events.emit(name, payload));
  };
  const outcome = await store.transaction(async (tx) => {
    // A store may run the body again (a PostgreSQL deadlock retry): only the last attempt's events count.
    pending = [];
    const result = await work(tx, emit);
    if (!(result instanceof DomainError) && afterEffect) await afterEffect(tx, result);
    return result;
  });
  for (const fire of pending) fire();
  if (outcome instanceof DomainError) throw outcome;
  return outcome;
}
