-- Who may do what through the API: every table in public behind RLS with the
-- policies we mean and no writes for anon or authenticated; every function in
-- public with its exact grants; the helpers, invitations and settlement runs in private,
-- which the API roles cannot use; and a function created later callable by
-- nobody until granted.
-- Runs unchanged under `supabase test db` and pg_prove (scripts/test-supabase.sh).
begin;
create extension if not exists pgtap with schema extensions;
select plan(210);

-- Tables: all of them under row-level security ---------------------------------

select tables_are('public', array['communities', 'household_trades', 'market_orders', 'memberships', 'meter_readings',
                                  'open_orders', 'profiles', 'settlements', 'trade_prints', 'trades']);
select is_empty(
  $$ select c.relname from pg_catalog.pg_class c
      where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relrowsecurity $$,
  'every table in public has row-level security enabled');
select is_empty(
  $$ select c.relname from pg_catalog.pg_class c
      where c.relnamespace = 'public'::regnamespace and c.relkind in ('v', 'm', 'f') $$,
  'public has no view, materialized view or foreign table (which RLS would not cover)');

-- Reading: authenticated reads nine tables through their policies; anon reads
-- nothing; nobody but the market functions writes; trades are the server's.
select table_privs_are('public', t, 'anon', '{}'::name[], 'anon has no privilege on public.' || t)
  from unnest(array['communities', 'household_trades', 'market_orders', 'memberships', 'meter_readings',
                    'open_orders', 'profiles', 'settlements', 'trade_prints', 'trades']) t;
select table_privs_are('public', t, 'public', '{}'::name[], 'PUBLIC has no privilege on public.' || t)
  from unnest(array['communities', 'household_trades', 'market_orders', 'memberships', 'meter_readings',
                    'open_orders', 'profiles', 'settlements', 'trade_prints', 'trades']) t;
select table_privs_are('public', t, 'authenticated', array['SELECT']::name[], 'authenticated may only read public.' || t)
  from unnest(array['communities', 'household_trades', 'market_orders', 'memberships', 'meter_readings',
                    'open_orders', 'profiles', 'settlements', 'trade_prints']) t;
select table_privs_are('public', 'trades', 'authenticated', '{}'::name[],
  'authenticated has no privilege on public.trades (each party reads its side in household_trades)');
select sequence_privs_are('public', s, r, '{}'::name[], r || ' has no privilege on public.' || s)
  from unnest(array['market_order_seq', 'trade_seq']) s, unnest(array['anon', 'authenticated']) r;

select policies_are('public', 'profiles', array['own profile']);
select policies_are('public', 'market_orders', array['my orders']);
select policies_are('public', 'open_orders', array['open orders of my active community']);
select policies_are('public', 'communities', array['my community']);
select policies_are('public', 'memberships', array['my membership']);
select policies_are('public', 'household_trades', array['my side of my trades']);
select policies_are('public', 'trade_prints', array['prints of my active community']);
select policies_are('public', 'meter_readings', array['my meter readings, my community''s for its admins']);
select policies_are('public', 'settlements', array['settlements of my trades, my community''s for its admins']);
select is_empty($$ select from pg_catalog.pg_policies where schemaname = 'public' and tablename = 'trades' $$,
  'trades has no policy: nobody reads it through the API');
select policy_roles_are('public', t, p, array['authenticated'], 'policy "' || p || '" applies to authenticated only')
  from (values ('profiles', 'own profile'),
               ('market_orders', 'my orders'),
               ('open_orders', 'open orders of my active community'),
               ('communities', 'my community'),
               ('memberships', 'my membership'),
               ('household_trades', 'my side of my trades'),
               ('trade_prints', 'prints of my active community'),
               ('meter_readings', 'my meter readings, my community''s for its admins'),
               ('settlements', 'settlements of my trades, my community''s for its admins')) v(t, p);
