-- A community's feed-in price stays below its grid price, as the market's
-- rule says (lumea_market::energy::GridPrices::is_ordered): otherwise a
-- household would buy from the grid to sell straight back to it. Checked on
-- the row, so update_community_settings (and the service) refuse it with the
-- market's code.

create function private.check_grid_prices() returns trigger
language plpgsql set search_path = pg_catalog, pg_temp as $$
begin
  if new.grid_sell_price >= new.grid_buy_price then
    raise exception 'invalid_setting';
  end if;
  return new;
end
$$;
revoke all on function private.check_grid_prices() from public, anon, authenticated;

create trigger grid_prices_in_order
  before insert or update of grid_buy_price, grid_sell_price on public.communities
  for each row execute function private.check_grid_prices();
