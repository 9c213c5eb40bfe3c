-- What the app's realtime sync needs beyond the market itself.

-- The open book as subscribers see it --------------------------------------
-- Realtime sends a subscriber only the changes it may still read (RLS), so a
-- neighbour's order that fills, is cancelled or expires would never leave the
-- other households' cached books. This mirror holds the open orders alone and
-- deletes a row when its order closes; a delete reaches every subscriber with
-- the primary key only, so the order leaves every cached book and nothing else
-- about it (who cancelled, why) is told.
create table public.open_orders (
  id uuid primary key references public.market_orders (id),
  user_id uuid not null,
  username text not null,
  community_id text not null,
  type text not null,
  price numeric(10, 4) not null,
  amount numeric(10, 2) not null,
  filled_amount numeric(10, 2) not null,
  status text not null,
  location_lat numeric(6, 3),
  location_lng numeric(6, 3),
  seq bigint not null,
  expires_at timestamptz,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
create index open_orders_community on public.open_orders (community_id, seq);

alter table public.open_orders enable row level security;
revoke all on public.open_orders from anon, authenticated;
grant select on public.open_orders to authenticated;

create policy "open orders of my community" on public.open_orders
  for select to authenticated
  using (community_id = (select p.community_id from public.profiles p where p.id = (select auth.uid())));

-- Kept in the same transaction as the order itself, by the functions' writes.
create function public.mirror_open_order() returns trigger
language plpgsql security definer set search_path = '' as $$
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
revoke execute on function public.mirror_open_order() from public, anon, authenticated;

create trigger mirror_open_order
  after insert or update of filled_amount, status on public.market_orders
  for each row execute function public.mirror_open_order();

insert into public.open_orders
select id, user_id, username, community_id, type, price, amount, filled_amount, status,
       location_lat, location_lng, seq, expires_at, created_at, updated_at
from public.market_orders where status in ('active', 'partial');

-- Realtime checks a subscription's filter (community_id=eq.…) against a
-- deleted row's replica identity, and with RLS on it sends the key alone.
alter table public.open_orders replica identity full;
alter publication supabase_realtime add table public.open_orders;

-- Trades say who traded and which side came in ------------------------------
-- A household may not read its counterpart's profile or closed order, but its
-- history shows the neighbour's name and whether its own order was waiting.
alter table public.trades
  add column buyer_username text,
  add column seller_username text,
  add column taker text check (taker in ('buy', 'sell'));

create function public.describe_trade() returns trigger
language plpgsql security definer set search_path = '' as $$
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
revoke execute on function public.describe_trade() from public, anon, authenticated;

-- Also on a rewrite of the parties, so that existing trades are described below.
create trigger describe_trade
  before insert or update of buyer_id, seller_id on public.trades
  for each row execute function public.describe_trade();

update public.trades set buyer_id = buyer_id;