select policy_cmd_is('public', t, p, 'select', 'policy "' || p || '" is for reading')
  from (values ('profiles', 'own profile'),
               ('market_orders', 'my orders'),
               ('open_orders', 'open orders of my active community'),
               ('communities', 'my community'),
               ('memberships', 'my membership'),
               ('household_trades', 'my side of my trades'),
               ('trade_prints', 'prints of my active community'),
               ('meter_readings', 'my meter readings, my community''s for its admins'),
               ('settlements', 'settlements of my trades, my community''s for its admins')) v(t, p);

-- Realtime publishes what its subscribers may read, and not the trades table.
select set_eq(
  $$ select tablename::text from pg_catalog.pg_publication_tables where pubname = 'supabase_realtime' and schemaname = 'public' $$,
  array['market_orders', 'open_orders', 'memberships', 'communities', 'household_trades', 'trade_prints'],
  'realtime publishes orders, the open book, memberships, communities, household trades and prints, not trades');

-- Functions in public: exactly these, with exactly these grants -----------------

select functions_are('public', array[
  'book_page', 'buy_now', 'cancel_order', 'community_invitations', 'community_members', 'create_community',
  'create_invitation', 'expire_orders', 'import_meter_readings', 'invite_admin', 'join_community', 'manage_member',
  'match_orders', 'my_membership', 'order_distances', 'place_order', 'revoke_invitation', 'settle_interval',
  'settle_intervals', 'submit_meter_reading', 'update_community_settings', 'update_home']);

create temporary table api (f name, a name[], g name[]);
insert into pg_temp.api values
  ('place_order', array['uuid', 'text', 'numeric', 'numeric', 'timestamp with time zone', 'timestamp with time zone'],
   array['authenticated', 'service_role']),
  ('cancel_order', array['uuid'], array['authenticated', 'service_role']),
  ('buy_now', array['uuid', 'numeric', 'uuid'], array['authenticated', 'service_role']),
  ('order_distances', array['uuid[]'], array['authenticated', 'service_role']),
  ('book_page', array['bigint'], array['authenticated', 'service_role']),
  ('my_membership', array[]::name[], array['authenticated', 'service_role']),
  ('join_community', array['text', 'text', 'text'], array['authenticated', 'service_role']),
  ('update_home', array['numeric', 'numeric'], array['authenticated', 'service_role']),
  ('community_members', array['text'], array['authenticated', 'service_role']),
  ('manage_member', array['text', 'uuid', 'text'], array['authenticated', 'service_role']),
  ('create_invitation', array['text', 'integer', 'timestamp with time zone', 'boolean'], array['authenticated', 'service_role']),
  ('community_invitations', array['text'], array['authenticated', 'service_role']),
  ('revoke_invitation', array['text', 'uuid'], array['authenticated', 'service_role']),
  ('update_community_settings', array['text', 'text', 'numeric', 'numeric', 'numeric', 'numeric', 'numeric', 'integer',
                                  'integer', 'integer', 'integer', 'integer', 'numeric', 'numeric', 'boolean'],
   array['authenticated', 'service_role']),
  ('submit_meter_reading', array['timestamp with time zone', 'numeric', 'numeric'], array['authenticated', 'service_role']),
  ('import_meter_readings', array['text', 'jsonb'], array['authenticated', 'service_role']),
  ('expire_orders', array['text'], array['service_role']),
  ('match_orders', array['text'], array['service_role']),
  ('create_community', array['text', 'text'], array['service_role']),
  ('invite_admin', array['text'], array['service_role']),
  ('settle_interval', array['text', 'timestamp with time zone'], array['service_role']),
  ('settle_intervals', array['text'], array['service_role']);

select is((select count(*)::integer from pg_temp.api), 22, 'the grants below cover every function in public');
select function_privs_are('public', f, a, r,
                          case when r = any(g) then array['EXECUTE'] else '{}' end::name[],
                          r || case when r = any(g) then ' may' else ' may not' end || ' execute public.' || f)
  from pg_temp.api, unnest(array['public', 'anon', 'authenticated', 'service_role']) r
 order by f, r;

