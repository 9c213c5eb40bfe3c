-- An order the household made while offline, or whose change is not yet
-- confirmed by the community market, is shown as pending. Local orders never are.
ALTER TABLE orders ADD COLUMN pending INTEGER NOT NULL DEFAULT 0 CHECK (pending IN (0, 1));
