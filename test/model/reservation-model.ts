/**
 * A small in-memory model of stockhold's rules, written from docs (issue 2, DESIGN.md) and the
 * services, independent of the store: the model-based test runs random command sequences against
 * it and against the real app, and they must agree on every status, error code and counter.
 *
 * Expiry is lazy in the app: a due reservation (now >= expiresAt) still holds its units until
 * something that reads it expires it. The model mirrors exactly who expires what:
 * - reserve: first every due reservation of the same user (any sku); then, for a line that does
 *   not fit, every due reservation holding that sku, line by line in sku order until one is short;
 * - confirm / cancel / checkout-cancel by reservation / GET reservation: the one reservation, and
 *   only after the ownership check (another user's request expires nothing);
 * - the sweeper: every due reservation.
 * A refused request keeps the expiries it did (the app commits them with the refusal).
 */

export type ReservationStatus = 'RESERVED' | 'CONFIRMED' | 'CANCELLED' | 'EXPIRED';
export type OrderStatus = 'CONFIRMED' | 'CANCELLED' | 'COMPLETED';
export type PaymentStatus = 'PENDING' | 'SUCCESS' | 'FAILED';

export interface Line {
  sku: string;
  quantity: number;
}

export interface ModelProduct {
  sku: string;
  onHand: number;
  reserved: number;
  sold: number;
  maxPerUser: number | null;
}

export interface ModelReservation {
  index: number;
  userId: string;
  /** Normalised: upper-cased, repeated skus summed, sorted by sku. */
  items: Line[];
  status: ReservationStatus;
  expiresAt: number;
}

export interface ModelOrder {
  index: number;
  userId: string;
  reservation: number;
  items: Line[];
  status: OrderStatus;
  paymentStatus: PaymentStatus;
}

/** What the app must answer. `entity` is the status the response body carries on success. */
export interface Outcome {
  status: number;
  code?: string;
  entity?: { status: string; paymentStatus?: PaymentStatus };
  /** The reservation the response is about (new, or replayed): its id must match. */
  reservation?: number;
  /** The order the response is about (new, or replayed). */
  order?: number;
}

export interface Counters {
  totalQuantity: number;
  reservedQuantity: number;
  soldQuantity: number;
  availableQuantity: number;
}

const fail = (status: number, code: string): Outcome => ({ status, code });

export function normaliseLines(lines: readonly Line[]): Line[] {
  const totals = new Map<string, number>();
  for (const line of lines) {
    const sku = line.sku.trim().toUpperCase();
    totals.set(sku, (totals.get(sku) ?? 0) + line.quantity);
  }
  return [...totals]
    .map(([sku, quantity]) => ({ sku, quantity }))
    .sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
}

export class ReservationModel {
  readonly products = new Map<string, ModelProduct>();
  readonly reservations: ModelReservation[] = [];
  readonly orders: ModelOrder[] = [];

  constructor(
    public now: number,
    readonly ttlMs: number,
  ) {}

  // ---- time ----------------------------------------------------------------------------------

  advance(ms: number): void {
    this.now += ms;
  }

  /** The sweeper: every due reservation expires. */
  sweep(): number {
    const due = this.reservations.filter((r) => this.isDue(r));
    for (const r of due) this.expire(r);
    return due.length;
  }

  // ---- products ------------------------------------------------------------------------------

  createProduct(rawSku: string, onHand: number, maxPerUser: number | null): Outcome {
    const sku = rawSku.trim().toUpperCase();
    if (this.products.has(sku)) return fail(409, 'PRODUCT_EXISTS');
    this.products.set(sku, { sku, onHand, reserved: 0, sold: 0, maxPerUser });
    return { status: 201 };
  }

  counters(sku: string): Counters | null {
    const p = this.products.get(sku);
    if (!p) return null;
    return {
      totalQuantity: p.onHand,
      reservedQuantity: p.reserved,
      soldQuantity: p.sold,
      availableQuantity: p.onHand - p.reserved,
    };
  }

  // ---- reserve -------------------------------------------------------------------------------

