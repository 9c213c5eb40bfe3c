//! Engine operations on a book of 10,000 resting orders over 500 price levels.
//! Each measured operation is timed alone; the book is put back to its size
//! untimed after it, so every operation meets the same book.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::DateTime;
use criterion::{Criterion, criterion_group, criterion_main};
use lumea_market::rules::{BuyNow, Cancel, Place};
use lumea_market::{Book, FastBook, Market, Side};

const ORDERS: usize = 10_000;
const LEVELS: usize = 500;
const MID: usize = 1500;

struct Bench {
    market: Market<FastBook>,
    events: Vec<lumea_market::Event>,
    next_id: usize,
}

impl Bench {
    /// Asks on 250 levels from $0.1500 up, bids on 250 levels from $0.1499 down,
    /// each order of `amount` kWh.
    fn new(amount: &str) -> Bench {
        let mut bench = Bench {
            market: Market::default(),
            events: Vec::new(),
            next_id: 0,
        };
        for n in 0..ORDERS {
            let level = n % LEVELS;
            let (side, ticks) = if level < LEVELS / 2 {
                (Side::Sell, MID + level)
            } else {
                (Side::Buy, MID - 1 - (level - LEVELS / 2))
            };
            bench.place(side, ticks, amount);
        }
        bench
    }

    fn place(&mut self, side: Side, ticks: usize, amount: &str) -> String {
        let id = format!("o{}", self.next_id);
        let user = format!("u{}", self.next_id % 200);
        self.next_id += 1;
        let price = format!("0.{ticks:04}");
        let cmd = Place {
            id: &id,
            user: &user,
            side,
            price: &price,
            amount,
            expires_at: None,
            interval: None,
        };
        self.market.place(DateTime::UNIX_EPOCH, &cmd, &mut self.events).unwrap();
        self.events.clear();
        id
    }

    /// Times `op` alone and returns how long it took.
    fn timed(&mut self, op: impl FnOnce(&mut Market<FastBook>, &mut Vec<lumea_market::Event>)) -> Duration {
        let start = Instant::now();
        op(&mut self.market, &mut self.events);
        let took = start.elapsed();
        black_box(&self.events);
        self.events.clear();
        took
    }
}

fn engine(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine (10k orders, 500 levels)");

    group.bench_function("place resting", |b| {
        let mut bench = Bench::new("10");
        b.iter_custom(|iters| {
            (0..iters)
                .map(|i| {
                    let id = format!("r{i}");
                    let price = format!("0.{:04}", MID + 250 + (i as usize % 200));
                    let cmd = Place {
                        id: &id,
                        user: "bench",
                        side: Side::Sell,
                        price: &price,
                        amount: "5",
                        expires_at: None,
                        interval: None,
                    };
                    let took = bench.timed(|m, e| m.place(DateTime::UNIX_EPOCH, &cmd, e).unwrap());
                    bench
                        .market
                        .cancel(DateTime::UNIX_EPOCH, &Cancel { id: &id, user: "bench" }, &mut bench.events)
                        .unwrap();
                    took
                })
                .sum()
        })
    });

    group.bench_function("place crossing 5 levels", |b| {
        // 20 one-kWh asks per level: a 100 kWh bid at $0.1504 takes five levels.
        let mut bench = Bench::new("1");
        b.iter_custom(|iters| {
            (0..iters)
                .map(|i| {
                    let id = format!("x{i}");
                    let cmd = Place {
                        id: &id,
                        user: "bench",
                        side: Side::Buy,
                        price: "0.1504",
                        amount: "100",
                        expires_at: None,
                        interval: None,
                    };
                    let took = bench.timed(|m, e| m.place(DateTime::UNIX_EPOCH, &cmd, e).unwrap());
                    for n in 0..100 {
                        bench.place(Side::Sell, MID + n % 5, "1");
                    }
                    took
                })
                .sum()
        })
    });

    group.bench_function("cancel", |b| {
        let mut bench = Bench::new("10");
        let mut victims: Vec<(String, usize)> = Vec::new();
        b.iter_custom(|iters| {
            (0..iters)
                .map(|i| {
                    let ticks = MID + 1 + (i as usize % 240);
                    let id = bench.place(Side::Sell, ticks, "10");
                    victims.push((id, ticks));
                    // Cancel an older order in the middle of its level, not the one just placed.
                    let (id, _) = victims.swap_remove(victims.len() / 2);
                    let user = bench.market.book().get(&id).unwrap().user.clone();
                    bench.timed(|m, e| {
                        m.cancel(
                            DateTime::UNIX_EPOCH,
                            &Cancel {
                                id: &id,
                                user: user.as_str(),
                            },
                            e,
                        )
                        .unwrap()
                    })
                })
                .sum()
        })
    });

    group.bench_function("buy now", |b| {
        let mut bench = Bench::new("10");
        let mut asks: Vec<(String, usize)> = (0..ORDERS)
            .filter(|n| n % LEVELS < LEVELS / 2)
            .map(|n| (format!("o{n}"), MID + n % LEVELS))
            .collect();
        b.iter_custom(|iters| {
            (0..iters)
                .map(|i| {
                    let k = i as usize % asks.len();
                    if !bench.market.book().get(&asks[k].0).unwrap().status.is_open() {
                        let ticks = asks[k].1;
                        asks[k].0 = bench.place(Side::Sell, ticks, "10");
                    }
                    let cmd = BuyNow {
                        reference: "purchase",
                        order: &asks[k].0,
                        user: "buyer",
                        amount: "0.5",
                        headroom: None,
                    };
                    bench.timed(|m, e| m.buy_now(DateTime::UNIX_EPOCH, &cmd, e).unwrap())
                })
                .sum()
        })
    });

    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = engine
}
criterion_main!(benches);
