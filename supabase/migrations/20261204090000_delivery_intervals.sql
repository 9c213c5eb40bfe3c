-- Delivery intervals (issue 13): every order may be a contract for a delivery
-- interval, and every dated trade is paid for what the meters measured. The
-- rules are the Rust engine's (lumea_market), kept identical:
--
-- - Per community: interval_minutes (15), open_hours_ahead (24),
--   gate_closure_minutes (5), settlement_deadline_hours (48), buyer_fee and
--   seller_fee ($/kWh on delivered energy, 0), self_readings (false).
-- - place_order takes p_delivery_start (null: an undated order, as before).
--   Checks, in this order: duplicate_order, invalid_price, invalid_amount,
--   invalid_interval, interval_closed, interval_not_open, invalid_expiry, then
--   the community's limits. Orders match only orders of the same interval
--   (undated only undated); trades carry the interval.
-- - Gate closure: once now >= start - gate closure, the interval's open orders
--   expire with the orders whose expires_at passed, in order of (due time,
--   arrival), before anything else happens (private.expire_due).
-- - Meter readings (public.meter_readings) are kept with their history: each
--   one is a new revision; the current reading of a household and interval is
--   its latest operator reading, else its latest self reading.
-- - Settlements (public.settlements): D = min(A, floor(A*E_s/S_s),
--   floor(A*I_b/B_b)) Wh per trade, money in whole micro-dollars rounded half
--   to even term by term; a new revision only when a trade's figures change.
-- - The pg_cron upkeep also settles due intervals, one community per transaction.
--
-- There is no CO2 token ledger in this schema, so settlement awards none.
--
-- Who may do what: members place dated orders and, where the community allows
-- it, submit their own readings; an active admin imports its community's
-- readings and sets the new settings; the service settles. Members read their
-- own readings and the settlements of their trades, admins their community's.
-- No table here names a user: households are memberships, trades are ids.

-- Settings ------------------------------------------------------------------

alter table public.communities
  add column interval_minutes integer not null default 15,
  add column open_hours_ahead integer not null default 24,
  add column gate_closure_minutes integer not null default 5,
  add column settlement_deadline_hours integer not null default 48,
  add column buyer_fee numeric(6, 4) not null default 0,
  add column seller_fee numeric(6, 4) not null default 0,
  add column self_readings boolean not null default false,
  add constraint delivery_settings check (
    interval_minutes between 1 and 1440 and mod(1440, greatest(interval_minutes, 1)) = 0
    and open_hours_ahead between 1 and 168 and gate_closure_minutes between 0 and 1440
    and settlement_deadline_hours between 1 and 720
    and buyer_fee between 0 and 0.05 and seller_fee between 0 and 0.05);

-- Orders and trades carry their interval ---------------------------------------

alter table public.market_orders
  add column delivery_start timestamptz check (isfinite(delivery_start));
-- What gate closure scans on every command: the community's open dated orders by start.
create index market_orders_open_intervals on public.market_orders (community_id, delivery_start)
  where status in ('active', 'partial') and delivery_start is not null;

alter table public.trades
  add column delivery_start timestamptz,
  -- The community's fees when the trade was made are its terms: a later change
  -- of the fees must not revise settlements already made.
  add column buyer_fee numeric(6, 4) not null default 0,
  add column seller_fee numeric(6, 4) not null default 0;
create index trades_interval on public.trades (community_id, delivery_start) where delivery_start is not null;

alter table public.open_orders add column delivery_start timestamptz;
alter table public.household_trades add column delivery_start timestamptz;

-- An order placed before this migration has no interval and would rest in the
-- book for ever: the app places only dated orders from now on, and an undated
-- order never matches a dated one. The open ones expire, as if due now (the
-- mirror drops them from the realtime book).
update public.market_orders set status = 'expired' where delivery_start is null and status in ('active', 'partial');

-- Helpers -------------------------------------------------------------------

-- An interval start: a time, a whole multiple of the interval since the Unix epoch (no fraction of a second).
create function private.interval_aligned(p_start pg_catalog.timestamptz, p_minutes integer) returns boolean
language sql immutable set search_path = pg_catalog, pg_temp as $$
  select case when p_start is null or p_minutes is null or not isfinite(p_start) then false
              else mod(extract(epoch from p_start), p_minutes * 60) = 0 end
$$;

-- Orders due at this time expire before anything else happens (caller holds
-- the lock): those whose expires_at passed and those of intervals whose gate
-- has closed, in order of (due time, arrival), one by one so that the book's
-- subscribers hear them in that order.
create or replace function private.expire_due(p_community pg_catalog.text) returns integer
language plpgsql security invoker set search_path = pg_catalog, pg_temp as $$
declare
  v_gate interval := (select make_interval(mins => c.gate_closure_minutes) from public.communities c where c.id = p_community);
  v_id pg_catalog.uuid;
  v_count integer := 0;
begin
  for v_id in
    select o.id from public.market_orders o
     where o.community_id = p_community and o.status in ('active', 'partial')
       and (o.expires_at <= now() or o.delivery_start <= now() + v_gate)
     order by least(o.expires_at, o.delivery_start - v_gate), o.seq
       for update
  loop
    update public.market_orders set status = 'expired' where id = v_id;
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;

-- Kept in the same transaction as the order itself, by the functions' writes.
create or replace function private.mirror_open_order() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  if new.status in ('active', 'partial') then
    insert into public.open_orders (id, username, community_id, type, price, amount, filled_amount, status,
                                    seq, expires_at, created_at, updated_at, delivery_start)
    values (new.id, new.username, new.community_id, new.type, new.price, new.amount, new.filled_amount,
            new.status, new.seq, new.expires_at, new.created_at, new.updated_at, new.delivery_start)
    on conflict (id) do update
      set filled_amount = excluded.filled_amount, status = excluded.status, updated_at = excluded.updated_at;
  else
    delete from public.open_orders where id = new.id;
  end if;
  return null;
end
$$;