  /** Checks in the app's order: the user's due ones expire, then duplicates, unknown skus, limits, stock. */
  reserve(userId: string, lines: readonly Line[]): Outcome {
    const demand = normaliseLines(lines);
    const skus = demand.map((d) => d.sku);

    for (const r of this.reservations) if (r.userId === userId) this.expireIfDue(r);
    const live = this.reservations.filter(
      (r) => r.userId === userId && r.status === 'RESERVED' && r.items.some((item) => skus.includes(item.sku)),
    );
    const held = live[0];
    if (held) {
      if (live.length === 1 && sameLines(held.items, demand)) {
        return { status: 200, entity: { status: 'RESERVED' }, reservation: held.index };
      }
      return fail(409, 'RESERVATION_CONFLICT');
    }

    if (skus.some((sku) => !this.products.has(sku))) return fail(404, 'PRODUCT_NOT_FOUND');

    for (const { sku, quantity } of demand) {
      const limit = this.product(sku).maxPerUser;
      if (limit === null) continue;
      if (this.unitsHeldByUser(userId, sku) + quantity > limit) return fail(400, 'PURCHASE_LIMIT_EXCEEDED');
    }

    for (const { sku, quantity } of demand) {
      const p = this.product(sku);
      if (p.onHand - p.reserved >= quantity) continue;
      // Stock held by a due reservation is never refused: those of this sku expire first.
      for (const r of this.reservations) if (this.isDue(r) && r.items.some((item) => item.sku === sku)) this.expire(r);
      if (p.onHand - p.reserved < quantity) return fail(400, 'INSUFFICIENT_INVENTORY');
    }

    for (const { sku, quantity } of demand) this.product(sku).reserved += quantity;
    const reservation: ModelReservation = {
      index: this.reservations.length,
      userId,
      items: demand,
      status: 'RESERVED',
      expiresAt: this.now + this.ttlMs,
    };
    this.reservations.push(reservation);
    return { status: 201, entity: { status: 'RESERVED' }, reservation: reservation.index };
  }

  /** Live reserved units plus confirmed or completed ordered units (the user's due ones are already expired). */
  private unitsHeldByUser(userId: string, sku: string): number {
    const units = (items: Line[]) => items.filter((item) => item.sku === sku).reduce((sum, item) => sum + item.quantity, 0);
    const reserved = this.reservations
      .filter((r) => r.userId === userId && r.status === 'RESERVED')
      .reduce((sum, r) => sum + units(r.items), 0);
    const ordered = this.orders
      .filter((o) => o.userId === userId && (o.status === 'CONFIRMED' || o.status === 'COMPLETED'))
      .reduce((sum, o) => sum + units(o.items), 0);
    return reserved + ordered;
  }

  // ---- reservation actions -------------------------------------------------------------------

  /** POST /checkout/confirm. Ownership is checked before the reservation is read as due. */
  confirm(index: number | null, userId: string): Outcome {
    const r = index === null ? undefined : this.reservations[index];
    if (!r) return fail(404, 'RESERVATION_NOT_FOUND');
    if (r.userId !== userId) return fail(403, 'NOT_OWNER');
    this.expireIfDue(r);
    switch (r.status) {
      case 'CONFIRMED': {
        const order = this.orderOf(r.index);
        // A cancelled order is not a purchase that stands: confirming again is refused, not replayed.
        if (order.status === 'CANCELLED') return fail(400, 'INVALID_STATE');
        return { status: 200, entity: { status: order.status, paymentStatus: order.paymentStatus }, order: order.index };
      }
      case 'EXPIRED':
        return fail(400, 'RESERVATION_EXPIRED');
      case 'CANCELLED':
        return fail(400, 'INVALID_STATE');
      case 'RESERVED':
        break;
    }
    r.status = 'CONFIRMED';
    for (const { sku, quantity } of r.items) {
      const p = this.product(sku);
      p.onHand -= quantity;
      p.reserved -= quantity;
      p.sold += quantity;
    }
    const order: ModelOrder = {
      index: this.orders.length,
      userId,
      reservation: r.index,
      items: r.items,
      status: 'CONFIRMED',
      paymentStatus: 'PENDING',
    };
    this.orders.push(order);
    return { status: 201, entity: { status: 'CONFIRMED', paymentStatus: 'PENDING' }, order: order.index };
  }

  /** POST /inventory/reserve/cancel. A repeated cancel answers 200 again. */
  cancelReservation(index: number | null, userId: string): Outcome {
    const r = index === null ? undefined : this.reservations[index];
    if (!r) return fail(404, 'RESERVATION_NOT_FOUND');
    if (r.userId !== userId) return fail(403, 'NOT_OWNER');
    this.expireIfDue(r);
    switch (r.status) {
      case 'RESERVED':
        this.release(r, 'CANCELLED');
        return { status: 200, entity: { status: 'CANCELLED' }, reservation: r.index };
      case 'CANCELLED':
        return { status: 200, entity: { status: 'CANCELLED' }, reservation: r.index };
      case 'EXPIRED':
        return fail(400, 'RESERVATION_EXPIRED');
      case 'CONFIRMED':
        return fail(400, 'INVALID_STATE');
    }
  }

