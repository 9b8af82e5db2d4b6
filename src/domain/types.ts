export type ReservationStatus = 'RESERVED' | 'CONFIRMED' | 'CANCELLED' | 'EXPIRED';
export type OrderStatus = 'CONFIRMED' | 'CANCELLED' | 'COMPLETED';
export type PaymentStatus = 'PENDING' | 'SUCCESS' | 'FAILED';
export type MovementReason = 'RECEIVE' | 'ADJUST' | 'RESERVE' | 'RELEASE' | 'EXPIRE' | 'CONFIRM' | 'RESTOCK';

/** Times are epoch milliseconds everywhere below the HTTP layer. */
export interface Product {
  sku: string;
  productName: string;
  priceMinor: number;
  onHand: number;
  reserved: number;
  sold: number;
  maxPerUser: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface NewProduct {
  sku: string;
  productName: string;
  priceMinor: number;
  onHand: number;
  maxPerUser: number | null;
}

export interface LineItem {
  sku: string;
  quantity: number;
  unitPriceMinor: number;
}

export interface Reservation {
  id: string;
  userId: string;
  status: ReservationStatus;
  items: LineItem[];
  expiresAt: number;
  createdAt: number;
  updatedAt: number;
  confirmedAt: number | null;
  cancelledAt: number | null;
  expiredAt: number | null;
}

export interface Order {
  id: string;
  userId: string;
  reservationId: string;
  items: LineItem[];
  totalMinor: number;
  status: OrderStatus;
  paymentStatus: PaymentStatus;
  createdAt: number;
  updatedAt: number;
  cancelledAt: number | null;
  completedAt: number | null;
}

/** One row of the append-only ledger: every counter change writes one, in the same transaction. */
export interface StockMovement {
  id: number;
  sku: string;
  deltaOnHand: number;
  deltaReserved: number;
  deltaSold: number;
  reason: MovementReason;
  refId: string | null;
  at: number;
}

export type NewStockMovement = Omit<StockMovement, 'id'>;

/** What is asked of the store, already normalised: skus upper-cased, repeated skus summed, sorted by sku. */
export interface Demand {
  sku: string;
  quantity: number;
}
