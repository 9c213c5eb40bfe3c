-- Communities (issue 12), as their members and admins meet them through the
-- API: only an active member reads and trades, and only in its own community;
-- invitations are hashed and say why they no longer work only to a real token;
-- display names are cleaned and unique per community; admins act on their own
-- community alone and it keeps an admin; the settings hold; and no answer or
-- readable row carries another member's user id, email or coordinates.
-- Every refused write is followed by a check that the database is unchanged.
-- Runs unchanged under `supabase test db` and pg_prove (scripts/test-supabase.sh).
begin;
create extension if not exists pgtap with schema extensions;
select plan(281);

-- Helpers ---------------------------------------------------------------------

-- The people of this test: name, user id, email.
create temporary table who (name text primary key, id uuid not null unique, email text not null);
insert into pg_temp.who values
  ('alice', 'a11ce000-0000-4000-8000-000000000401', 'alice@communities.test'),  -- admin of alpha
  ('bob',   'b0b00000-0000-4000-8000-000000000402', 'bob@communities.test'),    -- member of alpha
  ('carol', 'ca401000-0000-4000-8000-000000000403', 'carol@communities.test'),  -- admin of beta
  ('dave',  'da7e0000-0000-4000-8000-000000000404', 'dave@communities.test'),   -- member of beta
  ('erin',  'e4140000-0000-4000-8000-000000000405', 'erin@communities.test'),   -- in no community
  ('pat',   '9a700000-0000-4000-8000-000000000406', 'pat@communities.test'),    -- pending in alpha
  ('sam',   '5a300000-0000-4000-8000-000000000407', 'sam@communities.test'),    -- suspended in alpha
  ('nora',  '404e0000-0000-4000-8000-000000000408', 'nora@communities.test');   -- member of alpha, no home
insert into pg_temp.who
select 'j' || i, ('10140000-0000-4000-8000-0000000004' || lpad((10 + i)::text, 2, '0'))::uuid, 'j' || i || '@communities.test'
  from generate_series(1, 8) i;                                                 -- newcomers

create function pg_temp.uid(p_name text) returns uuid language sql as $$
  select w.id from pg_temp.who w where w.name = p_name
$$;

-- p_sql as PostgREST runs a request of the named user (signed in, role
-- authenticated), or of the service when p_name is 'service', or anon when it
-- is null; the first column of its first row as text. Back to the test's role
-- afterwards (a refusal rolls the role back with the subtransaction).
create function pg_temp.as_user(p_name text, p_sql text) returns text
language plpgsql as $$
declare
  v_owner text := current_user;
  v_role text := case when p_name is null then 'anon' when p_name = 'service' then 'service_role' else 'authenticated' end;
  v_result text;
begin
  perform set_config('request.jwt.claims', json_build_object('sub', pg_temp.uid(p_name), 'role', v_role)::text, true);
  perform set_config('role', v_role, true);
  execute p_sql into v_result;
  perform set_config('role', v_owner, true);
  perform set_config('request.jwt.claims', '', true);
  return v_result;
end
$$;

-- Everything a refused call could have changed, in one digest.
create function pg_temp.state() returns text language sql as $$
  select md5(concat_ws('|',
    (select string_agg(x::text, ',' order by x.id) from public.market_orders x),
    (select string_agg(x::text, ',' order by x.id) from public.open_orders x),
    (select string_agg(x::text, ',' order by x.id) from public.trades x),
    (select string_agg(x::text, ',' order by x.trade_id, x.side) from public.household_trades x),
    (select string_agg(x::text, ',' order by x.seq) from public.trade_prints x),
    (select string_agg(x::text, ',' order by x.id) from public.communities x),
    (select string_agg(x::text, ',' order by x.id) from public.memberships x),
    (select string_agg(x::text, ',' order by x.id) from private.invitations x),
    (select string_agg(x::text, ',' order by x.id) from public.profiles x)))
$$;
create function pg_temp.remember() returns void language plpgsql as $$
begin
  perform set_config('lumea_test.state', pg_temp.state(), true);
end
$$;
create function pg_temp.unchanged(p_what text) returns text language sql as $$
  select is(pg_temp.state(), current_setting('lumea_test.state'), p_what || ': the database is unchanged')
$$;

-- What of the named people a text holds: user id (or the start of it, which the
-- old default names showed), email, home coordinates.
create function pg_temp.leaks(p_text text, p_names text[]) returns text[] language sql as $$
  select coalesce(array_agg(w.name || ' ' || f.label order by w.name, f.label), '{}')
    from pg_temp.who w
    left join public.profiles p on p.id = w.id
   cross join lateral (values ('id', w.id::text), ('id start', left(w.id::text, 8)), ('email', w.email),
                              ('lat', p.location_lat::text), ('lng', p.location_lng::text)) f(label, fragment)
   where w.name = any (p_names) and f.fragment is not null and strpos(coalesce(p_text, ''), f.fragment) > 0
$$;

-- Tables holding a text anywhere in a row, in the schemas public, private and auth.
create function pg_temp.tables_holding(p_text text) returns text[] language plpgsql as $$
declare
  v_table regclass;
  v_found text[] := '{}';
  v_hit boolean;
begin
  for v_table in
    select c.oid::regclass from pg_catalog.pg_class c
     where c.relnamespace in ('public'::regnamespace, 'private'::regnamespace, 'auth'::regnamespace) and c.relkind = 'r'
  loop
    execute format('select exists (select from %s t where strpos(t::text, $1) > 0)', v_table) into v_hit using p_text;
    if v_hit then
      v_found := v_found || v_table::text;
    end if;
  end loop;
  return v_found;
end
$$;

-- Keeps a value of this test's transaction under a name.
create function pg_temp.keep(p_name text, p_value text) returns text language sql as $$
  select set_config('lumea_test.' || p_name, p_value, true)
$$;
create function pg_temp.kept(p_name text) returns text language sql as $$
  select current_setting('lumea_test.' || p_name)
$$;
-- p_name's join_community(p_community, the token of the invitation kept as p_invitation, p_display_name).
create function pg_temp.join_as(p_name text, p_community text, p_invitation text, p_display_name text) returns text
language sql as $$
  select pg_temp.as_user(p_name, format('select public.join_community(%L, %L, %L)::text', p_community,
                                        pg_temp.kept(p_invitation)::jsonb ->> 'token', p_display_name))
$$;

-- Two communities and their people ---------------------------------------------

insert into auth.users (id, email, raw_user_meta_data)
select w.id, w.email, case w.name
  when 'alice' then '{"lat":"52.3702","lng":"4.8952"}'
  when 'bob' then '{"lat":"52.3745","lng":"4.8890"}'
  when 'carol' then '{"lat":"48.8566","lng":"2.3522"}'
  when 'dave' then '{"lat":"48.8600","lng":"2.3400"}'
  when 'pat' then '{"lat":"52.3660","lng":"4.9030"}'
  when 'sam' then '{"lat":"52.3688","lng":"4.8810"}'
  when 'j1' then '{"lat":"52.3611","lng":"4.8822"}'
  else '{}' end::jsonb
  from pg_temp.who w;
