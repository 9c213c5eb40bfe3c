-- The cache of one signed-in household in one community market: the open book
-- of its community, its own orders and trades, its battery, and the outbox of
-- commands not yet confirmed. The server is the truth for orders and trades;
-- this file mirrors it. Units and timestamps as in the local market file.

CREATE TABLE account (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    project_url         TEXT NOT NULL,
    user_id             TEXT NOT NULL,            -- UUID
    username            TEXT NOT NULL,
    community_id        TEXT NOT NULL,
    lat_e3              INTEGER,
    lng_e3              INTEGER,
    -- The battery: the server cannot see it. Its level is the opening level
    -- plus every movement below.
    capacity_centi_kwh  INTEGER NOT NULL CHECK (capacity_centi_kwh >= 0),
    opening_centi_kwh   INTEGER NOT NULL CHECK (opening_centi_kwh >= 0)
);

-- The same columns as the local market's orders, so the same views read both.
CREATE TABLE orders (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL,
    username         TEXT NOT NULL,
    side             TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    price_ticks      INTEGER NOT NULL CHECK (price_ticks BETWEEN 500 AND 10000),
    amount_centi_kwh INTEGER NOT NULL CHECK (amount_centi_kwh BETWEEN 100 AND 10000),
    filled_centi_kwh INTEGER NOT NULL CHECK (filled_centi_kwh BETWEEN 0 AND amount_centi_kwh),
    status           TEXT NOT NULL CHECK (status IN ('active', 'partial', 'filled', 'cancelled', 'expired')),
    lat_e3           INTEGER,
    lng_e3           INTEGER,
    -- The server's arrival sequence; an order not yet sent has a negative one.
    seq              INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    expires_at       TEXT,
    pending          INTEGER NOT NULL DEFAULT 0 CHECK (pending IN (0, 1))
);
CREATE INDEX orders_open ON orders (side, price_ticks, seq) WHERE status IN ('active', 'partial');
CREATE INDEX orders_by_user ON orders (user_id, seq);

-- My trades, as the server recorded them (names and taker included: the
-- other side's profile and closed orders are not mine to read).
CREATE TABLE trades (
    id               TEXT PRIMARY KEY,
    seq              INTEGER NOT NULL UNIQUE,
    buy_order_id     TEXT,
    sell_order_id    TEXT NOT NULL,
    buyer_id         TEXT NOT NULL,
    seller_id        TEXT NOT NULL,
    buyer            TEXT NOT NULL,
    seller           TEXT NOT NULL,
    taker            TEXT NOT NULL CHECK (taker IN ('buy', 'sell')),
    price_ticks      INTEGER NOT NULL CHECK (price_ticks BETWEEN 500 AND 10000),
    amount_centi_kwh INTEGER NOT NULL CHECK (amount_centi_kwh > 0),
    created_at       TEXT NOT NULL
);

-- Energy into (+) or out of (−) the battery: trades, the grid, the meter.
-- One movement per reference, so a trade heard twice moves energy once.
CREATE TABLE movements (
    reference        TEXT PRIMARY KEY,            -- trade or grid transaction id
    kind             TEXT NOT NULL CHECK (kind IN ('trade_in', 'trade_out', 'grid_in', 'grid_out')),
    delta_centi_kwh  INTEGER NOT NULL,
    price_ticks      INTEGER,
    created_at       TEXT NOT NULL
);

-- Commands made here and not yet confirmed, sent in this order with their own ids.
CREATE TABLE outbox (
    position    INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,             -- place: the order id; buy: the purchase's reference
    kind        TEXT NOT NULL CHECK (kind IN ('place', 'cancel', 'buy')),
    order_id    TEXT NOT NULL,                    -- the order it places, cancels, or buys from
    -- A purchase holds battery headroom until it is confirmed or refused.
    buying_centi_kwh INTEGER NOT NULL DEFAULT 0 CHECK (buying_centi_kwh >= 0),
    payload     TEXT NOT NULL,                    -- JSON
    created_at  TEXT NOT NULL
);