  /** POST /checkout/cancel with a reservationId: an open reservation is released, a confirmed one cancels its order. */
  cancelCheckoutByReservation(index: number | null, userId: string): Outcome {
    const r = index === null ? undefined : this.reservations[index];
    if (!r) return fail(404, 'RESERVATION_NOT_FOUND');
    if (r.userId !== userId) return fail(403, 'NOT_OWNER');
    if (r.status === 'CONFIRMED') return this.cancelOrder(this.orderOf(r.index), null);
    return this.cancelReservation(index, userId);
  }

  /** POST /checkout/cancel with an orderId. */
  cancelCheckoutByOrder(index: number | null, userId: string): Outcome {
    const o = index === null ? undefined : this.orders[index];
    if (!o) return fail(404, 'ORDER_NOT_FOUND');
    if (o.userId !== userId) return fail(403, 'NOT_OWNER');
    return this.cancelOrder(o, null);
  }

  /** POST /order/:id/payment. The same outcome again is a no-op; SUCCESS completes, FAILED cancels and restocks. */
  pay(index: number | null, status: 'SUCCESS' | 'FAILED'): Outcome {
    const o = index === null ? undefined : this.orders[index];
    if (!o) return fail(404, 'ORDER_NOT_FOUND');
    if (o.paymentStatus === status) return { status: 200, entity: { status: o.status, paymentStatus: o.paymentStatus }, order: o.index };
    if (o.status !== 'CONFIRMED') return fail(400, 'INVALID_STATE');
    if (status === 'FAILED') return this.cancelOrder(o, 'FAILED');
    o.status = 'COMPLETED';
    o.paymentStatus = 'SUCCESS';
    return { status: 200, entity: { status: 'COMPLETED', paymentStatus: 'SUCCESS' }, order: o.index };
  }

  /** GET /reservation/:id: the current status, expiring a due reservation first. */
  getReservation(index: number | null): Outcome {
    const r = index === null ? undefined : this.reservations[index];
    if (!r) return fail(404, 'RESERVATION_NOT_FOUND');
    this.expireIfDue(r);
    return { status: 200, entity: { status: r.status }, reservation: r.index };
  }

  // ---- internals -----------------------------------------------------------------------------

  private cancelOrder(o: ModelOrder, paymentStatus: PaymentStatus | null): Outcome {
    if (o.status === 'CANCELLED') return { status: 200, entity: { status: 'CANCELLED', paymentStatus: o.paymentStatus }, order: o.index };
    if (o.status === 'COMPLETED') return fail(400, 'INVALID_STATE');
    o.status = 'CANCELLED';
    if (paymentStatus) o.paymentStatus = paymentStatus;
    for (const { sku, quantity } of o.items) {
      const p = this.product(sku);
      p.onHand += quantity;
      p.sold -= quantity;
    }
    return { status: 200, entity: { status: 'CANCELLED', paymentStatus: o.paymentStatus }, order: o.index };
  }

  private isDue(r: ModelReservation): boolean {
    return r.status === 'RESERVED' && this.now >= r.expiresAt;
  }

  private expireIfDue(r: ModelReservation): void {
    if (this.isDue(r)) this.expire(r);
  }

  private expire(r: ModelReservation): void {
    this.release(r, 'EXPIRED');
  }

  private release(r: ModelReservation, to: 'CANCELLED' | 'EXPIRED'): void {
    r.status = to;
    for (const { sku, quantity } of r.items) this.product(sku).reserved -= quantity;
  }

  private product(sku: string): ModelProduct {
    const p = this.products.get(sku);
    if (!p) throw new Error(`model: no product ${sku}`);
    return p;
  }

  private orderOf(reservation: number): ModelOrder {
    const o = this.orders.find((order) => order.reservation === reservation);
    if (!o) throw new Error(`model: confirmed reservation ${reservation} has no order`);
    return o;
  }

  /** One line per entity, for a failure message. */
  describe(): string {
    const products = [...this.products.values()].map(
      (p) => `${p.sku} onHand=${p.onHand} reserved=${p.reserved} sold=${p.sold} max=${p.maxPerUser ?? '-'}`,
    );
    const reservations = this.reservations.map(
      (r) =>
        `r${r.index} ${r.userId} ${r.status} ${r.items.map((i) => `${i.sku}x${i.quantity}`).join(',')} due+${r.expiresAt - this.now}`,
    );
    const orders = this.orders.map((o) => `o${o.index} r${o.reservation} ${o.userId} ${o.status}/${o.paymentStatus}`);
    return [...products, ...reservations, ...orders].join('\n  ');
  }
}

function sameLines(items: readonly Line[], demand: readonly Line[]): boolean {
  return items.length === demand.length && demand.every((d) => items.some((i) => i.sku === d.sku && i.quantity === d.quantity));
}