-- A new trade also takes its community's fees as its terms.
create or replace function private.describe_trade() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  select display_name into new.buyer_username from public.memberships where user_id = new.buyer_id;
  select display_name into new.seller_username from public.memberships where user_id = new.seller_id;
  -- The later of the two orders came in and took the waiting one; a direct purchase is a buy.
  new.taker := case
    when new.buy_order_id is null then 'buy'
    when (select seq from public.market_orders where id = new.buy_order_id)
       > (select seq from public.market_orders where id = new.sell_order_id) then 'buy'
    else 'sell'
  end;
  if tg_op = 'INSERT' then
    select c.buyer_fee, c.seller_fee into new.buyer_fee, new.seller_fee
      from public.communities c where c.id = new.community_id;
    new.buyer_fee := coalesce(new.buyer_fee, 0);
    new.seller_fee := coalesce(new.seller_fee, 0);
  end if;
  return new;
end
$$;

-- Settlement work per interval, for the upkeep: a row from the interval's first
-- trade; needs_run when a trade or a reading came since the last run; final
-- once a run happened at or after the deadline (every trade was settleable).
create table private.settlement_runs (
  community_id text not null references public.communities (id),
  delivery_start timestamptz not null,
  needs_run boolean not null default true,
  final boolean not null default false,
  last_run_at timestamptz,
  primary key (community_id, delivery_start)
);
create index settlement_runs_due on private.settlement_runs (community_id, delivery_start) where needs_run or not final;
revoke all on private.settlement_runs from public, anon, authenticated, service_role;

-- Each new trade: its two sides and its print, in the same transaction; a dated one is settlement work.
create or replace function private.publish_trade() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  insert into public.household_trades (trade_id, user_id, community_id, side, order_id, other_order_id, counterpart,
                                       taker, price, amount, seq, created_at, delivery_start)
  values (new.id, new.buyer_id, new.community_id, 'buy', new.buy_order_id, new.sell_order_id,
          coalesce(new.seller_username, 'A neighbour'), new.taker, new.price, new.amount, new.seq, new.created_at,
          new.delivery_start),
         (new.id, new.seller_id, new.community_id, 'sell', new.sell_order_id, new.buy_order_id,
          coalesce(new.buyer_username, 'A neighbour'), new.taker, new.price, new.amount, new.seq, new.created_at,
          new.delivery_start);
  insert into public.trade_prints (seq, community_id, price, amount, traded_at)
  values (new.seq, new.community_id, new.price, new.amount, new.created_at);
  if new.delivery_start is not null then
    insert into private.settlement_runs (community_id, delivery_start) values (new.community_id, new.delivery_start)
    on conflict (community_id, delivery_start) do update set needs_run = true;
  end if;
  return null;
end
$$;

-- What the app shows of its membership: the community's settings included.
create or replace function private.membership_answer(p_member public.memberships) returns pg_catalog.jsonb
language sql stable security invoker set search_path = pg_catalog, pg_temp as $$
  select pg_catalog.jsonb_build_object(
    'membership_id', p_member.id, 'community_id', c.id, 'community_name', c.name,
    'display_name', p_member.display_name, 'role', p_member.role, 'status', p_member.status,
    'joined_at', p_member.joined_at, 'approved_at', p_member.approved_at,
    'settings', pg_catalog.jsonb_build_object(
      'min_price', c.min_price, 'max_price', c.max_price, 'grid_buy_price', c.grid_buy_price,
      'grid_sell_price', c.grid_sell_price, 'co2_kg_per_kwh', c.co2_kg_per_kwh, 'open_order_cap', c.open_order_cap,
      'interval_minutes', c.interval_minutes, 'open_hours_ahead', c.open_hours_ahead,
      'gate_closure_minutes', c.gate_closure_minutes, 'settlement_deadline_hours', c.settlement_deadline_hours,
      'buyer_fee', c.buyer_fee, 'seller_fee', c.seller_fee, 'self_readings', c.self_readings))
    from public.communities c where c.id = p_member.community_id
$$;

-- The market commands, per interval ----------------------------------------------

drop function public.place_order(pg_catalog.uuid, pg_catalog.text, numeric, numeric, pg_catalog.timestamptz);
create function public.place_order(
  p_id pg_catalog.uuid,
  p_type pg_catalog.text,
  p_price numeric,
  p_amount numeric,
  p_expires_at pg_catalog.timestamptz default null,
  p_delivery_start pg_catalog.timestamptz default null
) returns public.market_orders
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_me public.memberships := private.caller_member();
  v_community public.communities;
  v_home public.profiles;
  v_order public.market_orders;
  v_rest public.market_orders;
  v_book pg_catalog.refcursor;
  v_fill numeric;
