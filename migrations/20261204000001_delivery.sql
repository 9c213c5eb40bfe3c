-- Trades are contracts for delivery intervals, settled against meter readings.
-- An order's and a trade's interval is the start of its delivery interval
-- (UTC, RFC 3339); NULL for an undated order or trade, which is never settled.
ALTER TABLE orders ADD COLUMN interval_start TEXT;
-- When an open order leaves the book unfilled: its expiry or its interval's
-- gate closure, whichever is first (kept, so the book is rebuilt as it was
-- even if the market's gate closure changes later).
ALTER TABLE orders ADD COLUMN closes_at TEXT;
UPDATE orders SET closes_at = expires_at;
ALTER TABLE trades ADD COLUMN interval_start TEXT;
-- A dated trade keeps both batteries' reservations (the buyer's room, the
-- seller's stored energy) until its interval has ended: then they are released
-- and the battery is whatever the device reports.
ALTER TABLE trades ADD COLUMN released INTEGER NOT NULL DEFAULT 0 CHECK (released IN (0, 1));
CREATE INDEX trades_by_interval ON trades (interval_start, seq) WHERE interval_start IS NOT NULL;

-- Every reading ever recorded: a later one for the same household and interval
-- revises it (the current reading is the one with the highest id); nothing is
-- overwritten, so a statement can always say what was known when.
CREATE TABLE meter_readings (
    id             INTEGER PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (id),
    interval_start TEXT NOT NULL,
    import_wh      INTEGER NOT NULL CHECK (import_wh BETWEEN 0 AND 10000000),
    export_wh      INTEGER NOT NULL CHECK (export_wh BETWEEN 0 AND 10000000),
    -- Where it came from: an imported file, the household's device, the demo's simulator.
    source         TEXT NOT NULL CHECK (source IN ('file', 'device', 'simulator')),
    recorded_at    TEXT NOT NULL
);
CREATE INDEX meter_readings_current ON meter_readings (user_id, interval_start, id);
CREATE INDEX meter_readings_by_interval ON meter_readings (interval_start);

-- Every settlement of a trade: a new revision only when it is settled for the
-- first time or its figures change; earlier revisions stay as superseded.
CREATE TABLE settlements (
    trade_id              TEXT NOT NULL REFERENCES trades (id),
    revision              INTEGER NOT NULL CHECK (revision >= 1),
    delivered_wh          INTEGER NOT NULL CHECK (delivered_wh >= 0),
    buyer_pays_micros     INTEGER NOT NULL CHECK (buyer_pays_micros >= 0),
    seller_receives_micros INTEGER NOT NULL CHECK (seller_receives_micros >= 0),
    settled_at            TEXT NOT NULL,
    PRIMARY KEY (trade_id, revision)
);

-- CO2 tokens for a dated trade are earned on what was delivered, at settlement:
-- each revision adds the difference, so the buyer's tokens always match the
-- latest settlement and no entry is ever edited (1 Wh at 1 g/kWh is 1 mg).
CREATE TABLE co2_adjustments (
    id                 INTEGER PRIMARY KEY,
    user_id            TEXT NOT NULL REFERENCES users (id),
    trade_id           TEXT NOT NULL REFERENCES trades (id),
    revision           INTEGER NOT NULL,
    delivered_wh_delta INTEGER NOT NULL,
    grams_per_kwh      INTEGER NOT NULL CHECK (grams_per_kwh >= 0),
    tokens_mg_delta    INTEGER NOT NULL CHECK (tokens_mg_delta = delivered_wh_delta * grams_per_kwh),
    created_at         TEXT NOT NULL,
    UNIQUE (trade_id, revision)
);
CREATE INDEX co2_adjustments_by_user ON co2_adjustments (user_id);
