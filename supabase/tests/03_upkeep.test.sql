-- Expiry and clearing belong to the service, one community at a time: users
-- cannot run them, each call takes its own community's lock and touches nothing
-- else, and pg_cron runs them every minute, committing after each community.
-- (That the scheduled command really commits per community, over more
-- communities than one transaction could lock, is tests/supabase/
-- scheduled_upkeep.sql: it commits, so it cannot run in this rolled-back file.)
begin;
create extension if not exists pgtap with schema extensions;
select plan(19);

-- p_sql as PostgREST runs a request with the given role and subject; the first
-- column of its first row as text. Back to the test's role afterwards.
create function pg_temp.as_role(p_role text, p_sub uuid, p_sql text) returns text
language plpgsql as $$
declare
  v_owner text := current_user;
  v_result text;
begin
  perform set_config('request.jwt.claims', json_build_object('sub', p_sub, 'role', p_role)::text, true);
  perform set_config('role', p_role, true);
  execute p_sql into v_result;
  perform set_config('role', v_owner, true);
  return v_result;
end
$$;

-- The advisory locks this transaction holds, as community lock keys.
create function pg_temp.my_locks() returns bigint[] language sql as $$
  select coalesce(array_agg(((l.classid::bigint << 32) | l.objid::bigint) order by 1), '{}')
    from pg_catalog.pg_locks l
   where l.locktype = 'advisory' and l.pid = pg_catalog.pg_backend_pid() and l.granted
$$;
create function pg_temp.lock_key(p_community text) returns bigint language sql as $$
  select hashtextextended('lumea.market:' || p_community, 0)
$$;

insert into auth.users (id) values
  ('a11ce000-0000-4000-8000-000000000031'), ('b0b00000-0000-4000-8000-000000000032'),
  ('c4a41e00-0000-4000-8000-000000000033'), ('d1a4a000-0000-4000-8000-000000000034');
insert into public.communities (id, name) values ('north', 'North'), ('south', 'South');
insert into public.memberships (community_id, user_id, display_name, role, status, approved_at) values
  ('north', 'a11ce000-0000-4000-8000-000000000031', 'Alice', 'admin', 'active', now()),
  ('north', 'b0b00000-0000-4000-8000-000000000032', 'Bob', 'member', 'active', now()),
  ('south', 'c4a41e00-0000-4000-8000-000000000033', 'Carol', 'admin', 'active', now()),
  ('south', 'd1a4a000-0000-4000-8000-000000000034', 'Dave', 'member', 'active', now());

-- Two books left crossed by something other than place_order, each with an ask
-- that fell due a second ago (written as the database owner).
insert into public.market_orders (id, user_id, username, community_id, type, price, amount, expires_at) values
  ('00000000-0000-4000-8000-00000000a001', 'a11ce000-0000-4000-8000-000000000031', 'Alice', 'north', 'buy', 0.19, 4, null),
  ('00000000-0000-4000-8000-00000000a002', 'b0b00000-0000-4000-8000-000000000032', 'Bob', 'north', 'sell', 0.16, 2, null),
  ('00000000-0000-4000-8000-00000000a003', 'b0b00000-0000-4000-8000-000000000032', 'Bob', 'north', 'sell', 0.15, 1, now() - interval '1 second'),
  ('00000000-0000-4000-8000-00000000b001', 'c4a41e00-0000-4000-8000-000000000033', 'Carol', 'south', 'buy', 0.18, 3, null),
  ('00000000-0000-4000-8000-00000000b002', 'd1a4a000-0000-4000-8000-000000000034', 'Dave', 'south', 'sell', 0.17, 3, null),
  ('00000000-0000-4000-8000-00000000b003', 'd1a4a000-0000-4000-8000-000000000034', 'Dave', 'south', 'sell', 0.14, 2, now() - interval '1 second');

-- Users cannot run them ----------------------------------------------------------

select is_empty(
  $$ select p.oid::regprocedure, r from pg_catalog.pg_proc p, unnest(array['public', 'anon', 'authenticated']) r
      where p.pronamespace = 'public'::regnamespace and p.proname in ('expire_orders', 'match_orders')
        and pg_catalog.has_function_privilege(r, p.oid, 'EXECUTE') $$,
  'no expire_orders or match_orders is executable by PUBLIC, anon or authenticated');