begin
  if p_id is null then
    raise exception 'invalid_order_id';
  end if;
  if p_type is null or p_type not in ('buy', 'sell') then
    raise exception 'invalid_side';
  end if;
  perform private.lock_community(v_me.community_id);
  -- Read again under the lock: a suspension that committed while this waited
  -- for it (manage_member cancels the member's open orders under the same
  -- lock) must not be followed by a new order or purchase.
  v_me := private.caller_member();
  perform private.expire_due(v_me.community_id);
  select * into v_community from public.communities c where c.id = v_me.community_id;

  select * into v_order from public.market_orders where id = p_id;
  if found then
    -- The outbox retries a command it is unsure of: the same command gets the stored order back.
    if v_order.user_id = v_me.user_id and v_order.type = p_type and v_order.price = p_price
       and v_order.amount = p_amount and v_order.expires_at is not distinct from p_expires_at
       and v_order.delivery_start is not distinct from p_delivery_start then
      return v_order;
    end if;
    raise exception 'duplicate_order';
  end if;
  -- NaN compares greater than every number, so the upper bounds refuse it.
  if p_price is null or p_price < 0.05 or p_price > 1.00 or p_price <> round(p_price, 4) then
    raise exception 'invalid_price';
  end if;
  if p_amount is null or p_amount < 1 or p_amount > 100 or p_amount <> round(p_amount, 2) then
    raise exception 'invalid_amount';
  end if;
  if p_delivery_start is not null then
    if not private.interval_aligned(p_delivery_start, v_community.interval_minutes) then
      raise exception 'invalid_interval';
    end if;
    if now() >= p_delivery_start - make_interval(mins => v_community.gate_closure_minutes) then
      raise exception 'interval_closed';
    end if;
    if p_delivery_start - now() > make_interval(hours => v_community.open_hours_ahead) then
      raise exception 'interval_not_open';
    end if;
  end if;
  if p_expires_at is not null and p_expires_at <= now() then
    raise exception 'invalid_expiry';
  end if;
  perform private.check_community_limits(v_me, p_price);

  select * into v_home from public.profiles p where p.id = v_me.user_id;
  insert into public.market_orders (id, user_id, username, community_id, type, price, amount,
                                    location_lat, location_lng, expires_at, delivery_start)
  values (p_id, v_me.user_id, v_me.display_name, v_me.community_id, p_type, p_price, p_amount,
          v_home.location_lat, v_home.location_lng, p_expires_at, p_delivery_start)
  returning * into v_order;

  -- Price-time priority on the opposite side of the same interval's book (undated
  -- meets undated only), skipping the caller's own orders. One static query per
  -- side, so each walks its index in order and locks only the rows it takes.
  if p_type = 'buy' then
    open v_book for
      select * from public.market_orders o
       where o.community_id = v_me.community_id and o.type = 'sell' and o.status in ('active', 'partial')
         and o.price <= p_price and o.user_id <> v_me.user_id
         and o.delivery_start is not distinct from p_delivery_start
       order by o.price, o.seq
         for update;
  else
    open v_book for
      select * from public.market_orders o
       where o.community_id = v_me.community_id and o.type = 'buy' and o.status in ('active', 'partial')
         and o.price >= p_price and o.user_id <> v_me.user_id
         and o.delivery_start is not distinct from p_delivery_start
       order by o.price desc, o.seq
         for update;
  end if;
  loop
    exit when v_order.filled_amount = v_order.amount;
    fetch v_book into v_rest;
    exit when not found;
    v_fill := least(v_order.amount - v_order.filled_amount, v_rest.amount - v_rest.filled_amount);
    insert into public.trades (community_id, buy_order_id, sell_order_id, buyer_id, seller_id, price, amount,
                               delivery_start)
    values (
      v_me.community_id,
      case when p_type = 'buy' then v_order.id else v_rest.id end,
      case when p_type = 'sell' then v_order.id else v_rest.id end,
      case when p_type = 'buy' then v_me.user_id else v_rest.user_id end,
      case when p_type = 'sell' then v_me.user_id else v_rest.user_id end,
      -- Every trade at the sell order's price.
      case when p_type = 'buy' then v_rest.price else v_order.price end,
      v_fill,
      p_delivery_start
    );
    perform private.fill_order(v_rest.id, v_fill);
    v_order.filled_amount := v_order.filled_amount + v_fill;
  end loop;
  close v_book;

  -- The new order is stored unfilled; its fills are written once, at the end.
  if v_order.filled_amount > 0 then
    v_order := private.fill_order(v_order.id, v_order.filled_amount);
  end if;
  return v_order;
end
$$;

-- The answer is the buyer's side of the trade: the seller is named, never
-- identified. A purchase of a dated ask is a trade for its interval.
create or replace function public.buy_now(p_order_id pg_catalog.uuid, p_amount numeric, p_ref pg_catalog.uuid)
returns public.household_trades
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_me public.memberships := private.caller_member();
  v_order public.market_orders;
  v_trade public.trades;
  v_side public.household_trades;
begin
  if p_ref is null then
    raise exception 'invalid_ref';
  end if;
  perform private.lock_community(v_me.community_id);
  -- Read again under the lock: a suspension that committed while this waited
  -- for it (manage_member cancels the member's open orders under the same
  -- lock) must not be followed by a new order or purchase.
  v_me := private.caller_member();
  perform private.expire_due(v_me.community_id);

  select * into v_trade from public.trades where id = p_ref;
  if found then
    if v_trade.buyer_id = v_me.user_id and v_trade.sell_order_id = p_order_id and v_trade.amount = p_amount then
      select * into v_side from public.household_trades h where h.trade_id = p_ref and h.side = 'buy';
      return v_side;
    end if;
    raise exception 'duplicate_order';
  end if;

  select * into v_order from public.market_orders
   where id = p_order_id and community_id = v_me.community_id;
  if not found or v_order.type <> 'sell' then
    raise exception 'unknown_order';
  end if;
  if v_order.status not in ('active', 'partial') then
    raise exception 'not_open';
  end if;
  if v_order.user_id = v_me.user_id then
    raise exception 'self_trade';
  end if;
  if p_amount is null or p_amount = 'NaN'::numeric or p_amount <= 0 or p_amount <> round(p_amount, 2) then
    raise exception 'invalid_amount';
  end if;
  if p_amount > v_order.amount - v_order.filled_amount then
    raise exception 'exceeds_available';
  end if;

  insert into public.trades (id, community_id, buy_order_id, sell_order_id, buyer_id, seller_id, price, amount,
                             delivery_start)
  values (p_ref, v_me.community_id, null, v_order.id, v_me.user_id, v_order.user_id, v_order.price, p_amount,
          v_order.delivery_start)
  returning * into v_trade;
  perform private.fill_order(v_order.id, p_amount);
  select * into v_side from public.household_trades h where h.trade_id = p_ref and h.side = 'buy';
  return v_side;
end
$$;

-- Clears the community's crossed books, each interval's on its own: due orders
-- expire first (gate closure included), then the best bid meets the best ask of
-- another user of the same interval, at the ask's price, until nothing crosses.
create or replace function public.match_orders(p_community pg_catalog.text) returns integer
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_bid pg_catalog.uuid;
  v_ask pg_catalog.uuid;
  v_buyer pg_catalog.uuid;
  v_seller pg_catalog.uuid;
  v_price numeric;
  v_fill numeric;
  v_start pg_catalog.timestamptz;
  v_count integer := 0;
