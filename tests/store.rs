//! The local market on real SQLite files: household flows, energy rules,
//! restart, bad input, concurrency, migrations and the demo neighbourhood.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use lumea_market::{Side, Status};
use lumea_store::clock::ManualClock;
use lumea_store::simulator::{self, Simulator};
use lumea_store::{Durability, Error, LocalMarket, OpenOptions, OrderFilter, Page, PlaceRequest};
use sqlx::{Connection, Row, SqliteConnection};
use uuid::Uuid;

fn clock() -> ManualClock {
    ManualClock::new(Utc.with_ymd_and_hms(2026, 6, 1, 17, 0, 0).unwrap())
}

async fn open(path: &Path, clock: &ManualClock) -> LocalMarket {
    LocalMarket::open(path, Arc::new(clock.clone()), OpenOptions::default()).await.unwrap()
}

fn file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("market.sqlite");
    (dir, path)
}

fn place(side: Side, price: &str, amount: &str) -> PlaceRequest {
    PlaceRequest {
        id: Uuid::new_v4(),
        side,
        price: price.into(),
        amount: amount.into(),
        expires_at: None,
        interval: None,
    }
}

fn code<T>(result: Result<T, Error>) -> String {
    match result {
        Ok(_) => panic!("expected a refusal"),
        Err(err) => err.code().to_string(),
    }
}

async fn ask_of(market: &LocalMarket, username: &str) -> Uuid {
    let book = market.book().await.unwrap();
    book.asks.iter().find(|o| o.username == username).unwrap().id.parse().unwrap()
}

/// Every row of every table, as text, for "nothing changed" comparisons.
async fn dump(path: &Path) -> Vec<String> {
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let tables: Vec<String> = sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut rows = Vec::new();
    for table in tables {
        let query = format!("SELECT * FROM {table}");
        for row in sqlx::query(&query).fetch_all(&mut conn).await.unwrap() {
            let columns = (0..sqlx::Row::len(&row))
                .map(|i| {
                    let value: Option<String> = row.try_get::<Option<String>, _>(i).ok().flatten();
                    let number: Option<i64> = row.try_get::<Option<i64>, _>(i).ok().flatten();
                    format!("{value:?}/{number:?}")
                })
                .collect::<Vec<_>>()
                .join("|");
            rows.push(format!("{table}: {columns}"));
        }
    }
    rows.sort();
    rows
}

#[tokio::test]
async fn a_new_file_opens_on_the_demo_neighbourhood_with_the_guide_book() {
    let (_dir, path) = file();
    let market = open(&path, &clock()).await;
    let book = market.book().await.unwrap();
    let asks: Vec<_> = book
        .asks
        .iter()
        .map(|o| (o.username.as_str(), o.price.to_string(), o.remaining.to_string()))
        .collect();
    assert_eq!(
        asks,
        [
            ("Bob", "0.17".into(), "5".into()),
            ("Erin", "0.175".into(), "6".into()),
            ("Frank", "0.185".into(), "4".into()),
            ("Heidi", "0.19".into(), "8".into())
        ]
    );
    let bids: Vec<_> = book.bids.iter().map(|o| (o.username.as_str(), o.price.to_string())).collect();
    assert_eq!(bids, [("Diana", "0.15".into()), ("Grace", "0.14".into())]);
    assert_eq!(book.asks[0].status, Status::Partial);
    // Distances come from coarse locations: Bob lives 0.006° south and 0.002° east.
    let bob = book.asks[0].distance_km.unwrap();
    assert!(bob > "0.6".parse().unwrap() && bob < "0.8".parse().unwrap(), "{bob}");
    let charlie = market.trader("Charlie").await.unwrap();
    let trades = charlie.trades(Page::first(10)).await.unwrap();
    assert_eq!(trades.len(), 2);
    let energy = market.household().energy().await.unwrap();
    assert_eq!(
        (energy.capacity.to_string(), energy.level.to_string(), energy.headroom.to_string()),
        ("13.5".into(), "8.5".into(), "5".into())
    );
    market.verify().await.unwrap();
}

