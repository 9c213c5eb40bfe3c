-- The household corrects its battery in Settings (a new capacity, the level it
-- reads now): the level's change is a movement of its own, so the ledger of
-- movements still adds up to the level.
CREATE TABLE movements_corrected (
    reference        TEXT PRIMARY KEY,            -- trade or grid transaction id, or the correction's own
    kind             TEXT NOT NULL CHECK (kind IN ('trade_in', 'trade_out', 'grid_in', 'grid_out', 'correction')),
    delta_centi_kwh  INTEGER NOT NULL,
    price_ticks      INTEGER,
    created_at       TEXT NOT NULL
);
INSERT INTO movements_corrected SELECT reference, kind, delta_centi_kwh, price_ticks, created_at FROM movements;
DROP TABLE movements;
ALTER TABLE movements_corrected RENAME TO movements;
