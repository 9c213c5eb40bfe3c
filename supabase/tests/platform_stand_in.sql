-- STAND-IN FOR THE HOSTED SUPABASE PLATFORM, for tests on a bare PostgreSQL 15.
-- Not a migration of this project: a Supabase project already has all of this.
-- It recreates what our migrations rely on, as Supabase defines it: the API
-- roles, the auth schema with auth.users and auth.uid()/jwt()/role(), the
-- default privileges Supabase grants on public, and the realtime publication.
-- Idempotent: roles are cluster-wide and shared by test databases.

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

-- As Supabase defines them: the claims PostgREST sets for each request.
create or replace function auth.jwt() returns jsonb language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

create or replace function auth.uid() returns uuid language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

grant execute on function auth.jwt(), auth.uid(), auth.role() to anon, authenticated, service_role;

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