#[tokio::test]
async fn buying_part_of_an_ask_contracts_energy_that_stays_reserved_until_delivery() {
    let (_dir, path) = file();
    let market = open(&path, &clock()).await;
    let mut events = market.subscribe();
    let bob = ask_of(&market, "Bob").await;
    let me = market.household();
    let outcome = me.buy_now(bob, "3").await.unwrap();
    let trade = &outcome.trades[0];
    assert_eq!(
        (
            trade.seller.as_str(),
            trade.price.to_string(),
            trade.amount.to_string(),
            trade.total.to_string()
        ),
        ("Bob", "0.17".into(), "3".into(), "0.51".into())
    );
    assert_eq!(trade.buy_order, None);
    // A contract for the opening book's interval: nothing moves yet, the room and the energy are reserved,
    // and CO2 tokens come with the settlement of what is delivered.
    let energy = me.energy().await.unwrap();
    assert_eq!(
        (
            energy.level.to_string(),
            energy.reserved_for_bids.to_string(),
            energy.headroom.to_string()
        ),
        ("8.5".into(), "3".into(), "2".into())
    );
    assert_eq!(energy.co2_tokens.to_string(), "0");
    let bob_energy = market.trader("Bob").await.unwrap().energy().await.unwrap();
    assert_eq!(
        (bob_energy.level.to_string(), bob_energy.reserved_for_asks.to_string()),
        ("18".into(), "15".into())
    );
    assert_eq!(code(me.buy_now(bob, "2.01").await), "exceeds_available");
    let erin = ask_of(&market, "Erin").await;
    assert_eq!(code(me.buy_now(erin, "2.01").await), "exceeds_battery");
    let mine = me.trades(Page::first(10)).await.unwrap();
    assert_eq!(mine.len(), 1);
    // The view sent as the trade happened is the one read back from the file.
    assert_eq!(mine[0], outcome.trades[0]);
    assert_eq!((format!("{:?}", mine[0].role), mine[0].taker), ("Bought".into(), Side::Buy));
    assert!(
        !mine[0].filled_resting_order_of_viewer(),
        "my own purchase is no fill of a waiting order of mine"
    );
    let bobs = market.trader("Bob").await.unwrap().trades(Page::first(10)).await.unwrap();
    assert!(bobs[0].filled_resting_order_of_viewer(), "for Bob it is");
    let mut seen = Vec::new();
    while let Ok(event) = events.try_recv() {
        seen.push(serde_json::to_value(&event).unwrap()["type"].as_str().unwrap().to_string());
    }
    assert!(
        seen.contains(&"trade_executed".into()) && seen.contains(&"energy_changed".into()) && seen.contains(&"book_changed".into()),
        "{seen:?}"
    );
    assert!(seen.contains(&"order_updated".into()));
    market.verify().await.unwrap();
}

#[tokio::test]
async fn selling_is_limited_by_stored_energy_and_cancel_releases_it() {
    let (_dir, path) = file();
    let market = open(&path, &clock()).await;
    let me = market.household();
    let ask = place(Side::Sell, "0.25", "8");
    me.place(&ask).await.unwrap();
    assert_eq!(me.energy().await.unwrap().sellable.to_string(), "0.5");
    assert_eq!(code(me.place(&place(Side::Sell, "0.25", "1")).await), "insufficient_energy");
    assert_eq!(code(me.sell_to_grid("0.51").await), "insufficient_energy");
    let outcome = me.cancel(ask.id).await.unwrap();
    assert_eq!(outcome.orders[0].status, Status::Cancelled);
    assert_eq!(me.energy().await.unwrap().sellable.to_string(), "8.5");
    assert_eq!(code(me.cancel(ask.id).await), "not_open");
    let bob = market.trader("Bob").await.unwrap();
    let bobs = ask_of(&market, "Bob").await;
    assert_eq!(code(me.cancel(bobs).await), "not_owner");
    assert_eq!(code(bob.buy_now(bobs, "1").await), "self_trade");
    market.verify().await.unwrap();
}