insert into public.communities (id, name) values ('alpha', 'Alpha Street'), ('beta', 'Beta Lane');
insert into public.memberships (id, community_id, user_id, display_name, role, status, approved_at)
select ('eb000000-0000-4000-8000-000000000' || right(w.id::text, 3))::uuid, v.community, w.id, v.display_name, v.role, v.status,
       case when v.status <> 'pending' then now() end
  from (values ('alice', 'alpha', 'Alice', 'admin', 'active'),
               ('bob', 'alpha', 'Bob', 'member', 'active'),
               ('carol', 'beta', 'Carol', 'admin', 'active'),
               ('dave', 'beta', 'Dave', 'member', 'active'),
               ('pat', 'alpha', 'Pat', 'member', 'pending'),
               ('sam', 'alpha', 'Sam', 'member', 'suspended'),
               ('nora', 'alpha', 'Nora', 'member', 'active')) v(name, community, display_name, role, status)
  join pg_temp.who w using (name);

-- The books: an ask and a bid in each community, and one purchase in each.
select from pg_temp.as_user('bob', $$ select public.place_order('0bde0000-0000-4000-8000-0000000004a1', 'sell', 0.17, 5) $$);
select from pg_temp.as_user('alice', $$ select public.place_order('0bde0000-0000-4000-8000-0000000004a2', 'buy', 0.12, 3) $$);
select from pg_temp.as_user('dave', $$ select public.place_order('0bde0000-0000-4000-8000-0000000004b1', 'sell', 0.18, 4) $$);
select from pg_temp.as_user('carol', $$ select public.place_order('0bde0000-0000-4000-8000-0000000004b2', 'buy', 0.10, 2) $$);
select from pg_temp.keep('buy_answer', pg_temp.as_user('alice',
  $$ select to_jsonb(t)::text from public.buy_now('0bde0000-0000-4000-8000-0000000004a1', 1, '7ade0000-0000-4000-8000-0000000004a1') t $$));
select from pg_temp.as_user('carol',
  $$ select public.buy_now('0bde0000-0000-4000-8000-0000000004b1', 1, '7ade0000-0000-4000-8000-0000000004b1')::text $$);

select results_eq(
  $$ select community_id, price::text, amount::text from public.trade_prints where community_id in ('alpha', 'beta') order by seq $$,
  $$ values ('alpha', '0.1700', '1.00'), ('beta', '0.1800', '1.00') $$,
  'the set-up made one purchase, with its print, in each community');

-- Outsiders: no membership, a pending one, a suspended one ---------------------

select from pg_temp.remember();
select is(pg_temp.as_user(v.who, 'select count(*) from public.open_orders'), '0',
          v.who || ' (' || v.code || ') reads no open order')
  from (values ('erin', 'not_member'), ('pat', 'membership_pending'), ('sam', 'membership_suspended')) v(who, code);
select is(pg_temp.as_user(v.who, 'select count(*) from public.trade_prints'), '0',
          v.who || ' (' || v.code || ') reads no trade print')
  from (values ('erin', 'not_member'), ('pat', 'membership_pending'), ('sam', 'membership_suspended')) v(who, code);
select throws_ok(format('select pg_temp.as_user(%L, %L)', v.who, c.sql), 'P0001', v.code,
                 v.who || ' is refused ' || c.what || ' (' || v.code || ')')
  from (values ('erin', 'not_member'), ('pat', 'membership_pending'), ('sam', 'membership_suspended')) v(who, code),
       (values ('order_distances', $$ select count(*) from public.order_distances(array['0bde0000-0000-4000-8000-0000000004a1']::uuid[]) $$),
               ('book_page', $$ select count(*) from public.book_page(0) $$),
               ('place_order', $$ select public.place_order('0bde0000-0000-4000-8000-0000000004e1', 'buy', 0.20, 1) $$),
               ('cancel_order', $$ select public.cancel_order('0bde0000-0000-4000-8000-0000000004a2') $$),
               ('buy_now', $$ select public.buy_now('0bde0000-0000-4000-8000-0000000004a1', 1, '7ade0000-0000-4000-8000-0000000004e1') $$)
       ) c(what, sql)
 order by v.who, c.what;
select pg_temp.unchanged('the outsiders'' reads and writes');
-- What they do see: their own membership and its community, nothing else.
select is(pg_temp.as_user('erin', 'select public.my_membership()::text'), null, 'erin has no membership');
select is(pg_temp.as_user('erin', 'select count(*) from public.communities'), '0', 'erin reads no community');
select is(pg_temp.as_user(v.who, $$ select (public.my_membership() ->> 'community_id') || ' ' || (public.my_membership() ->> 'status') $$),
          'alpha ' || v.status, v.who || ' reads its own membership: ' || v.status || ' in alpha')
  from (values ('pat', 'pending'), ('sam', 'suspended')) v(who, status);
select is(pg_temp.as_user(v.who, 'select string_agg(c.name, '','') from public.communities c'), 'Alpha Street',
          v.who || ' reads the name of its community alone')
  from (values ('pat'), ('sam')) v(who);

-- Two communities: a member of one reads nothing of the other ------------------

select from pg_temp.remember();
select is(pg_temp.as_user('bob', 'select string_agg(distinct community_id, '','') from public.open_orders'), 'alpha',
  'bob reads the open book of alpha alone');
select is(pg_temp.as_user('bob', 'select count(*) from public.open_orders'), '2', 'all of it: his ask and alice''s bid');
select is(pg_temp.as_user('bob', 'select string_agg(distinct community_id, '','') || '' '' || count(*) from public.book_page(0)'), 'alpha 2',
  'book_page gives bob the same: the open book of alpha alone');
select is(pg_temp.leaks(pg_temp.as_user('bob', 'select string_agg(b::text, '';'') from public.book_page(0) b'), array['alice', 'bob']), '{}',
  'book_page holds no id, email or coordinates');
select is(pg_temp.as_user('dave', 'select string_agg(distinct community_id, '','') from public.open_orders'), 'beta',
  'dave reads the open book of beta alone');
select is(pg_temp.as_user('bob', 'select string_agg(distinct community_id, '','') from public.trade_prints'), 'alpha',
  'bob reads the prints of alpha alone');
select is(pg_temp.as_user('bob', 'select string_agg(id, '','') from public.communities'), 'alpha',
  'bob reads the row of alpha alone');
select is(pg_temp.as_user('bob', 'select string_agg(display_name, '','') from public.memberships'), 'Bob',
  'bob reads his own membership alone');
select is(pg_temp.as_user('bob', 'select string_agg(community_id || '' '' || counterpart, '','') from public.household_trades'),
  'alpha Alice', 'bob reads his side of his trade alone');
