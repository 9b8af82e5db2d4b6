/** One RESERVE movement of a sku, with the reservation it held for. */
export interface RecordedHold {
  userId: string;
  status: string;
  quantity: number;
}

/** Most ledger rows `liveHoldersFromLedger` reads before giving up on a list: a few milliseconds. */
export const HOLDER_SCAN_LIMIT = 20_000;

/**
 * The users holding live reservations of a sku, found from its ledger rather than by a walk over
 * every live reservation of every sku. The product's reserved counter is the sum of its live
 * holds, each written to the ledger as a RESERVE movement: walking those newest first finds every
 * live hold once the units add up, and live holds are the recent ones. A counter the ledger does
 * not explain (a repair) ends the walk at the scan limit with no list. Both stores use this.
 */
export async function liveHoldersFromLedger(
  reserved: number,
  /** Read only when some units are reserved; a walk that stops early ends the iteration. */
  holdsNewestFirst: () => Iterable<RecordedHold> | Promise<Iterable<RecordedHold>>,
  limit: number,
): Promise<string[] | null> {
  if (reserved <= 0) return [];
  const users = new Set<string>();
  let units = 0;
  let holds = 0;
  let scanned = 0;
  for (const hold of await holdsNewestFirst()) {
    if (++scanned > HOLDER_SCAN_LIMIT) return null;
    if (hold.status !== 'RESERVED') continue;
    if (++holds > limit) return null;
    users.add(hold.userId);
    units += hold.quantity;
    if (units >= reserved) return [...users];
  }
  return null;
}