begin
  if p_community is null then
    raise exception 'invalid_community';
  end if;
  perform private.lock_community(p_community);
  perform private.expire_due(p_community);
  loop
    -- The best bid that crosses an ask of another user in its interval, and the best such ask.
    select b.id, b.user_id, a.id, a.user_id, a.price,
           least(b.amount - b.filled_amount, a.amount - a.filled_amount), b.delivery_start
      into v_bid, v_buyer, v_ask, v_seller, v_price, v_fill, v_start
      from public.market_orders b
     cross join lateral (
           select * from public.market_orders a
            where a.community_id = p_community and a.type = 'sell' and a.status in ('active', 'partial')
              and a.user_id <> b.user_id and a.price <= b.price
              and a.delivery_start is not distinct from b.delivery_start
            order by a.price, a.seq
            limit 1) a
     where b.community_id = p_community and b.type = 'buy' and b.status in ('active', 'partial')
     order by b.price desc, b.seq
     limit 1;
    exit when not found;
    insert into public.trades (community_id, buy_order_id, sell_order_id, buyer_id, seller_id, price, amount,
                               delivery_start)
    values (p_community, v_bid, v_ask, v_buyer, v_seller, v_price, v_fill, v_start);
    perform private.fill_order(v_bid, v_fill);
    perform private.fill_order(v_ask, v_fill);
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;

-- The book's page now says each order's interval.
drop function public.book_page(bigint);
create function public.book_page(p_after_seq bigint)
returns table (id pg_catalog.uuid, username pg_catalog.text, community_id pg_catalog.text, type pg_catalog.text,
               price numeric, amount numeric, filled_amount numeric, status pg_catalog.text, seq bigint,
               expires_at pg_catalog.timestamptz, created_at pg_catalog.timestamptz, updated_at pg_catalog.timestamptz,
               distance_km numeric, delivery_start pg_catalog.timestamptz)
language plpgsql stable security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_me public.memberships := private.caller_member();
  v_home public.profiles;
begin
  select * into v_home from public.profiles p where p.id = v_me.user_id;
  return query
    select b.id, b.username, b.community_id, b.type, b.price, b.amount, b.filled_amount, b.status, b.seq,
           b.expires_at, b.created_at, b.updated_at,
           case when o.user_id = v_me.user_id then null
                else private.distance_km(o.location_lat, o.location_lng, v_home.location_lat, v_home.location_lng) end,
           b.delivery_start
      from public.open_orders b
      join public.market_orders o on o.id = b.id
     where b.community_id = v_me.community_id and b.seq > coalesce(p_after_seq, 0)
     order by b.seq
     limit 1000;
end
$$;

-- Settings: the admin's, with the delivery parameters --------------------------------

-- Changes the admin's community's settings; a null leaves a setting as it is.
-- The rules are the market's: prices with four decimals inside 0.05 to 1.00,
-- CO2 from 0 to 2 kg/kWh with three, a cap of 1 to 10,000 open orders; an
-- interval of 1 to 1,440 minutes dividing the day, open 1 to 168 hours ahead,
-- its gate closing 0 to 1,440 minutes before it, settled with readings up to
-- 1 to 720 hours after it; fees of 0 to $0.05/kWh with four decimals. The
-- interval's length is fixed once the community has a dated order: starts and
-- ends of its trades and readings are reckoned with it.
drop function public.update_community_settings(pg_catalog.text, pg_catalog.text, numeric, numeric, numeric, numeric,
                                               numeric, integer);
create function public.update_community_settings(
  p_community pg_catalog.text,
  p_name pg_catalog.text default null,
  p_min_price numeric default null,
  p_max_price numeric default null,
  p_grid_buy_price numeric default null,
  p_grid_sell_price numeric default null,
  p_co2_kg_per_kwh numeric default null,
  p_open_order_cap integer default null,
  p_interval_minutes integer default null,
  p_open_hours_ahead integer default null,
  p_gate_closure_minutes integer default null,
  p_settlement_deadline_hours integer default null,
  p_buyer_fee numeric default null,
  p_seller_fee numeric default null,
  p_self_readings boolean default null
) returns pg_catalog.jsonb
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_admin public.memberships := private.caller_admin(p_community);
  v_old public.communities;
  -- Unconstrained: assigned to the row's numeric(10, 4) or numeric(5, 3), a value
  -- would be rounded (or overflow) before the checks below could refuse it.
  v_name pg_catalog.text;
  v_min numeric;
  v_max numeric;
  v_buy numeric;
  v_sell numeric;
  v_co2 numeric;
  v_cap integer;
  v_interval integer;
  v_ahead integer;
  v_gate integer;
  v_deadline integer;
  v_buyer_fee numeric;
  v_seller_fee numeric;
  v_self boolean;
begin
  perform private.lock_community(p_community);
  -- Again under the lock: an admin suspended or demoted meanwhile acts no more.
  v_admin := private.caller_admin(p_community);
  select * into v_old from public.communities c where c.id = p_community for update;
  v_name := coalesce(private.clean_name(p_name), v_old.name);
  v_min := coalesce(p_min_price, v_old.min_price);
  v_max := coalesce(p_max_price, v_old.max_price);
  v_buy := coalesce(p_grid_buy_price, v_old.grid_buy_price);
  v_sell := coalesce(p_grid_sell_price, v_old.grid_sell_price);
  v_co2 := coalesce(p_co2_kg_per_kwh, v_old.co2_kg_per_kwh);
  v_cap := coalesce(p_open_order_cap, v_old.open_order_cap);
  v_interval := coalesce(p_interval_minutes, v_old.interval_minutes);
  v_ahead := coalesce(p_open_hours_ahead, v_old.open_hours_ahead);
  v_gate := coalesce(p_gate_closure_minutes, v_old.gate_closure_minutes);
  v_deadline := coalesce(p_settlement_deadline_hours, v_old.settlement_deadline_hours);
  v_buyer_fee := coalesce(p_buyer_fee, v_old.buyer_fee);
  v_seller_fee := coalesce(p_seller_fee, v_old.seller_fee);
  v_self := coalesce(p_self_readings, v_old.self_readings);
  -- NaN is outside every range (it compares greater than every number).
  if char_length(v_name) not between 1 and 80
     or not (v_min between 0.05 and 1.00) or v_min <> round(v_min, 4)
     or not (v_max between 0.05 and 1.00) or v_max <> round(v_max, 4)
     or v_min > v_max
     or not (v_buy between 0.05 and 1.00) or v_buy <> round(v_buy, 4)
     or not (v_sell between 0.05 and 1.00) or v_sell <> round(v_sell, 4)
     or not (v_co2 between 0 and 2) or v_co2 <> round(v_co2, 3)
     or not (v_cap between 1 and 10000)
     or not (v_interval between 1 and 1440) or mod(1440, greatest(v_interval, 1)) <> 0
     or not (v_ahead between 1 and 168)
     or not (v_gate between 0 and 1440)
     or not (v_deadline between 1 and 720)
     or not (v_buyer_fee between 0 and 0.05) or v_buyer_fee <> round(v_buyer_fee, 4)
     or not (v_seller_fee between 0 and 0.05) or v_seller_fee <> round(v_seller_fee, 4) then
    raise exception 'invalid_setting';
  end if;
  if v_interval <> v_old.interval_minutes
     and exists (select from public.market_orders o where o.community_id = p_community and o.delivery_start is not null) then
    raise exception 'invalid_setting';
  end if;
  update public.communities
     set name = v_name, min_price = v_min, max_price = v_max, grid_buy_price = v_buy, grid_sell_price = v_sell,
         co2_kg_per_kwh = v_co2, open_order_cap = v_cap, interval_minutes = v_interval, open_hours_ahead = v_ahead,
         gate_closure_minutes = v_gate, settlement_deadline_hours = v_deadline, buyer_fee = v_buyer_fee,
         seller_fee = v_seller_fee, self_readings = v_self
   where id = p_community;
  return (private.membership_answer(v_admin) -> 'settings') || pg_catalog.jsonb_build_object('name', v_name);
