CREATE TABLE products (
  sku           TEXT    PRIMARY KEY,
  product_name  TEXT    NOT NULL,
  price_minor   INTEGER NOT NULL CHECK (price_minor >= 0),
  on_hand       INTEGER NOT NULL CHECK (on_hand >= 0),
  reserved      INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= on_hand),
  sold          INTEGER NOT NULL DEFAULT 0 CHECK (sold >= 0),
  max_per_user  INTEGER CHECK (max_per_user IS NULL OR max_per_user >= 1),
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
) STRICT;

-- Keyed by their (time-ordered) UUIDs directly: WITHOUT ROWID saves a separate index per insert.
CREATE TABLE reservations (
  id            TEXT    PRIMARY KEY,
  user_id       TEXT    NOT NULL,
  status        TEXT    NOT NULL CHECK (status IN ('RESERVED', 'CONFIRMED', 'CANCELLED', 'EXPIRED')),
  expires_at    INTEGER NOT NULL,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  confirmed_at  INTEGER,
  cancelled_at  INTEGER,
  expired_at    INTEGER
) STRICT, WITHOUT ROWID;

-- Only live reservations are indexed, so due-expiry and per-user lookups stay cheap however much history piles up.
CREATE INDEX reservations_live_by_expiry ON reservations (expires_at) WHERE status = 'RESERVED';
CREATE INDEX reservations_live_by_user ON reservations (user_id) WHERE status = 'RESERVED';

CREATE TABLE reservation_items (
  reservation_id    TEXT    NOT NULL REFERENCES reservations (id),
  sku               TEXT    NOT NULL REFERENCES products (sku),
  quantity          INTEGER NOT NULL CHECK (quantity > 0),
  unit_price_minor  INTEGER NOT NULL CHECK (unit_price_minor >= 0),
  PRIMARY KEY (reservation_id, sku)
) STRICT, WITHOUT ROWID;

CREATE TABLE orders (
  id              TEXT    PRIMARY KEY,
  user_id         TEXT    NOT NULL,
  reservation_id  TEXT    NOT NULL UNIQUE REFERENCES reservations (id),
  total_minor     INTEGER NOT NULL CHECK (total_minor >= 0),
  status          TEXT    NOT NULL CHECK (status IN ('CONFIRMED', 'CANCELLED', 'COMPLETED')),
  payment_status  TEXT    NOT NULL CHECK (payment_status IN ('PENDING', 'SUCCESS', 'FAILED')),
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  cancelled_at    INTEGER,
  completed_at    INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX orders_by_user ON orders (user_id);

CREATE TABLE order_items (
  order_id          TEXT    NOT NULL REFERENCES orders (id),
  sku               TEXT    NOT NULL REFERENCES products (sku),
  quantity          INTEGER NOT NULL CHECK (quantity > 0),
  unit_price_minor  INTEGER NOT NULL CHECK (unit_price_minor >= 0),
  PRIMARY KEY (order_id, sku)
) STRICT, WITHOUT ROWID;

CREATE TABLE idempotency_keys (
  principal      TEXT    NOT NULL,
  key            TEXT    NOT NULL,
  method         TEXT    NOT NULL,
  path           TEXT    NOT NULL,
  request_hash   TEXT    NOT NULL,
  status_code    INTEGER,
  response_body  TEXT,
  created_at     INTEGER NOT NULL,
  expires_at     INTEGER NOT NULL,
  locked_until   INTEGER NOT NULL,
  PRIMARY KEY (principal, key)
) STRICT;

CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);

CREATE TABLE stock_movements (
  -- A rowid alias without AUTOINCREMENT: rows are never deleted, so ids only grow, and no
  -- sqlite_sequence row is rewritten on every insert.
  id              INTEGER PRIMARY KEY,
  sku             TEXT    NOT NULL REFERENCES products (sku),
  delta_on_hand   INTEGER NOT NULL,
  delta_reserved  INTEGER NOT NULL,
  delta_sold      INTEGER NOT NULL,
  reason          TEXT    NOT NULL CHECK (reason IN ('RECEIVE', 'ADJUST', 'RESERVE', 'RELEASE', 'EXPIRE', 'CONFIRM', 'RESTOCK')),
  ref_id          TEXT,
  at              INTEGER NOT NULL
) STRICT;

CREATE INDEX stock_movements_by_sku ON stock_movements (sku, id);
