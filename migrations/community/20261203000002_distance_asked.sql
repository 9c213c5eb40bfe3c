-- Whether the server was asked how far an order is: an order whose distance
-- is unknown (its owner or this household has no home) is asked about once,
-- not again at every snapshot.
ALTER TABLE orders ADD COLUMN distance_asked INTEGER NOT NULL DEFAULT 0 CHECK (distance_asked IN (0, 1));
UPDATE orders SET distance_asked = 1 WHERE distance_hm IS NOT NULL;
