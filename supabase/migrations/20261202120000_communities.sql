-- Communities (issue 12): a household joins a community with an invitation
-- made by one of its admins, and reads and trades only while its membership
-- is active. What a member sees of a neighbour is a display name and a
-- distance computed here; coordinates, user ids and emails never leave the
-- server. The community's market price is read from anonymous trade prints.
--
-- What changes for existing data: every profile's community_id becomes an
-- active membership of that community (the community is created with the
-- defaults and the old global open-order cap), the profile's username becomes
-- the membership's display name (cleaned, and made unique in the community),
-- and profiles keep only the coarse home location.
--
-- Who may do what:
-- - anyone signed in: join_community (with a valid invitation), my_membership,
--   update_home;
-- - an active member: the market commands, the open book (open_orders, with
--   order_distances), its own orders and trades, the community's prints;
-- - an active admin, for its own community only: the member, invitation and
--   settings functions below;
-- - the service (the operator's bootstrap): create_community, invite_admin.
--
-- A user is a member of at most one community of a project: the market
-- functions act in the caller's community, so they need no community argument.

-- Names ---------------------------------------------------------------------

-- The market crate's name rule (lumea_market::names), kept identical: every
-- kind of space becomes one space; control, format (bidi, zero-width, tags)
-- and other invisible characters are removed; runs of spaces collapse and the
-- ends are trimmed. The cases both sides must agree on are in
-- tests/fixtures/display-names.json.
create function private.clean_name(p_name pg_catalog.text) returns pg_catalog.text
language sql immutable set search_path = pg_catalog, pg_temp as $$
  select btrim(regexp_replace(
           regexp_replace(
             regexp_replace(p_name, '[\t\n\u000b\f\r\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]', ' ', 'g'),
             '[\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb\U000e0000-\U000e007f]',
             '', 'g'),
           ' {2,}', ' ', 'g'), ' ')
$$;

-- A member's display name: the cleaned name when 1 to 40 characters remain; null otherwise.
create function private.display_name(p_name pg_catalog.text) returns pg_catalog.text
language sql immutable set search_path = pg_catalog, pg_temp as $$
  select n from (select private.clean_name(p_name) as n) c where char_length(n) between 1 and 40
$$;

-- Communities, memberships, invitations ------------------------------------

create table public.communities (
  id text primary key check (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  name text not null check (char_length(name) between 1 and 80 and name = private.clean_name(name)),
  -- The market's price limits, narrowed by the community: $/kWh with the
  -- market's four decimals, inside its 0.05 to 1.00.
  min_price numeric(10, 4) not null default 0.05,
  max_price numeric(10, 4) not null default 1.00,
  -- The grid's prices for the members' quotes and savings, as in local mode.
  grid_buy_price numeric(10, 4) not null default 0.20,
  grid_sell_price numeric(10, 4) not null default 0.10,
  co2_kg_per_kwh numeric(5, 3) not null default 0.367,
  -- Against book spam: open orders one member may have at once.
  open_order_cap integer not null default 50,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint community_settings check (
    min_price >= 0.05 and max_price <= 1.00 and min_price <= max_price
    and grid_buy_price between 0.05 and 1.00 and grid_sell_price between 0.05 and 1.00
    and co2_kg_per_kwh between 0 and 2 and open_order_cap between 1 and 10000)
);

-- Made by an admin (or by the operator's bootstrap, created_by null). Only the
-- token's SHA-256 is kept: the token itself is shown once, to its maker.
create table private.invitations (
  id uuid primary key default gen_random_uuid(),
  community_id text not null references public.communities (id) on delete cascade,
  token_hash bytea not null unique,
  role text not null default 'member' check (role in ('member', 'admin')),
  pre_approved boolean not null default false,
  uses_left integer not null check (uses_left >= 0),
  expires_at timestamptz not null,
  created_by uuid,
  created_at timestamptz not null default now(),
  revoked_at timestamptz
);

create table public.memberships (
  -- The handle admins act on: a member's user id is never shown to anyone else.
  id uuid primary key default gen_random_uuid(),
  community_id text not null references public.communities (id),
  user_id uuid not null unique references auth.users (id) on delete cascade,
  display_name text not null check (display_name = private.display_name(display_name)),
  role text not null default 'member' check (role in ('member', 'admin')),
  status text not null default 'pending' check (status in ('pending', 'active', 'suspended')),
  invitation_id uuid references private.invitations (id) on delete set null,
  joined_at timestamptz not null default now(),
  approved_at timestamptz,
  updated_at timestamptz not null default now()
);
create unique index memberships_display_name on public.memberships (community_id, lower(display_name));
create index memberships_community on public.memberships (community_id, status);
alter table private.invitations
  add constraint invitations_created_by foreign key (created_by) references public.memberships (id) on delete set null;

create trigger communities_updated_at before update on public.communities
  for each row execute function private.touch_updated_at();
create trigger memberships_updated_at before update on public.memberships
  for each row execute function private.touch_updated_at();

-- Existing data: communities, then a membership per profile ------------------

insert into public.communities (id, name, open_order_cap)
-- The old cap had no upper bound; a community's has one.
select distinct p.community_id, p.community_id, (select least(s.open_order_cap, 10000) from public.market_settings s)
  from public.profiles p
 order by 1;

-- Names already taken in a community (ignoring case) get " #2", " #3", ... in
-- order of sign-up, the first that is free (a neighbour may be called "Bob #2"
-- already), the name shortened to fit 40 characters with no space left before
-- the "#"; an empty name becomes "Neighbour".
do $names$
declare
  v_profile record;
  v_name pg_catalog.text;
  v_rank integer;
begin
  for v_profile in
    select p.id, p.community_id, p.created_at,
           -- The old default name held the start of the user id: it is not kept.
           coalesce(private.display_name(nullif(p.username, 'Neighbour ' || left(p.id::pg_catalog.text, 8))),
                    'Neighbour') as name
      from public.profiles p
     order by p.created_at, p.id
  loop
    v_name := v_profile.name;
    v_rank := 1;
    while exists (select from public.memberships m
                   where m.community_id = v_profile.community_id and lower(m.display_name) = lower(v_name)) loop
      v_rank := v_rank + 1;
      v_name := rtrim(left(v_profile.name, 38 - char_length(v_rank::pg_catalog.text)), ' ') || ' #' || v_rank;
    end loop;
    insert into public.memberships (community_id, user_id, display_name, role, status, joined_at, approved_at)
    values (v_profile.community_id, v_profile.id, v_name, 'member', 'active', v_profile.created_at, now());
  end loop;
end
$names$;

-- The old policies read profiles.community_id; new ones follow below.
drop policy "open orders of my community, and all of mine" on public.market_orders;
drop policy "open orders of my community" on public.open_orders;

-- Profiles keep the home alone; names live in memberships.
alter table public.profiles drop column community_id, drop column username,
  add column home_updated_at timestamptz;
drop table public.market_settings;

create or replace function private.create_profile_for_new_user() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_meta pg_catalog.jsonb := coalesce(new.raw_user_meta_data, '{}'::pg_catalog.jsonb);
begin
  -- Some GoTrue-compatible servers store the metadata as a JSON string holding the object.
  if jsonb_typeof(v_meta) = 'string' then
    v_meta := (v_meta #>> '{}')::pg_catalog.jsonb;
  end if;
  if jsonb_typeof(v_meta) <> 'object' then
    v_meta := '{}'::pg_catalog.jsonb;
  end if;
  -- The home the app set up, coarsened. Nothing else of the metadata is
  -- trusted: a community is joined with an invitation only.
  insert into public.profiles (id, location_lat, location_lng)
  values (new.id, private.coarse_degree(v_meta ->> 'lat', 90), private.coarse_degree(v_meta ->> 'lng', 180));
  return new;
end
$$;

-- Callers -------------------------------------------------------------------

-- The market functions act as a member now (private.caller_member below).
drop function private.caller_profile();

-- The caller's membership, whatever its status; null when it has none.
create function private.caller_membership() returns public.memberships
language sql stable security invoker set search_path = pg_catalog, pg_temp as $$
  select m.* from public.memberships m where m.user_id = private.caller_id()
$$;

-- The caller's active membership; every market function acts as this member only.
create function private.caller_member() returns public.memberships
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp as $$
declare
  v_me public.memberships;
begin
  if private.caller_id() is null then
    raise exception 'not_authenticated';
  end if;
  select * into v_me from public.memberships m where m.user_id = private.caller_id();
  if not found then
    raise exception 'not_member';
  end if;
  if v_me.status = 'pending' then
    raise exception 'membership_pending';
  end if;
  if v_me.status = 'suspended' then
    raise exception 'membership_suspended';
  end if;
  return v_me;
end
$$;

-- The caller's active membership of p_community with the admin role.
create function private.caller_admin(p_community pg_catalog.text) returns public.memberships
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp as $$
declare
  v_me public.memberships;
begin
  if private.caller_id() is null then
    raise exception 'not_authenticated';
  end if;
  select * into v_me from public.memberships m
   where m.user_id = private.caller_id() and m.community_id = p_community and m.role = 'admin' and m.status = 'active';
  if not found then
    raise exception 'not_admin';
  end if;
  return v_me;
end
$$;

-- The caller's community when its membership is active.
create function private.active_community() returns pg_catalog.text
language sql stable security invoker set search_path = pg_catalog, pg_temp as $$
  select m.community_id from public.memberships m where m.user_id = private.caller_id() and m.status = 'active'
$$;

-- Reading: what a member sees ------------------------------------------------

alter table public.communities enable row level security;
alter table public.memberships enable row level security;
revoke all on public.communities, public.memberships from anon, authenticated;
grant select on public.communities, public.memberships to authenticated;

-- A member, whatever its status, reads its community's name and settings (the
-- app shows "waiting for approval in ...") and its own membership.
create policy "my community" on public.communities
  for select to authenticated
  using (id = (select m.community_id from public.memberships m where m.user_id = (select auth.uid())));
create policy "my membership" on public.memberships
  for select to authenticated
  using (user_id = (select auth.uid()));

-- Orders: a household reads its own; the book is open_orders, which holds
-- neither user ids nor coordinates, for active members of its community.
create policy "my orders" on public.market_orders
  for select to authenticated
  using (user_id = (select auth.uid()));

alter table public.open_orders drop column user_id, drop column location_lat, drop column location_lng;
create policy "open orders of my active community" on public.open_orders
  for select to authenticated
  using (community_id = (select m.community_id from public.memberships m
                          where m.user_id = (select auth.uid()) and m.status = 'active'));

create or replace function private.mirror_open_order() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  if new.status in ('active', 'partial') then
    insert into public.open_orders (id, username, community_id, type, price, amount, filled_amount, status,
                                    seq, expires_at, created_at, updated_at)
    values (new.id, new.username, new.community_id, new.type, new.price, new.amount, new.filled_amount,
            new.status, new.seq, new.expires_at, new.created_at, new.updated_at)
    on conflict (id) do update
      set filled_amount = excluded.filled_amount, status = excluded.status, updated_at = excluded.updated_at;
  else
    delete from public.open_orders where id = new.id;
  end if;
  return null;
end
$$;

-- Trades: each party reads its side of a trade, with the other party's
-- display name and never its id. The trades table itself is the server's.
create table public.household_trades (
  trade_id uuid not null references public.trades (id),
  user_id uuid not null references auth.users (id),
  community_id text not null,
  side text not null check (side in ('buy', 'sell')),
  -- The household's order in the trade; null for its direct purchase.
  order_id uuid references public.market_orders (id),
  -- The other party's order; null when the other party bought directly.
  other_order_id uuid references public.market_orders (id),
  counterpart text not null,
  taker text not null check (taker in ('buy', 'sell')),
  price numeric(10, 4) not null,
  amount numeric(10, 2) not null check (amount > 0),
  seq bigint not null,
  created_at timestamptz not null,
  primary key (trade_id, side)
);
create index household_trades_user on public.household_trades (user_id, seq);

-- Trade prints: the community's price and volume, with no party.
create table public.trade_prints (
  seq bigint primary key,
  community_id text not null,
  price numeric(10, 4) not null,
  amount numeric(10, 2) not null check (amount > 0),
  traded_at timestamptz not null
);
create index trade_prints_community on public.trade_prints (community_id, seq);

alter table public.household_trades enable row level security;
alter table public.trade_prints enable row level security;
revoke all on public.household_trades, public.trade_prints from anon, authenticated;
revoke all on public.trades from anon, authenticated;
drop policy "trades I bought or sold" on public.trades;
grant select on public.household_trades, public.trade_prints to authenticated;

create policy "my side of my trades" on public.household_trades
  for select to authenticated
  using (user_id = (select auth.uid()));
create policy "prints of my active community" on public.trade_prints
  for select to authenticated
  using (community_id = (select m.community_id from public.memberships m
                          where m.user_id = (select auth.uid()) and m.status = 'active'));

-- The names come from memberships now; a party without one is "A neighbour".
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
  return new;
end
$$;

-- Names written before memberships: every order and trade shows the member's
-- display name now (the old default name held the start of the user id).
update public.trades set buyer_id = buyer_id;
update public.market_orders o set username = m.display_name from public.memberships m where m.user_id = o.user_id;
update public.open_orders o set username = mo.username from public.market_orders mo where mo.id = o.id;

-- Each new trade: its two sides and its print, in the same transaction.
create function private.publish_trade() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  insert into public.household_trades (trade_id, user_id, community_id, side, order_id, other_order_id, counterpart,
                                       taker, price, amount, seq, created_at)
  values (new.id, new.buyer_id, new.community_id, 'buy', new.buy_order_id, new.sell_order_id,
          coalesce(new.seller_username, 'A neighbour'), new.taker, new.price, new.amount, new.seq, new.created_at),
         (new.id, new.seller_id, new.community_id, 'sell', new.sell_order_id, new.buy_order_id,
          coalesce(new.buyer_username, 'A neighbour'), new.taker, new.price, new.amount, new.seq, new.created_at);
  insert into public.trade_prints (seq, community_id, price, amount, traded_at)
  values (new.seq, new.community_id, new.price, new.amount, new.created_at);
  return null;
end
$$;
create trigger publish_trade after insert on public.trades
  for each row execute function private.publish_trade();

insert into public.household_trades (trade_id, user_id, community_id, side, order_id, other_order_id, counterpart,
                                     taker, price, amount, seq, created_at)
select t.id, t.buyer_id, t.community_id, 'buy', t.buy_order_id, t.sell_order_id,
       coalesce(t.seller_username, 'A neighbour'), coalesce(t.taker, 'buy'), t.price, t.amount, t.seq, t.created_at
  from public.trades t
union all
select t.id, t.seller_id, t.community_id, 'sell', t.sell_order_id, t.buy_order_id,
       coalesce(t.buyer_username, 'A neighbour'), coalesce(t.taker, 'buy'), t.price, t.amount, t.seq, t.created_at
  from public.trades t;
insert into public.trade_prints (seq, community_id, price, amount, traded_at)
select t.seq, t.community_id, t.price, t.amount, t.created_at from public.trades t;

-- Realtime: a household hears its membership change (approved, suspended), its
-- community's settings change (grid prices, CO2), its side of each trade and
-- the community's prints.
alter table public.memberships replica identity full;
alter publication supabase_realtime drop table public.trades;
alter publication supabase_realtime add table public.memberships, public.communities, public.household_trades, public.trade_prints;

-- Distances from the caller's home to the homes behind open orders of its
-- community, to 0.1 km, from the coarse locations (haversine, Earth radius
-- 6371 km as in lumea_market::geo). Null where either home is unknown.
create function public.order_distances(p_ids pg_catalog.uuid[]) returns table (id pg_catalog.uuid, distance_km numeric)
language plpgsql stable security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_me public.memberships := private.caller_member();
  v_home public.profiles;
begin
  select * into v_home from public.profiles p where p.id = v_me.user_id;
  return query
    select o.id,
           round((2 * 6371 * asin(sqrt(
             power(sin(radians((o.location_lat - v_home.location_lat)::pg_catalog.float8) / 2), 2)
             + cos(radians(v_home.location_lat::pg_catalog.float8)) * cos(radians(o.location_lat::pg_catalog.float8))
               * power(sin(radians((o.location_lng - v_home.location_lng)::pg_catalog.float8) / 2), 2))))::numeric, 1)
      from public.market_orders o
     where o.id = any (p_ids[1:1000])
       and o.community_id = v_me.community_id
       and o.status in ('active', 'partial');
end
$$;

-- The household's own profile and membership -----------------------------------

-- What the app shows of its membership: the community's settings included.
create function private.membership_answer(p_member public.memberships) returns pg_catalog.jsonb
language sql stable security invoker set search_path = pg_catalog, pg_temp as $$
  select pg_catalog.jsonb_build_object(
    'membership_id', p_member.id, 'community_id', c.id, 'community_name', c.name,
    'display_name', p_member.display_name, 'role', p_member.role, 'status', p_member.status,
    'joined_at', p_member.joined_at, 'approved_at', p_member.approved_at,
    'settings', pg_catalog.jsonb_build_object(
      'min_price', c.min_price, 'max_price', c.max_price, 'grid_buy_price', c.grid_buy_price,
      'grid_sell_price', c.grid_sell_price, 'co2_kg_per_kwh', c.co2_kg_per_kwh, 'open_order_cap', c.open_order_cap))
    from public.communities c where c.id = p_member.community_id
$$;

-- The caller's membership with its community; null when it has none.
create function public.my_membership() returns pg_catalog.jsonb
language plpgsql stable security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_me public.memberships := private.caller_membership();
begin
  if private.caller_id() is null then
    raise exception 'not_authenticated';
  end if;
  if v_me.id is null then
    return null;
  end if;
  return private.membership_answer(v_me);
end
$$;

-- Joins p_community with an invitation token. The membership is pending unless
-- the invitation pre-approves it. Tokens that are unknown, or for another
-- community, are one refusal (invalid_invitation), so guessing learns nothing;
-- a real token says why it no longer works.
create function public.join_community(p_community pg_catalog.text, p_token pg_catalog.text, p_display_name pg_catalog.text)
returns pg_catalog.jsonb
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_user pg_catalog.uuid := private.caller_id();
  v_invitation private.invitations;
  v_name pg_catalog.text := private.display_name(p_display_name);
  v_member public.memberships;
begin
  if v_user is null or not exists (select from public.profiles p where p.id = v_user) then
    raise exception 'not_authenticated';
  end if;
  select * into v_invitation from private.invitations i
   where i.token_hash = sha256(convert_to(coalesce(p_token, ''), 'UTF8'))
     for update;
  if not found or v_invitation.community_id is distinct from p_community then
    raise exception 'invalid_invitation';
  end if;
  if exists (select from public.memberships m where m.user_id = v_user) then
    raise exception 'already_member';
  end if;
  if v_invitation.revoked_at is not null then
    raise exception 'invitation_revoked';
  end if;
  if v_invitation.expires_at <= now() then
    raise exception 'invitation_expired';
  end if;
  if v_invitation.uses_left = 0 then
    raise exception 'invitation_used_up';
  end if;
  if v_name is null then
    raise exception 'invalid_username';
  end if;
  perform private.lock_community(p_community);
  if exists (select from public.memberships m where m.community_id = p_community and lower(m.display_name) = lower(v_name)) then
    raise exception 'username_taken';
  end if;
  insert into public.memberships (community_id, user_id, display_name, role, status, invitation_id, approved_at)
  values (p_community, v_user, v_name, v_invitation.role,
          case when v_invitation.pre_approved then 'active' else 'pending' end,
          v_invitation.id, case when v_invitation.pre_approved then now() end)
  returning * into v_member;
  update private.invitations set uses_left = uses_left - 1 where id = v_invitation.id;
  return private.membership_answer(v_member);
end
$$;

-- Sets the household's home (coarsened to 0.001°, about 100 m). Once its
-- membership is active, at most once a day: neighbours see distances to it, and
-- a home moved at will could locate theirs.
create function public.update_home(p_lat numeric, p_lng numeric) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_user pg_catalog.uuid := private.caller_id();
  v_profile public.profiles;
begin
  select * into v_profile from public.profiles p where p.id = v_user for update;
  if not found then
    raise exception 'not_authenticated';
  end if;
  if p_lat is null or p_lng is null or not (p_lat between -90 and 90) or not (p_lng between -180 and 180) then
    raise exception 'invalid_location';
  end if;
  if private.active_community() is not null and v_profile.home_updated_at > now() - interval '1 day' then
    raise exception 'home_change_too_soon';
  end if;
  update public.profiles
     set location_lat = round(p_lat, 3), location_lng = round(p_lng, 3), home_updated_at = now()
   where id = v_user;
end
$$;

-- The market commands: in the caller's active community, with its limits ------

-- The community's price limits and cap, on top of the market's own rules.
create function private.check_community_limits(p_member public.memberships, p_price numeric) returns void
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp as $$
declare
  v_community public.communities;
begin
  select * into v_community from public.communities c where c.id = p_member.community_id;
  if p_price < v_community.min_price or p_price > v_community.max_price then
    raise exception 'invalid_price';
  end if;
  if (select count(*) from public.market_orders o
       where o.user_id = p_member.user_id and o.status in ('active', 'partial')) >= v_community.open_order_cap then
    raise exception 'too_many_open_orders';
  end if;
end
$$;

create or replace function public.place_order(
  p_id pg_catalog.uuid,
  p_type pg_catalog.text,
  p_price numeric,
  p_amount numeric,
  p_expires_at pg_catalog.timestamptz default null
) returns public.market_orders
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_me public.memberships := private.caller_member();
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

  select * into v_order from public.market_orders where id = p_id;
  if found then
    -- The outbox retries a command it is unsure of: the same command gets the stored order back.
    if v_order.user_id = v_me.user_id and v_order.type = p_type and v_order.price = p_price
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
  perform private.check_community_limits(v_me, p_price);

  select * into v_home from public.profiles p where p.id = v_me.user_id;
  insert into public.market_orders (id, user_id, username, community_id, type, price, amount,
                                    location_lat, location_lng, expires_at)
  values (p_id, v_me.user_id, v_me.display_name, v_me.community_id, p_type, p_price, p_amount,
          v_home.location_lat, v_home.location_lng, p_expires_at)
  returning * into v_order;

  -- Price-time priority on the opposite side, skipping the caller's own orders. One static
  -- query per side, so each walks its index in order and locks only the rows it reaches.
  if p_type = 'buy' then
    open v_book for
      select * from public.market_orders o
       where o.community_id = v_me.community_id and o.type = 'sell' and o.status in ('active', 'partial')
         and o.price <= p_price and o.user_id <> v_me.user_id
       order by o.price, o.seq
         for update;
  else
    open v_book for
      select * from public.market_orders o
       where o.community_id = v_me.community_id and o.type = 'buy' and o.status in ('active', 'partial')
         and o.price >= p_price and o.user_id <> v_me.user_id
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
      case when p_type = 'buy' then v_me.user_id else v_rest.user_id end,
      case when p_type = 'sell' then v_me.user_id else v_rest.user_id end,
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
  v_me public.memberships := private.caller_member();
  v_order public.market_orders;
begin
  perform private.lock_community(v_me.community_id);
  -- Read again under the lock: a suspension that committed while this waited
  -- for it (manage_member cancels the member's open orders under the same
  -- lock) must not be followed by a new order or purchase.
  v_me := private.caller_member();
  perform private.expire_due(v_me.community_id);
  select * into v_order from public.market_orders where id = p_id;
  if not found then
    raise exception 'unknown_order';
  end if;
  if v_order.user_id <> v_me.user_id then
    raise exception 'not_owner';
  end if;
  if v_order.status not in ('active', 'partial') then
    raise exception 'not_open';
  end if;
  update public.market_orders set status = 'cancelled' where id = p_id returning * into v_order;
  return v_order;
end
$$;

-- The answer is the buyer's side of the trade: the seller is named, never identified.
drop function public.buy_now(pg_catalog.uuid, numeric, pg_catalog.uuid);
create function public.buy_now(p_order_id pg_catalog.uuid, p_amount numeric, p_ref pg_catalog.uuid)
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

  insert into public.trades (id, community_id, buy_order_id, sell_order_id, buyer_id, seller_id, price, amount)
  values (p_ref, v_me.community_id, null, v_order.id, v_me.user_id, v_order.user_id, v_order.price, p_amount)
  returning * into v_trade;
  perform private.fill_order(v_order.id, p_amount);
  select * into v_side from public.household_trades h where h.trade_id = p_ref and h.side = 'buy';
  return v_side;
end
$$;

-- The operator's console: admins of one community, for that community only -----

-- A member as the console shows it, with its activity: no user id, no email,
-- no location.
create function private.member_answer(p_member public.memberships) returns pg_catalog.jsonb
language sql stable security invoker set search_path = pg_catalog, pg_temp as $$
  select pg_catalog.jsonb_build_object(
    'membership_id', p_member.id, 'display_name', p_member.display_name, 'role', p_member.role,
    'status', p_member.status, 'joined_at', p_member.joined_at, 'approved_at', p_member.approved_at,
    'open_orders', (select count(*) from public.market_orders o
                     where o.user_id = p_member.user_id and o.status in ('active', 'partial')),
    'trades', (select count(*) from public.household_trades t where t.user_id = p_member.user_id),
    'bought_kwh', (select coalesce(sum(t.amount), 0) from public.household_trades t
                    where t.user_id = p_member.user_id and t.side = 'buy'),
    'sold_kwh', (select coalesce(sum(t.amount), 0) from public.household_trades t
                  where t.user_id = p_member.user_id and t.side = 'sell'),
    'last_trade_at', (select max(t.created_at) from public.household_trades t where t.user_id = p_member.user_id))
$$;

-- Every member of the admin's community, pending first, then by name.
create function public.community_members(p_community pg_catalog.text) returns pg_catalog.jsonb
language plpgsql stable security definer set search_path = pg_catalog, pg_temp as $$
begin
  perform private.caller_admin(p_community);
  return coalesce((
    select pg_catalog.jsonb_agg(private.member_answer(m)
             order by (m.status = 'pending') desc, lower(m.display_name))
      from public.memberships m where m.community_id = p_community), '[]'::pg_catalog.jsonb);
end
$$;

-- Moves a member of the admin's community: approve (pending to active),
-- suspend (its open orders are cancelled), reinstate (suspended to active),
-- make_admin, make_member. The community keeps at least one active admin.
create function public.manage_member(p_community pg_catalog.text, p_member pg_catalog.uuid, p_action pg_catalog.text)
returns pg_catalog.jsonb
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_member public.memberships;
begin
  perform private.caller_admin(p_community);
  perform private.lock_community(p_community);
  -- Again under the lock: an admin suspended or demoted meanwhile by another
  -- admin acts no more.
  perform private.caller_admin(p_community);
  select * into v_member from public.memberships m where m.id = p_member and m.community_id = p_community for update;
  if not found then
    raise exception 'unknown_member';
  end if;
  if p_action = 'approve' and v_member.status = 'pending' then
    update public.memberships set status = 'active', approved_at = now() where id = p_member returning * into v_member;
  elsif p_action = 'reinstate' and v_member.status = 'suspended' then
    -- A member suspended while pending was never approved: reinstating approves it.
    update public.memberships set status = 'active', approved_at = coalesce(approved_at, now())
     where id = p_member returning * into v_member;
  elsif p_action = 'suspend' and v_member.status in ('pending', 'active') then
    if v_member.role = 'admin' and v_member.status = 'active' then
      perform private.keep_an_admin(p_community, p_member);
    end if;
    update public.memberships set status = 'suspended' where id = p_member returning * into v_member;
    update public.market_orders set status = 'cancelled'
     where user_id = v_member.user_id and status in ('active', 'partial');
  elsif p_action = 'make_admin' and v_member.role = 'member' and v_member.status = 'active' then
    update public.memberships set role = 'admin' where id = p_member returning * into v_member;
  elsif p_action = 'make_member' and v_member.role = 'admin' then
    if v_member.status = 'active' then
      perform private.keep_an_admin(p_community, p_member);
    end if;
    update public.memberships set role = 'member' where id = p_member returning * into v_member;
  elsif p_action in ('approve', 'reinstate', 'suspend', 'make_admin', 'make_member') then
    raise exception 'invalid_member_status';
  else
    raise exception 'invalid_action';
  end if;
  return private.member_answer(v_member);
end
$$;

-- Refuses to take p_member's admin role or activity when it is the community's last active admin.
create function private.keep_an_admin(p_community pg_catalog.text, p_member pg_catalog.uuid) returns void
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp as $$
begin
  if not exists (select from public.memberships m
                  where m.community_id = p_community and m.role = 'admin' and m.status = 'active' and m.id <> p_member) then
    raise exception 'last_admin';
  end if;
end
$$;

-- A new token: 32 bytes from two random UUIDs (244 random bits), base64url.
create function private.new_token() returns pg_catalog.text
language sql volatile set search_path = pg_catalog, pg_temp as $$
  select translate(rtrim(encode(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()), 'base64'), '='), '+/', '-_')
$$;

-- Makes an invitation and answers with its token, the only time it is shown.
create function private.make_invitation(p_community pg_catalog.text, p_role pg_catalog.text, p_uses integer,
                                        p_expires_at pg_catalog.timestamptz, p_pre_approved boolean,
                                        p_created_by pg_catalog.uuid)
returns pg_catalog.jsonb
language plpgsql volatile security invoker set search_path = pg_catalog, pg_temp as $$
declare
  v_token pg_catalog.text := private.new_token();
  v_invitation private.invitations;
begin
  if p_uses is null or p_uses not between 1 and 1000
     or p_expires_at is null or p_expires_at <= now() or p_expires_at > now() + interval '90 days'
     or p_pre_approved is null then
    raise exception 'invalid_invitation_settings';
  end if;
  insert into private.invitations (community_id, token_hash, role, pre_approved, uses_left, expires_at, created_by)
  values (p_community, sha256(convert_to(v_token, 'UTF8')), p_role, p_pre_approved, p_uses, p_expires_at, p_created_by)
  returning * into v_invitation;
  return private.invitation_answer(v_invitation) || pg_catalog.jsonb_build_object('token', v_token);
end
$$;

create function private.invitation_answer(p_invitation private.invitations) returns pg_catalog.jsonb
language sql stable security invoker set search_path = pg_catalog, pg_temp as $$
  select pg_catalog.jsonb_build_object(
    'invitation_id', p_invitation.id, 'community_id', p_invitation.community_id, 'role', p_invitation.role,
    'pre_approved', p_invitation.pre_approved, 'uses_left', p_invitation.uses_left,
    'expires_at', p_invitation.expires_at, 'created_at', p_invitation.created_at,
    'revoked_at', p_invitation.revoked_at,
    'made_by', (select m.display_name from public.memberships m where m.id = p_invitation.created_by))
$$;

create function public.create_invitation(p_community pg_catalog.text, p_uses integer,
                                         p_expires_at pg_catalog.timestamptz, p_pre_approved boolean)
returns pg_catalog.jsonb
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_admin public.memberships := private.caller_admin(p_community);
begin
  return private.make_invitation(p_community, 'member', p_uses, p_expires_at, p_pre_approved, v_admin.id);
end
$$;

-- The admin's community's invitations, newest first, without their tokens.
create function public.community_invitations(p_community pg_catalog.text) returns pg_catalog.jsonb
language plpgsql stable security definer set search_path = pg_catalog, pg_temp as $$
begin
  perform private.caller_admin(p_community);
  return coalesce((
    select pg_catalog.jsonb_agg(private.invitation_answer(i) order by i.created_at desc, i.id)
      from private.invitations i where i.community_id = p_community), '[]'::pg_catalog.jsonb);
end
$$;

create function public.revoke_invitation(p_community pg_catalog.text, p_invitation pg_catalog.uuid)
returns pg_catalog.jsonb
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_invitation private.invitations;
begin
  perform private.caller_admin(p_community);
  update private.invitations set revoked_at = coalesce(revoked_at, now())
   where id = p_invitation and community_id = p_community
  returning * into v_invitation;
  if not found then
    raise exception 'unknown_invitation';
  end if;
  return private.invitation_answer(v_invitation);
end
$$;

-- Changes the admin's community's settings; a null leaves a setting as it is.
-- The rules are the market's: prices with four decimals inside 0.05 to 1.00,
-- CO2 from 0 to 2 kg/kWh with three, a cap of 1 to 10,000 open orders.
create function public.update_community_settings(
  p_community pg_catalog.text,
  p_name pg_catalog.text default null,
  p_min_price numeric default null,
  p_max_price numeric default null,
  p_grid_buy_price numeric default null,
  p_grid_sell_price numeric default null,
  p_co2_kg_per_kwh numeric default null,
  p_open_order_cap integer default null
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
  -- NaN is outside every range (it compares greater than every number).
  if char_length(v_name) not between 1 and 80
     or not (v_min between 0.05 and 1.00) or v_min <> round(v_min, 4)
     or not (v_max between 0.05 and 1.00) or v_max <> round(v_max, 4)
     or v_min > v_max
     or not (v_buy between 0.05 and 1.00) or v_buy <> round(v_buy, 4)
     or not (v_sell between 0.05 and 1.00) or v_sell <> round(v_sell, 4)
     or not (v_co2 between 0 and 2) or v_co2 <> round(v_co2, 3)
     or not (v_cap between 1 and 10000) then
    raise exception 'invalid_setting';
  end if;
  update public.communities
     set name = v_name, min_price = v_min, max_price = v_max, grid_buy_price = v_buy, grid_sell_price = v_sell,
         co2_kg_per_kwh = v_co2, open_order_cap = v_cap
   where id = p_community;
  return (private.membership_answer(v_admin) -> 'settings') || pg_catalog.jsonb_build_object('name', v_name);
end
$$;

-- The operator's bootstrap (service role) -----------------------------------------

-- Creates a community and its first admin's invitation: single use,
-- pre-approved, for 7 days. Answers with the invitation and its token.
create function public.create_community(p_id pg_catalog.text, p_name pg_catalog.text) returns pg_catalog.jsonb
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  -- coalesce: char_length of a null name is null, which would pass it on to the not-null constraint.
  if p_id is null or p_id !~ '^[a-z0-9][a-z0-9_-]{0,62}$'
     or coalesce(char_length(private.clean_name(p_name)), 0) not between 1 and 80 then
    raise exception 'invalid_community';
  end if;
  if exists (select from public.communities c where c.id = p_id) then
    raise exception 'community_exists';
  end if;
  insert into public.communities (id, name) values (p_id, private.clean_name(p_name));
  return private.make_invitation(p_id, 'admin', 1, now() + interval '7 days', true, null);
end
$$;

-- A new admin's invitation for an existing community (migrated communities have
-- none; an operator who lost every admin starts again here).
create function public.invite_admin(p_community pg_catalog.text) returns pg_catalog.jsonb
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  if not exists (select from public.communities c where c.id = p_community) then
    raise exception 'invalid_community';
  end if;
  return private.make_invitation(p_community, 'admin', 1, now() + interval '7 days', true, null);
end
$$;

-- Who may call what -----------------------------------------------------------------
revoke all on all functions in schema public from public, anon, authenticated, service_role;
revoke all on all functions in schema private from public, anon, authenticated, service_role;
grant execute on function
  public.place_order(pg_catalog.uuid, pg_catalog.text, numeric, numeric, pg_catalog.timestamptz),
  public.cancel_order(pg_catalog.uuid),
  public.buy_now(pg_catalog.uuid, numeric, pg_catalog.uuid),
  public.order_distances(pg_catalog.uuid[]),
  public.my_membership(),
  public.join_community(pg_catalog.text, pg_catalog.text, pg_catalog.text),
  public.update_home(numeric, numeric),
  public.community_members(pg_catalog.text),
  public.manage_member(pg_catalog.text, pg_catalog.uuid, pg_catalog.text),
  public.create_invitation(pg_catalog.text, integer, pg_catalog.timestamptz, boolean),
  public.community_invitations(pg_catalog.text),
  public.revoke_invitation(pg_catalog.text, pg_catalog.uuid),
  public.update_community_settings(pg_catalog.text, pg_catalog.text, numeric, numeric, numeric, numeric, numeric, integer)
  to authenticated, service_role;
grant execute on function
  public.expire_orders(pg_catalog.text),
  public.match_orders(pg_catalog.text),
  public.create_community(pg_catalog.text, pg_catalog.text),
  public.invite_admin(pg_catalog.text)
  to service_role;
