CREATE TABLE products (
  -- Byte order ("C") so skus sort and page the same on every store and locale.
  sku           TEXT    COLLATE "C" PRIMARY KEY,
  product_name  TEXT    NOT NULL,
  price_minor   BIGINT  NOT NULL CHECK (price_minor >= 0),
  on_hand       INTEGER NOT NULL CHECK (on_hand >= 0),
  reserved      INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= on_hand),
  sold          INTEGER NOT NULL DEFAULT 0 CHECK (sold >= 0),
  max_per_user  INTEGER CHECK (max_per_user IS NULL OR max_per_user >= 1),
  created_at    BIGINT  NOT NULL,
  updated_at    BIGINT  NOT NULL
);

CREATE TABLE reservations (
  id            TEXT    PRIMARY KEY,
  user_id       TEXT    NOT NULL,
  status        TEXT    NOT NULL CHECK (status IN ('RESERVED', 'CONFIRMED', 'CANCELLED', 'EXPIRED')),
  expires_at    BIGINT  NOT NULL,
  created_at    BIGINT  NOT NULL,
  updated_at    BIGINT  NOT NULL,
  confirmed_at  BIGINT,
  cancelled_at  BIGINT,
  expired_at    BIGINT
);

-- Only live reservations are indexed, so due-expiry and per-user lookups stay cheap however much history piles up.
CREATE INDEX reservations_live_by_expiry ON reservations (expires_at) WHERE status = 'RESERVED';
CREATE INDEX reservations_live_by_user ON reservations (user_id) WHERE status = 'RESERVED';

CREATE TABLE reservation_items (
  reservation_id    TEXT    NOT NULL REFERENCES reservations (id),
  sku               TEXT    COLLATE "C" NOT NULL REFERENCES products (sku),
  quantity          INTEGER NOT NULL CHECK (quantity > 0),
  unit_price_minor  BIGINT  NOT NULL CHECK (unit_price_minor >= 0),
  PRIMARY KEY (reservation_id, sku)
);

CREATE TABLE orders (
  id              TEXT    PRIMARY KEY,
  user_id         TEXT    NOT NULL,
  reservation_id  TEXT    NOT NULL UNIQUE REFERENCES reservations (id),
  total_minor     BIGINT  NOT NULL CHECK (total_minor >= 0),
  status          TEXT    NOT NULL CHECK (status IN ('CONFIRMED', 'CANCELLED', 'COMPLETED')),
  payment_status  TEXT    NOT NULL CHECK (payment_status IN ('PENDING', 'SUCCESS', 'FAILED')),
  created_at      BIGINT  NOT NULL,
  updated_at      BIGINT  NOT NULL,
  cancelled_at    BIGINT,
  completed_at    BIGINT
);

CREATE INDEX orders_by_user ON orders (user_id);

CREATE TABLE order_items (
  order_id          TEXT    NOT NULL REFERENCES orders (id),
  sku               TEXT    COLLATE "C" NOT NULL REFERENCES products (sku),
  quantity          INTEGER NOT NULL CHECK (quantity > 0),
  unit_price_minor  BIGINT  NOT NULL CHECK (unit_price_minor >= 0),
  PRIMARY KEY (order_id, sku)
);

CREATE TABLE idempotency_keys (
  principal      TEXT    NOT NULL,
  key            TEXT    NOT NULL,
  method         TEXT    NOT NULL,
  path           TEXT    NOT NULL,
  request_hash   TEXT    NOT NULL,
  status_code    INTEGER,
  response_body  TEXT,
  created_at     BIGINT  NOT NULL,
  expires_at     BIGINT  NOT NULL,
  locked_until   BIGINT  NOT NULL,
  PRIMARY KEY (principal, key)
);

CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);

CREATE TABLE stock_movements (
  id              BIGSERIAL PRIMARY KEY,
  sku             TEXT    COLLATE "C" NOT NULL REFERENCES products (sku),
  delta_on_hand   INTEGER NOT NULL,
  delta_reserved  INTEGER NOT NULL,
  delta_sold      INTEGER NOT NULL,
  reason          TEXT    NOT NULL CHECK (reason IN ('RECEIVE', 'ADJUST', 'RESERVE', 'RELEASE', 'EXPIRE', 'CONFIRM', 'RESTOCK')),
  ref_id          TEXT,
  at              BIGINT  NOT NULL
);

CREATE INDEX stock_movements_by_sku ON stock_movements (sku, id);
