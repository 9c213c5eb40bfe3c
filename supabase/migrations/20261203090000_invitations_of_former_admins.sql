-- An invitation speaks for the admin who made it. Once that admin is no longer
-- an active admin of its community (suspended, or made a member), what it
-- handed out lets nobody in: its open invitations are revoked, as the console
-- then shows them. The operator's (made by the service, no maker) stay valid.

create function private.revoke_invitations_of_former_admin() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  if old.role = 'admin' and old.status = 'active' and (new.role <> 'admin' or new.status <> 'active') then
    update private.invitations i
       set revoked_at = pg_catalog.now()
     where i.created_by = old.id and i.revoked_at is null;
  end if;
  return new;
end
$$;
revoke all on function private.revoke_invitations_of_former_admin() from public, anon, authenticated;

create trigger invitations_of_former_admin
  after update of role, status on public.memberships
  for each row execute function private.revoke_invitations_of_former_admin();
