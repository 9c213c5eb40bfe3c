-- The local market: households, their orders and trades, and settings.
--
-- Units (all exact integers; the app converts at its edges):
--   price_ticks       $0.0001 per kWh    (1600 = $0.16/kWh)
--   *_centi_kwh       0.01 kWh           (1000 = 10 kWh)
--   *_micro_usd       $0.000001          (price_ticks × centi_kwh)
--   lat_e3 / lng_e3   0.001°             (coarse: ~100 m; exact positions are never stored)
-- Timestamps are UTC text in one fixed RFC 3339 form (2026-06-01T09:00:00.000000Z), so they sort as text.

CREATE TABLE users (
    id          TEXT PRIMARY KEY,                 -- UUID
    username    TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 40),
    lat_e3      INTEGER CHECK (lat_e3 BETWEEN -90000 AND 90000),
    lng_e3      INTEGER CHECK (lng_e3 BETWEEN -180000 AND 180000),
    -- 1 for the household this app belongs to; the others are neighbours.
    is_household INTEGER NOT NULL DEFAULT 0 CHECK (is_household IN (0, 1)),
    created_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX users_one_household ON users (is_household) WHERE is_household = 1;

CREATE TABLE orders (
    id               TEXT PRIMARY KEY,            -- UUID, chosen by the client
    user_id          TEXT NOT NULL REFERENCES users (id),
    username         TEXT NOT NULL,
    side             TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    price_ticks      INTEGER NOT NULL CHECK (price_ticks BETWEEN 500 AND 10000),
    amount_centi_kwh INTEGER NOT NULL CHECK (amount_centi_kwh BETWEEN 100 AND 10000),
    filled_centi_kwh INTEGER NOT NULL DEFAULT 0 CHECK (filled_centi_kwh BETWEEN 0 AND amount_centi_kwh),
    status           TEXT NOT NULL CHECK (status IN ('active', 'partial', 'filled', 'cancelled', 'expired')),
    lat_e3           INTEGER,
    lng_e3           INTEGER,
    -- Arrival sequence: time priority at equal price.
    seq              INTEGER NOT NULL UNIQUE,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    expires_at       TEXT,
    CHECK ((status = 'filled') = (filled_centi_kwh = amount_centi_kwh))
);
CREATE INDEX orders_open ON orders (side, price_ticks, seq) WHERE status IN ('active', 'partial');
CREATE INDEX orders_by_user ON orders (user_id, created_at);

CREATE TABLE trades (
    id               TEXT PRIMARY KEY,            -- UUID
    seq              INTEGER NOT NULL UNIQUE,     -- execution order
    buy_order_id     TEXT REFERENCES orders (id), -- NULL for a direct purchase
    sell_order_id    TEXT NOT NULL REFERENCES orders (id),
    buyer_id         TEXT NOT NULL REFERENCES users (id),
    seller_id        TEXT NOT NULL REFERENCES users (id),
    price_ticks      INTEGER NOT NULL CHECK (price_ticks BETWEEN 500 AND 10000),
    amount_centi_kwh INTEGER NOT NULL CHECK (amount_centi_kwh > 0),
    status           TEXT NOT NULL DEFAULT 'completed' CHECK (status IN ('pending', 'completed', 'failed')),
    created_at       TEXT NOT NULL,
    CHECK (buyer_id <> seller_id)
);
CREATE INDEX trades_by_buyer ON trades (buyer_id, seq);
CREATE INDEX trades_by_seller ON trades (seller_id, seq);
CREATE INDEX trades_by_time ON trades (created_at);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
