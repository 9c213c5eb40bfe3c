-- The community's orders carry their delivery interval and the time they
-- leave the book too (the cache shares the local store's order rows); NULL
-- interval for an undated order.
ALTER TABLE orders ADD COLUMN interval_start TEXT;
ALTER TABLE orders ADD COLUMN closes_at TEXT;
UPDATE orders SET closes_at = expires_at;
-- A trade's interval, and what its settlement delivered once known.
ALTER TABLE trades ADD COLUMN interval_start TEXT;
ALTER TABLE trades ADD COLUMN delivered_wh INTEGER;
