-- The book's snapshot page by page, each order with its distance from the
-- caller's home: a new household's first snapshot of a 10,000-order book took
-- ten more calls of order_distances after its ten pages (over 1 s in all).
-- book_page shows what open_orders shows, to whom open_orders shows it (an
-- active member, its own community), and never a user id or coordinates.

-- Great-circle distance in km to 0.1 km (haversine, mean Earth radius 6371 km);
-- null where either home is unknown.
create function private.distance_km(p_lat numeric, p_lng numeric, p_home_lat numeric, p_home_lng numeric)
returns numeric
language sql immutable set search_path = pg_catalog, pg_temp as $$
  select round((2 * 6371 * asin(sqrt(
           power(sin(radians((p_lat - p_home_lat)::pg_catalog.float8) / 2), 2)
           + cos(radians(p_home_lat::pg_catalog.float8)) * cos(radians(p_lat::pg_catalog.float8))
             * power(sin(radians((p_lng - p_home_lng)::pg_catalog.float8) / 2), 2))))::numeric, 1)
$$;

create or replace function public.order_distances(p_ids pg_catalog.uuid[]) returns table (id pg_catalog.uuid, distance_km numeric)
language plpgsql stable security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_me public.memberships := private.caller_member();
  v_home public.profiles;
begin
  select * into v_home from public.profiles p where p.id = v_me.user_id;
  return query
    select o.id, private.distance_km(o.location_lat, o.location_lng, v_home.location_lat, v_home.location_lng)
      from public.market_orders o
     where o.id = any (p_ids[1:1000])
       and o.community_id = v_me.community_id
       and o.status in ('active', 'partial');
end
$$;

-- At most 1,000 open orders of the caller's community after p_after_seq, in seq
-- order; the caller's own orders carry no distance.
create function public.book_page(p_after_seq bigint)
returns table (id pg_catalog.uuid, username pg_catalog.text, community_id pg_catalog.text, type pg_catalog.text,
               price numeric, amount numeric, filled_amount numeric, status pg_catalog.text, seq bigint,
               expires_at pg_catalog.timestamptz, created_at pg_catalog.timestamptz, updated_at pg_catalog.timestamptz,
               distance_km numeric)
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
                else private.distance_km(o.location_lat, o.location_lng, v_home.location_lat, v_home.location_lng) end
      from public.open_orders b
      join public.market_orders o on o.id = b.id
     where b.community_id = v_me.community_id and b.seq > coalesce(p_after_seq, 0)
     order by b.seq
     limit 1000;
end
$$;

revoke all on function private.distance_km(numeric, numeric, numeric, numeric) from public, anon, authenticated, service_role;
revoke all on function public.book_page(bigint) from public, anon, authenticated, service_role;
grant execute on function public.book_page(bigint) to authenticated, service_role;
