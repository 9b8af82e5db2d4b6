import { fromMinorUnits } from '../domain/money.js';
import type { LineItem, Order, Product, Reservation, StockMovement } from '../domain/types.js';

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

export const presentProduct = (p: Product) => ({
  sku: p.sku,
  productName: p.productName,
  price: fromMinorUnits(p.priceMinor),
  totalQuantity: p.onHand,
  availableQuantity: p.onHand - p.reserved,
  reservedQuantity: p.reserved,
  soldQuantity: p.sold,
  maxPerUser: p.maxPerUser,
  createdAt: iso(p.createdAt),
  updatedAt: iso(p.updatedAt),
});

const presentItems = (items: LineItem[]) =>
  items.map((item) => ({ sku: item.sku, quantity: item.quantity, unitPrice: fromMinorUnits(item.unitPriceMinor) }));

// The seed's single-product shape: a one-line reservation or order also shows sku and quantity at the top.
const singleLine = (items: LineItem[]) => {
  const only = items.length === 1 ? items[0] : undefined;
  return only ? { sku: only.sku, quantity: only.quantity } : {};
};

const totalOf = (items: LineItem[]): number =>
  fromMinorUnits(items.reduce((sum, item) => sum + item.quantity * item.unitPriceMinor, 0));

export const presentReservation = (r: Reservation, now: number, isIdempotent?: boolean) => ({
  reservationId: r.id,
  userId: r.userId,
  status: r.status,
  items: presentItems(r.items),
  ...singleLine(r.items),
  totalPrice: totalOf(r.items),
  expiresAt: iso(r.expiresAt),
  expiresIn: r.status === 'RESERVED' ? Math.max(0, r.expiresAt - now) : 0,
  createdAt: iso(r.createdAt),
  updatedAt: iso(r.updatedAt),
  confirmedAt: isoOrNull(r.confirmedAt),
  cancelledAt: isoOrNull(r.cancelledAt),
  expiredAt: isoOrNull(r.expiredAt),
  ...(isIdempotent === undefined ? {} : { isIdempotent }),
});

export const presentOrder = (o: Order, isIdempotent?: boolean) => ({
  orderId: o.id,
  reservationId: o.reservationId,
  userId: o.userId,
  items: presentItems(o.items),
  ...singleLine(o.items),
  totalPrice: fromMinorUnits(o.totalMinor),
  status: o.status,
  paymentStatus: o.paymentStatus,
  createdAt: iso(o.createdAt),
  updatedAt: iso(o.updatedAt),
  cancelledAt: isoOrNull(o.cancelledAt),
  completedAt: isoOrNull(o.completedAt),
  ...(isIdempotent === undefined ? {} : { isIdempotent }),
});

export const presentMovement = (m: StockMovement) => ({
  id: m.id,
  sku: m.sku,
  reason: m.reason,
  deltaOnHand: m.deltaOnHand,
  deltaReserved: m.deltaReserved,
  deltaSold: m.deltaSold,
  refId: m.refId,
  at: iso(m.at),
});