end
$$;

-- Meter readings ------------------------------------------------------------------
-- Insert-only: a later reading of a household's interval is its next revision.
-- The current reading is the latest operator reading, else the latest self
-- reading: the operator's meter data is authoritative, a self reading never
-- replaces it (it is kept, as what the household reported).
create table public.meter_readings (
  id uuid primary key default gen_random_uuid(),
  community_id text not null references public.communities (id),
  -- The household: its membership (a user id is never shown to an admin).
  membership_id uuid not null references public.memberships (id) on delete cascade,
  delivery_start timestamptz not null,
  revision integer not null check (revision >= 1),
  import_kwh numeric(8, 3) not null check (import_kwh between 0 and 10000),
  export_kwh numeric(8, 3) not null check (export_kwh between 0 and 10000),
  source text not null check (source in ('operator', 'self')),
  recorded_at timestamptz not null default now(),
  -- The membership that recorded it: the household itself, or the admin who imported it.
  recorded_by uuid references public.memberships (id) on delete set null,
  unique (membership_id, delivery_start, revision)
);
create index meter_readings_interval on public.meter_readings (community_id, delivery_start);
create index meter_readings_recorded_by on public.meter_readings (recorded_by);

-- Settlements ---------------------------------------------------------------------
-- Insert-only but for superseded_at: a trade's figures, revision 1 when first
-- settled, the next when they change; the current one has no superseded_at.
create table public.settlements (
  trade_id uuid not null references public.trades (id),
  revision integer not null check (revision >= 1),
  community_id text not null references public.communities (id),
  delivery_start timestamptz not null,
  contracted_kwh numeric(10, 2) not null check (contracted_kwh > 0),
  delivered_kwh numeric(10, 3) not null,
  price numeric(10, 4) not null,
  buyer_pays numeric(16, 6) not null check (buyer_pays >= 0),
  seller_receives numeric(16, 6) not null check (seller_receives >= 0),
  fees numeric(16, 6) not null,
  settled_at timestamptz not null default now(),
  superseded_at timestamptz,
  primary key (trade_id, revision),
  -- Delivered at most what was contracted; what the buyer pays is what the seller receives and the fees.
  constraint settlement_figures check (
    delivered_kwh between 0 and contracted_kwh and fees >= 0 and buyer_pays = seller_receives + fees)
);
create unique index settlements_current on public.settlements (trade_id) where superseded_at is null;
create index settlements_interval on public.settlements (community_id, delivery_start);

alter table public.meter_readings enable row level security;
alter table public.settlements enable row level security;
revoke all on public.meter_readings, public.settlements from anon, authenticated;
grant select on public.meter_readings, public.settlements to authenticated;

-- One policy each (the advisor flags several permissive ones): the household's
-- own, whatever its membership's status, and the whole community's for its
-- active admins.
create policy "my meter readings, my community's for its admins" on public.meter_readings
  for select to authenticated
  using (membership_id = (select m.id from public.memberships m where m.user_id = (select auth.uid()))
         or community_id = (select m.community_id from public.memberships m
                             where m.user_id = (select auth.uid()) and m.role = 'admin' and m.status = 'active'));
create policy "settlements of my trades, my community's for its admins" on public.settlements
  for select to authenticated
  using (exists (select from public.household_trades h
                  where h.trade_id = settlements.trade_id and h.user_id = (select auth.uid()))
         or community_id = (select m.community_id from public.memberships m
                             where m.user_id = (select auth.uid()) and m.role = 'admin' and m.status = 'active'));

-- Why a reading is refused, in the rules' order; null when it is taken.
create function private.reading_refusal(p_community public.communities, p_start pg_catalog.timestamptz,
                                        p_import numeric, p_export numeric)
returns pg_catalog.text
language sql stable security invoker set search_path = pg_catalog, pg_temp as $$
  select case
    when not private.interval_aligned(p_start, p_community.interval_minutes) then 'invalid_interval'
    when now() < p_start + make_interval(mins => p_community.interval_minutes) then 'interval_not_ended'
    -- NaN is above every bound.
    when p_import is null or p_export is null or not (p_import between 0 and 10000) or not (p_export between 0 and 10000)
      or p_import <> round(p_import, 3) or p_export <> round(p_export, 3) then 'invalid_reading'
  end
$$;

-- Records a checked reading as the household's next revision for the interval (caller holds the lock).
create function private.record_reading(p_community pg_catalog.text, p_membership pg_catalog.uuid,
                                       p_start pg_catalog.timestamptz, p_import numeric, p_export numeric,
                                       p_source pg_catalog.text, p_by pg_catalog.uuid)
returns public.meter_readings
language plpgsql security invoker set search_path = pg_catalog, pg_temp as $$
declare
  v_reading public.meter_readings;
begin
  insert into public.meter_readings (community_id, membership_id, delivery_start, revision, import_kwh, export_kwh,
                                     source, recorded_by)
  values (p_community, p_membership, p_start,
          coalesce((select max(r.revision) from public.meter_readings r
                     where r.membership_id = p_membership and r.delivery_start = p_start), 0) + 1,
          p_import, p_export, p_source, p_by)
  returning * into v_reading;
  -- The interval's trades are settled again by the next run.
  update private.settlement_runs set needs_run = true where community_id = p_community and delivery_start = p_start;
  return v_reading;
