-- The community market on Supabase: profiles, orders, trades, row-level
-- security and the atomic market functions. The market rules are those of the
-- Rust engine (README, "The market rules"); rejections raise the same reason
-- codes as the exception message.
--
-- Security model: clients read through RLS and change the market only through
-- the SECURITY DEFINER functions below, which take the user from auth.uid()
-- and serialise each community's book with a transaction-scoped advisory lock.

-- Profiles ---------------------------------------------------------------

create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  username text not null check (char_length(username) between 1 and 40 and username !~ '[[:cntrl:]]'),
  community_id text not null default 'default' check (community_id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  -- Coarse home location: 3 decimals of a degree, about 100 m. Exact
  -- coordinates are never stored.
  location_lat numeric(6, 3) check (location_lat between -90 and 90),
  location_lng numeric(6, 3) check (location_lng between -180 and 180),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- A degree in text from the sign-up metadata, coarsened; null when absent or not a number.
create function public.coarse_degree(p_text text, p_limit numeric) returns numeric
language sql immutable set search_path = '' as $$
  select case
    when p_text ~ '^-?[0-9]{1,3}(\.[0-9]{1,12})?$' and abs(p_text::numeric) <= p_limit
      then round(p_text::numeric, 3)
  end
$$;

-- As Supabase apps do: the profile is made with the user, so a new user can trade at once.
create function public.create_profile_for_new_user() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  v_meta jsonb := coalesce(new.raw_user_meta_data, '{}'::jsonb);
  v_name text;
begin
  -- Some GoTrue-compatible servers store the metadata as a JSON string holding the object.
  if jsonb_typeof(v_meta) = 'string' then
    v_meta := (v_meta #>> '{}')::jsonb;
  end if;
  if jsonb_typeof(v_meta) <> 'object' then
    v_meta := '{}'::jsonb;
  end if;
  v_name := left(btrim(regexp_replace(coalesce(v_meta ->> 'username', ''), '[[:cntrl:]]', '', 'g')), 40);
  insert into public.profiles (id, username, community_id, location_lat, location_lng)
  values (
    new.id,
    case when v_name = '' then 'Neighbour ' || left(new.id::text, 8) else v_name end,
    coalesce(nullif(v_meta ->> 'community_id', ''), 'default'),
    public.coarse_degree(v_meta ->> 'lat', 90),
    public.coarse_degree(v_meta ->> 'lng', 180)
  );
  return new;
end
$$;

create trigger on_auth_user_created
  after insert on auth.users
  for each row execute function public.create_profile_for_new_user();

-- Orders and trades -------------------------------------------------------

-- Arrival order: breaks price ties, never a timestamp.
create sequence public.market_order_seq;

create table public.market_orders (
  id uuid primary key,
  user_id uuid not null references auth.users (id),
  username text not null,
  community_id text not null,
  type text not null check (type in ('buy', 'sell')),
  price numeric(10, 4) not null check (price between 0.05 and 1.00),
  amount numeric(10, 2) not null check (amount between 1 and 100),
  filled_amount numeric(10, 2) not null default 0 check (filled_amount between 0 and amount),
  status text not null default 'active' check (status in ('active', 'partial', 'filled', 'cancelled', 'expired')),
  location_lat numeric(6, 3),
  location_lng numeric(6, 3),
  seq bigint not null unique default nextval('public.market_order_seq'),
  expires_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Each side of a community's open book in priority order, as the matcher scans it.
create index market_orders_open_asks on public.market_orders (community_id, price, seq)
  where type = 'sell' and status in ('active', 'partial');
create index market_orders_open_bids on public.market_orders (community_id, price desc, seq)
  where type = 'buy' and status in ('active', 'partial');
create index market_orders_user on public.market_orders (user_id, created_at desc);
create index market_orders_due on public.market_orders (expires_at)
  where status in ('active', 'partial') and expires_at is not null;

create sequence public.trade_seq;

create table public.trades (
  id uuid primary key default gen_random_uuid(),
  community_id text not null,
  -- Null for a direct purchase ("buy now"): the buyer has no resting order.
  buy_order_id uuid references public.market_orders (id),
  sell_order_id uuid not null references public.market_orders (id),
  buyer_id uuid not null references auth.users (id),
  seller_id uuid not null references auth.users (id),
  price numeric(10, 4) not null,
  amount numeric(10, 2) not null check (amount > 0),
  status text not null default 'completed' check (status in ('pending', 'completed', 'failed')),
  seq bigint not null unique default nextval('public.trade_seq'),
  created_at timestamptz not null default now()
);

create index trades_buyer on public.trades (buyer_id, seq desc);
create index trades_seller on public.trades (seller_id, seq desc);
create index trades_sell_order on public.trades (sell_order_id);
create index trades_buy_order on public.trades (buy_order_id);

create table public.market_settings (
  id boolean primary key default true check (id),
  -- Against book spam: open orders one user may have at once.
  open_order_cap integer not null default 50 check (open_order_cap > 0)
);
insert into public.market_settings default values;

create function public.touch_updated_at() returns trigger
language plpgsql set search_path = '' as $$
begin
  new.updated_at := now();
  return new;
end
$$;

create trigger market_orders_updated_at before update on public.market_orders
  for each row execute function public.touch_updated_at();
create trigger profiles_updated_at before update on public.profiles
  for each row execute function public.touch_updated_at();

-- Row-level security --------------------------------------------------------

alter table public.profiles enable row level security;
alter table public.market_orders enable row level security;
alter table public.trades enable row level security;
alter table public.market_settings enable row level security;

-- Supabase grants the API roles everything on new tables; take back all writes.
revoke all on public.profiles, public.market_orders, public.trades, public.market_settings from anon, authenticated;
revoke all on sequence public.market_order_seq, public.trade_seq from anon, authenticated;
grant select on public.profiles, public.market_orders, public.trades to authenticated;

create policy "own profile" on public.profiles
  for select to authenticated
  using (id = (select auth.uid()));

create policy "open orders of my community, and all of mine" on public.market_orders
  for select to authenticated
  using (
    user_id = (select auth.uid())
    or (
      status in ('active', 'partial')
      and community_id = (select p.community_id from public.profiles p where p.id = (select auth.uid()))
    )
  );

create policy "trades I bought or sold" on public.trades
  for select to authenticated
  using (buyer_id = (select auth.uid()) or seller_id = (select auth.uid()));

-- Realtime: orders change status and fill, so their updates carry the whole row.
alter table public.market_orders replica identity full;
alter publication supabase_realtime add table public.market_orders, public.trades;

-- Market functions: internal helpers ------------------------------------------

-- The calling user's profile; every market function acts as this user only.
create function public.caller_profile() returns public.profiles
language plpgsql stable security definer set search_path = '' as $$
declare
  v_me public.profiles;
begin
  select * into v_me from public.profiles where id = auth.uid();
  if not found then
    raise exception 'not_authenticated';
  end if;
  return v_me;
end
$$;

-- One writer per community book at a time, until the transaction ends.
create function public.lock_community(p_community text) returns void
language sql security definer set search_path = '' as $$
  select pg_advisory_xact_lock(hashtextextended('lumea.market:' || p_community, 0))
$$;

-- Orders due at this time are expired before anything else happens (caller holds the lock).
create function public.expire_due(p_community text) returns integer
language plpgsql security definer set search_path = '' as $$
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
create function public.fill_order(p_id uuid, p_amount numeric) returns public.market_orders
language sql security definer set search_path = '' as $$
  update public.market_orders
     set filled_amount = filled_amount + p_amount,
         status = case when filled_amount + p_amount = amount then 'filled' else 'partial' end
   where id = p_id
  returning *
$$;

-- Market functions: the API ---------------------------------------------------

create function public.place_order(
  p_id uuid,
  p_type text,
  p_price numeric,
  p_amount numeric,
  p_expires_at timestamptz default null
) returns public.market_orders
language plpgsql security definer set search_path = '' as $$
declare
  v_me public.profiles := public.caller_profile();
  v_order public.market_orders;
  v_rest public.market_orders;
  v_book refcursor;
  v_fill numeric;
begin
  if p_id is null then
    raise exception 'invalid_order_id';
  end if;
  if p_type is null or p_type not in ('buy', 'sell') then
    raise exception 'invalid_side';
  end if;
  perform public.lock_community(v_me.community_id);
  perform public.expire_due(v_me.community_id);

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
    perform public.fill_order(v_rest.id, v_fill);
    v_order.filled_amount := v_order.filled_amount + v_fill;
  end loop;
  close v_book;

  -- The new order is stored unfilled; its fills are written once, at the end.
  if v_order.filled_amount > 0 then
    v_order := public.fill_order(v_order.id, v_order.filled_amount);
  end if;
  return v_order;
end
$$;

create function public.cancel_order(p_id uuid) returns public.market_orders
language plpgsql security definer set search_path = '' as $$
declare
  v_me public.profiles := public.caller_profile();
  v_order public.market_orders;
begin
  perform public.lock_community(v_me.community_id);
  perform public.expire_due(v_me.community_id);
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
create function public.buy_now(p_order_id uuid, p_amount numeric, p_ref uuid) returns public.trades
language plpgsql security definer set search_path = '' as $$
declare
  v_me public.profiles := public.caller_profile();
  v_order public.market_orders;
  v_trade public.trades;
begin
  if p_ref is null then
    raise exception 'invalid_ref';
  end if;
  perform public.lock_community(v_me.community_id);
  perform public.expire_due(v_me.community_id);

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
  perform public.fill_order(v_order.id, p_amount);
  return v_trade;
end
$$;

-- Expires every due order, community by community; returns how many.
create function public.expire_orders() returns integer
language plpgsql security definer set search_path = '' as $$
declare
  v_community text;
  v_count integer := 0;
begin
  for v_community in
    select distinct o.community_id from public.market_orders o
     where o.status in ('active', 'partial') and o.expires_at <= now()
  loop
    perform public.lock_community(v_community);
    v_count := v_count + public.expire_due(v_community);
  end loop;
  return v_count;
end
$$;

-- Clears any crossed book (the product guide's match-orders): best bid against
-- best ask of another user, at the ask's price, until nothing crosses. With the
-- atomic place_order it normally finds nothing; returns the trades made.
create function public.match_orders() returns integer
language plpgsql security definer set search_path = '' as $$
declare
  v_community text;
  v_bid uuid;
  v_ask uuid;
  v_buyer uuid;
  v_seller uuid;
  v_price numeric;
  v_fill numeric;
  v_count integer := 0;
begin
  for v_community in select distinct o.community_id from public.market_orders o where o.status in ('active', 'partial')
  loop
    perform public.lock_community(v_community);
    perform public.expire_due(v_community);
    loop
      -- The best bid that crosses an ask of another user, and the best such ask.
      select b.id, b.user_id, a.id, a.user_id, a.price,
             least(b.amount - b.filled_amount, a.amount - a.filled_amount)
        into v_bid, v_buyer, v_ask, v_seller, v_price, v_fill
        from public.market_orders b
       cross join lateral (
             select * from public.market_orders a
              where a.community_id = v_community and a.type = 'sell' and a.status in ('active', 'partial')
                and a.user_id <> b.user_id and a.price <= b.price
              order by a.price, a.seq
              limit 1) a
       where b.community_id = v_community and b.type = 'buy' and b.status in ('active', 'partial')
       order by b.price desc, b.seq
       limit 1;
      exit when not found;
      insert into public.trades (community_id, buy_order_id, sell_order_id, buyer_id, seller_id, price, amount)
      values (v_community, v_bid, v_ask, v_buyer, v_seller, v_price, v_fill);
      perform public.fill_order(v_bid, v_fill);
      perform public.fill_order(v_ask, v_fill);
      v_count := v_count + 1;
    end loop;
  end loop;
  return v_count;
end
$$;

-- Who may call what: the API to signed-in users only; helpers to nobody.
revoke execute on all functions in schema public from public, anon, authenticated;
grant execute on function
  public.place_order(uuid, text, numeric, numeric, timestamptz),
  public.cancel_order(uuid),
  public.buy_now(uuid, numeric, uuid),
  public.expire_orders(),
  public.match_orders()
  to authenticated, service_role;
