-- The pg_cron job's command, run for real: as pg_cron sends it (one top-level
-- statement on a session of its own), over more communities than one
-- transaction can hold the locks of on this cluster. Every community's book is
-- cleared and its due ask expired, each community in a transaction of its own;
-- and a community with no open order but an ended interval to settle is settled.
-- It commits, so it is not in supabase/tests (`supabase test db` runs those in
-- transactions it rolls back) but run by scripts/test-supabase.sh on its
-- throwaway cluster, after them; it removes what it made.
--
-- Needs a cluster whose lock table cannot hold the advisory locks of that many
-- communities in one transaction (scripts/test-supabase.sh: max_connections =
-- 20, max_locks_per_transaction = 16); the first test checks that it cannot.
\set ON_ERROR_STOP 1
set lumea_test.communities = 2000;
create extension if not exists pgtap with schema extensions;
select plan(13);

select throws_ok(
  $$ select count(pg_advisory_xact_lock(hashtextextended('lumea.market:upkeep-' || i, 0)))
       from generate_series(1, current_setting('lumea_test.communities')::integer) i $$,
  '53200', null,
  'one transaction cannot hold the locks of all the communities on this cluster (out of shared memory)');

-- A buyer and a seller (members of upkeep-1); each community has a crossed
-- pair and an ask that fell due a second ago, written as the database owner (as
-- a book left crossed by something other than place_order would be).
insert into auth.users (id) values ('0b0e0000-0000-4000-8000-0000000000b1'), ('05e10000-0000-4000-8000-0000000000e1');
insert into public.communities (id, name)
select 'upkeep-' || i, 'Upkeep ' || i from generate_series(1, current_setting('lumea_test.communities')::integer) i;
insert into public.memberships (community_id, user_id, display_name, role, status, approved_at) values
  ('upkeep-1', '0b0e0000-0000-4000-8000-0000000000b1', 'Upkeep buyer', 'admin', 'active', now()),
  ('upkeep-1', '05e10000-0000-4000-8000-0000000000e1', 'Upkeep seller', 'member', 'active', now());
insert into public.market_orders (id, user_id, username, community_id, type, price, amount, expires_at)
select gen_random_uuid(), o.user_id, o.username, 'upkeep-' || i, o.type, o.price, o.amount,
       case when o.due then now() - interval '1 second' end
  from generate_series(1, current_setting('lumea_test.communities')::integer) i,
       (values ('0b0e0000-0000-4000-8000-0000000000b1'::uuid, 'Upkeep buyer', 'buy', 0.20, 3, false),
               ('05e10000-0000-4000-8000-0000000000e1'::uuid, 'Upkeep seller', 'sell', 0.15, 2, false),
               ('05e10000-0000-4000-8000-0000000000e1'::uuid, 'Upkeep seller', 'sell', 0.10, 1, true))
         o(user_id, username, type, price, amount, due)
 order by i, o.type desc;

-- The community settle-1 has no open order, but a trade of 1 kWh at 0.15 for an
-- interval that ended an hour ago, with both households' readings (written as
-- the database owner): the job settles it.
insert into auth.users (id) values ('5e771000-0000-4000-8000-0000000000b1'), ('5e771000-0000-4000-8000-0000000000e1');
insert into public.communities (id, name) values ('settle-1', 'Settle 1');
insert into public.memberships (id, community_id, user_id, display_name, role, status, approved_at) values
  ('5e771000-0000-4000-8000-0000000000b2', 'settle-1', '5e771000-0000-4000-8000-0000000000b1', 'Settle buyer', 'admin', 'active', now()),
  ('5e771000-0000-4000-8000-0000000000e2', 'settle-1', '5e771000-0000-4000-8000-0000000000e1', 'Settle seller', 'member', 'active', now());
select to_timestamp((floor(extract(epoch from now()) / 900) - 4) * 900) as ended \gset
insert into public.market_orders (id, user_id, username, community_id, type, price, amount, filled_amount, status, delivery_start) values
  ('5e771000-0000-4000-8000-0000000000b3', '5e771000-0000-4000-8000-0000000000b1', 'Settle buyer', 'settle-1', 'buy', 0.15, 1, 1, 'filled', :'ended'),
  ('5e771000-0000-4000-8000-0000000000e3', '5e771000-0000-4000-8000-0000000000e1', 'Settle seller', 'settle-1', 'sell', 0.15, 1, 1, 'filled', :'ended');
insert into public.trades (id, community_id, buy_order_id, sell_order_id, buyer_id, seller_id, price, amount, delivery_start)
values ('5e771000-0000-4000-8000-0000000000f1', 'settle-1', '5e771000-0000-4000-8000-0000000000b3', '5e771000-0000-4000-8000-0000000000e3',
        '5e771000-0000-4000-8000-0000000000b1', '5e771000-0000-4000-8000-0000000000e1', 0.15, 1, :'ended');