select is(pg_temp.as_user('bob', $$ select count(*) filter (where user_id <> 'b0b00000-0000-4000-8000-000000000402') || '/' || count(*)
                                     from public.market_orders $$),
  '0/1', 'bob reads his own orders alone, not the orders of alpha');
select throws_ok($$ select pg_temp.as_user('bob', 'select count(*) from public.trades') $$, '42501', null,
  'bob cannot read the trades table');
select is(pg_temp.as_user('bob', $$ select count(*) from public.order_distances(array['0bde0000-0000-4000-8000-0000000004b1']::uuid[]) $$),
  '0', 'bob gets no distance to an order of beta');
select throws_ok($$ select pg_temp.as_user('bob', $q$ select public.buy_now('0bde0000-0000-4000-8000-0000000004b1', 1, '7ade0000-0000-4000-8000-0000000004e2') $q$) $$,
  'P0001', 'unknown_order', 'bob cannot buy an ask of beta');
select throws_ok($$ select pg_temp.as_user('bob', $q$ select public.cancel_order('0bde0000-0000-4000-8000-0000000004b2') $q$) $$,
  'P0001', 'not_owner', 'bob cannot cancel an order of beta');
select pg_temp.unchanged('bob''s reach into beta');
select is(pg_temp.as_user('bob', $$ select (o).status || ' ' || (o).filled_amount
                                     from public.place_order('0bde0000-0000-4000-8000-0000000004a3', 'buy', 0.19, 1) o $$),
  'active 0.00', 'bob''s bid above the asks of beta rests in alpha');
select is((select status || ' ' || filled_amount from public.market_orders where id = '0bde0000-0000-4000-8000-0000000004b1'),
  'partial 1.00', 'and the ask of beta is untouched');
select from pg_temp.as_user('bob', $$ select public.cancel_order('0bde0000-0000-4000-8000-0000000004a3') $$);

-- Privacy: what a member reads of a neighbour ------------------------------------

select columns_are('public', 'open_orders', array['id', 'username', 'community_id', 'type', 'price', 'amount',
  'filled_amount', 'status', 'seq', 'expires_at', 'created_at', 'updated_at', 'delivery_start']);
select columns_are('public', 'trade_prints', array['seq', 'community_id', 'price', 'amount', 'traded_at']);
select columns_are('public', 'household_trades', array['trade_id', 'user_id', 'community_id', 'side', 'order_id',
  'other_order_id', 'counterpart', 'taker', 'price', 'amount', 'seq', 'created_at', 'delivery_start']);
select columns_are('public', 'communities', array['id', 'name', 'min_price', 'max_price', 'grid_buy_price',
  'grid_sell_price', 'co2_kg_per_kwh', 'open_order_cap', 'created_at', 'updated_at', 'interval_minutes',
  'open_hours_ahead', 'gate_closure_minutes', 'settlement_deadline_hours', 'buyer_fee', 'seller_fee', 'self_readings']);
select is(pg_temp.leaks(pg_temp.as_user('alice', 'select string_agg(o::text, '';'') from public.open_orders o'),
                        array['bob', 'nora', 'pat', 'sam']), '{}',
  'the open book alice reads holds no neighbour''s id, email or coordinates');
select is(pg_temp.as_user('alice', $$ select string_agg(username, ',' order by seq) from public.open_orders $$), 'Bob,Alice',
  'it names the households by display name');
select is(pg_temp.leaks(pg_temp.as_user('alice', 'select string_agg(h::text, '';'') from public.household_trades h'), array['bob']), '{}',
  'alice''s side of her trade holds nothing of bob''s');
select is(pg_temp.as_user('alice', 'select counterpart || '' '' || side from public.household_trades'), 'Bob buy',
  'it names him by his display name');
select is(pg_temp.leaks(pg_temp.as_user('bob', 'select string_agg(h::text, '';'') from public.household_trades h'), array['alice']), '{}',
  'bob''s side holds nothing of alice''s');
select is(pg_temp.leaks(pg_temp.as_user('alice', 'select string_agg(p::text, '';'') from public.trade_prints p'), array['alice', 'bob']), '{}',
  'the prints hold nothing of either party');
select is(pg_temp.leaks(pg_temp.as_user('alice', 'select string_agg(c::text, '';'') from public.communities c'), array['alice', 'bob']), '{}',
  'the community''s row holds nothing of its members');
select is(pg_temp.leaks(pg_temp.as_user('bob', 'select public.my_membership()::text'), array['alice', 'bob']), '{}',
  'bob''s my_membership holds no id, email or coordinates, not even his');
select is(pg_temp.leaks(pg_temp.as_user('alice', $$ select public.community_members('alpha')::text $$),
                        array['bob', 'nora', 'pat', 'sam']), '{}',
  'community_members holds no member''s id, email or coordinates');
select is(pg_temp.leaks(pg_temp.kept('buy_answer'), array['bob']), '{}', 'buy_now''s answer holds nothing of the seller''s');
select is(pg_temp.kept('buy_answer')::jsonb ->> 'user_id', pg_temp.uid('alice')::text, 'it is the buyer''s side: her own id');
select is(pg_temp.kept('buy_answer')::jsonb ->> 'counterpart', 'Bob', 'naming the seller by his display name');
select is(pg_temp.leaks(pg_temp.as_user('alice', $$ select string_agg(d::text, ';') from public.order_distances(
                          array['0bde0000-0000-4000-8000-0000000004a1', '0bde0000-0000-4000-8000-0000000004a2']::uuid[]) d $$),
                        array['bob']), '{}',
  'order_distances holds nothing of bob''s');

-- Distances: to 0.1 km, for the caller's community's open orders only.
select results_eq(
  $$ select pg_temp.as_user('alice', format('select string_agg(d.id || '' '' || coalesce(d.distance_km::text, ''null''), '','' order by d.id)
                                                from public.order_distances(%L::uuid[]) d', v.ids)) from (values (
       array['0bde0000-0000-4000-8000-0000000004a1', '0bde0000-0000-4000-8000-0000000004a2', '0bde0000-0000-4000-8000-0000000004a3',
             '0bde0000-0000-4000-8000-0000000004b1', '0bde0000-0000-4000-8000-0000000004ff'])) v(ids) $$,
  $$ values ('0bde0000-0000-4000-8000-0000000004a1 0.7,0bde0000-0000-4000-8000-0000000004a2 0.0') $$,
  'alice gets 0.7 km to bob''s ask and 0.0 to her bid; nothing for a closed order, an order of beta or an unknown id');
select is(pg_temp.as_user('nora', $$ select coalesce(d.distance_km::text, 'null')
                                       from public.order_distances(array['0bde0000-0000-4000-8000-0000000004a1']::uuid[]) d $$),
  'null', 'nora, who has no home, gets a null distance');
select from pg_temp.as_user('nora', $$ select public.place_order('0bde0000-0000-4000-8000-0000000004a4', 'buy', 0.11, 1) $$);
select is(pg_temp.as_user('alice', $$ select coalesce(d.distance_km::text, 'null')
                                        from public.order_distances(array['0bde0000-0000-4000-8000-0000000004a4']::uuid[]) d $$),
  'null', 'and alice gets a null distance to nora''s order');