select throws_ok(
  $$ select pg_temp.as_role('authenticated', 'a11ce000-0000-4000-8000-000000000031', 'select public.match_orders(''south'')') $$,
  '42501', null, 'a signed-in user cannot clear a book');
select throws_ok(
  $$ select pg_temp.as_role('authenticated', 'a11ce000-0000-4000-8000-000000000031', 'select public.expire_orders(''south'')') $$,
  '42501', null, 'a signed-in user cannot expire orders, of another community or any');
select throws_ok(
  $$ select pg_temp.as_role('anon', null, 'select public.match_orders(''north'')') $$,
  '42501', null, 'anon cannot clear a book');
select is(pg_temp.my_locks(), '{}'::bigint[], 'the refused calls took no lock');

-- The service runs them, one community at a time ----------------------------------

select is(pg_temp.as_role('service_role', null, 'select public.expire_orders(''north'')'), '1',
  'expire_orders(north) expires north''s due ask');
select is(pg_temp.my_locks(), array[pg_temp.lock_key('north')], 'and holds north''s lock alone');
select is(pg_temp.as_role('service_role', null, 'select public.match_orders(''north'')'), '1',
  'match_orders(north) clears north''s crossed book with one trade');
select is(pg_temp.my_locks(), array[pg_temp.lock_key('north')], 'still north''s lock alone');
select results_eq(
  $$ select id::text, status, filled_amount::text from public.market_orders
      where community_id in ('north', 'south') order by seq $$,
  $$ values ('00000000-0000-4000-8000-00000000a001', 'partial', '2.00'),
            ('00000000-0000-4000-8000-00000000a002', 'filled', '2.00'),
            ('00000000-0000-4000-8000-00000000a003', 'expired', '0.00'),
            ('00000000-0000-4000-8000-00000000b001', 'active', '0.00'),
            ('00000000-0000-4000-8000-00000000b002', 'active', '0.00'),
            ('00000000-0000-4000-8000-00000000b003', 'active', '0.00') $$,
  'north is cleared at the ask''s price and its due ask expired; south is untouched');
select results_eq(
  $$ select community_id, buy_order_id::text, sell_order_id::text, price::text, amount::text from public.trades
      where community_id in ('north', 'south') order by seq $$,
  $$ values ('north', '00000000-0000-4000-8000-00000000a001', '00000000-0000-4000-8000-00000000a002', '0.1600', '2.00') $$,
  'one trade, in north');
select results_eq(
  $$ select community_id, side, counterpart, price::text, amount::text from public.household_trades
      where community_id in ('north', 'south') order by seq, side $$,
  $$ values ('north', 'buy', 'Bob', '0.1600', '2.00'), ('north', 'sell', 'Alice', '0.1600', '2.00') $$,
  'each party has its side of it, naming the other');
select results_eq(
  $$ select community_id, price::text, amount::text from public.trade_prints where community_id in ('north', 'south') $$,
  $$ values ('north', '0.1600', '2.00') $$,
  'and north has its print');
select is(pg_temp.as_role('service_role', null, 'select public.match_orders(''north'')'), '0',
  'north has nothing left to clear');
select throws_ok($$ select pg_temp.as_role('service_role', null, 'select public.match_orders(null)') $$,
  'P0001', 'invalid_community', 'a community is named');

-- pg_cron runs the upkeep every minute ----------------------------------------------

select is(
  (select pg_catalog.format('%s | active %s | %s | %s', schedule, active, database, username)
     from cron.job where jobname = 'lumea-market-upkeep'),
  pg_catalog.format('* * * * * | active t | %s | %s', current_database(), current_user),
  'the job lumea-market-upkeep runs every minute in this database, as the role that scheduled it');
select matches((select command from cron.job where jobname = 'lumea-market-upkeep'),
  '^do \$job\$.*from public\.market_orders o\s+where o\.community_id = c\.id and o\.status in \(''active'', ''partial''\)'
  '.*from private\.settlement_runs s.*perform public\.match_orders\(v_community\);\s+perform public\.settle_intervals\(v_community\);\s+commit;',
  'its command clears each community with open orders, settles each with intervals due, and commits after each');
select is((select count(*)::integer from cron.job where command ~ 'public\.(match|expire)_orders'), 1,
  'and it is the only job doing so');
select is_empty($$ select from cron.job_run_details d join cron.job j using (jobid)
                    where j.jobname = 'lumea-market-upkeep' and d.status = 'failed' $$,
  'no run of it has failed');

select * from finish();
rollback;
