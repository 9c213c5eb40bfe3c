-- A caller's temporary types never run the caller's code as the market
-- functions' owner. A type name without a schema is looked up in the session's
-- temporary schema before pg_catalog unless the search path names pg_catalog
-- first, so a temporary domain named "uuid", "text", "jsonb", ... with a CHECK
-- calling a function of the caller would run that function with the owner's
-- rights inside every SECURITY DEFINER function that uses the name, and inside
-- auth.uid() when one calls it (Supabase's auth.uid() has search_path '').
--
-- Alice and Bob trade, and Alice runs her community (Carol joins with her
-- invitation; Alice imports meter readings and submits her own, and the
-- service settles an interval), with such domains in place, the way a client
-- that can run SQL would: every function answers as always and the spy never runs. The test
-- grants TEMPORARY to authenticated for the length of its transaction, as a
-- project whose migration could not revoke it would have it.
begin;
create extension if not exists pgtap with schema extensions;
select plan(15);

-- Where the migrating role could revoke TEMPORARY (it owns the database, or is
-- a superuser), PUBLIC, the API roles and the API's login no longer have it.
select case
  when (select r.rolsuper from pg_catalog.pg_roles r where r.rolname = current_user)
    or pg_catalog.pg_has_role(current_user, (select d.datdba from pg_catalog.pg_database d where d.datname = current_database()), 'MEMBER')
  then database_privs_are(current_database(), r, array['CONNECT']::name[], r || ' may not create temporary objects here')
  else skip('the migrating role could not revoke TEMPORARY in this database', 1)
end
from unnest(array['public', 'anon', 'authenticated', 'service_role', 'authenticator']) r;
select case
  when (select r.rolsuper from pg_catalog.pg_roles r where r.rolname = current_user)
    or pg_catalog.pg_has_role(current_user, (select d.datdba from pg_catalog.pg_database d where d.datname = current_database()), 'MEMBER')
  then is_empty($$ select r.rolname from pg_catalog.pg_roles r
                    where r.rolcanlogin and r.rolname <> 'authenticator'
                      and not pg_catalog.has_database_privilege(r.oid, current_database(), 'TEMPORARY') $$,
                'the roles that log in (the platform''s services) keep TEMPORARY')
  else skip('the migrating role could not revoke TEMPORARY in this database', 1)
end;

insert into auth.users (id, raw_user_meta_data) values
  ('a11ce000-0000-4000-8000-0000000000a1', '{"lat":"52.3702","lng":"4.8952"}'),
  ('b0b00000-0000-4000-8000-0000000000b2', '{"lat":"52.3745","lng":"4.8890"}'),
  ('ca401000-0000-4000-8000-0000000000c3', '{}');
-- Alice runs the community temp-test, Bob is a member of it, Carol joins below.
insert into public.communities (id, name) values ('temp-test', 'Temp Test');
insert into public.memberships (community_id, user_id, display_name, role, status, approved_at) values
  ('temp-test', 'a11ce000-0000-4000-8000-0000000000a1', 'Alice', 'admin', 'active', now()),
  ('temp-test', 'b0b00000-0000-4000-8000-0000000000b2', 'Bob', 'member', 'active', now());

do $$
begin
  execute pg_catalog.format('grant temporary on database %I to authenticated', pg_catalog.current_database());
end
$$;

-- A trade for the interval before last, Alice's 2 kWh to Bob, written as the
-- database owner (no order can be placed for an interval that has begun).
insert into public.market_orders (id, user_id, username, community_id, type, price, amount, filled_amount, status, delivery_start)
select v.id::uuid, v.user_id::uuid, v.username, 'temp-test', v.type, 0.16, 2, 2, 'filled',
       to_timestamp((floor(extract(epoch from now()) / 900) - 2) * 900)
  from (values ('5e110000-0000-4000-8000-0000000000d1', 'a11ce000-0000-4000-8000-0000000000a1', 'Alice', 'sell'),
               ('b1d00000-0000-4000-8000-0000000000d2', 'b0b00000-0000-4000-8000-0000000000b2', 'Bob', 'buy')) v(id, user_id, username, type);
insert into public.trades (id, community_id, buy_order_id, sell_order_id, buyer_id, seller_id, price, amount, delivery_start)
values ('7ade0000-0000-4000-8000-0000000000d3', 'temp-test', 'b1d00000-0000-4000-8000-0000000000d2',
        '5e110000-0000-4000-8000-0000000000d1', 'b0b00000-0000-4000-8000-0000000000b2',
        'a11ce000-0000-4000-8000-0000000000a1', 0.16, 2, to_timestamp((floor(extract(epoch from now()) / 900) - 2) * 900));

do $attack$
declare
  v_owner pg_catalog.text := current_user;
  v_alice pg_catalog.text := '{"sub":"a11ce000-0000-4000-8000-0000000000a1","role":"authenticated"}';
  v_bob pg_catalog.text := '{"sub":"b0b00000-0000-4000-8000-0000000000b2","role":"authenticated"}';
  v_carol pg_catalog.text := '{"sub":"ca401000-0000-4000-8000-0000000000c3","role":"authenticated"}';
  v_invitation pg_catalog.jsonb;
  v_joined pg_catalog.jsonb;
  v_first pg_catalog.uuid := '5e110000-0000-4000-8000-0000000000a1';
  v_second pg_catalog.uuid := '5e110000-0000-4000-8000-0000000000a2';
  v_bid pg_catalog.uuid := 'b1d00000-0000-4000-8000-0000000000b1';
  v_ref pg_catalog.uuid := 'c0ffee00-0000-4000-8000-0000000000c1';
  v_later pg_catalog.timestamptz := '2099-01-01T00:00:00Z';
  -- Interval starts: the one after next (open), the last one and the one before (ended).
  v_open pg_catalog.timestamptz := pg_catalog.to_timestamp((pg_catalog.floor(extract(epoch from now()) / 900) + 2) * 900);
  v_last pg_catalog.timestamptz := pg_catalog.to_timestamp((pg_catalog.floor(extract(epoch from now()) / 900) - 1) * 900);
  v_traded pg_catalog.timestamptz := pg_catalog.to_timestamp((pg_catalog.floor(extract(epoch from now()) / 900) - 2) * 900);
  v_dated pg_catalog.uuid := '5e110000-0000-4000-8000-0000000000a3';
begin
  -- Alice, as PostgREST makes her act; her spy notes every role it runs as.
  perform pg_catalog.set_config('request.jwt.claims', v_alice, true);
  perform pg_catalog.set_config('role', 'authenticated', true);
  create function pg_temp.spy(p_value pg_catalog.text) returns boolean language plpgsql as $spy$
  begin
    perform pg_catalog.set_config('lumea_test.spied_' || pg_catalog.current_setting('lumea_test.phase'),
      pg_catalog.concat_ws(' ', pg_catalog.current_setting('lumea_test.spied_' || pg_catalog.current_setting('lumea_test.phase'), true),
                           current_user::pg_catalog.text), true);
    return true;
  end
  $spy$;

  -- Through auth.uid(): a "uuid" alone, which the claims are cast to.
  perform pg_catalog.set_config('lumea_test.phase', 'uid', true);
  create domain pg_temp.uuid as pg_catalog.uuid check (pg_temp.spy(value::pg_catalog.text));
  perform public.place_order(v_first, 'sell', 0.16, 5);
  drop domain pg_temp.uuid;

  -- Everything the functions and their triggers name.
  perform pg_catalog.set_config('lumea_test.phase', 'all', true);
  create domain pg_temp.uuid as pg_catalog.uuid check (pg_temp.spy(value::pg_catalog.text));
  create domain pg_temp.text as pg_catalog.text check (pg_temp.spy(value));
  create domain pg_temp.jsonb as pg_catalog.jsonb check (pg_temp.spy(value::pg_catalog.text));
  create domain pg_temp.timestamptz as pg_catalog.timestamptz check (pg_temp.spy(value::pg_catalog.text));
  create domain pg_temp.refcursor as pg_catalog.refcursor check (pg_temp.spy(value::pg_catalog.text));
  create domain pg_temp.numeric as pg_catalog.numeric check (pg_temp.spy(value::pg_catalog.text));
  create domain pg_temp.float8 as pg_catalog.float8 check (pg_temp.spy(value::pg_catalog.text));
  create domain pg_temp.bytea as pg_catalog.bytea check (pg_temp.spy(value::pg_catalog.text));
  perform public.place_order(v_second, 'sell', 0.18, 3, v_later);
  perform public.my_membership();
  perform public.update_home(52.3702, 4.8952);
  perform public.update_community_settings('temp-test', p_open_order_cap => 40, p_self_readings => true);
  perform public.place_order(v_dated, 'sell', 0.17, 1, null, v_open);
  perform public.import_meter_readings('temp-test', pg_catalog.jsonb_build_array(
    pg_catalog.jsonb_build_object('display_name', 'Alice', 'interval_start', v_traded::pg_catalog.text, 'import_kwh', 0, 'export_kwh', '2'),
    pg_catalog.jsonb_build_object('display_name', 'Bob', 'interval_start', v_traded::pg_catalog.text, 'import_kwh', 2.5, 'export_kwh', 0)));
  perform public.submit_meter_reading(v_last, 1, 0.5);
  v_invitation := public.create_invitation('temp-test', 1, now() + interval '1 day', false);
  perform public.community_invitations('temp-test');
  perform pg_catalog.set_config('request.jwt.claims', v_carol, true);
  v_joined := public.join_community('temp-test', v_invitation ->> 'token', 'Carol');
  perform pg_catalog.set_config('request.jwt.claims', v_alice, true);
  perform public.manage_member('temp-test', (v_joined ->> 'membership_id')::pg_catalog.uuid, 'approve');
  perform public.community_members('temp-test');
  perform public.revoke_invitation('temp-test', (v_invitation ->> 'invitation_id')::pg_catalog.uuid);
  perform pg_catalog.set_config('request.jwt.claims', v_bob, true);
  perform public.buy_now(v_first, 2, v_ref);
  perform public.order_distances(array[v_first, v_second]);
  perform public.book_page(0);
  perform pg_catalog.set_config('request.jwt.claims', v_alice, true);
  perform public.cancel_order(v_first);
  perform pg_catalog.set_config('request.jwt.claims', v_bob, true);
  perform public.place_order(v_bid, 'buy', 0.20, 1);
  -- The operator's bootstrap, as the service.
  perform pg_catalog.set_config('request.jwt.claims', '{"role":"service_role"}', true);
  perform pg_catalog.set_config('role', 'service_role', true);
  perform public.create_community('temp-made', 'Temp Made');
  perform public.invite_admin('temp-test');
  perform public.settle_interval('temp-test', v_traded);
  perform public.settle_intervals('temp-test');
  perform pg_catalog.set_config('role', 'authenticated', true);
  drop domain pg_temp.uuid, pg_temp.text, pg_temp.jsonb, pg_temp.timestamptz, pg_temp.refcursor, pg_temp.numeric,
    pg_temp.float8, pg_temp.bytea;
  drop function pg_temp.spy(pg_catalog.text);
  perform pg_catalog.set_config('role', v_owner, true);
end
$attack$;

select is(current_setting('lumea_test.spied_uid', true), null,
  'a temporary "uuid" runs nothing inside place_order (the caller''s id is read with pg_catalog.uuid, not through auth.uid())');
select is(current_setting('lumea_test.spied_all', true), null,
  'temporary uuid/text/jsonb/timestamptz/refcursor/numeric/float8/bytea run nothing inside the market, membership, '
  'admin and bootstrap functions and their triggers');

-- And the market answered as always.
select results_eq(
  $$ select id::text, username, status, filled_amount::text from public.market_orders
      where community_id = 'temp-test' and id::text not like '%d_' order by seq $$,
  $$ values ('5e110000-0000-4000-8000-0000000000a1', 'Alice', 'cancelled', '2.00'),
            ('5e110000-0000-4000-8000-0000000000a2', 'Alice', 'partial', '1.00'),
            ('5e110000-0000-4000-8000-0000000000a3', 'Alice', 'active', '0.00'),
            ('b1d00000-0000-4000-8000-0000000000b1', 'Bob', 'filled', '1.00') $$,
  'the orders are as the commands left them');
select results_eq(
  $$ select buy_order_id::text, sell_order_id::text, buyer_username, seller_username, price::text, amount::text, taker
       from public.trades where community_id = 'temp-test' and delivery_start is null order by seq $$,
  $$ values (null, '5e110000-0000-4000-8000-0000000000a1', 'Bob', 'Alice', '0.1600', '2.00', 'buy'),
            ('b1d00000-0000-4000-8000-0000000000b1', '5e110000-0000-4000-8000-0000000000a2', 'Bob', 'Alice', '0.1800', '1.00', 'buy') $$,
  'the trades are as the commands made them');

select results_eq(
  $$ select display_name, role, status, approved_at is not null from public.memberships
      where community_id = 'temp-test' order by display_name $$,
  $$ values ('Alice', 'admin', 'active', true), ('Bob', 'member', 'active', true), ('Carol', 'member', 'active', true) $$,
  'Carol joined with Alice''s invitation and Alice approved her');
select results_eq(
  $$ select c.id, c.open_order_cap, (select count(*)::integer from private.invitations i where i.community_id = c.id),
            (select count(*)::integer from private.invitations i where i.community_id = c.id and i.revoked_at is not null)
       from public.communities c where c.id like 'temp-%' order by c.id $$,
  $$ values ('temp-made', 50, 1, 0), ('temp-test', 40, 2, 1) $$,
  'the settings changed, the invitation was revoked, and the service made a community and an admin''s invitation');
select results_eq(
  $$ select location_lat::text, location_lng::text, home_updated_at is not null from public.profiles
      where id = 'a11ce000-0000-4000-8000-0000000000a1' $$,
  $$ values ('52.370', '4.895', true) $$,
  'Alice''s home was set, coarsened');

select results_eq(
  $$ select m.display_name, r.delivery_start = to_timestamp((floor(extract(epoch from now()) / 900) - 2) * 900), r.source,
            r.import_kwh::text, r.export_kwh::text
       from public.meter_readings r join public.memberships m on m.id = r.membership_id
      where r.community_id = 'temp-test' order by r.delivery_start, m.display_name $$,
  $$ values ('Alice', true, 'operator', '0.000', '2.000'), ('Bob', true, 'operator', '2.500', '0.000'),
            ('Alice', false, 'self', '1.000', '0.500') $$,
  'Alice imported the operator''s readings of the interval traded in, and submitted her own of the last');
select results_eq(
  $$ select trade_id::text, revision, delivered_kwh::text, buyer_pays::text, seller_receives::text, fees::text
       from public.settlements where community_id = 'temp-test' $$,
  $$ values ('7ade0000-0000-4000-8000-0000000000d3', 1, '2.000', '0.320000', '0.320000', '0.000000') $$,
  'and the service settled the interval traded in');

select * from finish();
rollback;