select is(pg_temp.as_user('alice', $$ select string_agg(b.id || ' ' || coalesce(b.distance_km::text, 'null'), ',' order by b.seq)
                                        from public.book_page(0) b $$),
  '0bde0000-0000-4000-8000-0000000004a1 0.7,0bde0000-0000-4000-8000-0000000004a2 null,0bde0000-0000-4000-8000-0000000004a4 null',
  'book_page gives alice the same distances with the book, and none to her own order');
select is(pg_temp.as_user('alice', $$ select count(*) from public.book_page((select max(seq) from public.open_orders)) $$), '0',
  'and pages by seq: nothing after the last');

-- Homes: coarsened, and moved at most once a day once active ----------------------

select from pg_temp.as_user('erin', 'select public.update_home(52.37049, -4.89251)');
select is((select location_lat::text || ' ' || location_lng::text from public.profiles where id = pg_temp.uid('erin')),
  '52.370 -4.893', 'update_home keeps 3 decimals of a degree');
select from pg_temp.as_user('erin', 'select public.update_home(48.1, 11.5)');
select is((select location_lat::text || ' ' || location_lng::text from public.profiles where id = pg_temp.uid('erin')),
  '48.100 11.500', 'a household in no community may move its home again at once');
select from pg_temp.remember();
select throws_ok(format('select pg_temp.as_user(''erin'', %L)', 'select public.update_home(' || v.args || ')'),
                 'P0001', 'invalid_location', 'update_home(' || v.args || ') is refused')
  from (values ('91, 0'), ('-90.001, 0'), ('0, 180.5'), ('0, -181'), ('null, 4'), ('52, null'),
               ('''NaN''::numeric, 4'), ('52, ''NaN''::numeric')) v(args);
select pg_temp.unchanged('the refused homes');

select from pg_temp.as_user('nora', 'select public.update_home(52.38012, 4.90049)');
select is((select location_lat::text || ' ' || location_lng::text from public.profiles where id = pg_temp.uid('nora')),
  '52.380 4.900', 'nora, active, sets her first home');
select is(pg_temp.as_user('nora', $$ select d.distance_km::text
                                       from public.order_distances(array['0bde0000-0000-4000-8000-0000000004a1']::uuid[]) d $$),
  '0.9', 'and now gets a distance');
select from pg_temp.remember();
select throws_ok($$ select pg_temp.as_user('nora', 'select public.update_home(52.39, 4.91)') $$,
  'P0001', 'home_change_too_soon', 'an active member cannot move her home twice within a day');
select pg_temp.unchanged('the refused move');
update public.profiles set home_updated_at = now() - interval '1 day 1 second' where id = pg_temp.uid('nora');
select from pg_temp.as_user('nora', 'select public.update_home(52.39, 4.91)');
select is((select location_lat::text from public.profiles where id = pg_temp.uid('nora')), '52.390',
  'a day later she may');

-- Invitations ----------------------------------------------------------------------

select from pg_temp.keep('single', pg_temp.as_user('alice', $$ select public.create_invitation('alpha', 1, now() + interval '1 day', false)::text $$));
select from pg_temp.keep('expired', pg_temp.as_user('alice', $$ select public.create_invitation('alpha', 5, now() + interval '1 day', false)::text $$));
select from pg_temp.keep('revoked', pg_temp.as_user('alice', $$ select public.create_invitation('alpha', 5, now() + interval '1 day', false)::text $$));
select from pg_temp.keep('pre', pg_temp.as_user('alice', $$ select public.create_invitation('alpha', 2, now() + interval '1 day', true)::text $$));
select from pg_temp.keep('names', pg_temp.as_user('alice', $$ select public.create_invitation('alpha', 20, now() + interval '1 day', true)::text $$));
select from pg_temp.keep('beta', pg_temp.as_user('carol', $$ select public.create_invitation('beta', 10, now() + interval '1 day', true)::text $$));
-- Its time ran out (the test's transaction has one now()).
update private.invitations set expires_at = now() - interval '1 second'
 where id = (pg_temp.kept('expired')::jsonb ->> 'invitation_id')::uuid;
select is(pg_temp.as_user('alice', format($$ select public.revoke_invitation('alpha', %L) ->> 'revoked_at' is not null $$,
                                          pg_temp.kept('revoked')::jsonb ->> 'invitation_id')),
  'true', 'alice revokes an invitation');
select results_eq(
  $$ select v.k, (pg_temp.kept(v.k)::jsonb - array['invitation_id', 'token', 'expires_at', 'created_at'])::text,
            length(pg_temp.kept(v.k)::jsonb ->> 'token')
       from unnest(array['single', 'pre']) v(k) $$,
  $$ values ('single', '{"role": "member", "made_by": "Alice", "uses_left": 1, "revoked_at": null, "community_id": "alpha", "pre_approved": false}', 43),
            ('pre', '{"role": "member", "made_by": "Alice", "uses_left": 2, "revoked_at": null, "community_id": "alpha", "pre_approved": true}', 43) $$,
  'create_invitation answers with the invitation and its 43-character token');
select from pg_temp.remember();
select throws_ok(format('select pg_temp.as_user(''alice'', %L)', 'select public.create_invitation(''alpha'', ' || v.args || ')'),
                 'P0001', 'invalid_invitation_settings', 'create_invitation(alpha, ' || v.args || ') is refused')
  from (values ('0, now() + interval ''1 day'', false'), ('1001, now() + interval ''1 day'', false'),
               ('null, now() + interval ''1 day'', false'), ('1, now(), false'),
               ('1, now() + interval ''91 days'', false'), ('1, null, false'), ('1, now() + interval ''1 day'', null')) v(args);
select pg_temp.unchanged('the refused invitations');

-- The token is kept as its SHA-256 alone.
select columns_are('private', 'invitations', array['id', 'community_id', 'token_hash', 'role', 'pre_approved', 'uses_left',
  'expires_at', 'created_by', 'created_at', 'revoked_at']);
select is((select token_hash from private.invitations where id = (pg_temp.kept('single')::jsonb ->> 'invitation_id')::uuid),
  sha256(convert_to(pg_temp.kept('single')::jsonb ->> 'token', 'UTF8')), 'token_hash is the token''s SHA-256');
select is(pg_temp.tables_holding(pg_temp.kept(v.k)::jsonb ->> 'token'), '{}', 'no table holds the ' || v.k || ' invitation''s token')
  from unnest(array['single', 'expired', 'revoked', 'pre', 'names', 'beta']) v(k);
select is(pg_temp.as_user('alice', $$ select count(*) from jsonb_array_elements(public.community_invitations('alpha')) i
                                        where i ? 'token' or i ? 'token_hash' $$),
  '0', 'community_invitations shows no token or hash');
select is(pg_temp.as_user('alice', $$ select string_agg(distinct i ->> 'community_id', ',') || ' ' || count(*)
                                        from jsonb_array_elements(public.community_invitations('alpha')) i $$),
  'alpha 5', 'alice lists the five invitations of alpha alone');
select is(pg_temp.leaks(pg_temp.as_user('alice', $$ select public.community_invitations('alpha')::text $$), array['alice']), '{}',
  'community_invitations holds nothing of their maker but her display name');

-- A normal invitation makes a pending member, and is used up.
-- A normal invitation makes a pending member, and is used up.
select from pg_temp.keep('join_answer', pg_temp.join_as('j1', 'alpha', 'single', 'Jo One'));
select is(pg_temp.kept('join_answer')::jsonb - array['membership_id', 'joined_at', 'settings'],
  '{"community_id": "alpha", "community_name": "Alpha Street", "display_name": "Jo One", "role": "member",
    "status": "pending", "approved_at": null}'::jsonb,
  'a normal invitation makes a pending member of alpha');
select is(pg_temp.leaks(pg_temp.kept('join_answer'), array['alice', 'j1']), '{}',
  'join_community''s answer holds no id, email or coordinates, of the inviter or the newcomer');
select is((select uses_left from private.invitations where id = (pg_temp.kept('single')::jsonb ->> 'invitation_id')::uuid), 0,
  'the single-use invitation is used up');
select is(pg_temp.as_user('j1', 'select count(*) from public.open_orders'), '0', 'the pending newcomer reads no open order');

-- Tokens that no longer work, or never did.
select from pg_temp.remember();
select throws_ok($$ select pg_temp.join_as('j2', 'alpha', 'single', 'Jo Two') $$, 'P0001', 'invitation_used_up',
  'a used-up single-use token is refused');
select throws_ok($$ select pg_temp.join_as('j2', 'alpha', 'expired', 'Jo Two') $$, 'P0001', 'invitation_expired',
  'an expired token is refused');
select throws_ok($$ select pg_temp.join_as('j2', 'alpha', 'revoked', 'Jo Two') $$, 'P0001', 'invitation_revoked',
  'a revoked token is refused');
select throws_ok(format('select pg_temp.as_user(''j2'', %L)', format('select public.join_community(''alpha'', %L, ''Jo Two'')', v.token)),
                 'P0001', 'invalid_invitation', 'a guessed token (' || v.what || ') is refused')
  from (values ('random', 'q3VbBkUHCs0RIhYhBd9iZkUwqWMXc6LqNJzq3vZB2hM'), ('empty', ''), ('null', null),
               ('its hash', encode((select token_hash from private.invitations
                                     where id = (pg_temp.kept('pre')::jsonb ->> 'invitation_id')::uuid), 'hex'))) v(what, token);
select throws_ok($$ select pg_temp.join_as('j2', 'alpha', 'beta', 'Jo Two') $$, 'P0001', 'invalid_invitation',
  'a valid token of beta is refused for alpha');
select throws_ok($$ select pg_temp.join_as('j2', 'beta', 'pre', 'Jo Two') $$, 'P0001', 'invalid_invitation',
  'a valid token of alpha is refused for beta');
select throws_ok($$ select pg_temp.join_as('bob', 'alpha', 'pre', 'Bobby') $$, 'P0001', 'already_member',
  'a member cannot join again');
select throws_ok($$ select pg_temp.join_as('pat', 'beta', 'beta', 'Pat') $$, 'P0001', 'already_member',
  'a pending member of alpha cannot join beta');
select throws_ok($$ select pg_temp.join_as('sam', 'beta', 'beta', 'Sam') $$, 'P0001', 'already_member',
  'a suspended member of alpha cannot join beta');
select throws_ok($$ select pg_temp.as_user(null, 'select public.join_community(''alpha'', ''x'', ''Anon'')') $$, '42501', null,
  'anon cannot call join_community');
select pg_temp.unchanged('the refused tokens');

-- A pre-approved invitation makes active members, one use each.
select is(pg_temp.join_as('j2', 'alpha', 'pre', 'Jo Two')::jsonb ->> 'status', 'active',
  'a pre-approved invitation makes an active member');
select is((select uses_left from private.invitations where id = (pg_temp.kept('pre')::jsonb ->> 'invitation_id')::uuid), 1,
  'uses_left counts down: 1');
select is(pg_temp.join_as('j3', 'alpha', 'pre', 'Jo Three')::jsonb ->> 'status', 'active', 'its second use');
select is(pg_temp.as_user('alice', format($$ select i ->> 'uses_left' from jsonb_array_elements(public.community_invitations('alpha')) i
                                              where i ->> 'invitation_id' = %L $$, pg_temp.kept('pre')::jsonb ->> 'invitation_id')),
  '0', 'uses_left counts down: 0, as community_invitations shows it');
select results_eq(
  $$ select display_name, status, approved_at is not null, invitation_id::text from public.memberships
      where user_id in (pg_temp.uid('j1'), pg_temp.uid('j2'), pg_temp.uid('j3')) order by display_name $$,
  $$ values ('Jo One', 'pending', false, pg_temp.kept('single')::jsonb ->> 'invitation_id'),
            ('Jo Three', 'active', true, pg_temp.kept('pre')::jsonb ->> 'invitation_id'),
            ('Jo Two', 'active', true, pg_temp.kept('pre')::jsonb ->> 'invitation_id') $$,
  'the memberships record their invitations');
select is(pg_temp.as_user('j2', 'select count(*) from public.open_orders'), '3', 'the active newcomer reads the open book of alpha');
select from pg_temp.remember();
select throws_ok($$ select pg_temp.join_as('j4', 'alpha', 'pre', 'Jo Four') $$, 'P0001', 'invitation_used_up',
  'a used-up invitation of two uses is refused');
select pg_temp.unchanged('the used-up invitation');

-- Display names ------------------------------------------------------------------

select is(pg_temp.join_as('j4', 'alpha', 'names', E'  Ev\u202eil\u200b\u2060 \u00a0 Name\u200f ')::jsonb ->> 'display_name', 'Evil Name',
  'bidi overrides, zero-width and invisible characters are removed and spaces collapse');
select is((select display_name from public.memberships where user_id = pg_temp.uid('j4')), 'Evil Name', 'as stored');
select from pg_temp.remember();
select throws_ok(format('select pg_temp.join_as(''j5'', ''alpha'', ''names'', %L)', v.name), 'P0001', v.code,
                 'the name ' || v.what || ' is refused (' || v.code || ')')
  from (values ('EVIL name', 'username_taken', '"EVIL name" (another case)'),
               (E'Evil\u200d \u2028Name', 'username_taken', '"Evil Name" with invisible characters'),
               ('bob', 'username_taken', '"bob"'),
               (E' B\u200bOB ', 'username_taken', '" B(ZWSP)OB "'),
               (repeat('x', 41), 'invalid_username', 'of 41 characters'),
               ('', 'invalid_username', '""'),
               (E'\u200b\u200d\u2060\u202e', 'invalid_username', 'of invisible characters'),
               (E' \t\n ', 'invalid_username', 'of spaces'),
               (null, 'invalid_username', 'null')) v(name, code, what);
select pg_temp.unchanged('the refused names');
select is(pg_temp.join_as('j5', 'beta', 'beta', 'bob')::jsonb ->> 'display_name', 'bob',
  'the name of a member of alpha is free in beta');
select is(pg_temp.join_as('j6', 'alpha', 'names', repeat('x', 40))::jsonb ->> 'display_name', repeat('x', 40),
  'a name of 40 characters is taken');

-- Admins: their own community only ----------------------------------------------------

select from pg_temp.remember();
select throws_ok(format('select pg_temp.as_user(%L, %L)', v.who, format(c.sql, v.community)), 'P0001', 'not_admin',
                 v.who || ' gets not_admin from ' || c.what || ' for ' || v.community)
  from (values ('bob', 'alpha'), ('alice', 'beta'), ('sam', 'alpha'), ('erin', 'alpha')) v(who, community),
       (values ('community_members', 'select public.community_members(%L)'),
               ('manage_member', 'select public.manage_member(%L, ''eb000000-0000-4000-8000-000000000404'', ''suspend'')'),
               ('create_invitation', 'select public.create_invitation(%L, 1, now() + interval ''1 day'', true)'),
               ('community_invitations', 'select public.community_invitations(%L)'),
               ('revoke_invitation', 'select public.revoke_invitation(%L, ''' || (pg_temp.kept('beta')::jsonb ->> 'invitation_id') || ''')'),
               ('update_community_settings', 'select public.update_community_settings(%L, p_open_order_cap => 1)')) c(what, sql)
 order by v.who, v.community, c.what;
select throws_ok($$ select pg_temp.as_user('alice', $q$ select public.manage_member('alpha', 'eb000000-0000-4000-8000-000000000404', 'suspend') $q$) $$,
  'P0001', 'unknown_member', 'alice gets unknown_member for a membership of beta passed with alpha');
select throws_ok(format('select pg_temp.as_user(''alice'', %L)',
                        format('select public.revoke_invitation(''alpha'', %L)', pg_temp.kept('beta')::jsonb ->> 'invitation_id')),
  'P0001', 'unknown_invitation', 'alice gets unknown_invitation for an invitation of beta passed with alpha');
select pg_temp.unchanged('the refused admin calls');

select results_eq(
  $$ select m ->> 'display_name', m ->> 'role', m ->> 'status', m ->> 'open_orders', m ->> 'trades'
       from jsonb_array_elements(pg_temp.as_user('alice', $q$ select public.community_members('alpha')::text $q$)::jsonb) m $$,
  $$ values ('Jo One', 'member', 'pending', '0', '0'), ('Pat', 'member', 'pending', '0', '0'),
            ('Alice', 'admin', 'active', '1', '1'), ('Bob', 'member', 'active', '1', '1'),
            ('Evil Name', 'member', 'active', '0', '0'), ('Jo Three', 'member', 'active', '0', '0'),
            ('Jo Two', 'member', 'active', '0', '0'), ('Nora', 'member', 'active', '1', '0'),
            ('Sam', 'member', 'suspended', '0', '0'), (repeat('x', 40), 'member', 'active', '0', '0') $$,
  'community_members lists alpha''s members, pending first, then by name');
select is(pg_temp.leaks(pg_temp.as_user('alice', $$ select public.community_members('alpha')::text $$),
                        array['bob', 'nora', 'pat', 'sam', 'j1', 'j2', 'j3', 'j4', 'j6']), '{}',
  'and holds none of their ids, emails or coordinates');

-- Moving members.
select is(pg_temp.as_user('alice', $$ select public.manage_member('alpha', 'eb000000-0000-4000-8000-000000000406', 'approve') ->> 'status' $$),
  'active', 'alice approves pat');
select ok((select approved_at is not null from public.memberships where id = 'eb000000-0000-4000-8000-000000000406'), 'with its time');
select is(pg_temp.as_user('pat', 'select count(*) from public.open_orders'), '3', 'pat now reads the open book');
select from pg_temp.remember();
select throws_ok(format('select pg_temp.as_user(''alice'', %L)',
                        format('select public.manage_member(''alpha'', %L, %L)', v.member, v.action)),
                 'P0001', v.code, v.action || ' ' || v.what || ' is refused (' || v.code || ')')
  from (values ('eb000000-0000-4000-8000-000000000406', 'approve', 'an active member', 'invalid_member_status'),
               ('eb000000-0000-4000-8000-000000000406', 'reinstate', 'an active member', 'invalid_member_status'),
               ('eb000000-0000-4000-8000-000000000407', 'approve', 'a suspended member', 'invalid_member_status'),
               ('eb000000-0000-4000-8000-000000000407', 'make_admin', 'a suspended member', 'invalid_member_status'),
               ('eb000000-0000-4000-8000-000000000406', 'make_member', 'a member', 'invalid_member_status'),
               ('eb000000-0000-4000-8000-000000000401', 'make_admin', 'an admin', 'invalid_member_status'),
               ('eb000000-0000-4000-8000-000000000401', 'suspend', 'the last admin', 'last_admin'),
               ('eb000000-0000-4000-8000-000000000401', 'make_member', 'the last admin', 'last_admin'),
               ('eb000000-0000-4000-8000-000000000406', 'delete', 'as an action', 'invalid_action'),
               ('eb000000-0000-4000-8000-000000000406', null, 'as an action', 'invalid_action')) v(member, action, what, code);
select throws_ok(format('select pg_temp.as_user(''alice'', %L)',
                        format('select public.manage_member(''alpha'', %L, ''make_admin'')', m.id)),
                 'P0001', 'invalid_member_status', 'a pending member cannot be made an admin')
  from public.memberships m where m.user_id = pg_temp.uid('j1');
select pg_temp.unchanged('the refused moves');
-- A pending member may be suspended (turned away); reinstated, it is approved then.
select is(pg_temp.as_user('alice', format($$ select public.manage_member('alpha', %L, 'suspend') ->> 'status' $$,
                                          (select id from public.memberships where user_id = pg_temp.uid('j1')))),
  'suspended', 'alice suspends jo one, still pending');
select is(pg_temp.as_user('alice', format($$ select (m ->> 'status') || ' ' || (m ->> 'approved_at' is not null)
                                              from public.manage_member('alpha', %L, 'reinstate') m $$,
                                          (select id from public.memberships where user_id = pg_temp.uid('j1')))),
  'active true', 'reinstated, jo one is active and approved');

-- Suspending bob cancels his open orders; reinstating him gives them not back.
select from pg_temp.keep('suspend_answer', pg_temp.as_user('alice',
  $$ select public.manage_member('alpha', 'eb000000-0000-4000-8000-000000000402', 'suspend')::text $$));
select is(pg_temp.kept('suspend_answer')::jsonb ->> 'status', 'suspended', 'alice suspends bob');
select is(pg_temp.leaks(pg_temp.kept('suspend_answer'), array['bob']), '{}', 'manage_member''s answer holds nothing of bob''s');
select is((select string_agg(status, ',' order by seq) from public.market_orders where user_id = pg_temp.uid('bob')),
  'cancelled,cancelled', 'his open ask is cancelled');
select is(pg_temp.as_user('alice', 'select string_agg(username, '','' order by seq) from public.open_orders'), 'Alice,Nora',
  'and left the open book');
select throws_ok($$ select pg_temp.as_user('bob', $q$ select public.place_order('0bde0000-0000-4000-8000-0000000004e3', 'sell', 0.2, 1) $q$) $$,
  'P0001', 'membership_suspended', 'bob, suspended, cannot place an order');
select is(pg_temp.as_user('alice', $$ select public.manage_member('alpha', 'eb000000-0000-4000-8000-000000000402', 'reinstate') ->> 'status' $$),
  'active', 'alice reinstates bob');
select is((select count(*)::integer from public.market_orders where user_id = pg_temp.uid('bob') and status in ('active', 'partial')), 0,
  'his orders stay cancelled');

-- Admin roles: the community keeps an active admin.
select is(pg_temp.as_user('alice', $$ select public.manage_member('alpha', 'eb000000-0000-4000-8000-000000000402', 'make_admin') ->> 'role' $$),
  'admin', 'alice makes bob an admin');
select is(pg_temp.as_user('bob', $$ select jsonb_array_length(public.community_members('alpha'))::text $$), '10',
  'bob, now an admin, lists alpha''s members');
select is(pg_temp.as_user('alice', $$ select public.manage_member('alpha', 'eb000000-0000-4000-8000-000000000401', 'make_member') ->> 'role' $$),
  'member', 'alice, no longer the last admin, steps down');
select throws_ok($$ select pg_temp.as_user('alice', 'select public.community_members(''alpha'')') $$, 'P0001', 'not_admin',
  'and is no longer an admin');
select from pg_temp.remember();
select throws_ok($$ select pg_temp.as_user('bob', $q$ select public.manage_member('alpha', 'eb000000-0000-4000-8000-000000000402', 'suspend') $q$) $$,
  'P0001', 'last_admin', 'bob, the last admin, cannot suspend himself');
select throws_ok($$ select pg_temp.as_user('bob', $q$ select public.manage_member('alpha', 'eb000000-0000-4000-8000-000000000402', 'make_member') $q$) $$,
  'P0001', 'last_admin', 'nor step down');
select pg_temp.unchanged('the last admin''s refused moves');
select is(pg_temp.as_user('bob', $$ select public.manage_member('alpha', 'eb000000-0000-4000-8000-000000000401', 'make_admin') ->> 'role' $$),
  'admin', 'bob makes alice an admin again');
select is(pg_temp.as_user('alice', $$ select public.manage_member('alpha', 'eb000000-0000-4000-8000-000000000402', 'suspend') ->> 'status' $$),
  'suspended', 'alice may suspend bob, an admin, while she is one too');
select throws_ok($$ select pg_temp.as_user('bob', 'select public.community_members(''alpha'')') $$, 'P0001', 'not_admin',
  'a suspended admin is no admin');
select from pg_temp.remember();
select throws_ok($$ select pg_temp.as_user('alice', $q$ select public.manage_member('alpha', 'eb000000-0000-4000-8000-000000000401', 'suspend') $q$) $$,
  'P0001', 'last_admin', 'a suspended admin does not count: alice is the last active admin');
select pg_temp.unchanged('the refused suspension');
select is(pg_temp.as_user('alice', $$ select public.manage_member('alpha', 'eb000000-0000-4000-8000-000000000402', 'make_member') ->> 'role' $$),
  'member', 'a suspended admin may be made a member');
select is(pg_temp.as_user('alice', $$ select public.manage_member('alpha', 'eb000000-0000-4000-8000-000000000402', 'reinstate') ->> 'role' $$),
  'member', 'and reinstated as one');
select is((select string_agg(display_name, ',' order by display_name) from public.memberships
            where community_id = 'alpha' and role = 'admin'), 'Alice', 'alpha''s admin is alice');

-- Settings ---------------------------------------------------------------------------

select from pg_temp.remember();
select from pg_temp.keep('alpha_row', (select c::text from public.communities c where c.id = 'alpha'));
select throws_ok(format('select pg_temp.as_user(''alice'', %L)', 'select public.update_community_settings(''alpha'', ' || v.args || ')'),
                 'P0001', 'invalid_setting', 'update_community_settings(alpha, ' || v.args || ') is refused')
  from (values ('p_min_price => 0.04'), ('p_min_price => 0.12345'), ('p_max_price => 1.01'),
               ('p_min_price => 0.5, p_max_price => 0.4'), ('p_min_price => 1.00, p_max_price => 0.99'),
               ('p_max_price => 0.04'), ('p_min_price => ''NaN''::numeric'), ('p_max_price => ''NaN''::numeric'),
               ('p_grid_buy_price => 0.04'), ('p_grid_buy_price => 1.5'), ('p_grid_sell_price => 0.00001'),
               ('p_grid_sell_price => ''NaN''::numeric'), ('p_co2_kg_per_kwh => -0.001'), ('p_co2_kg_per_kwh => 2.001'),
               ('p_co2_kg_per_kwh => 0.1234'), ('p_open_order_cap => 0'), ('p_open_order_cap => 10001'), ('p_min_price => 1e12'), ('p_co2_kg_per_kwh => 1000'),
               ('p_name => '''''), ('p_name => repeat(''n'', 81)'), ('p_name => E''\u200b\u202e'''),
               ('p_name => ''Fine'', p_open_order_cap => -1'),
               -- Feed-in at or above the grid's price, alone or with it.
               ('p_grid_sell_price => 0.20'), ('p_grid_buy_price => 0.10'),
               ('p_grid_buy_price => 0.3, p_grid_sell_price => 0.3')) v(args);
