import type {
  LineItem,
  MovementReason,
  Order,
  OrderStatus,
  PaymentStatus,
  Product,
  Reservation,
  ReservationStatus,
  StockMovement,
} from '../domain/types.js';
import type { IdempotencyRecord, ProductBalance } from './store.js';

const RESERVATION_STATUSES: readonly ReservationStatus[] = ['RESERVED', 'CONFIRMED', 'CANCELLED', 'EXPIRED'];
const ORDER_STATUSES: readonly OrderStatus[] = ['CONFIRMED', 'CANCELLED', 'COMPLETED'];
const PAYMENT_STATUSES: readonly PaymentStatus[] = ['PENDING', 'SUCCESS', 'FAILED'];
const MOVEMENT_REASONS: readonly MovementReason[] = ['RECEIVE', 'ADJUST', 'RESERVE', 'RELEASE', 'EXPIRE', 'CONFIRM', 'RESTOCK'];

/** The schema's CHECK constraints keep these columns to their values; a row outside them is a broken store. */
function oneOf<T extends string>(value: string, allowed: readonly T[], column: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw new Error(`stored ${column} "${value}" is not one of ${allowed.join(', ')}`);
  return value as T;
}

export interface ProductRow {
  sku: string;
  product_name: string;
  price_minor: number;
  on_hand: number;
  reserved: number;
  sold: number;
  max_per_user: number | null;
  created_at: number;
  updated_at: number;
}

export interface ReservationRow {
  id: string;
  user_id: string;
  status: string;
  expires_at: number;
  created_at: number;
  updated_at: number;
  confirmed_at: number | null;
  cancelled_at: number | null;
  expired_at: number | null;
}

export interface ItemRow {
  sku: string;
  quantity: number;
  unit_price_minor: number;
}

export interface OrderRow {
  id: string;
  user_id: string;
  reservation_id: string;
  total_minor: number;
  status: string;
  payment_status: string;
  created_at: number;
  updated_at: number;
  cancelled_at: number | null;
  completed_at: number | null;
}

export interface MovementRow {
  id: number;
  sku: string;
  delta_on_hand: number;
  delta_reserved: number;
  delta_sold: number;
  reason: string;
  ref_id: string | null;
  at: number;
}

export interface BalanceRow {
  sku: string;
  on_hand: number;
  reserved: number;
  sold: number;
  ledger_on_hand: number;
  ledger_reserved: number;
  ledger_sold: number;
  received: number;
  live_reserved: number;
  ordered_sold: number;
}

export interface IdempotencyRow {
  principal: string;
  key: string;
  method: string;
  path: string;
  request_hash: string;
  status_code: number | null;
  response_body: string | null;
  created_at: number;
  expires_at: number;
  locked_until: number;
}

export const toProduct = (r: ProductRow): Product => ({
  sku: r.sku,
  productName: r.product_name,
  priceMinor: r.price_minor,
  onHand: r.on_hand,
  reserved: r.reserved,
  sold: r.sold,
  maxPerUser: r.max_per_user,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const toItem = (r: ItemRow): LineItem => ({
  sku: r.sku,
  quantity: r.quantity,
  unitPriceMinor: r.unit_price_minor,
});

export const toReservation = (r: ReservationRow, items: LineItem[]): Reservation => ({
  id: r.id,
  userId: r.user_id,
  status: oneOf(r.status, RESERVATION_STATUSES, 'reservation status'),
  items,
  expiresAt: r.expires_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  confirmedAt: r.confirmed_at,
  cancelledAt: r.cancelled_at,
  expiredAt: r.expired_at,
});

export const toOrder = (r: OrderRow, items: LineItem[]): Order => ({
  id: r.id,
  userId: r.user_id,
  reservationId: r.reservation_id,
  items,
  totalMinor: r.total_minor,
  status: oneOf(r.status, ORDER_STATUSES, 'order status'),
  paymentStatus: oneOf(r.payment_status, PAYMENT_STATUSES, 'payment status'),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  cancelledAt: r.cancelled_at,
  completedAt: r.completed_at,
});

export const toMovement = (r: MovementRow): StockMovement => ({
  id: r.id,
  sku: r.sku,
  deltaOnHand: r.delta_on_hand,
  deltaReserved: r.delta_reserved,
  deltaSold: r.delta_sold,
  reason: oneOf(r.reason, MOVEMENT_REASONS, 'movement reason'),
  refId: r.ref_id,
  at: r.at,
});

export const toBalance = (r: BalanceRow): ProductBalance => ({
  sku: r.sku,
  onHand: r.on_hand,
  reserved: r.reserved,
  sold: r.sold,
  ledgerOnHand: r.ledger_on_hand,
  ledgerReserved: r.ledger_reserved,
  ledgerSold: r.ledger_sold,
  received: r.received,
  liveReserved: r.live_reserved,
  orderedSold: r.ordered_sold,
});

export const toIdempotencyRecord = (r: IdempotencyRow): IdempotencyRecord => ({
  principal: r.principal,
  key: r.key,
  method: r.method,
  path: r.path,
  requestHash: r.request_hash,
  statusCode: r.status_code,
  responseBody: r.response_body,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  lockedUntil: r.locked_until,
});
