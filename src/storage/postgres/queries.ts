/**
 * Every statement stockhold runs on PostgreSQL, by name. The repositories (pg-repositories.ts)
 * bind values and map rows; pg-store.ts runs the transactions.
 */

/** Named statements are prepared once per connection by the driver. */
export interface NamedQuery {
  name: string;
  text: string;
}

const sql = (name: string, text: string): NamedQuery => ({ name, text });

export const pgQueries = {
  insertProduct: sql('insert_product', `INSERT INTO products
    (sku, product_name, price_minor, on_hand, reserved, sold, max_per_user, created_at, updated_at)
    VALUES ($1, $2, $3, $4, 0, 0, $5, $6, $6) ON CONFLICT (sku) DO NOTHING`),
  updateProduct: sql('update_product', 'UPDATE products SET product_name = $2, price_minor = $3, max_per_user = $4, updated_at = $5 WHERE sku = $1'),
  updateProductDetails: sql('update_product_details', `UPDATE products SET product_name = $2, price_minor = $3, updated_at = $4
    WHERE sku = $1 AND (product_name <> $2 OR price_minor <> $3)`),
  getProduct: sql('get_product', 'SELECT * FROM products WHERE sku = $1'),
  getProducts: sql('get_products', 'SELECT * FROM products WHERE sku = ANY($1::text[]) ORDER BY sku'),
  listProducts: sql('list_products', 'SELECT * FROM products WHERE sku > $1 ORDER BY sku LIMIT $2'),
  countProducts: sql('count_products', 'SELECT COUNT(*)::int AS n FROM products'),
  lockUser: sql('lock_user', 'SELECT pg_advisory_xact_lock($1, hashtext($2))'),
  // The same keys as lockUser, taken one by one in key order (the sorted subquery is not flattened).
  lockUsers: sql('lock_users', `SELECT pg_advisory_xact_lock($1, k)
    FROM (SELECT DISTINCT hashtext(u) AS k FROM unnest($2::text[]) AS u ORDER BY 1) AS keys`),
  // The user's live reservations are read once (reservations_live_by_user), then counted three ways.
  userStandings: sql('user_standings', `SELECT u.user_id, l.live::int AS live_reservations,
      COALESCE(l.holding, 0)::int AS live_holding_sku, COALESCE(l.due, 0)::int AS due_reservations,
      (SELECT COALESCE(SUM(oi.quantity), 0) FROM orders o JOIN order_items oi ON oi.order_id = o.id
        WHERE o.user_id = u.user_id AND o.status IN ('CONFIRMED', 'COMPLETED') AND oi.sku = $2)::int AS ordered_units
    FROM (SELECT DISTINCT unnest($1::text[]) AS user_id) AS u
    CROSS JOIN LATERAL (
      SELECT COUNT(*) AS live,
        SUM(CASE WHEN EXISTS (SELECT 1 FROM reservation_items i WHERE i.reservation_id = r.id AND i.sku = $2) THEN 1 ELSE 0 END) AS holding,
        SUM(CASE WHEN r.expires_at <= $3::bigint THEN 1 ELSE 0 END) AS due
      FROM reservations r WHERE r.user_id = u.user_id AND r.status = 'RESERVED') AS l`),
  // A whole batch of one-line reserves of one sku in one statement: the guarded hold of the total
  // locks the product row; the reservations, their lines and one ledger row each are inserted only
  // when it held (each joins held). The foreign keys are checked at the end of the statement.
  holdBatch: sql('hold_batch', `WITH b AS (
      SELECT * FROM unnest($2::text[], $3::text[], $4::int[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[])
        WITH ORDINALITY AS b(id, user_id, quantity, unit_price_minor, expires_at, created_at, updated_at, ord)),
    held AS (
      UPDATE products SET reserved = reserved + t.total, updated_at = $9::bigint
      FROM (SELECT SUM(quantity)::int AS total FROM b) AS t
      WHERE sku = $1 AND on_hand - reserved >= t.total RETURNING sku),
    r AS (
      INSERT INTO reservations (id, user_id, status, expires_at, created_at, updated_at, confirmed_at, cancelled_at, expired_at)
      SELECT b.id, b.user_id, 'RESERVED', b.expires_at, b.created_at, b.updated_at, NULL, NULL, NULL
      FROM b CROSS JOIN held ORDER BY b.ord),
    i AS (
      INSERT INTO reservation_items (reservation_id, sku, quantity, unit_price_minor)
      SELECT b.id, held.sku, b.quantity, b.unit_price_minor FROM b CROSS JOIN held ORDER BY b.ord)
    INSERT INTO stock_movements (sku, delta_on_hand, delta_reserved, delta_sold, reason, ref_id, at)
    SELECT held.sku, 0, b.quantity, 0, 'RESERVE', b.id, $9::bigint FROM b CROSS JOIN held ORDER BY b.ord`),
  // The guard and the ledger row in one statement: one round trip while the product row is locked.
  hold: sql('hold', `WITH held AS (
      UPDATE products SET reserved = reserved + $2::int, updated_at = $3::bigint
      WHERE sku = $1 AND on_hand - reserved >= $2::int RETURNING sku)
    INSERT INTO stock_movements (sku, delta_on_hand, delta_reserved, delta_sold, reason, ref_id, at)
    SELECT sku, 0, $2::int, 0, 'RESERVE', $4, $3::bigint FROM held`),
  available: sql('available', 'SELECT on_hand - reserved AS available FROM products WHERE sku = $1'),
  // Every movement in one statement: the product rows are locked in sku order, each updated once
  // with its summed deltas, and one ledger row is written per movement. The lock is NO KEY UPDATE,
  // the one an UPDATE takes: FOR UPDATE would also wait for the key-share locks that concurrent
  // reserves' foreign-key checks hold on the same row, and deadlock with their holds.
  move: sql('move', `WITH m AS (
      SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $5::text[], $6::text[], $7::bigint[])
        WITH ORDINALITY AS m(sku, d_on_hand, d_reserved, d_sold, reason, ref_id, at, ord)),
    locked AS MATERIALIZED (
      SELECT sku FROM products WHERE sku IN (SELECT sku FROM m) ORDER BY sku FOR NO KEY UPDATE),
    agg AS (
      SELECT sku, SUM(d_on_hand)::int AS d_on_hand, SUM(d_reserved)::int AS d_reserved, SUM(d_sold)::int AS d_sold,
        MAX(at) AS at
      FROM m GROUP BY sku),
    moved AS (
      UPDATE products p SET on_hand = p.on_hand + agg.d_on_hand, reserved = p.reserved + agg.d_reserved,
        sold = p.sold + agg.d_sold, updated_at = agg.at
      FROM agg JOIN locked USING (sku) WHERE p.sku = agg.sku RETURNING p.sku)
    INSERT INTO stock_movements (sku, delta_on_hand, delta_reserved, delta_sold, reason, ref_id, at)
    SELECT m.sku, m.d_on_hand, m.d_reserved, m.d_sold, m.reason, m.ref_id, m.at
    FROM m JOIN moved USING (sku) ORDER BY m.ord`),
  receive: sql('receive', `INSERT INTO stock_movements (sku, delta_on_hand, delta_reserved, delta_sold, reason, ref_id, at)
    VALUES ($1, $2, 0, 0, 'RECEIVE', NULL, $3)`),
  listMovements: sql('list_movements', 'SELECT * FROM stock_movements WHERE sku = $1 AND id < $2 ORDER BY id DESC LIMIT $3'),
  // One statement, so one snapshot: every figure describes the same committed state even while
  // other transactions run. Each history is grouped once, then joined to the products. The SQLite
  // catalogue has the same statement without the casts: each dialect's catalogue stands alone.
  productBalances: sql('product_balances', `WITH ledger AS (
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
      COALESCE(l.on_hand, 0)::bigint AS ledger_on_hand, COALESCE(l.reserved, 0)::bigint AS ledger_reserved,
      COALESCE(l.sold, 0)::bigint AS ledger_sold, COALESCE(l.received, 0)::bigint AS received,
      COALESCE(v.reserved, 0)::bigint AS live_reserved, COALESCE(o.sold, 0)::bigint AS ordered_sold
    FROM products p
      LEFT JOIN ledger l ON l.sku = p.sku
      LEFT JOIN live v ON v.sku = p.sku
      LEFT JOIN ordered o ON o.sku = p.sku
    ORDER BY p.sku`),
  setCounters: sql('set_counters', `UPDATE products p SET on_hand = c.on_hand, reserved = c.reserved, sold = c.sold,
      updated_at = $5::bigint
    FROM unnest($1::text[], $2::int[], $3::int[], $4::int[]) AS c(sku, on_hand, reserved, sold)
    WHERE p.sku = c.sku`),
  adjust: sql('adjust', `INSERT INTO stock_movements (sku, delta_on_hand, delta_reserved, delta_sold, reason, ref_id, at)
    SELECT sku, d_on_hand, d_reserved, d_sold, 'ADJUST', $5, $6::bigint
    FROM unnest($1::text[], $2::int[], $3::int[], $4::int[]) AS a(sku, d_on_hand, d_reserved, d_sold)`),
  insertReservation: sql('insert_reservation', `INSERT INTO reservations
    (id, user_id, status, expires_at, created_at, updated_at, confirmed_at, cancelled_at, expired_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`),
  insertReservationItems: sql('insert_reservation_items', `INSERT INTO reservation_items (reservation_id, sku, quantity, unit_price_minor)
    SELECT $1, * FROM unnest($2::text[], $3::int[], $4::bigint[])`),
  getReservation: sql('get_reservation', 'SELECT * FROM reservations WHERE id = $1'),
  reservationItems: sql('reservation_items', `SELECT sku, quantity, unit_price_minor FROM reservation_items
    WHERE reservation_id = $1 ORDER BY sku`),
  liveReservations: sql('live_reservations', `SELECT * FROM reservations WHERE user_id = $1 AND status = 'RESERVED'
    ORDER BY created_at, id`),
  // SKIP LOCKED: several instances sweep at once, each claiming different due reservations.
  dueAll: sql('due_all', `SELECT id FROM reservations WHERE status = 'RESERVED' AND expires_at <= $1
    ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED`),
  dueForSku: sql('due_for_sku', `SELECT r.id FROM reservations r WHERE r.status = 'RESERVED' AND r.expires_at <= $1
    AND EXISTS (SELECT 1 FROM reservation_items i WHERE i.reservation_id = r.id AND i.sku = $2)
    ORDER BY r.expires_at LIMIT $3`),
  // expires_at IS NOT NULL (always true) lets the ordered scan use reservations_live_by_expiry.
  earliestLiveExpiry: sql('earliest_live_expiry', `SELECT MIN(expires_at) AS earliest FROM reservations
    WHERE status = 'RESERVED' AND expires_at IS NOT NULL`),
  reservedOf: sql('reserved_of', 'SELECT reserved FROM products WHERE sku = $1'),
  // The sku's holds, newest first, from its ledger (the by-sku index): see liveHoldersFromLedger.
  holdsNewestFirst: sql('holds_newest_first', `SELECT r.user_id AS "userId", r.status, m.delta_reserved AS quantity
    FROM stock_movements m JOIN reservations r ON r.id = m.ref_id
    WHERE m.sku = $1 AND m.reason = 'RESERVE' ORDER BY m.id DESC LIMIT $2`),
  moveReservation: sql('move_reservation', `UPDATE reservations SET status = $3::text, updated_at = $4::bigint,
    confirmed_at = CASE WHEN $3::text = 'CONFIRMED' THEN $4::bigint ELSE confirmed_at END,
    cancelled_at = CASE WHEN $3::text = 'CANCELLED' THEN $4::bigint ELSE cancelled_at END,
    expired_at = CASE WHEN $3::text = 'EXPIRED' THEN $4::bigint ELSE expired_at END
    WHERE id = $1 AND status = $2::text`),
  unitsHeldByUser: sql('units_held_by_user', `SELECT
    (SELECT COALESCE(SUM(i.quantity), 0) FROM reservations r JOIN reservation_items i ON i.reservation_id = r.id
      WHERE r.user_id = $1 AND r.status = 'RESERVED' AND i.sku = $2)
    + (SELECT COALESCE(SUM(oi.quantity), 0) FROM orders o JOIN order_items oi ON oi.order_id = o.id
      WHERE o.user_id = $1 AND o.status IN ('CONFIRMED', 'COMPLETED') AND oi.sku = $2) AS units`),
  insertOrder: sql('insert_order', `INSERT INTO orders
    (id, user_id, reservation_id, total_minor, status, payment_status, created_at, updated_at, cancelled_at, completed_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`),
  insertOrderItems: sql('insert_order_items', `INSERT INTO order_items (order_id, sku, quantity, unit_price_minor)
    SELECT $1, * FROM unnest($2::text[], $3::int[], $4::bigint[])`),
  getOrder: sql('get_order', 'SELECT * FROM orders WHERE id = $1'),
  getOrderByReservation: sql('get_order_by_reservation', 'SELECT * FROM orders WHERE reservation_id = $1'),
  orderItems: sql('order_items', 'SELECT sku, quantity, unit_price_minor FROM order_items WHERE order_id = $1 ORDER BY sku'),
  moveOrder: sql('move_order', `UPDATE orders SET status = $3::text, payment_status = $4, updated_at = $5::bigint,
    cancelled_at = CASE WHEN $3::text = 'CANCELLED' THEN $5::bigint ELSE cancelled_at END,
    completed_at = CASE WHEN $3::text = 'COMPLETED' THEN $5::bigint ELSE completed_at END
    WHERE id = $1 AND status = $2::text`),
  getIdempotency: sql('get_idempotency', 'SELECT * FROM idempotency_keys WHERE principal = $1 AND key = $2'),
  claimIdempotency: sql('claim_idempotency', `INSERT INTO idempotency_keys
    (principal, key, method, path, request_hash, status_code, response_body, created_at, expires_at, locked_until)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
    ON CONFLICT (principal, key) DO UPDATE SET
      method = EXCLUDED.method, path = EXCLUDED.path, request_hash = EXCLUDED.request_hash,
      status_code = EXCLUDED.status_code, response_body = EXCLUDED.response_body, created_at = EXCLUDED.created_at,
      expires_at = EXCLUDED.expires_at, locked_until = EXCLUDED.locked_until
    WHERE idempotency_keys.expires_at <= $11::bigint
      OR (idempotency_keys.status_code IS NULL AND idempotency_keys.locked_until <= $11::bigint)`),
  completeIdempotency: sql('complete_idempotency', `UPDATE idempotency_keys SET status_code = $3, response_body = $4
    WHERE principal = $1 AND key = $2`),
  deleteIdempotency: sql('delete_idempotency', `DELETE FROM idempotency_keys
    WHERE principal = $1 AND key = $2 AND status_code IS NULL`),
  releasePendingIdempotency: sql('release_pending_idempotency', 'DELETE FROM idempotency_keys WHERE status_code IS NULL'),
  pruneIdempotency: sql('prune_idempotency', `DELETE FROM idempotency_keys WHERE (principal, key) IN
    (SELECT principal, key FROM idempotency_keys WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`),
};