select is((select c::text from public.communities c where c.id = 'alpha'), pg_temp.kept('alpha_row'), 'alpha''s row is unchanged');
select pg_temp.unchanged('the refused settings');
select is(pg_temp.as_user('alice', $$ select public.update_community_settings('alpha', p_name => E' Alpha\u200b  Street ',
                                         p_min_price => 0.10, p_max_price => 0.30, p_co2_kg_per_kwh => 0.2,
                                         p_open_order_cap => 2)::text $$)::jsonb,
  '{"name": "Alpha Street", "min_price": 0.1000, "max_price": 0.3000, "grid_buy_price": 0.2000, "grid_sell_price": 0.1000,
    "co2_kg_per_kwh": 0.200, "open_order_cap": 2, "interval_minutes": 15, "open_hours_ahead": 24, "gate_closure_minutes": 5,
    "settlement_deadline_hours": 48, "buyer_fee": 0.0000, "seller_fee": 0.0000, "self_readings": false}'::jsonb,
  'alice narrows the prices and the cap; the answer is the new settings (the name cleaned)');
select is(pg_temp.as_user('bob', $$ select public.my_membership() -> 'settings' ->> 'open_order_cap' $$), '2',
  'a member''s my_membership shows them');

-- place_order holds them.
select from pg_temp.remember();
select throws_ok($$ select pg_temp.as_user('bob', $q$ select public.place_order('0bde0000-0000-4000-8000-0000000004e4', 'buy', 0.0999, 1) $q$) $$,
  'P0001', 'invalid_price', 'a bid under the community''s minimum is refused');
