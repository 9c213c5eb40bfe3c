-- STAND-IN FOR THE HOSTED SUPABASE PLATFORM, for tests on a bare PostgreSQL 15.
-- Not a migration of this project: a Supabase project already has all of this.
-- It recreates what our migrations rely on, as Supabase defines it: the API
-- roles, the auth schema with auth.users and auth.uid()/jwt()/role(), the
-- extensions schema, the default privileges Supabase grants on public, and the
-- realtime publication. Idempotent: roles are cluster-wide and shared by test
-- databases. (Kept out of supabase/tests: `supabase test db` runs every .sql
-- file there as a pgTAP test.)

-- Roles are cluster-wide: test databases made side by side may race to create
-- them, so a role another session created meanwhile counts as created.
do $$
declare
  v_role text;
begin
  foreach v_role in array array['anon', 'authenticated', 'service_role', 'authenticator'] loop
    begin
      if not exists (select from pg_roles where rolname = v_role) then
        execute format('create role %I %s', v_role, case v_role
          when 'service_role' then 'nologin noinherit bypassrls'
          when 'authenticator' then 'login noinherit'
          else 'nologin noinherit' end);
      end if;
    exception when unique_violation or duplicate_object then
      null;
    end;
  end loop;
end
$$;
grant anon, authenticated, service_role to authenticator;

create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

create table if not exists auth.users (
  id uuid primary key,
  aud text,
  role text,
  email text unique,
  raw_user_meta_data jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);

-- As Supabase defines them (supabase/auth's migrations, search_path ''): the
-- claims PostgREST sets for each request.
create or replace function auth.jwt() returns jsonb language sql stable set search_path = '' as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

create or replace function auth.uid() returns uuid language sql stable set search_path = '' as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text language sql stable set search_path = '' as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

grant execute on function auth.jwt(), auth.uid(), auth.role() to anon, authenticated, service_role;

-- Extensions live in their own schema, on the search path (Supabase sets it on
-- the role postgres; here on the database, so that a shared cluster's other
-- databases keep theirs). pgTAP goes there too (`supabase test db` creates it so).
create schema if not exists extensions;
grant usage on schema extensions to anon, authenticated, service_role;
do $$
begin
  execute format('alter database %I set search_path = "$user", public, extensions', current_database());
end
$$;

-- Supabase grants the API roles everything on public by default; RLS and
-- explicit revokes are what protect a table.
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;

do $$
begin
  if not exists (select from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end
$$;
