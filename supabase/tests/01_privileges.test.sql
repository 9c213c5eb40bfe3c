-- Who may do what through the API: every table in public behind RLS with the
-- policies we mean and no writes for anon or authenticated; every function in
-- public with its exact grants; the helpers in private, which the API roles
-- cannot use; and a function created later callable by nobody until granted.
-- Runs unchanged under `supabase test db` and pg_prove (scripts/test-supabase.sh).
begin;
create extension if not exists pgtap with schema extensions;
select plan(78);

-- Tables: all of them under row-level security ---------------------------------

select tables_are('public', array['market_orders', 'market_settings', 'open_orders', 'profiles', 'trades']);
select is_empty(
  $$ select c.relname from pg_catalog.pg_class c
      where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relrowsecurity $$,
  'every table in public has row-level security enabled');

-- Reading: authenticated reads four tables through their policies; anon reads
-- nothing; nobody but the market functions writes.
select table_privs_are('public', t, 'anon', '{}'::name[], 'anon has no privilege on public.' || t)
  from unnest(array['market_orders', 'market_settings', 'open_orders', 'profiles', 'trades']) t;
select table_privs_are('public', t, 'public', '{}'::name[], 'PUBLIC has no privilege on public.' || t)
  from unnest(array['market_orders', 'market_settings', 'open_orders', 'profiles', 'trades']) t;
select table_privs_are('public', t, 'authenticated', array['SELECT']::name[], 'authenticated may only read public.' || t)
  from unnest(array['market_orders', 'open_orders', 'profiles', 'trades']) t;
select table_privs_are('public', 'market_settings', 'authenticated', '{}'::name[],
  'authenticated has no privilege on public.market_settings');
select sequence_privs_are('public', s, r, '{}'::name[], r || ' has no privilege on public.' || s)
  from unnest(array['market_order_seq', 'trade_seq']) s, unnest(array['anon', 'authenticated']) r;

select policies_are('public', 'profiles', array['own profile']);
select policies_are('public', 'market_orders', array['open orders of my community, and all of mine']);
select policies_are('public', 'trades', array['trades I bought or sold']);
select policies_are('public', 'open_orders', array['open orders of my community']);
select is_empty($$ select from pg_catalog.pg_policies where schemaname = 'public' and tablename = 'market_settings' $$,
  'market_settings has no policy: nobody reads it through the API');
select policy_roles_are('public', t, p, array['authenticated'], 'policy "' || p || '" applies to authenticated only')
  from (values ('profiles', 'own profile'),
               ('market_orders', 'open orders of my community, and all of mine'),
               ('trades', 'trades I bought or sold'),
               ('open_orders', 'open orders of my community')) v(t, p);
select policy_cmd_is('public', t, p, 'select', 'policy "' || p || '" is for reading')
  from (values ('profiles', 'own profile'),
               ('market_orders', 'open orders of my community, and all of mine'),
               ('trades', 'trades I bought or sold'),
               ('open_orders', 'open orders of my community')) v(t, p);

-- Functions in public: exactly these, with exactly these grants -----------------

select functions_are('public', array['buy_now', 'cancel_order', 'expire_orders', 'match_orders', 'place_order']);

select function_privs_are('public', f, a, r,
                          case when r = any(g) then array['EXECUTE'] else '{}' end::name[],
                          r || case when r = any(g) then ' may' else ' may not' end || ' execute public.' || f)
  from (values
          ('place_order', array['uuid', 'text', 'numeric', 'numeric', 'timestamp with time zone'], array['authenticated', 'service_role']),
          ('cancel_order', array['uuid'], array['authenticated', 'service_role']),
          ('buy_now', array['uuid', 'numeric', 'uuid'], array['authenticated', 'service_role']),
          ('expire_orders', array['text'], array['service_role']),
          ('match_orders', array['text'], array['service_role'])
       ) v(f, a, g),
       unnest(array['public', 'anon', 'authenticated', 'service_role']) r;

select is_definer('public', f, a, 'public.' || f || ' runs as its owner')
  from (values
          ('place_order', array['uuid', 'text', 'numeric', 'numeric', 'timestamp with time zone']::name[]),
          ('cancel_order', array['uuid']::name[]),
          ('buy_now', array['uuid', 'numeric', 'uuid']::name[]),
          ('expire_orders', array['text']::name[]),
          ('match_orders', array['text']::name[])
       ) v(f, a);

-- Every function of ours looks types up in pg_catalog first, the temporary schema last.
select is_empty(
  $$ select p.oid::regprocedure from pg_catalog.pg_proc p
      where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)
        and not coalesce(p.proconfig, '{}') @> array['search_path=pg_catalog, pg_temp'] $$,
  'every function in public and private has search_path = pg_catalog, pg_temp');

-- The private schema: helpers and triggers, out of the API's reach --------------

select functions_are('private', array[
  'caller_id', 'caller_profile', 'coarse_degree', 'create_profile_for_new_user', 'describe_trade',
  'expire_due', 'fill_order', 'lock_community', 'mirror_open_order', 'touch_updated_at']);
select schema_privs_are('private', r, '{}'::name[], r || ' cannot use the schema private')
  from unnest(array['public', 'anon', 'authenticated', 'service_role']) r;
select is_empty(
  $$ select p.oid::regprocedure, r from pg_catalog.pg_proc p, unnest(array['public', 'anon', 'authenticated', 'service_role']) r
      where p.pronamespace = 'private'::regnamespace and pg_catalog.has_function_privilege(r, p.oid, 'EXECUTE') $$,
  'no function in private is executable by PUBLIC, anon, authenticated or service_role');
-- The triggers fire their functions from private.
select trigger_is('auth', 'users', 'on_auth_user_created', 'private', 'create_profile_for_new_user');
select trigger_is('public', 'market_orders', 'market_orders_updated_at', 'private', 'touch_updated_at');
select trigger_is('public', 'profiles', 'profiles_updated_at', 'private', 'touch_updated_at');
select trigger_is('public', 'market_orders', 'mirror_open_order', 'private', 'mirror_open_order');
select trigger_is('public', 'trades', 'describe_trade', 'private', 'describe_trade');

-- A function added later is callable by nobody until it is granted ---------------

create function public.added_later() returns integer language sql set search_path = pg_catalog, pg_temp as 'select 1';
create function private.added_later() returns integer language sql set search_path = pg_catalog, pg_temp as 'select 1';
select function_privs_are(s, 'added_later', '{}'::name[], r, '{}'::name[],
                          r || ' may not execute a function added later to ' || s)
  from unnest(array['public', 'private']) s, unnest(array['public', 'anon', 'authenticated']) r;

select * from finish();
rollback;
