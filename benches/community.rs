//! Community mode on loopback, through the same test backend as
//! tests/community.rs: latency from Alice's `place_order` to the order in
//! Bob's cache (1,000 orders), snapshot + reconcile of a 10,000-order book,
//! and the app core's memory with that book. Prints figures, asserts none.
//! Without `--bench` (as `cargo test` runs it) it does a small smoke run.

#[path = "../tests/support/stand.rs"]
mod stand;

use std::time::Instant;

use hdrhistogram::Histogram;
use lumea_market::Side;
use lumea_store::{MarketEvent, PlaceRequest};
use stand::Stand;
use uuid::Uuid;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (orders, book) = if full { (1_000, 10_000) } else { (20, 500) };
    let stand = Stand::start().await;
    let mut pg = stand.pg().await;

    // A battery that can back every ask of the run.
    let battery =
        lumea_market::energy::Battery::new(lumea_market::Energy::parse("2000").unwrap(), lumea_market::Energy::parse("1500").unwrap()).unwrap();
    let alice = stand.open("alice", stand.sign_up("Alice", "default").await, battery).await;
    let bob = stand.household("bob", stand.sign_up("Bob", "default").await).await;
    sqlx::query("update public.communities set open_order_cap = 10000 where id = 'default'")
        .execute(&mut pg)
        .await
        .unwrap();
    for market in [&alice, &bob] {
        while market.connection() != lumea_store::Connection::Online {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    // Place → in Bob's cache: Bob's BookChanged events, then his cache asked for the order.
    let mut latency = Histogram::<u64>::new(3).unwrap();
    let mut events = bob.subscribe();
    for i in 0..orders {
        let id = Uuid::new_v4();
        let request = PlaceRequest {
            id,
            side: Side::Sell,
            price: format!("0.{}", 20 + i % 70),
            amount: "1".into(),
            expires_at: None,
            interval: None,
        };
        let started = Instant::now();
        alice.place(&request).await.unwrap();
        loop {
            if bob.cached_order(id).await.unwrap().is_some() {
                break;
            }
            while !matches!(events.recv().await, Ok(MarketEvent::BookChanged)) {}
        }
        latency.record(started.elapsed().as_micros() as u64).unwrap();
    }
    let ms = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "place_order → in the other household's cache, {orders} orders: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(0.5),
        ms(0.99),
        ms(1.0)
    );

    // A book of `book` orders from 50 neighbours (each at its home, as place_order stores
    // them), then a new household's first snapshot.
    let mut owners = Vec::new();
    for n in 0..50 {
        owners.push(stand.sign_up(&format!("Resting{n}"), "default").await.user_id);
    }
    sqlx::query(
        "insert into public.market_orders (id, user_id, username, community_id, type, price, amount, location_lat, location_lng)
         select gen_random_uuid(), o.owner, p.display_name, 'default', s.type,
                case when s.type = 'buy' then 0.05 + (i % 10) * 0.01 else 0.20 + (i % 80) * 0.01 end, 1 + (i % 20),
                h.location_lat, h.location_lng
           from generate_series(0, $2 - 1) as i
           cross join lateral (select ($1::uuid[])[1 + i % 50] as owner) o
           join public.memberships p on p.user_id = o.owner
           join public.profiles h on h.id = o.owner
           cross join lateral (select case when i % 2 = 0 then 'buy' else 'sell' end as type) s",
    )
    .bind(&owners)
    .bind((book - orders) as i64)
    .execute(&mut pg)
    .await
    .unwrap();
    let before = rss_kib();
    let carol = stand.household("carol", stand.sign_up("Carol", "default").await).await;
    let mut runs = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        carol.resync().await.unwrap();
        runs.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let cached = carol.book().await.unwrap();
    let size = cached.asks.len() + cached.bids.len();
    println!(
        "snapshot + reconcile of a {size}-order book: first {:.0} ms, then {:.0}–{:.0} ms (5 runs)",
        runs[0],
        runs[1..].iter().cloned().fold(f64::MAX, f64::min),
        runs[1..].iter().cloned().fold(0.0, f64::max)
    );
    println!(
        "memory: process {} MiB with three app cores, +{} MiB for the one holding the {size}-order book",
        rss_kib() / 1024,
        rss_kib().saturating_sub(before) / 1024
    );
    for market in [&alice, &bob, &carol] {
        market.close().await;
    }
    stand.stop().await;
}
