//! Place-and-match through the local market with durable commits, on a book of
//! 10,000 resting orders: operations per second and latency, with SQLite's
//! `synchronous=FULL` and `NORMAL` (WAL mode both).
//!
//! `cargo bench --bench store` prints the figures; under `cargo test` it runs a
//! small smoke version.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use hdrhistogram::Histogram;
use lumea_market::Side;
use lumea_store::clock::ManualClock;
use lumea_store::{Durability, LocalMarket, OpenOptions, PlaceRequest};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use uuid::Uuid;

const TRADERS: usize = 20;

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()))
}

fn request(side: Side, ticks: u32, amount: &str) -> PlaceRequest {
    PlaceRequest {
        id: Uuid::new_v4(),
        side,
        price: format!("0.{ticks:04}"),
        amount: amount.into(),
        expires_at: None,
        interval: None,
    }
}

/// A file holding `orders` resting orders over 500 levels (asks from $0.1500 up,
/// bids from $0.1499 down), placed by traders with large batteries.
async fn build_book(path: &Path, orders: usize) {
    let options = OpenOptions {
        durability: Durability::Normal,
        seed_demo: false,
    };
    let market = LocalMarket::open(path, clock(), options).await.unwrap();
    for n in 0..TRADERS {
        market
            .add_neighbour(&format!("trader{n}"), 30.0, -97.0, "1000000", "500000")
            .await
            .unwrap();
    }
    for n in 0..orders {
        let level = (n % 500) as u32;
        let (side, ticks) = if level < 250 {
            (Side::Sell, 1500 + level)
        } else {
            (Side::Buy, 1499 - (level - 250))
        };
        let trader = market.trader(&format!("trader{}", n % TRADERS)).await.unwrap();
        trader.place(&request(side, ticks, "5")).await.unwrap();
    }
    market.close().await;
}

async fn measure(path: &Path, durability: Durability, operations: usize) -> (f64, Histogram<u64>) {
    let market = LocalMarket::open(
        path,
        clock(),
        OpenOptions {
            durability,
            seed_demo: false,
        },
    )
    .await
    .unwrap();
    let mut rng = SmallRng::seed_from_u64(5);
    let mut latency = Histogram::<u64>::new(3).unwrap();
    let start = Instant::now();
    for n in 0..operations {
        // Prices straddle the spread, so about one order in eight crosses and trades.
        let side = if n % 2 == 0 { Side::Sell } else { Side::Buy };
        let offset = rng.random_range(0..40);
        let ticks = if side == Side::Sell { 1495 + offset } else { 1504 - offset };
        let trader = market.trader(&format!("trader{}", rng.random_range(0..TRADERS))).await.unwrap();
        let one = Instant::now();
        trader.place(&request(side, ticks, "3")).await.unwrap();
        latency.record(one.elapsed().as_micros().max(1) as u64).unwrap();
    }
    let rate = operations as f64 / start.elapsed().as_secs_f64();
    market.verify().await.unwrap();
    market.close().await;
    (rate, latency)
}

fn main() {
    let benching = std::env::args().any(|arg| arg == "--bench");
    let (orders, operations) = if benching { (10_000, 3_000) } else { (200, 50) };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        println!("local market: place-and-match with durable commits on a {orders}-order book, {operations} places each");
        for (name, durability) in [("synchronous=FULL", Durability::Full), ("synchronous=NORMAL", Durability::Normal)] {
            let path = dir.path().join(format!("{name}.sqlite"));
            build_book(&path, orders).await;
            let (rate, latency) = measure(&path, durability, operations).await;
            println!(
                "  {name:<19} {rate:>8.0} ops/s   p50 {:>6} µs   p99 {:>6} µs   max {:>6} µs",
                latency.value_at_quantile(0.5),
                latency.value_at_quantile(0.99),
                latency.max()
            );
        }
    });
}
