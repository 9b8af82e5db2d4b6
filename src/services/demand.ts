import { DomainError } from '../domain/errors.js';
import { invalidSku, isValidSku, normaliseSku } from '../domain/sku.js';
import type { Demand, LineItem } from '../domain/types.js';

export const MAX_UNITS_PER_LINE = 10_000;

/**
 * Upper-cases skus, sums repeated ones and sorts by sku: every store locks or updates rows in
 * this one order, which is what keeps crossing multi-line reservations from deadlocking.
 */
export function normaliseDemand(lines: readonly Demand[]): Demand[] {
  const totals = new Map<string, number>();
  lines.forEach((line, index) => {
    const sku = normaliseSku(line.sku);
    if (!isValidSku(sku)) throw invalidSku(lines.length === 1 ? 'sku' : `items/${index}/sku`);
    totals.set(sku, (totals.get(sku) ?? 0) + line.quantity);
  });
  const demand = [...totals].map(([sku, quantity]) => ({ sku, quantity }));
  for (const { sku, quantity } of demand) {
    if (quantity > MAX_UNITS_PER_LINE) {
      throw new DomainError('VALIDATION_ERROR', `At most ${MAX_UNITS_PER_LINE} units of one sku per reservation`, {
        errors: [{ field: 'quantity', message: `${sku} totals ${quantity} units` }],
      });
    }
  }
  return demand.sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
}

export const sameLines = (items: readonly LineItem[], demand: readonly Demand[]): boolean =>
  items.length === demand.length &&
  demand.every((d) => items.some((item) => item.sku === d.sku && item.quantity === d.quantity));