select throws_ok($$ select pg_temp.as_user('bob', $q$ select public.place_order('0bde0000-0000-4000-8000-0000000004e4', 'sell', 0.3001, 1) $q$) $$,
  'P0001', 'invalid_price', 'an ask over the community''s maximum is refused');
select pg_temp.unchanged('the refused prices');
select is(pg_temp.as_user('bob', $$ select (public.place_order('0bde0000-0000-4000-8000-0000000004e5', 'sell', 0.30, 1)).status $$),
  'active', 'an ask at the maximum is taken');
select is(pg_temp.as_user('bob', $$ select (public.place_order('0bde0000-0000-4000-8000-0000000004e6', 'buy', 0.10, 1)).status $$),
  'active', 'a bid at the minimum is taken: bob has two open orders, the cap');
select from pg_temp.remember();
select throws_ok($$ select pg_temp.as_user('bob', $q$ select public.place_order('0bde0000-0000-4000-8000-0000000004e7', 'sell', 0.25, 1) $q$) $$,
  'P0001', 'too_many_open_orders', 'a third is refused');
select pg_temp.unchanged('the order over the cap');
select is(pg_temp.as_user('dave', $$ select (public.place_order('0bde0000-0000-4000-8000-0000000004b3', 'sell', 0.45, 1)).status $$),
  'active', 'beta keeps its own limits');