#[tokio::test]
async fn a_crossing_bid_trades_at_the_ask_price_and_reserves_the_room_until_its_interval_ends() {
    let (_dir, path) = file();
    let clock = clock();
    let market = open(&path, &clock).await;
    let me = market.household();
    let interval = market.book().await.unwrap().asks[0].interval.unwrap().to_rfc3339();
    assert_eq!(code(me.place(&dated(Side::Buy, "0.18", "5.01", &interval)).await), "exceeds_battery");
    // An undated bid never meets the dated book.
    assert!(me.place(&place(Side::Buy, "0.18", "1")).await.unwrap().trades.is_empty());
    me.cancel(
        me.orders(
            &OrderFilter {
                open: Some(true),
                side: None,
            },
            Page::first(1),
        )
        .await
        .unwrap()[0]
            .id
            .parse()
            .unwrap(),
    )
    .await
    .unwrap();
    let outcome = me.place(&dated(Side::Buy, "0.18", "5", &interval)).await.unwrap();
    let fills: Vec<_> = outcome
        .trades
        .iter()
        .map(|t| (t.seller.as_str(), t.price.to_string(), t.amount.to_string(), t.taker))
        .collect();
    assert_eq!(fills, [("Bob", "0.17".into(), "5".into(), Side::Buy)]);
    assert_eq!(me.trades(Page::first(10)).await.unwrap(), outcome.trades);
    assert_eq!(outcome.orders[0].status, Status::Filled);
    let figures = |e: lumea_store::EnergyView| (e.level.to_string(), e.reserved_for_bids.to_string(), e.headroom.to_string());
    assert_eq!(figures(me.energy().await.unwrap()), ("8.5".into(), "5".into(), "0".into()));
    // Once the interval has ended the reservation is released; the battery is what the device reports.
    clock.advance(Duration::hours(2));
    market.expire_due().await.unwrap();
    assert_eq!(figures(me.energy().await.unwrap()), ("8.5".into(), "0".into(), "5".into()));
    let orders = me
        .orders(
            &OrderFilter {
                open: Some(false),
                side: None,
            },
            Page::first(10),
        )
        .await
        .unwrap();
    assert_eq!(orders.len(), 2);
    market.verify().await.unwrap();
}

#[tokio::test]
async fn expiry_closes_orders_and_releases_their_reservations() {
    let (_dir, path) = file();
    let clock = clock();
    let market = open(&path, &clock).await;
    let me = market.household();
    let mut bid = place(Side::Buy, "0.12", "4");
    bid.expires_at = Some(clock.now_plus(30));
    me.place(&bid).await.unwrap();
    assert_eq!(me.energy().await.unwrap().headroom.to_string(), "1");
    let mut past = place(Side::Buy, "0.12", "1");
    past.expires_at = Some(clock.now_plus(0));
    assert_eq!(code(me.place(&past).await), "invalid_expiry");
    clock.advance(Duration::minutes(30));
    assert_eq!(market.expire_due().await.unwrap(), 1);
    assert_eq!(me.energy().await.unwrap().headroom.to_string(), "5");
    let closed = me
        .orders(
            &OrderFilter {
                open: Some(false),
                side: Some(Side::Buy),
            },
            Page::first(10),
        )
        .await
        .unwrap();
    assert_eq!(closed[0].status, Status::Expired);
    market.verify().await.unwrap();
}

trait Later {
    fn now_plus(&self, minutes: i64) -> chrono::DateTime<Utc>;
}

impl Later for ManualClock {
    fn now_plus(&self, minutes: i64) -> chrono::DateTime<Utc> {
        lumea_store::clock::Clock::now(self) + Duration::minutes(minutes)
    }
}

#[tokio::test]
async fn the_grid_buys_and_sells_at_its_fixed_prices() {
    let (_dir, path) = file();
    let market = open(&path, &clock()).await;
    let me = market.household();
    let bought = me.buy_from_grid("2.5").await.unwrap();
    assert_eq!((bought.price.to_string(), bought.total.to_string()), ("0.2".into(), "0.5".into()));
    let sold = me.sell_to_grid("1").await.unwrap();
    assert_eq!((sold.price.to_string(), sold.total.to_string()), ("0.1".into(), "0.1".into()));
    assert_eq!(me.energy().await.unwrap().level.to_string(), "10");
    assert_eq!(code(me.buy_from_grid("3.51").await), "exceeds_battery");
    market.set_setting("grid_buy_price", "0.25").await.unwrap();
    assert_eq!(me.buy_from_grid("1").await.unwrap().total.to_string(), "0.25");
    assert_eq!(me.grid_transactions(Page::first(10)).await.unwrap().len(), 3);
    assert_eq!(me.energy().await.unwrap().co2_tokens.to_string(), "0", "grid energy earns no tokens");
    market.verify().await.unwrap();
}

