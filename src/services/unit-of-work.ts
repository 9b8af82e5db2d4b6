import type { DomainError } from '../domain/errors.js';
import type { DomainEvents, EventMap } from '../domain/events.js';
import type { Store, StoreTx } from '../storage/store.js';

export type Emit = <K extends keyof EventMap>(name: K, payload: EventMap[K]) => void;

/** Runs inside the use case's own transaction, after its effect: how idempotency records commit with it. */
export type AfterEffect<R> = (tx: StoreTx, result: R) => Promise<void>;

/**
 * How a unit of work ends, said explicitly by the use case: nothing commits or rolls back by the
 * way an error happens to leave it.
 * - `commit(value)`: everything commits; the caller gets `value`.
 * - `refuse(error)`: what the unit did so far commits (expiring a due reservation, say) and the
 *   caller gets `error`. Most refusals have written nothing, and this is the one to use.
 * - `rollBack(error)`: everything the unit wrote is undone and the caller gets `error`.
 * Anything thrown is a fault: it rolls back and reaches the caller as it is.
 */
export type Ending<T> =
  | { readonly end: 'commit'; readonly value: T }
  | { readonly end: 'refuse' | 'roll-back'; readonly error: DomainError };

export const commit = <T>(value: T): Ending<T> => ({ end: 'commit', value });
export const refuse = (error: DomainError): Ending<never> => ({ end: 'refuse', error });
export const rollBack = (error: DomainError): Ending<never> => ({ end: 'roll-back', error });

/** Carries a `rollBack` ending out of the store's transaction, which rolls back on any throw. */
class RolledBack extends Error {
  constructor(readonly error: DomainError) {
    super('rolled back');
  }
}

/**
 * Events of a transaction, held back until it commits. A release (`stock.changed`) is also told
 * at once, as `stock.released`, to hints that must forget it before the commit (the sold-out hint).
 */
export function heldEvents(events: DomainEvents): { emit: Emit; fire(): void; reset(): void } {
  let pending: Array<() => void> = [];
  return {
    emit: (name, payload) => {
      if (name === 'stock.changed') events.emit('stock.released', payload as EventMap['stock.changed']);
      pending.push(() => events.emit(name, payload));
    },
    fire: () => {
      for (const fire of pending) fire();
    },
    // A store may run the body again (a PostgreSQL deadlock retry): only the last attempt's events count.
    reset: () => {
      pending = [];
    },
  };
}

/** One transaction, ended the way `work` says, with events held back until it commits. */
export async function atomically<T>(
  store: Store,
  events: DomainEvents,
  work: (tx: StoreTx, emit: Emit) => Promise<Ending<T>>,
  afterEffect?: AfterEffect<T>,
): Promise<T> {
  const held = heldEvents(events);
  let ending: Ending<T>;
  try {
    ending = await store.transaction(async (tx) => {
      held.reset();
      const result = await work(tx, held.emit);
      if (result.end === 'roll-back') throw new RolledBack(result.error);
      if (result.end === 'commit' && afterEffect) await afterEffect(tx, result.value);
      return result;
    });
  } catch (err) {
    throw err instanceof RolledBack ? err.error : err;
  }
  held.fire();
  if (ending.end === 'commit') return ending.value;
  throw ending.error;
}

