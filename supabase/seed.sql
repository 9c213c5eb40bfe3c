-- Demo neighbourhood for a local Supabase (`supabase start` / `supabase db reset`
-- runs this after the migrations): the product guide's neighbours as the active
-- members of the community "demo" (Alice runs it), with a few open orders,
-- placed through the market functions as each user would.
-- Never run it on a production project.

-- The sign-up metadata sets each home (coarsened); a community is joined with
-- an invitation only, so the memberships are written here as the operator.
insert into auth.users (id, aud, role, email, raw_user_meta_data) values
  ('a11ce000-0000-4000-8000-000000000001', 'authenticated', 'authenticated', 'alice@example.com', '{"lat":"52.3702","lng":"4.8952"}'),
  ('b0b00000-0000-4000-8000-000000000002', 'authenticated', 'authenticated', 'bob@example.com', '{"lat":"52.3745","lng":"4.8890"}'),
  ('c4a41e00-0000-4000-8000-000000000003', 'authenticated', 'authenticated', 'charlie@example.com', '{"lat":"52.3660","lng":"4.9030"}'),
  ('d1a4a000-0000-4000-8000-000000000004', 'authenticated', 'authenticated', 'diana@example.com', '{"lat":"52.3688","lng":"4.8810"}');

insert into public.communities (id, name) values ('demo', 'Demo Street');
insert into public.memberships (community_id, user_id, display_name, role, status, approved_at) values
  ('demo', 'a11ce000-0000-4000-8000-000000000001', 'Alice', 'admin', 'active', now()),
  ('demo', 'b0b00000-0000-4000-8000-000000000002', 'Bob', 'member', 'active', now()),
  ('demo', 'c4a41e00-0000-4000-8000-000000000003', 'Charlie', 'member', 'active', now()),
  ('demo', 'd1a4a000-0000-4000-8000-000000000004', 'Diana', 'member', 'active', now());

-- Each order as its owner: the functions take the user from the JWT claims.
create function pg_temp.place_as(p_user uuid, p_id uuid, p_type text, p_price numeric, p_amount numeric) returns void
language plpgsql as $$
begin
  perform set_config('request.jwt.claims', json_build_object('sub', p_user, 'role', 'authenticated')::text, true);
  perform public.place_order(p_id, p_type, p_price, p_amount);
end
$$;

select pg_temp.place_as('b0b00000-0000-4000-8000-000000000002', '5e110000-0000-4000-8000-000000000001', 'sell', 0.17, 5);
select pg_temp.place_as('c4a41e00-0000-4000-8000-000000000003', '5e110000-0000-4000-8000-000000000002', 'sell', 0.175, 6);
select pg_temp.place_as('d1a4a000-0000-4000-8000-000000000004', 'b1d00000-0000-4000-8000-000000000003', 'buy', 0.15, 10);
select pg_temp.place_as('a11ce000-0000-4000-8000-000000000001', 'b1d00000-0000-4000-8000-000000000004', 'buy', 0.14, 4);