#[tokio::test]
async fn close_and_reopen_gives_the_same_book_balances_and_history() {
    let (_dir, path) = file();
    let clock = clock();
    let market = open(&path, &clock).await;
    let me = market.household();
    me.buy_now(ask_of(&market, "Bob").await, "2").await.unwrap();
    me.place(&place(Side::Sell, "0.3", "3")).await.unwrap();
    market.set_setting("co2_kg_per_kwh", "0.4").await.unwrap();
    let before = (
        market.book().await.unwrap(),
        me.energy().await.unwrap(),
        me.trades(Page::first(50)).await.unwrap(),
    );
    let stats_before = market.stats(clock.now_plus(-60)).await.unwrap();
    market.close().await;
    let market = open(&path, &clock).await;
    let me = market.household();
    let after = (
        market.book().await.unwrap(),
        me.energy().await.unwrap(),
        me.trades(Page::first(50)).await.unwrap(),
    );
    assert_eq!(before, after);
    assert_eq!(stats_before, market.stats(clock.now_plus(-60)).await.unwrap());
    assert_eq!(market.co2_intensity().await.kg_per_kwh().to_string(), "0.4");
    market.verify().await.unwrap();
}

#[tokio::test]
async fn bad_input_is_refused_clearly_and_writes_nothing() {
    let (_dir, path) = file();
    let clock = clock();
    let market = open(&path, &clock).await;
    market.close().await;
    let before = dump(&path).await;
    let market = open(&path, &clock).await;
    let me = market.household();
    let bob = ask_of(&market, "Bob").await;
    for (price, amount, expected) in [
        ("NaN", "1", "invalid_price"),
        ("inf", "1", "invalid_price"),
        ("", "1", "invalid_price"),
        ("-0.16", "1", "invalid_price"),
        ("0.12345", "1", "invalid_price"),
        ("0.16", "-1", "invalid_amount"),
        ("0.16", "1.001", "invalid_amount"),
        ("0.16", "", "invalid_amount"),
        ("0.16", "1e2", "invalid_amount"),
        ("0.16", "'; DROP TABLE orders; --", "invalid_amount"),
    ] {
        assert_eq!(code(me.place(&place(Side::Sell, price, amount)).await), expected, "{price:?} {amount:?}");
    }
    for amount in ["0", "-2", "NaN", "", "1.234", "abc"] {
        assert_eq!(code(me.buy_now(bob, amount).await), "invalid_amount", "{amount:?}");
        assert_eq!(code(me.buy_from_grid(amount).await), "invalid_amount", "{amount:?}");
        assert_eq!(code(me.sell_to_grid(amount).await), "invalid_amount", "{amount:?}");
    }
    assert_eq!(code(me.cancel(Uuid::new_v4()).await), "unknown_order");
    assert_eq!(code(me.buy_now(Uuid::new_v4(), "1").await), "unknown_order");
    let too_long = "x".repeat(41);
    for name in ["", "   ", too_long.as_str(), "\u{200B}\u{202E}\n", "Alice", " ALICE\u{200D}"] {
        assert_eq!(code(market.set_username(name).await), "invalid_username", "{name:?}");
    }
    assert_eq!(code(market.trader(&"y".repeat(10_000)).await), "unknown_user");
    assert_eq!(code(market.set_home(91.0, 0.0).await), "invalid_location");
    assert_eq!(code(market.set_home(f64::NAN, 0.0).await), "invalid_location");
    assert_eq!(code(market.set_setting("grid_buy_price", "0.0001").await), "invalid_setting");
    // Feed-in at or above the grid's price would let the grid be arbitraged.
    assert_eq!(code(market.set_setting("grid_sell_price", "0.20").await), "invalid_setting");
    assert_eq!(code(market.set_setting("grid_buy_price", "0.09").await), "invalid_setting");
    assert_eq!(code(market.set_setting("colour", "red").await), "invalid_setting");
    assert_eq!(code(market.add_neighbour("Zed", 0.0, 0.0, "10", "11").await), "invalid_amount");
    market.close().await;
    assert_eq!(before, dump(&path).await);
}