end
$$;

-- Whether a reading is its household's current one for the interval.
create function private.reading_is_current(p_reading public.meter_readings) returns boolean
language sql stable security invoker set search_path = pg_catalog, pg_temp as $$
  select p_reading.id = (
    select r.id from public.meter_readings r
     where r.membership_id = p_reading.membership_id and r.delivery_start = p_reading.delivery_start
     order by (r.source = 'operator') desc, r.revision desc
     limit 1)
$$;

-- The calling member's own reading of an ended interval, where its community allows it (source self).
-- Answers with the reading and whether it is the current one (not when an operator reading exists).
create function public.submit_meter_reading(p_delivery_start pg_catalog.timestamptz, p_import numeric, p_export numeric)
returns pg_catalog.jsonb
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_me public.memberships := private.caller_member();
  v_community public.communities;
  v_refusal pg_catalog.text;
  v_reading public.meter_readings;
begin
  perform private.lock_community(v_me.community_id);
  -- Read again under the lock: a suspension meanwhile ends what the member may do.
  v_me := private.caller_member();
  select * into v_community from public.communities c where c.id = v_me.community_id;
  if not v_community.self_readings then
    raise exception 'invalid_action';
  end if;
  v_refusal := private.reading_refusal(v_community, p_delivery_start, p_import, p_export);
  if v_refusal is not null then
    raise exception '%', v_refusal;
  end if;
  v_reading := private.record_reading(v_community.id, v_me.id, p_delivery_start, p_import, p_export, 'self', v_me.id);
  return pg_catalog.to_jsonb(v_reading) || pg_catalog.jsonb_build_object('current', private.reading_is_current(v_reading));
end
$$;

