-- The market's upkeep every minute, with pg_cron: for each community with open
-- orders, public.match_orders(community) (due orders expire, then any crossed
-- book is cleared), committed before the next community, so one transaction
-- never holds more than one community's lock and one community's work never
-- waits for another's.
--
-- The job's command is a DO block, not a procedure: a procedure that COMMITs
-- may not carry SET search_path (PostgreSQL makes it atomic), and a procedure
-- without it is what Supabase's advisor flags (function_search_path_mutable).
-- pg_cron runs the command as one top-level statement, where COMMIT is allowed.
--
-- pg_cron exists only where the server preloads it (shared_preload_libraries)
-- and only in the database named by cron.database_name: a hosted Supabase
-- project has both (database postgres). Elsewhere, such as the databases the
-- Rust tests create per test, creating the extension fails; this migration then
-- schedules nothing and says so, and the upkeep is whoever runs the command.
do $schedule$
begin
  begin
    -- In pg_catalog, as Supabase installs it (its objects are in the schema cron).
    create extension if not exists pg_cron with schema pg_catalog;
  exception when others then
    raise notice 'pg_cron cannot be created in database % (%): the market upkeep is not scheduled here',
      pg_catalog.current_database(), sqlerrm;
    return;
  end;
  -- By name: applying this again replaces the job rather than adding one.
  perform cron.schedule('lumea-market-upkeep', '* * * * *', $upkeep$do $job$
declare
  v_community pg_catalog.text;
begin
  for v_community in
    select distinct o.community_id from public.market_orders o
     where o.status in ('active', 'partial')
     order by 1
  loop
    perform public.match_orders(v_community);
    commit;
  end loop;
end
$job$
$upkeep$);
end
$schedule$;