#[tokio::test]
async fn a_hostile_but_valid_name_is_stored_as_text() {
    let (_dir, path) = file();
    let market = open(&path, &clock()).await;
    let name = "Robert'); DROP TABLE users;--";
    market.set_username(name).await.unwrap();
    market.household().place(&place(Side::Sell, "0.3", "1")).await.unwrap();
    let book = market.book().await.unwrap();
    assert!(book.asks.iter().any(|o| o.username == name && o.mine));
    market.verify().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_tasks_trading_at_once_never_double_fill_or_lose_an_update() {
    let (_dir, path) = file();
    let market = Arc::new(
        LocalMarket::open(
            &path,
            Arc::new(clock()),
            OpenOptions {
                durability: Durability::Normal,
                seed_demo: false,
            },
        )
        .await
        .unwrap(),
    );
    let mut names = Vec::new();
    for n in 0..8 {
        let name = format!("trader{n}");
        market.add_neighbour(&name, 30.0, -97.0, "1000", "500").await.unwrap();
        names.push(name);
    }
    let tasks: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(n, name)| {
            let (market, name) = (market.clone(), name.clone());
            tokio::spawn(async move {
                let trader = market.trader(&name).await.unwrap();
                let mut placed = Vec::new();
                for i in 0..60 {
                    let side = if (i + n) % 2 == 0 { Side::Sell } else { Side::Buy };
                    let price = format!("0.{}", 15 + (i * 7 + n) % 5);
                    let request = place(side, &price, &format!("{}", 1 + (i % 4)));
                    trader.place(&request).await.unwrap();
                    placed.push(request.id);
                    if i % 5 == 0 {
                        // Cancel an earlier order: it may have filled meanwhile.
                        match trader.cancel(placed[i / 2]).await {
                            Ok(_) => {}
                            Err(err) => assert_eq!(err.code().as_str(), "not_open"),
                        }
                    }
                }
                placed
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    market.verify().await.unwrap();
    let mut stored = 0;
    for name in &names {
        stored += market
            .trader(name)
            .await
            .unwrap()
            .orders(&OrderFilter::default(), Page::first(200))
            .await
            .unwrap()
            .len();
    }
    assert_eq!(stored, all.len(), "every acknowledged order is stored once");
    let trades: usize = {
        let trader = market.trader(&names[0]).await.unwrap();
        trader.trades(Page::first(200)).await.unwrap().len()
    };
    assert!(trades > 0, "crossing orders traded");
}

#[tokio::test]
async fn the_demo_neighbourhood_trades_through_a_simulated_day() {
    let (_dir, path) = file();
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 6, 1, 6, 0, 0).unwrap());
    let market = open(&path, &clock).await;
    let mut sim = Simulator::new(7);
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..(24 * 12 * 2) {
        clock.advance(Duration::minutes(5));
        for action in simulator::step(&market, &mut sim).await.unwrap() {
            *kinds
                .entry(serde_json::to_value(&action).unwrap()["action"].as_str().unwrap().into())
                .or_default() += 1;
        }
        market.verify().await.unwrap();
    }
    for kind in ["deliver", "place", "cancel", "buy_now"] {
        assert!(kinds.get(kind).copied().unwrap_or(0) > 0, "no {kind} in {kinds:?}");
    }
    // Every trade was for an interval; the ones that ended were delivered and settled,
    // a few short of what was contracted, and verify checked conservation after every step.
    market.close().await;
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let (trades, settled, short, undated): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM trades WHERE created_at > '2026-06-01T06:01'),
                (SELECT COUNT(DISTINCT trade_id) FROM settlements),
                (SELECT COUNT(*) FROM settlements s JOIN trades t ON t.id = s.trade_id
                  WHERE s.delivered_wh < t.amount_centi_kwh * 10
                    AND s.revision = (SELECT MAX(revision) FROM settlements l WHERE l.trade_id = s.trade_id)),
                (SELECT COUNT(*) FROM trades WHERE interval_start IS NULL AND created_at > '2026-06-01T06:01')",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(undated, 0, "the simulator trades only for intervals");
    assert!(trades > 10 && settled > trades / 2, "{trades} trades, {settled} settled: {kinds:?}");
    assert!(short > 0 && short < settled, "{short} of {settled} settled trades fell short");
    let readings: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM meter_readings WHERE source = 'simulator'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(readings > 9 * 90, "a reading per home and interval: {readings}");
}

#[tokio::test]
async fn migrations_upgrade_a_file_from_the_previous_version() {
    let (_dir, path) = file();
    // The fixture: a file made by the first migration alone, with a household and an order in it.
    let fixture = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/local-v1.sql")).unwrap();
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display())).await.unwrap();
    sqlx::raw_sql(&fixture).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    let market = LocalMarket::open(&path, Arc::new(clock()), OpenOptions::default()).await.unwrap();
    let book = market.book().await.unwrap();
    assert_eq!(book.asks.len(), 1, "the v1 order survives");
    assert_eq!(
        (book.asks[0].username.as_str(), book.asks[0].remaining.to_string()),
        ("Old Timer", "2".into())
    );
    assert_eq!(market.grid_prices().await.buy.to_string(), "0.22");
    // The household's new battery holds exactly what its open ask promises.
    let energy = market.household().energy().await.unwrap();
    assert_eq!(
        (energy.capacity.to_string(), energy.level.to_string(), energy.sellable.to_string()),
        ("13.5".into(), "2".into(), "0".into())
    );
    // The old trade earned its buyer the tokens: 1 kWh × 0.367.
    let bee = market.trader("Buyer Bee").await.unwrap().energy().await.unwrap();
    assert_eq!(bee.co2_tokens.to_string(), "0.367");
    market.verify().await.unwrap();
    // And the upgraded file trades on.
    let buyer = market.trader("Buyer Bee").await.unwrap();
    buyer.buy_now(book.asks[0].id.parse().unwrap(), "2").await.unwrap();
    market.verify().await.unwrap();
}

