-- Communities (issue 12). The server sends no neighbour's home any more, only
-- its distance from mine; the household's membership decides what it may do;
-- the community's anonymous prints give the market's price.

-- Tenths of a km from my home to the order's, as the server computed it; null
-- for my own orders and where a home is unknown.
ALTER TABLE orders ADD COLUMN distance_hm INTEGER CHECK (distance_hm >= 0);

-- The membership as the server last said: pending, active or suspended; member or admin.
ALTER TABLE account ADD COLUMN membership_id TEXT;
ALTER TABLE account ADD COLUMN community_name TEXT;
ALTER TABLE account ADD COLUMN role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'admin'));
ALTER TABLE account ADD COLUMN status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('none', 'pending', 'active', 'suspended'));
-- The community's grid prices and CO2 intensity, for quotes and tokens offline too.
ALTER TABLE account ADD COLUMN grid_buy_ticks INTEGER CHECK (grid_buy_ticks BETWEEN 500 AND 10000);
ALTER TABLE account ADD COLUMN grid_sell_ticks INTEGER CHECK (grid_sell_ticks BETWEEN 500 AND 10000);
ALTER TABLE account ADD COLUMN co2_g_per_kwh INTEGER CHECK (co2_g_per_kwh BETWEEN 0 AND 2000);

-- The community's trades with no party: time, price, amount.
CREATE TABLE prints (
    seq              INTEGER PRIMARY KEY,
    price_ticks      INTEGER NOT NULL CHECK (price_ticks BETWEEN 500 AND 10000),
    amount_centi_kwh INTEGER NOT NULL CHECK (amount_centi_kwh > 0),
    created_at       TEXT NOT NULL
);
CREATE INDEX prints_time ON prints (created_at);
