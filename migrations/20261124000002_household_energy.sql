-- Every household's battery, every movement of energy in or out of it, the
-- grid's transactions, the CO2 token ledger, and the outbox for later sync.
-- Units as in the first migration; CO2 in milligrams (1 token = 1 kg).

CREATE TABLE energy_accounts (
    user_id                  TEXT PRIMARY KEY REFERENCES users (id),
    capacity_centi_kwh       INTEGER NOT NULL CHECK (capacity_centi_kwh >= 0),
    level_centi_kwh          INTEGER NOT NULL CHECK (level_centi_kwh >= 0),
    reserved_bids_centi_kwh  INTEGER NOT NULL DEFAULT 0 CHECK (reserved_bids_centi_kwh >= 0),
    reserved_asks_centi_kwh  INTEGER NOT NULL DEFAULT 0 CHECK (reserved_asks_centi_kwh >= 0),
    updated_at               TEXT NOT NULL,
    CHECK (level_centi_kwh + reserved_bids_centi_kwh <= capacity_centi_kwh),
    CHECK (reserved_asks_centi_kwh <= level_centi_kwh)
);

-- The ledger behind each level: a level is always the sum of its movements.
CREATE TABLE energy_movements (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id          TEXT NOT NULL REFERENCES users (id),
    kind             TEXT NOT NULL CHECK (kind IN ('opening', 'trade_in', 'trade_out', 'grid_in', 'grid_out', 'generation', 'consumption')),
    delta_centi_kwh  INTEGER NOT NULL,
    reference        TEXT,                        -- trade or grid transaction id
    created_at       TEXT NOT NULL
);
CREATE INDEX energy_movements_by_user ON energy_movements (user_id, id);

CREATE TABLE grid_transactions (
    id               TEXT PRIMARY KEY,            -- UUID
    user_id          TEXT NOT NULL REFERENCES users (id),
    direction        TEXT NOT NULL CHECK (direction IN ('buy', 'sell')),
    amount_centi_kwh INTEGER NOT NULL CHECK (amount_centi_kwh > 0),
    price_ticks      INTEGER NOT NULL,
    total_micro_usd  INTEGER NOT NULL,
    created_at       TEXT NOT NULL
);
CREATE INDEX grid_transactions_by_user ON grid_transactions (user_id, created_at);

CREATE TABLE co2_ledger (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id            TEXT NOT NULL REFERENCES users (id),
    trade_id           TEXT NOT NULL UNIQUE REFERENCES trades (id),
    amount_centi_kwh   INTEGER NOT NULL CHECK (amount_centi_kwh > 0),
    grams_per_kwh      INTEGER NOT NULL CHECK (grams_per_kwh >= 0),
    tokens_mg          INTEGER NOT NULL CHECK (tokens_mg = amount_centi_kwh * grams_per_kwh * 10),
    created_at         TEXT NOT NULL
);
CREATE INDEX co2_ledger_by_user ON co2_ledger (user_id, id);

-- Commands waiting to be sent to the community backend (community mode).
CREATE TABLE outbox (
    id          TEXT PRIMARY KEY,                 -- the command's client-generated UUID
    kind        TEXT NOT NULL CHECK (kind IN ('place', 'cancel', 'buy')),
    payload     TEXT NOT NULL,                    -- JSON
    created_at  TEXT NOT NULL,
    sent_at     TEXT
);

-- Households from the first version get a 13.5 kWh battery (more if their open
-- orders need it) holding exactly what their open asks promise, so every
-- invariant holds from the start; their past trades earn their tokens.
INSERT INTO energy_accounts (user_id, capacity_centi_kwh, level_centi_kwh, reserved_bids_centi_kwh, reserved_asks_centi_kwh, updated_at)
SELECT id, MAX(1350, asks + bids), asks, bids, asks, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
FROM (
    SELECT u.id,
           (SELECT COALESCE(SUM(amount_centi_kwh - filled_centi_kwh), 0) FROM orders o
             WHERE o.user_id = u.id AND o.side = 'sell' AND o.status IN ('active', 'partial')) AS asks,
           (SELECT COALESCE(SUM(amount_centi_kwh - filled_centi_kwh), 0) FROM orders o
             WHERE o.user_id = u.id AND o.side = 'buy' AND o.status IN ('active', 'partial')) AS bids
    FROM users u
);
INSERT INTO energy_movements (user_id, kind, delta_centi_kwh, created_at)
SELECT user_id, 'opening', level_centi_kwh, updated_at FROM energy_accounts;
INSERT INTO co2_ledger (user_id, trade_id, amount_centi_kwh, grams_per_kwh, tokens_mg, created_at)
SELECT buyer_id, id, amount_centi_kwh, 367, amount_centi_kwh * 367 * 10, created_at FROM trades;