#[tokio::test]
async fn a_file_open_in_another_copy_of_the_app_is_in_use() {
    let (_dir, path) = file();
    let clock = clock();
    let first = open(&path, &clock).await;
    // The second copy waits out SQLite's busy timeout, then hears SQLITE_BUSY.
    let second = LocalMarket::open(&path, Arc::new(clock.clone()), OpenOptions::default()).await;
    assert_eq!(code(second), "store_in_use");
    first.close().await;
    let reopened = LocalMarket::open(&path, Arc::new(clock), OpenOptions::default()).await;
    assert!(reopened.is_ok(), "closed, the file is free again");
}

fn dated(side: Side, price: &str, amount: &str, interval: &str) -> PlaceRequest {
    PlaceRequest {
        interval: Some(interval.into()),
        ..place(side, price, amount)
    }
}

/// The settlement events as the replay prints them.
fn settled(events: &[lumea_market::ledger::SettlementEvent]) -> Vec<String> {
    events.iter().map(|e| serde_json::to_string(e).unwrap()).collect()
}

#[tokio::test]
async fn dated_trades_settle_against_meter_readings_with_revisions_and_fees() {
    let (_dir, path) = file();
    let clock = clock();
    let market = open(&path, &clock).await;
    market.set_setting("buyer_fee", "0.01").await.unwrap();
    market.set_setting("seller_fee", "0.005").await.unwrap();
    let me = market.household();
    let charlie = market.trader("Charlie").await.unwrap();
    let interval = "2026-06-01T17:30:00Z";
    // The interval's checks come after the price and amount, in the rules' order.
    assert_eq!(
        code(me.place(&dated(Side::Sell, "0.16", "2", "2026-06-01T17:20:00Z")).await),
        "invalid_interval"
    );
    assert_eq!(
        code(me.place(&dated(Side::Sell, "0.16", "2", "2026-06-01T17:00:00Z")).await),
        "interval_closed"
    );
    assert_eq!(
        code(me.place(&dated(Side::Sell, "0.16", "2", "2026-06-02T17:15:00Z")).await),
        "interval_not_open"
    );
    // With a 6 kW inverter a 15-minute interval delivers at most 1.5 kWh; then no limit again.
    market.set_setting("inverter_kw", "6").await.unwrap();
    assert_eq!(code(me.place(&dated(Side::Sell, "0.16", "1.51", interval)).await), "exceeds_power");
    assert_eq!(code(market.set_setting("inverter_kw", "0").await), "invalid_setting");
    market.set_setting("inverter_kw", "off").await.unwrap();
    let ask = dated(Side::Sell, "0.16", "2", interval);
    me.place(&ask).await.unwrap();
    // An undated bid, even above its price, never meets the dated ask: only a dated one does, and the
    // trade is named by the pair.
    assert!(charlie.place(&place(Side::Buy, "0.165", "1")).await.unwrap().trades.is_empty());
    let bid = dated(Side::Buy, "0.20", "2", interval);
    let outcome = charlie.place(&bid).await.unwrap();
    assert_eq!(outcome.trades.len(), 1);
    let trade = outcome.trades[0].id.clone();
    assert_eq!(trade, format!("{}/{}", bid.id, ask.id));

    market.close().await;
    let before = dump(&path).await;
    let market = open(&path, &clock).await;
    assert_eq!(code(market.household().record_reading(interval, "0", "1.5").await), "interval_not_ended");
    assert_eq!(code(market.settle(interval).await), "interval_not_ended");
    market.close().await;
    assert_eq!(dump(&path).await, before, "a refused reading or settlement wrote something");

    let market = open(&path, &clock).await;
    let (me, charlie) = (market.household(), market.trader("Charlie").await.unwrap());
    let tokens_before = charlie.energy().await.unwrap().co2_tokens;
    clock.advance(Duration::minutes(46));
    assert_eq!(code(me.record_reading(interval, "0", "-1").await), "invalid_reading");
    assert_eq!(code(me.record_reading("noon", "0", "1").await), "invalid_interval");
    // My reading alone: Charlie's is missing, so the trade waits.
    let events = me.record_reading(interval, "0", "1.5").await.unwrap();
    assert_eq!(settled(&events), [format!(r#"{{"event":"awaiting_meter","trade":"{trade}"}}"#)]);
    let events = charlie.record_reading(interval, "4", "0").await.unwrap();
    // 1.5 of 2 kWh delivered: 0.24 + 0.015 buyer's fee, 0.24 − 0.0075 seller's fee.
    assert_eq!(
        settled(&events),
        [format!(
            r#"{{"event":"settled","trade":"{trade}","delivered":"1.5","buyer_pays":"0.255","seller_receives":"0.2325","revision":1}}"#
        )]
    );
    assert!(market.settle(interval).await.unwrap().is_empty(), "settling again changes nothing");
    market.verify().await.unwrap();
    // A revised reading settles the interval again as revision 2; revision 1 stays.
    let events = me.record_reading(interval, "0", "2").await.unwrap();
    assert_eq!(
        settled(&events),
        [format!(
            r#"{{"event":"settled","trade":"{trade}","delivered":"2","buyer_pays":"0.34","seller_receives":"0.31","revision":2}}"#
        )]
    );
    assert!(market.settle_due().await.unwrap().is_empty());
    market.verify().await.unwrap();
    // CO2 tokens on delivered energy only: 1.5 kWh, then 0.5 more by the revision, at 0.367 kg/kWh.
    let earned = market.trader("Charlie").await.unwrap().energy().await.unwrap().co2_tokens - tokens_before;
    assert_eq!(earned.to_string(), "0.734");
    // Both sides' statements for June, as the CSV the app downloads.
    let june = (
        Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap(),
    );
    for (who, trader) in [("seller", market.household()), ("buyer", market.trader("Charlie").await.unwrap())] {
        let csv = trader.statement(june.0, june.1).await.unwrap().to_csv();
        let golden = format!("{}/tests/fixtures/statement-{who}.expected.csv", env!("CARGO_MANIFEST_DIR"));
        if std::env::var_os("LUMEA_UPDATE_GOLDEN").is_some() {
            std::fs::write(&golden, &csv).unwrap();
        }
        assert_eq!(csv, std::fs::read_to_string(&golden).unwrap(), "{who}'s statement");
    }
    market.close().await;
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let kept: Vec<(i64, i64)> = sqlx::query_as("SELECT revision, delivered_wh FROM settlements ORDER BY revision")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(kept, [(1, 1500), (2, 2000)]);
    let readings: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM meter_readings")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(readings, 3, "every reading is kept");
}