insert into public.meter_readings (community_id, membership_id, delivery_start, revision, import_kwh, export_kwh, source) values
  ('settle-1', '5e771000-0000-4000-8000-0000000000b2', :'ended', 1, 1, 0, 'operator'),
  ('settle-1', '5e771000-0000-4000-8000-0000000000e2', :'ended', 1, 0, 1, 'operator');

-- The job's command, taken from pg_cron and sent as pg_cron sends it.
select command as upkeep from cron.job where jobname = 'lumea-market-upkeep' \gset
:upkeep;

select is((select count(*)::integer from public.trades where community_id like 'upkeep-%'),
  current_setting('lumea_test.communities')::integer, 'one trade in each community');
select is((select count(distinct community_id)::integer from public.trade_prints where community_id like 'upkeep-%'),
  current_setting('lumea_test.communities')::integer, 'with its print in each community');
select is_empty(
  $$ select b.community_id from public.market_orders b join public.market_orders a
        on a.community_id = b.community_id and a.type = 'sell' and b.type = 'buy'
       and a.status in ('active', 'partial') and b.status in ('active', 'partial')
       and a.user_id <> b.user_id and b.price >= a.price
     where b.community_id like 'upkeep-%' $$,
  'no book is left crossed');
select results_eq(
  $$ select type, price::text, status, filled_amount::text, count(*)::integer from public.market_orders
      where community_id like 'upkeep-%' group by 1, 2, 3, 4 order by 1, 2 $$,
  $$ select v.*, current_setting('lumea_test.communities')::integer
       from (values ('buy', '0.2000', 'partial', '2.00'),
                    ('sell', '0.1000', 'expired', '0.00'),
                    ('sell', '0.1500', 'filled', '2.00')) v $$,
  'in every community the due ask expired first and the bid took the other ask at its price');
select is((select count(distinct xmin::text)::integer from public.trades where community_id like 'upkeep-%'),
  current_setting('lumea_test.communities')::integer, 'each community''s trade was committed by a transaction of its own');
select is_empty(
  $$ select t.community_id from public.trades t join public.market_orders o using (community_id)
      where t.community_id like 'upkeep-%' and o.xmin <> t.xmin $$,
  'and each community''s orders changed in the same transaction as its trade');
select is((select count(*)::integer from public.open_orders where community_id like 'upkeep-%'),
  current_setting('lumea_test.communities')::integer, 'the realtime mirror holds each community''s partly filled bid alone');
select is((select string_agg(concat_ws(' ', revision, delivered_kwh, buyer_pays, seller_receives, fees), ',')
             from public.settlements where community_id = 'settle-1'),
  '1 1.000 0.150000 0.150000 0.000000', 'settle-1''s trade is settled: 1 kWh delivered for 0.15');
select is((select count(*)::integer from public.trades t
            where t.community_id like 'upkeep-%' and t.xmin = (select s.xmin from public.settlements s where s.community_id = 'settle-1')), 0,
  'in a transaction of its own');

-- Running it again finds nothing to do.
:upkeep;
select is((select count(*)::integer from public.trades where community_id like 'upkeep-%'),
  current_setting('lumea_test.communities')::integer, 'run again, it trades nothing more');
select is((select count(*)::integer from public.settlements where community_id = 'settle-1'), 1, 'and settles nothing again');
select is_empty($$ select from cron.job_run_details d join cron.job j using (jobid)
                    where j.jobname = 'lumea-market-upkeep' and d.status = 'failed' $$,
  'no run of the job by pg_cron itself has failed');

-- What this made goes again (settlements, readings and settlement runs first,
-- then each trade's sides and print, trades and the mirror: they refer to the
-- orders; the members with their users).
delete from public.settlements where community_id = 'settle-1';
delete from public.meter_readings where community_id = 'settle-1';
delete from private.settlement_runs where community_id = 'settle-1';
delete from public.household_trades where community_id like 'upkeep-%' or community_id = 'settle-1';
delete from public.trade_prints where community_id like 'upkeep-%' or community_id = 'settle-1';
delete from public.trades where community_id like 'upkeep-%' or community_id = 'settle-1';
delete from public.open_orders where community_id like 'upkeep-%';
delete from public.market_orders where community_id like 'upkeep-%' or community_id = 'settle-1';
delete from auth.users where id in ('0b0e0000-0000-4000-8000-0000000000b1', '05e10000-0000-4000-8000-0000000000e1',
                                    '5e771000-0000-4000-8000-0000000000b1', '5e771000-0000-4000-8000-0000000000e1');
delete from public.communities where id like 'upkeep-%' or id = 'settle-1';

select * from finish();