-- A number of a reading's row: a JSON number, or a string of digits with a decimal part; null otherwise.
create function private.json_decimal(p_value pg_catalog.jsonb) returns numeric
language sql immutable set search_path = pg_catalog, pg_temp as $$
  select case
    when jsonb_typeof(p_value) = 'number' then (p_value #>> '{}')::numeric
    when jsonb_typeof(p_value) = 'string' and (p_value #>> '{}') ~ '^[0-9]{1,12}(\.[0-9]{1,12})?$'
      then (p_value #>> '{}')::numeric
  end
$$;

-- An instant of a reading's row: an ISO 8601 date and time with its offset; null otherwise.
create function private.json_instant(p_value pg_catalog.jsonb) returns pg_catalog.timestamptz
language plpgsql stable set search_path = pg_catalog, pg_temp as $$
begin
  if jsonb_typeof(p_value) is distinct from 'string'
     or (p_value #>> '{}') !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)$' then
    return null;
  end if;
  return (p_value #>> '{}')::pg_catalog.timestamptz;
exception when datetime_field_overflow or invalid_datetime_format then
  -- Shaped like a time but none (2026-02-30, 25:00).
  return null;
end
$$;

-- The operator's meter data, imported by an active admin of the community: an
-- array of {"membership_id" | "user_id" | "display_name", "interval_start",
-- "import_kwh", "export_kwh"}, all or nothing. A refused row raises its
-- reason with "row N" (1-based) as the detail: invalid_reading (not an
-- object, not exactly one household key, a bad value), unknown_member (no
-- member of this community), invalid_interval, interval_not_ended.
create function public.import_meter_readings(p_community pg_catalog.text, p_readings pg_catalog.jsonb)
returns pg_catalog.jsonb
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_admin public.memberships := private.caller_admin(p_community);
  v_community public.communities;
  v_row pg_catalog.jsonb;
  v_index bigint;
  v_member pg_catalog.uuid;
  v_start pg_catalog.timestamptz;
  v_import numeric;
  v_export numeric;
  v_refusal pg_catalog.text;
  v_count integer := 0;
begin
  perform private.lock_community(p_community);
  -- Again under the lock: an admin suspended or demoted meanwhile acts no more.
  v_admin := private.caller_admin(p_community);
  select * into v_community from public.communities c where c.id = p_community;
  if jsonb_typeof(p_readings) is distinct from 'array' or jsonb_array_length(p_readings) > 100000 then
    raise exception 'invalid_reading';
  end if;
  for v_row, v_index in select e.value, e.ordinality from jsonb_array_elements(p_readings) with ordinality e loop
    v_member := null;
    if jsonb_typeof(v_row) <> 'object'
       or (v_row ? 'membership_id')::integer + (v_row ? 'user_id')::integer + (v_row ? 'display_name')::integer <> 1 then
      raise exception 'invalid_reading' using detail = pg_catalog.format('row %s', v_index);
    end if;
    if (v_row ->> 'membership_id') ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
      select m.id into v_member from public.memberships m
       where m.id = (v_row ->> 'membership_id')::pg_catalog.uuid and m.community_id = p_community;
    elsif (v_row ->> 'user_id') ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
      select m.id into v_member from public.memberships m
       where m.user_id = (v_row ->> 'user_id')::pg_catalog.uuid and m.community_id = p_community;
    elsif jsonb_typeof(v_row -> 'display_name') = 'string' then
      select m.id into v_member from public.memberships m
       where m.community_id = p_community and lower(m.display_name) = lower(private.clean_name(v_row ->> 'display_name'));
    end if;
    if v_member is null then
      raise exception 'unknown_member' using detail = pg_catalog.format('row %s', v_index);
    end if;
    v_start := private.json_instant(v_row -> 'interval_start');
    v_import := private.json_decimal(v_row -> 'import_kwh');
    v_export := private.json_decimal(v_row -> 'export_kwh');
    v_refusal := private.reading_refusal(v_community, v_start, v_import, v_export);
    if v_refusal is not null then
      raise exception '%', v_refusal using detail = pg_catalog.format('row %s', v_index);
    end if;
    perform private.record_reading(p_community, v_member, v_start, v_import, v_export, 'operator', v_admin.id);
    v_count := v_count + 1;
  end loop;
  return pg_catalog.jsonb_build_object('imported', v_count);
end
$$;

-- Settlement ----------------------------------------------------------------------

-- Settles the community's interval now (caller holds the lock and checked the
-- interval): each settleable trade whose figures are new or changed gets its
-- next revision. A trade is settleable when both parties' current readings
-- are there, or once the deadline passed (a missing reading is then 0). All
-- energy in Wh: A the trade's amount, S and B the seller's sales and the
-- buyer's purchases in the interval, E and I their export and import.
-- Answers {"community_id", "delivery_start", "settled": [{"trade_id",
-- "revision", "delivered_kwh", "buyer_pays", "seller_receives", "fees"}],
-- "awaiting_meter": [trade ids never settled, still waiting], "unchanged": n}.
create function private.settle(p_community public.communities, p_start pg_catalog.timestamptz)
returns pg_catalog.jsonb
language plpgsql security invoker set search_path = pg_catalog, pg_temp as $$
declare
  v_late boolean := now() >= p_start + make_interval(mins => p_community.interval_minutes)
                             + make_interval(hours => p_community.settlement_deadline_hours);
  v_rows pg_catalog.jsonb;
  v_result pg_catalog.jsonb;
begin
  -- One pass over the interval, set-based: 5,000 trades are one query, not
  -- 5,000 (the rule's three money terms are written out in place, each
  -- rounded half to even, because a function call per term per trade costs
  -- more than the whole settlement). Each row's state: 'waiting' (not
  -- settleable yet), 'unchanged', or 'changed' (first settlement or new figures).
  with deals as (
    -- S and B, each household's contracted sales and purchases, beside each trade.
    select t.id, t.seq, t.buyer_id, t.seller_id, t.price, t.amount, t.buyer_fee, t.seller_fee, t.amount * 1000 as wh,
           sum(t.amount * 1000) over (partition by t.seller_id) as sold_wh,
           sum(t.amount * 1000) over (partition by t.buyer_id) as bought_wh
      from public.trades t
     where t.community_id = p_community.id and t.delivery_start = p_start and t.status = 'completed'),
  meters as (
    select distinct on (r.membership_id) m.user_id, r.import_kwh * 1000 as import_wh, r.export_kwh * 1000 as export_wh
      from public.meter_readings r
      join public.memberships m on m.id = r.membership_id
     where r.community_id = p_community.id and r.delivery_start = p_start
     order by r.membership_id, (r.source = 'operator') desc, r.revision desc),
  delivered as (
    select d.*, c.revision, c.delivered_kwh as was_kwh, c.buyer_pays as was_paid, c.seller_receives as was_received,
           (e.user_id is not null and i.user_id is not null) or v_late as settleable,
           least(d.wh, div(d.wh * coalesce(e.export_wh, 0), d.sold_wh), div(d.wh * coalesce(i.import_wh, 0), d.bought_wh)) as dwh
      from deals d
      left join meters e on e.user_id = d.seller_id
      left join meters i on i.user_id = d.buyer_id
      left join public.settlements c on c.trade_id = d.id and c.superseded_at is null),
  -- n = Wh x ticks of $0.0001 is tenths of a micro-dollar: value = n / 10 rounded half to even.
  terms as (
    select d.*, x.n_energy, x.n_buyer, x.n_seller
      from delivered d
     cross join lateral (select d.dwh * d.price * 10000 as n_energy, d.dwh * d.buyer_fee * 10000 as n_buyer,
                                d.dwh * d.seller_fee * 10000 as n_seller) x),
  valued as (
    select t.*,
           div(t.n_energy, 10) + case when mod(t.n_energy, 10) > 5 or (mod(t.n_energy, 10) = 5 and mod(div(t.n_energy, 10), 2) = 1) then 1 else 0 end as energy,
           div(t.n_buyer, 10) + case when mod(t.n_buyer, 10) > 5 or (mod(t.n_buyer, 10) = 5 and mod(div(t.n_buyer, 10), 2) = 1) then 1 else 0 end as buyer_fee_value,
           div(t.n_seller, 10) + case when mod(t.n_seller, 10) > 5 or (mod(t.n_seller, 10) = 5 and mod(div(t.n_seller, 10), 2) = 1) then 1 else 0 end as seller_fee_value
      from terms t)
  select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'id', v.id, 'seq', v.seq, 'amount', v.amount, 'price', v.price, 'revision', coalesce(v.revision, 0),
           'delivered_kwh', v.dwh / 1000, 'buyer_pays', (v.energy + v.buyer_fee_value) / 1000000,
           'seller_receives', (v.energy - v.seller_fee_value) / 1000000,
           'state', case when not v.settleable then 'waiting'
                         when v.revision is not null and v.was_kwh = v.dwh / 1000
                              and v.was_paid = (v.energy + v.buyer_fee_value) / 1000000
                              and v.was_received = (v.energy - v.seller_fee_value) / 1000000 then 'unchanged'
                         else 'changed' end) order by v.seq)
    into v_rows
    from valued v;

  update public.settlements s set superseded_at = now()
    from pg_catalog.jsonb_to_recordset(coalesce(v_rows, '[]')) as x(id pg_catalog.uuid, state pg_catalog.text)
   where x.state = 'changed' and s.trade_id = x.id and s.superseded_at is null;
  insert into public.settlements (trade_id, revision, community_id, delivery_start, contracted_kwh, delivered_kwh,
                                  price, buyer_pays, seller_receives, fees)
  select x.id, x.revision + 1, p_community.id, p_start, x.amount, x.delivered_kwh, x.price, x.buyer_pays,
         x.seller_receives, x.buyer_pays - x.seller_receives
    from pg_catalog.jsonb_to_recordset(coalesce(v_rows, '[]')) as x(id pg_catalog.uuid, seq bigint, amount numeric, price numeric,
           revision integer, delivered_kwh numeric, buyer_pays numeric, seller_receives numeric, state pg_catalog.text)
   where x.state = 'changed'
   order by x.seq;

  select pg_catalog.jsonb_build_object(
           'community_id', p_community.id, 'delivery_start', p_start,
           'settled', coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'trade_id', x.id, 'revision', x.revision + 1, 'delivered_kwh', round(x.delivered_kwh, 3),
               'buyer_pays', round(x.buyer_pays, 6), 'seller_receives', round(x.seller_receives, 6),
               'fees', round(x.buyer_pays - x.seller_receives, 6)) order by x.seq) filter (where x.state = 'changed'), '[]'),
           'awaiting_meter', coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(x.id) order by x.seq)
               filter (where x.state = 'waiting' and x.revision = 0), '[]'),
           'unchanged', count(*) filter (where x.state = 'unchanged'))
    into v_result
    from pg_catalog.jsonb_to_recordset(coalesce(v_rows, '[]')) as x(id pg_catalog.uuid, seq bigint, revision integer,
           delivered_kwh numeric, buyer_pays numeric, seller_receives numeric, state pg_catalog.text);
  update private.settlement_runs set needs_run = false, final = v_late, last_run_at = now()
   where community_id = p_community.id and delivery_start = p_start;
  return v_result;