-- The operator's bootstrap --------------------------------------------------------------

select from pg_temp.remember();
select throws_ok(format('select pg_temp.as_user(%L, %L)', v.who, c.sql), '42501', null,
                 coalesce(v.who, 'anon') || ' cannot call ' || c.what)
  from (values ('erin'), ('alice'), (null)) v(who),
       (values ('create_community', $$ select public.create_community('gamma', 'Gamma Court') $$),
               ('invite_admin', $$ select public.invite_admin('alpha') $$)) c(what, sql);
select pg_temp.unchanged('the refused bootstrap calls');
select from pg_temp.keep('gamma', pg_temp.as_user('service', $$ select public.create_community('gamma', E' Gamma\u200b Court ')::text $$));
select is(pg_temp.kept('gamma')::jsonb - array['invitation_id', 'token', 'expires_at', 'created_at'],
  '{"community_id": "gamma", "role": "admin", "pre_approved": true, "uses_left": 1, "revoked_at": null, "made_by": null}'::jsonb,
  'the service creates gamma with its first admin''s invitation: single use, pre-approved');
select ok((pg_temp.kept('gamma')::jsonb ->> 'expires_at')::timestamptz = now() + interval '7 days', 'for 7 days');
select is((select name from public.communities where id = 'gamma'), 'Gamma Court', 'gamma''s name is cleaned');
select is(pg_temp.tables_holding(pg_temp.kept('gamma')::jsonb ->> 'token'), '{}', 'no table holds its token');
select is(pg_temp.join_as('erin', 'gamma', 'gamma', 'Erin')::jsonb - array['membership_id', 'joined_at', 'approved_at', 'settings'],
  '{"community_id": "gamma", "community_name": "Gamma Court", "display_name": "Erin", "role": "admin", "status": "active"}'::jsonb,
  'its token makes erin gamma''s first admin, active');
