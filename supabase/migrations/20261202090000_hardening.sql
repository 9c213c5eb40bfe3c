-- Hardening of the community market (issue 11, section 3). What users can do
-- is unchanged: place_order, cancel_order and buy_now keep their arguments,
-- answers and reason codes. What changes:
--
-- 1. Expiry and clearing are for the service, one community at a time:
--    expire_orders() and match_orders() were callable by every signed-in user
--    and took the advisory lock of every community they visited in one
--    transaction (with many communities: "out of shared memory"; a user also
--    expired other communities' orders). They become expire_orders(community)
--    and match_orders(community), executable by service_role only; the next
--    migration schedules them with pg_cron, one community per transaction.
-- 2. Temporary-schema types cannot run a caller's code as the functions'
--    owner. A schema-less type name (text, uuid, jsonb, ...) is looked up in
--    the session's temporary schema first when the search path is '', so a
--    temporary domain named "uuid" with a CHECK calling a temporary function
--    ran that function as the owner inside the SECURITY DEFINER functions, and
--    inside auth.uid() called from them (Supabase's auth.uid() has
--    search_path ''). Every function now has search_path = pg_catalog,
--    pg_temp (temporary schema explicitly last), names its types (pg_catalog.
--    text, ...) and our objects (public., private.), and reads the caller's id
--    itself with schema-qualified casts instead of calling auth.uid(). Where
--    the migrating role may, TEMPORARY on the database is revoked from PUBLIC
--    (and kept for the roles that log in).
--    (SQL-standard type names such as numeric, integer, bigint and boolean are
--    grammar keywords bound to pg_catalog and are never looked up; functions
--    and operators are never looked up in the temporary schema.)
-- 3. Helpers and trigger functions move to the schema private, which the API
--    does not expose and anon/authenticated/service_role cannot use; a
--    function created later is executable by nobody until granted.

-- Functions created from here on are not executable by default: not by
-- PUBLIC (every role), and not by the API roles Supabase grants everything
-- in public to. The service role keeps its default; grants below are explicit.
alter default privileges revoke execute on functions from public;
alter default privileges in schema public revoke execute on functions from anon, authenticated;

-- Not callable through the API: PostgREST exposes public (and
-- graphql_public), and only roles with USAGE could reach this schema.
create schema private;
revoke all on schema private from public;

-- TEMPORARY, which PUBLIC has by default, lets a role that can run SQL make
-- temporary types. A migration may take it back when it runs as the database's
-- owner (or a superuser); otherwise this says so and goes on. The roles that
-- log in (the platform's own services) keep what PUBLIC gave them; the API
-- roles (anon, authenticated, service_role: they do not log in), the API's
-- login authenticator, and roles made later do not have it.
do $temporary$
declare
  v_database pg_catalog.text := pg_catalog.current_database();
  v_role pg_catalog.text;
begin
  begin
    execute pg_catalog.format('revoke temporary on database %I from public, anon, authenticated', v_database);
  exception when insufficient_privilege then
    null; -- reported below
  end;
  if exists (
    select from pg_catalog.pg_database d,
                pg_catalog.aclexplode(coalesce(d.datacl, pg_catalog.acldefault('d', d.datdba))) a
     where d.datname = v_database and a.grantee = 0 and a.privilege_type = 'TEMPORARY'
  ) then
    raise notice 'TEMPORARY on database % stays granted to PUBLIC: % may not revoke it', v_database, current_user;
    return;
  end if;
  for v_role in
    select r.rolname from pg_catalog.pg_roles r
     where r.rolcanlogin and not r.rolsuper and r.rolname <> 'authenticator'
     order by 1
  loop
    execute pg_catalog.format('grant temporary on database %I to %I', v_database, v_role);
  end loop;
end
$temporary$;

-- Helpers and trigger functions: moved, then redefined --------------------------
-- Moving keeps each function's identity, so the triggers keep firing them.

alter function public.coarse_degree(pg_catalog.text, numeric) set schema private;
alter function public.create_profile_for_new_user() set schema private;
alter function public.touch_updated_at() set schema private;
alter function public.caller_profile() set schema private;
alter function public.lock_community(pg_catalog.text) set schema private;
alter function public.expire_due(pg_catalog.text) set schema private;
alter function public.fill_order(pg_catalog.uuid, numeric) set schema private;
alter function public.mirror_open_order() set schema private;
alter function public.describe_trade() set schema private;

-- A degree in text from the sign-up metadata, coarsened; null when absent or not a number.
create or replace function private.coarse_degree(p_text pg_catalog.text, p_limit numeric) returns numeric
language sql immutable set search_path = pg_catalog, pg_temp as $$
  select case
    when p_text ~ '^-?[0-9]{1,3}(\.[0-9]{1,12})?$' and abs(p_text::numeric) <= p_limit
      then round(p_text::numeric, 3)
  end
$$;

-- The profile is made with the user (fired by Supabase Auth's insert, hence definer).
create or replace function private.create_profile_for_new_user() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_meta pg_catalog.jsonb := coalesce(new.raw_user_meta_data, '{}'::pg_catalog.jsonb);
  v_name pg_catalog.text;
begin
  -- Some GoTrue-compatible servers store the metadata as a JSON string holding the object.
  if jsonb_typeof(v_meta) = 'string' then
    v_meta := (v_meta #>> '{}')::pg_catalog.jsonb;
  end if;
  if jsonb_typeof(v_meta) <> 'object' then
    v_meta := '{}'::pg_catalog.jsonb;
  end if;
  v_name := left(btrim(regexp_replace(coalesce(v_meta ->> 'username', ''), '[[:cntrl:]]', '', 'g')), 40);
  insert into public.profiles (id, username, community_id, location_lat, location_lng)
  values (
    new.id,
    case when v_name = '' then 'Neighbour ' || left(new.id::pg_catalog.text, 8) else v_name end,
    coalesce(nullif(v_meta ->> 'community_id', ''), 'default'),
    private.coarse_degree(v_meta ->> 'lat', 90),
    private.coarse_degree(v_meta ->> 'lng', 180)
  );
  return new;
end
$$;

create or replace function private.touch_updated_at() returns trigger
language plpgsql set search_path = pg_catalog, pg_temp as $$
begin
  new.updated_at := now();
  return new;
end
$$;

-- The caller's user id from the request's JWT claims, read as auth.uid() reads
-- them, but with schema-qualified casts: auth.uid() (search_path '') would
-- resolve "jsonb" and "uuid" in the caller's temporary schema first.
create function private.caller_id() returns pg_catalog.uuid
language sql stable set search_path = pg_catalog, pg_temp as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::pg_catalog.jsonb ->> 'sub')
  )::pg_catalog.uuid
$$;

-- The calling user's profile; every market function acts as this user only.
-- The helpers run as their caller: only the market functions call them.
create or replace function private.caller_profile() returns public.profiles
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp as $$
declare
  v_me public.profiles;
begin
  select * into v_me from public.profiles where id = private.caller_id();
  if not found then
    raise exception 'not_authenticated';
  end if;
  return v_me;
end
$$;

-- One writer per community book at a time, until the transaction ends.
create or replace function private.lock_community(p_community pg_catalog.text) returns void
language sql security invoker set search_path = pg_catalog, pg_temp as $$
  select pg_advisory_xact_lock(hashtextextended('lumea.market:' || p_community, 0))
$$;

-- Orders due at this time are expired before anything else happens (caller holds the lock).
create or replace function private.expire_due(p_community pg_catalog.text) returns integer
language plpgsql security invoker set search_path = pg_catalog, pg_temp as $$
declare
  v_count integer;
begin
  update public.market_orders
     set status = 'expired'
   where community_id = p_community
     and status in ('active', 'partial')
     and expires_at <= now();
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

-- Records a fill of an order, with the status it gives; returns the order.
create or replace function private.fill_order(p_id pg_catalog.uuid, p_amount numeric) returns public.market_orders
language sql security invoker set search_path = pg_catalog, pg_temp as $$
  update public.market_orders
     set filled_amount = filled_amount + p_amount,
         status = case when filled_amount + p_amount = amount then 'filled' else 'partial' end
   where id = p_id
  returning *
$$;

-- Kept in the same transaction as the order itself, by the functions' writes.
create or replace function private.mirror_open_order() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  if new.status in ('active', 'partial') then
    insert into public.open_orders (id, user_id, username, community_id, type, price, amount, filled_amount, status,
                                    location_lat, location_lng, seq, expires_at, created_at, updated_at)
    values (new.id, new.user_id, new.username, new.community_id, new.type, new.price, new.amount, new.filled_amount,
            new.status, new.location_lat, new.location_lng, new.seq, new.expires_at, new.created_at, new.updated_at)
    on conflict (id) do update
      set filled_amount = excluded.filled_amount, status = excluded.status, updated_at = excluded.updated_at;
  else
    delete from public.open_orders where id = new.id;
  end if;
  return null;
end
$$;

create or replace function private.describe_trade() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  select username into new.buyer_username from public.profiles where id = new.buyer_id;
  select username into new.seller_username from public.profiles where id = new.seller_id;
  -- The later of the two orders came in and took the waiting one; a direct purchase is a buy.
  new.taker := case
    when new.buy_order_id is null then 'buy'
    when (select seq from public.market_orders where id = new.buy_order_id)
       > (select seq from public.market_orders where id = new.sell_order_id) then 'buy'
    else 'sell'
  end;
  return new;
end
$$;

-- The API: the same commands, redefined on the private helpers ------------------

create or replace function public.place_order(
  p_id pg_catalog.uuid,
  p_type pg_catalog.text,
  p_price numeric,
  p_amount numeric,
  p_expires_at pg_catalog.timestamptz default null
) returns public.market_orders
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_me public.profiles := private.caller_profile();
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
  perform private.expire_due(v_me.community_id);

  select * into v_order from public.market_orders where id = p_id;
  if found then
    -- The outbox retries a command it is unsure of: the same command gets the stored order back.
    if v_order.user_id = v_me.id and v_order.type = p_type and v_order.price = p_price
       and v_order.amount = p_amount and v_order.expires_at is not distinct from p_expires_at then
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
  if p_expires_at is not null and p_expires_at <= now() then
    raise exception 'invalid_expiry';
  end if;
  if (select count(*) from public.market_orders o
       where o.user_id = v_me.id and o.status in ('active', 'partial'))
     >= (select s.open_order_cap from public.market_settings s) then
    raise exception 'too_many_open_orders';
  end if;

  insert into public.market_orders (id, user_id, username, community_id, type, price, amount,
                                    location_lat, location_lng, expires_at)
  values (p_id, v_me.id, v_me.username, v_me.community_id, p_type, p_price, p_amount,
          v_me.location_lat, v_me.location_lng, p_expires_at)
  returning * into v_order;

  -- Price-time priority on the opposite side, skipping the caller's own orders. One static
  -- query per side, so each walks its index in order and locks only the rows it reaches.
  if p_type = 'buy' then
    open v_book for
      select * from public.market_orders o
       where o.community_id = v_me.community_id and o.type = 'sell' and o.status in ('active', 'partial')
         and o.price <= p_price and o.user_id <> v_me.id
       order by o.price, o.seq
         for update;
  else
    open v_book for
      select * from public.market_orders o
       where o.community_id = v_me.community_id and o.type = 'buy' and o.status in ('active', 'partial')
         and o.price >= p_price and o.user_id <> v_me.id
       order by o.price desc, o.seq
         for update;
  end if;
  loop
    exit when v_order.filled_amount = v_order.amount;
    fetch v_book into v_rest;
    exit when not found;
    v_fill := least(v_order.amount - v_order.filled_amount, v_rest.amount - v_rest.filled_amount);
    insert into public.trades (community_id, buy_order_id, sell_order_id, buyer_id, seller_id, price, amount)
    values (
      v_me.community_id,
      case when p_type = 'buy' then v_order.id else v_rest.id end,
      case when p_type = 'sell' then v_order.id else v_rest.id end,
      case when p_type = 'buy' then v_me.id else v_rest.user_id end,
      case when p_type = 'sell' then v_me.id else v_rest.user_id end,
      -- Every trade at the sell order's price.
      case when p_type = 'buy' then v_rest.price else v_order.price end,
      v_fill
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

create or replace function public.cancel_order(p_id pg_catalog.uuid) returns public.market_orders
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_me public.profiles := private.caller_profile();
  v_order public.market_orders;
begin
  perform private.lock_community(v_me.community_id);
  perform private.expire_due(v_me.community_id);
  select * into v_order from public.market_orders where id = p_id;
  if not found then
    raise exception 'unknown_order';
  end if;
  if v_order.user_id <> v_me.id then
    raise exception 'not_owner';
  end if;
  if v_order.status not in ('active', 'partial') then
    raise exception 'not_open';
  end if;
  update public.market_orders set status = 'cancelled' where id = p_id returning * into v_order;
  return v_order;
end
$$;

-- A direct purchase of part or all of a listed ask, at its price. p_ref is the
-- trade's id: the same purchase sent again returns the stored trade.
create or replace function public.buy_now(p_order_id pg_catalog.uuid, p_amount numeric, p_ref pg_catalog.uuid)
returns public.trades
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_me public.profiles := private.caller_profile();
  v_order public.market_orders;
  v_trade public.trades;
begin
  if p_ref is null then
    raise exception 'invalid_ref';
  end if;
  perform private.lock_community(v_me.community_id);
  perform private.expire_due(v_me.community_id);

  select * into v_trade from public.trades where id = p_ref;
  if found then
    if v_trade.buyer_id = v_me.id and v_trade.sell_order_id = p_order_id and v_trade.amount = p_amount then
      return v_trade;
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
  if v_order.user_id = v_me.id then
    raise exception 'self_trade';
  end if;
  if p_amount is null or p_amount = 'NaN'::numeric or p_amount <= 0 or p_amount <> round(p_amount, 2) then
    raise exception 'invalid_amount';
  end if;
  if p_amount > v_order.amount - v_order.filled_amount then
    raise exception 'exceeds_available';
  end if;

  insert into public.trades (id, community_id, buy_order_id, sell_order_id, buyer_id, seller_id, price, amount)
  values (p_ref, v_me.community_id, null, v_order.id, v_me.id, v_order.user_id, v_order.price, p_amount)
  returning * into v_trade;
  perform private.fill_order(v_order.id, p_amount);
  return v_trade;
end
$$;

-- Expiry and clearing: the service's, one community at a time ----------------------

drop function public.expire_orders();
drop function public.match_orders();

-- Expires the community's due orders under its lock; returns how many.
create function public.expire_orders(p_community pg_catalog.text) returns integer
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  if p_community is null then
    raise exception 'invalid_community';
  end if;
  perform private.lock_community(p_community);
  return private.expire_due(p_community);
end
$$;

-- Clears the community's crossed book (the product guide's match-orders): due
-- orders expire first, then the best bid meets the best ask of another user, at
-- the ask's price, until nothing crosses. With the atomic place_order it
-- normally finds nothing; returns the trades made. Takes this community's lock
-- alone, so one transaction per community holds one advisory lock.
create function public.match_orders(p_community pg_catalog.text) returns integer
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_bid pg_catalog.uuid;
  v_ask pg_catalog.uuid;
  v_buyer pg_catalog.uuid;
  v_seller pg_catalog.uuid;
  v_price numeric;
  v_fill numeric;
  v_count integer := 0;
begin
  if p_community is null then
    raise exception 'invalid_community';
  end if;
  perform private.lock_community(p_community);
  perform private.expire_due(p_community);
  loop
    -- The best bid that crosses an ask of another user, and the best such ask.
    select b.id, b.user_id, a.id, a.user_id, a.price,
           least(b.amount - b.filled_amount, a.amount - a.filled_amount)
      into v_bid, v_buyer, v_ask, v_seller, v_price, v_fill
      from public.market_orders b
     cross join lateral (
           select * from public.market_orders a
            where a.community_id = p_community and a.type = 'sell' and a.status in ('active', 'partial')
              and a.user_id <> b.user_id and a.price <= b.price
            order by a.price, a.seq
            limit 1) a
     where b.community_id = p_community and b.type = 'buy' and b.status in ('active', 'partial')
     order by b.price desc, b.seq
     limit 1;
    exit when not found;
    insert into public.trades (community_id, buy_order_id, sell_order_id, buyer_id, seller_id, price, amount)
    values (p_community, v_bid, v_ask, v_buyer, v_seller, v_price, v_fill);
    perform private.fill_order(v_bid, v_fill);
    perform private.fill_order(v_ask, v_fill);
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;

-- Who may call what ---------------------------------------------------------------
-- Users: the three commands. The service: those and the upkeep. Helpers: nobody
-- (the market functions run as their owner, who needs no grant).
revoke all on all functions in schema public from public, anon, authenticated, service_role;
revoke all on all functions in schema private from public, anon, authenticated, service_role;
grant execute on function
  public.place_order(pg_catalog.uuid, pg_catalog.text, numeric, numeric, pg_catalog.timestamptz),
  public.cancel_order(pg_catalog.uuid),
  public.buy_now(pg_catalog.uuid, numeric, pg_catalog.uuid)
  to authenticated, service_role;
grant execute on function
  public.expire_orders(pg_catalog.text),
  public.match_orders(pg_catalog.text)
  to service_role;