end
$$;

-- Settles one ended interval of a community (the service's): again at any later
-- time, changing only what new readings change.
create function public.settle_interval(p_community pg_catalog.text, p_delivery_start pg_catalog.timestamptz)
returns pg_catalog.jsonb
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_community public.communities;
begin
  if p_community is null then
    raise exception 'invalid_community';
  end if;
  perform private.lock_community(p_community);
  select * into v_community from public.communities c where c.id = p_community;
  if not found then
    raise exception 'invalid_community';
  end if;
  if not private.interval_aligned(p_delivery_start, v_community.interval_minutes) then
    raise exception 'invalid_interval';
  end if;
  if now() < p_delivery_start + make_interval(mins => v_community.interval_minutes) then
    raise exception 'interval_not_ended';
  end if;
  return private.settle(v_community, p_delivery_start);
end
$$;

-- The upkeep's settlement of a community: every ended interval with trades that
-- has new trades or readings since its last run, or whose deadline passed since;
-- returns how many intervals it settled.
create function public.settle_intervals(p_community pg_catalog.text) returns integer
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_community public.communities;
  v_start pg_catalog.timestamptz;
  v_count integer := 0;
begin
  if p_community is null then
    raise exception 'invalid_community';
  end if;
  perform private.lock_community(p_community);
  select * into v_community from public.communities c where c.id = p_community;
  for v_start in
    select s.delivery_start from private.settlement_runs s
     where s.community_id = p_community and (s.needs_run or not s.final)
       and s.delivery_start + make_interval(mins => v_community.interval_minutes) <= now()
       and (s.needs_run or s.delivery_start + make_interval(mins => v_community.interval_minutes)
                                            + make_interval(hours => v_community.settlement_deadline_hours) <= now())
     order by s.delivery_start
  loop
    perform private.settle(v_community, v_start);
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;

-- Who may call what -----------------------------------------------------------------
revoke all on function
  private.interval_aligned(pg_catalog.timestamptz, integer),
  private.reading_refusal(public.communities, pg_catalog.timestamptz, numeric, numeric),
  private.record_reading(pg_catalog.text, pg_catalog.uuid, pg_catalog.timestamptz, numeric, numeric, pg_catalog.text,
                         pg_catalog.uuid),
  private.reading_is_current(public.meter_readings),
  private.json_decimal(pg_catalog.jsonb),
  private.json_instant(pg_catalog.jsonb),
  private.settle(public.communities, pg_catalog.timestamptz)
  from public, anon, authenticated, service_role;
revoke all on function
  public.place_order(pg_catalog.uuid, pg_catalog.text, numeric, numeric, pg_catalog.timestamptz, pg_catalog.timestamptz),
  public.book_page(bigint),
  public.update_community_settings(pg_catalog.text, pg_catalog.text, numeric, numeric, numeric, numeric, numeric, integer,
                                   integer, integer, integer, integer, numeric, numeric, boolean),
  public.submit_meter_reading(pg_catalog.timestamptz, numeric, numeric),
  public.import_meter_readings(pg_catalog.text, pg_catalog.jsonb),
  public.settle_interval(pg_catalog.text, pg_catalog.timestamptz),
  public.settle_intervals(pg_catalog.text)
  from public, anon, authenticated, service_role;
grant execute on function
  public.place_order(pg_catalog.uuid, pg_catalog.text, numeric, numeric, pg_catalog.timestamptz, pg_catalog.timestamptz),
  public.book_page(bigint),
  public.update_community_settings(pg_catalog.text, pg_catalog.text, numeric, numeric, numeric, numeric, numeric, integer,
                                   integer, integer, integer, integer, numeric, numeric, boolean),
  public.submit_meter_reading(pg_catalog.timestamptz, numeric, numeric),
  public.import_meter_readings(pg_catalog.text, pg_catalog.jsonb)
  to authenticated, service_role;
grant execute on function
  public.settle_interval(pg_catalog.text, pg_catalog.timestamptz),
  public.settle_intervals(pg_catalog.text)
  to service_role;

-- The upkeep every minute, with pg_cron (see 20261202090100): for each
-- community with open orders or settlement due, match_orders (due orders and
-- closed intervals expire, crossed books clear) and settle_intervals, committed
-- before the next community, so one transaction holds one community's lock.
-- Where pg_cron could not be created, nothing is scheduled, as there.
do $schedule$
begin
  if not exists (select from pg_catalog.pg_extension e where e.extname = 'pg_cron') then
    raise notice 'pg_cron is not in database %: the market upkeep is not scheduled here', pg_catalog.current_database();
    return;
  end if;
  -- By name: this replaces the job.
  perform cron.schedule('lumea-market-upkeep', '* * * * *', $upkeep$do $job$
declare
  v_community pg_catalog.text;
begin
  for v_community in
    select c.id from public.communities c
     where exists (select from public.market_orders o
                    where o.community_id = c.id and o.status in ('active', 'partial'))
        or exists (select from private.settlement_runs s
                    where s.community_id = c.id and (s.needs_run or not s.final)
                      and s.delivery_start + pg_catalog.make_interval(mins => c.interval_minutes) <= pg_catalog.now()
                      and (s.needs_run or s.delivery_start + pg_catalog.make_interval(mins => c.interval_minutes)
                                          + pg_catalog.make_interval(hours => c.settlement_deadline_hours) <= pg_catalog.now()))
     order by 1
  loop
    perform public.match_orders(v_community);
    perform public.settle_intervals(v_community);
    commit;
  end loop;
end
$job$
$upkeep$);
end
$schedule$;