select is(pg_temp.as_user('erin', $$ select string_agg((m ->> 'display_name') || ' ' || (m ->> 'role'), ',')
                                       from jsonb_array_elements(public.community_members('gamma')) m $$),
  'Erin admin', 'and she runs it');
select from pg_temp.remember();
select throws_ok($$ select pg_temp.join_as('j7', 'gamma', 'gamma', 'Jo Seven') $$, 'P0001', 'invitation_used_up',
  'the first admin''s token works once');
select throws_ok(format('select pg_temp.as_user(''service'', %L)', 'select public.create_community(' || v.args || ')'),
                 'P0001', v.code, 'create_community(' || v.args || ') is refused (' || v.code || ')')
  from (values ('''gamma'', ''Again''', 'community_exists'), ('''Bad Id'', ''Bad''', 'invalid_community'),
               ('''-dash'', ''Dash''', 'invalid_community'), ('null, ''Nobody''', 'invalid_community'),
               ('''delta'', ''''', 'invalid_community'), ('''delta'', E''\u200b''', 'invalid_community'),
               ('''delta'', null', 'invalid_community'), ('''delta'', repeat(''d'', 81)', 'invalid_community')) v(args, code);
select throws_ok($$ select pg_temp.as_user('service', 'select public.invite_admin(''nope'')') $$, 'P0001', 'invalid_community',
  'invite_admin needs an existing community');
select pg_temp.unchanged('the refused bootstrap');
select from pg_temp.keep('gamma2', pg_temp.as_user('service', $$ select public.invite_admin('gamma')::text $$));
select is(pg_temp.join_as('j7', 'gamma', 'gamma2', 'Jo Seven')::jsonb ->> 'role', 'admin',
  'invite_admin''s token makes another admin');
select results_eq(
  $$ select display_name, role, status from public.memberships where community_id = 'gamma' order by display_name $$,
  $$ values ('Erin', 'admin', 'active'), ('Jo Seven', 'admin', 'active') $$,
  'gamma has its two admins');

-- An admin who is no longer one leaves no working invitation behind.
select from pg_temp.keep('by_jo', pg_temp.as_user('j7', $$ select public.create_invitation('gamma', 3, now() + interval '1 day', true)::text $$));
select from pg_temp.keep('by_erin', pg_temp.as_user('erin', $$ select public.create_invitation('gamma', 3, now() + interval '1 day', true)::text $$));
select is(pg_temp.as_user('erin', format($$ select public.manage_member('gamma', %L, 'make_member') ->> 'role' $$,
                                         (select id from public.memberships where user_id = pg_temp.uid('j7')))),
  'member', 'erin makes jo seven a member');
select isnt((select revoked_at from private.invitations where id = (pg_temp.kept('by_jo')::jsonb ->> 'invitation_id')::uuid), null,
  'jo seven''s open invitation is revoked with his admin role');
select throws_ok($$ select pg_temp.join_as('j8', 'gamma', 'by_jo', 'Jo Eight') $$, 'P0001', 'invitation_revoked',
  'so it lets nobody in');
select is(pg_temp.join_as('j8', 'gamma', 'by_erin', 'Jo Eight')::jsonb ->> 'status', 'active',
  'an active admin''s invitation still works');

select * from finish();
rollback;