select is_definer('public', f, a, 'public.' || f || ' runs as its owner') from pg_temp.api order by f;

-- Every function of ours looks types up in pg_catalog first, the temporary schema last.
select is_empty(
  $$ select p.oid::regprocedure from pg_catalog.pg_proc p
      where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)
        and not coalesce(p.proconfig, '{}') @> array['search_path=pg_catalog, pg_temp'] $$,
  'every function in public and private has search_path = pg_catalog, pg_temp');

-- The private schema: helpers, triggers, invitations and settlement runs, out of the API's reach --

select functions_are('private', array[
  'active_community', 'caller_admin', 'caller_id', 'caller_member', 'caller_membership',
  'check_community_limits', 'check_grid_prices', 'clean_name', 'coarse_degree', 'create_profile_for_new_user', 'describe_trade',
  'display_name', 'distance_km', 'expire_due', 'fill_order', 'interval_aligned', 'invitation_answer', 'json_decimal',
  'json_instant', 'keep_an_admin', 'lock_community', 'make_invitation', 'member_answer', 'membership_answer',
  'mirror_open_order', 'new_token', 'publish_trade', 'reading_is_current', 'reading_refusal', 'record_reading',
  'revoke_invitations_of_former_admin', 'settle', 'touch_updated_at']);
select tables_are('private', array['invitations', 'settlement_runs']);
select schema_privs_are('private', r, '{}'::name[], r || ' cannot use the schema private')
  from unnest(array['public', 'anon', 'authenticated', 'service_role']) r;
select table_privs_are('private', t, r, '{}'::name[], r || ' has no privilege on private.' || t)
  from unnest(array['invitations', 'settlement_runs']) t, unnest(array['public', 'anon', 'authenticated', 'service_role']) r;
select is_empty(
  $$ select p.oid::regprocedure, r from pg_catalog.pg_proc p, unnest(array['public', 'anon', 'authenticated', 'service_role']) r
      where p.pronamespace = 'private'::regnamespace and pg_catalog.has_function_privilege(r, p.oid, 'EXECUTE') $$,
  'no function in private is executable by PUBLIC, anon, authenticated or service_role');
-- The triggers fire their functions from private.
select trigger_is('auth', 'users', 'on_auth_user_created', 'private', 'create_profile_for_new_user');
select trigger_is('public', 'market_orders', 'market_orders_updated_at', 'private', 'touch_updated_at');
select trigger_is('public', 'memberships', 'invitations_of_former_admin', 'private', 'revoke_invitations_of_former_admin');
select trigger_is('public', 'communities', 'grid_prices_in_order', 'private', 'check_grid_prices');
select trigger_is('public', 'profiles', 'profiles_updated_at', 'private', 'touch_updated_at');
select trigger_is('public', 'communities', 'communities_updated_at', 'private', 'touch_updated_at');
select trigger_is('public', 'memberships', 'memberships_updated_at', 'private', 'touch_updated_at');
select trigger_is('public', 'market_orders', 'mirror_open_order', 'private', 'mirror_open_order');
select trigger_is('public', 'trades', 'describe_trade', 'private', 'describe_trade');
select trigger_is('public', 'trades', 'publish_trade', 'private', 'publish_trade');

-- A function added later is callable by nobody until it is granted ---------------

create function public.added_later() returns integer language sql set search_path = pg_catalog, pg_temp as 'select 1';
create function private.added_later() returns integer language sql set search_path = pg_catalog, pg_temp as 'select 1';
select function_privs_are(s, 'added_later', '{}'::name[], r, '{}'::name[],
                          r || ' may not execute a function added later to ' || s)
  from unnest(array['public', 'private']) s, unnest(array['public', 'anon', 'authenticated']) r;

select * from finish();
rollback;
