import type Database from 'better-sqlite3';

/**
 * Every statement stockhold runs on SQLite, by name, prepared once per connection. The
 * repositories (sqlite-repositories.ts) bind values and map rows; the write queue runs them.
 */
export function prepareSqliteQueries(db: Database.Database) {
  const prepare = (sql: string) => db.prepare(sql);
  return {
    insertProduct: prepare(`INSERT INTO products (sku, product_name, price_minor, on_hand, reserved, sold, max_per_user, created_at, updated_at)
      VALUES (?, ?, ?, ?, 0, 0, ?, ?, ?) ON CONFLICT (sku) DO NOTHING`),
    updateProduct: prepare('UPDATE products SET product_name = ?, price_minor = ?, max_per_user = ?, updated_at = ? WHERE sku = ?'),
    updateProductDetails: prepare(`UPDATE products SET product_name = ?, price_minor = ?, updated_at = ?
      WHERE sku = ? AND (product_name <> ? OR price_minor <> ?)`),
    getProduct: prepare('SELECT * FROM products WHERE sku = ?'),
    getProducts: prepare('SELECT * FROM products WHERE sku IN (SELECT value FROM json_each(?)) ORDER BY sku'),
    listProducts: prepare('SELECT * FROM products WHERE sku > ? ORDER BY sku LIMIT ?'),
    countProducts: prepare('SELECT COUNT(*) FROM products').pluck(),
    hold: prepare(`UPDATE products SET reserved = reserved + ?, updated_at = ?
      WHERE sku = ? AND on_hand - reserved >= ?`),
    available: prepare('SELECT on_hand - reserved FROM products WHERE sku = ?').pluck(),
    move: prepare(`UPDATE products SET on_hand = on_hand + ?, reserved = reserved + ?, sold = sold + ?, updated_at = ?
      WHERE sku = ?`),
    insertMovement: prepare(`INSERT INTO stock_movements (sku, delta_on_hand, delta_reserved, delta_sold, reason, ref_id, at)
      VALUES (?, ?, ?, ?, ?, ?, ?)`),
    listMovements: prepare('SELECT * FROM stock_movements WHERE sku = ? AND id < ? ORDER BY id DESC LIMIT ?'),
    // Set-based: each history is grouped once, then joined to the products; no per-sku lookups.
    // The PostgreSQL catalogue has the same statement with casts: each dialect's catalogue stands alone.
    productBalances: prepare(`WITH ledger AS (
        SELECT sku, SUM(delta_on_hand) AS on_hand, SUM(delta_reserved) AS reserved, SUM(delta_sold) AS sold,
          SUM(CASE WHEN reason IN ('RECEIVE', 'ADJUST') THEN delta_on_hand + delta_sold ELSE 0 END) AS received
        FROM stock_movements GROUP BY sku),
      live AS (
        SELECT i.sku, SUM(i.quantity) AS reserved
        FROM reservations r JOIN reservation_items i ON i.reservation_id = r.id
        WHERE r.status = 'RESERVED' GROUP BY i.sku),
      ordered AS (
        SELECT oi.sku, SUM(oi.quantity) AS sold
        FROM orders o JOIN order_items oi ON oi.order_id = o.id
        WHERE o.status IN ('CONFIRMED', 'COMPLETED') GROUP BY oi.sku)
      SELECT p.sku, p.on_hand, p.reserved, p.sold,
        COALESCE(l.on_hand, 0) AS ledger_on_hand, COALESCE(l.reserved, 0) AS ledger_reserved,
        COALESCE(l.sold, 0) AS ledger_sold, COALESCE(l.received, 0) AS received,
        COALESCE(v.reserved, 0) AS live_reserved, COALESCE(o.sold, 0) AS ordered_sold
      FROM products p
        LEFT JOIN ledger l ON l.sku = p.sku
        LEFT JOIN live v ON v.sku = p.sku
        LEFT JOIN ordered o ON o.sku = p.sku
      ORDER BY p.sku`),
    setCounters: prepare('UPDATE products SET on_hand = ?, reserved = ?, sold = ?, updated_at = ? WHERE sku = ?'),
    insertReservation: prepare(`INSERT INTO reservations (id, user_id, status, expires_at, created_at, updated_at, confirmed_at, cancelled_at, expired_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    insertReservationItem: prepare(`INSERT INTO reservation_items (reservation_id, sku, quantity, unit_price_minor) VALUES (?, ?, ?, ?)`),
    getReservation: prepare('SELECT * FROM reservations WHERE id = ?'),
    reservationItems: prepare('SELECT sku, quantity, unit_price_minor FROM reservation_items WHERE reservation_id = ? ORDER BY sku'),
    liveReservations: prepare(`SELECT * FROM reservations WHERE user_id = ? AND status = 'RESERVED' ORDER BY created_at, id`),
    dueAll: prepare(`SELECT id FROM reservations WHERE status = 'RESERVED' AND expires_at <= ? ORDER BY expires_at LIMIT ?`).pluck(),
    dueForSku: prepare(`SELECT r.id FROM reservations r WHERE r.status = 'RESERVED' AND r.expires_at <= ?
      AND EXISTS (SELECT 1 FROM reservation_items i WHERE i.reservation_id = r.id AND i.sku = ?)
      ORDER BY r.expires_at LIMIT ?`).pluck(),
    earliestLiveExpiry: prepare(`SELECT MIN(expires_at) FROM reservations WHERE status = 'RESERVED'`).pluck(),
    reservedOf: prepare('SELECT reserved FROM products WHERE sku = ?').pluck(),
    // The sku's holds, newest first, from its ledger (the by-sku index) rather than a walk over
    // every live reservation of every sku.
    holdsNewestFirst: prepare(`SELECT r.user_id AS userId, r.status, m.delta_reserved AS quantity
      FROM stock_movements m JOIN reservations r ON r.id = m.ref_id
      WHERE m.sku = ? AND m.reason = 'RESERVE' ORDER BY m.id DESC`),
    moveReservation: prepare(`UPDATE reservations SET status = @to, updated_at = @at,
      confirmed_at = CASE WHEN @to = 'CONFIRMED' THEN @at ELSE confirmed_at END,
      cancelled_at = CASE WHEN @to = 'CANCELLED' THEN @at ELSE cancelled_at END,
      expired_at = CASE WHEN @to = 'EXPIRED' THEN @at ELSE expired_at END
      WHERE id = @id AND status = @from`),
    userStandings: prepare(`SELECT u.value AS userId,
      (SELECT COUNT(*) FROM reservations r WHERE r.user_id = u.value AND r.status = 'RESERVED') AS liveReservations,
      (SELECT COUNT(*) FROM reservations r WHERE r.user_id = u.value AND r.status = 'RESERVED'
        AND EXISTS (SELECT 1 FROM reservation_items i WHERE i.reservation_id = r.id AND i.sku = @sku)) AS liveHoldingSku,
      (SELECT COUNT(*) FROM reservations r WHERE r.user_id = u.value AND r.status = 'RESERVED'
        AND r.expires_at <= @now) AS dueReservations,
      (SELECT COALESCE(SUM(oi.quantity), 0) FROM orders o JOIN order_items oi ON oi.order_id = o.id
        WHERE o.user_id = u.value AND o.status IN ('CONFIRMED', 'COMPLETED') AND oi.sku = @sku) AS orderedUnits
      FROM (SELECT DISTINCT value FROM json_each(@users)) AS u`),
    unitsHeldByUser: prepare(`SELECT
      (SELECT COALESCE(SUM(i.quantity), 0) FROM reservations r JOIN reservation_items i ON i.reservation_id = r.id
        WHERE r.user_id = @user AND r.status = 'RESERVED' AND i.sku = @sku)
      + (SELECT COALESCE(SUM(oi.quantity), 0) FROM orders o JOIN order_items oi ON oi.order_id = o.id
        WHERE o.user_id = @user AND o.status IN ('CONFIRMED', 'COMPLETED') AND oi.sku = @sku)`).pluck(),
    insertOrder: prepare(`INSERT INTO orders (id, user_id, reservation_id, total_minor, status, payment_status, created_at, updated_at, cancelled_at, completed_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    insertOrderItem: prepare('INSERT INTO order_items (order_id, sku, quantity, unit_price_minor) VALUES (?, ?, ?, ?)'),
    getOrder: prepare('SELECT * FROM orders WHERE id = ?'),
    getOrderByReservation: prepare('SELECT * FROM orders WHERE reservation_id = ?'),
    orderItems: prepare('SELECT sku, quantity, unit_price_minor FROM order_items WHERE order_id = ? ORDER BY sku'),
    moveOrder: prepare(`UPDATE orders SET status = @to, payment_status = @payment, updated_at = @at,
      cancelled_at = CASE WHEN @to = 'CANCELLED' THEN @at ELSE cancelled_at END,
      completed_at = CASE WHEN @to = 'COMPLETED' THEN @at ELSE completed_at END
      WHERE id = @id AND status = @from`),
    getIdempotency: prepare('SELECT * FROM idempotency_keys WHERE principal = ? AND key = ?'),
    claimIdempotency: prepare(`INSERT INTO idempotency_keys
      (principal, key, method, path, request_hash, status_code, response_body, created_at, expires_at, locked_until)
      VALUES (@principal, @key, @method, @path, @requestHash, @statusCode, @responseBody, @createdAt, @expiresAt, @lockedUntil)
      ON CONFLICT (principal, key) DO UPDATE SET
        method = excluded.method, path = excluded.path, request_hash = excluded.request_hash,
        status_code = excluded.status_code, response_body = excluded.response_body, created_at = excluded.created_at,
        expires_at = excluded.expires_at, locked_until = excluded.locked_until
      WHERE idempotency_keys.expires_at <= @now
        OR (idempotency_keys.status_code IS NULL AND idempotency_keys.locked_until <= @now)`),
    completeIdempotency: prepare('UPDATE idempotency_keys SET status_code = ?, response_body = ? WHERE principal = ? AND key = ?'),
    deleteIdempotency: prepare('DELETE FROM idempotency_keys WHERE principal = ? AND key = ? AND status_code IS NULL'),
    releasePendingIdempotency: prepare('DELETE FROM idempotency_keys WHERE status_code IS NULL'),
    pruneIdempotency: prepare(`DELETE FROM idempotency_keys WHERE rowid IN
      (SELECT rowid FROM idempotency_keys WHERE expires_at <= ? LIMIT ?)`),
  };
}

export type SqliteQueries = ReturnType<typeof prepareSqliteQueries>;
