//! Generated command streams for benchmarks: a resting book of a given size
//! and a realistic mix of commands against it, as replay lines.

use std::fmt::Write;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

/// The mid price of the generated market: $0.15/kWh, between grid feed-in and grid price.
const MID_TICKS: u32 = 1500;
const USERS: u32 = 200;

pub struct Workload {
    rng: SmallRng,
    placed: Vec<u64>,
    next_id: u64,
    now: DateTime<Utc>,
}

impl Workload {
    pub fn new(seed: u64) -> Self {
        Workload {
            rng: SmallRng::seed_from_u64(seed),
            placed: Vec::new(),
            next_id: 0,
            now: start(),
        }
    }

    /// `orders` resting orders over `levels` price levels that do not cross:
    /// asks on the upper half of the levels, bids on the lower half.
    pub fn resting_book(&mut self, orders: usize, levels: u32) -> Vec<String> {
        let half = levels / 2;
        (0..orders)
            .map(|n| {
                let step = n as u32 % levels;
                let (side, ticks) = if step < half {
                    ("sell", MID_TICKS + step)
                } else {
                    ("buy", MID_TICKS - 1 - (step - half))
                };
                let amount = self.amount();
                self.place_line(side, ticks, &amount, None)
            })
            .collect()
    }

    /// One command of the mix: about half places (some crossing the spread),
    /// a quarter cancels, a sixth direct purchases, and a clock tick with
    /// expiring orders now and then; a few carry invalid input.
    pub fn next_command(&mut self) -> String {
        let roll = self.rng.random_range(0..100);
        match roll {
            0..50 => {
                let side = if self.rng.random_bool(0.5) { "sell" } else { "buy" };
                let offset = self.rng.random_range(0..260);
                let ticks = if side == "sell" {
                    MID_TICKS - 10 + offset
                } else {
                    MID_TICKS + 9 - offset
                };
                let expires = (roll < 5).then(|| self.now + Duration::seconds(self.rng.random_range(1..600)));
                let amount = if roll == 49 { "0.5".to_string() } else { self.amount() };
                self.place_line(side, ticks, &amount, expires)
            }
            50..75 => {
                let id = self.some_placed();
                format!(r#"{{"cmd":"cancel","id":"o{id}","user":"u{}"}}"#, id % u64::from(USERS))
            }
            75..92 => {
                let id = self.some_placed();
                let buyer = self.rng.random_range(0..USERS);
                let amount = self.rng.random_range(1..=300);
                format!(
                    r#"{{"cmd":"buy","ref":"r{}","order":"o{id}","user":"u{buyer}","amount":"{}.{:02}","headroom":"20"}}"#,
                    self.next_id,
                    amount / 100,
                    amount % 100
                )
            }
            _ => {
                self.now += Duration::seconds(self.rng.random_range(1..30));
                format!(r#"{{"cmd":"expire","at":"{}"}}"#, self.now.to_rfc3339())
            }
        }
    }

    fn amount(&mut self) -> String {
        let centi_kwh = self.rng.random_range(100..=2000);
        format!("{}.{:02}", centi_kwh / 100, centi_kwh % 100)
    }

    fn some_placed(&mut self) -> u64 {
        if self.placed.is_empty() {
            0
        } else {
            self.placed[self.rng.random_range(0..self.placed.len())]
        }
    }

    fn place_line(&mut self, side: &str, ticks: u32, amount: &str, expires: Option<DateTime<Utc>>) -> String {
        let id = self.next_id;
        self.next_id += 1;
        self.placed.push(id);
        let mut line = format!(
            r#"{{"cmd":"place","id":"o{id}","user":"u{}","side":"{side}","price":"0.{ticks:04}","amount":"{amount}""#,
            id % u64::from(USERS)
        );
        if let Some(at) = expires {
            write!(line, r#","expires_at":"{}""#, at.to_rfc3339()).unwrap();
        }
        line.push('}');
        line
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::{Output, Replay, parse_line};
    use lumea_market::FastBook;
    use lumea_market::audit::Audit;

    #[test]
    fn the_resting_book_has_the_asked_size_and_does_not_cross() {
        let mut replay = Replay::<FastBook>::default();
        let mut out = Vec::new();
        for line in Workload::new(1).resting_book(10_000, 500) {
            replay.apply(&parse_line(&line).unwrap(), &mut out).unwrap();
        }
        assert!(out.is_empty(), "{:?}", out.first());
        let stats = lumea_market::stats::MarketStats::compute(replay.market.book(), None, &[], start(), start());
        assert_eq!(stats.asks.len() + stats.bids.len(), 500);
        assert_eq!(stats.asks.iter().chain(&stats.bids).map(|l| l.orders).sum::<u32>(), 10_000);
    }

    #[test]
    fn the_mix_parses_trades_rejects_and_keeps_the_invariants() {
        let mut workload = Workload::new(7);
        let mut replay = Replay::<FastBook>::default();
        let mut audit = Audit::default();
        let (mut out, mut trades, mut rejections) = (Vec::new(), 0, 0);
        for _ in 0..20_000 {
            replay.apply(&parse_line(&workload.next_command()).unwrap(), &mut out).unwrap();
            let events: Vec<_> = out
                .iter()
                .filter_map(|o| if let Output::Event(e) = o { Some(e.clone()) } else { None })
                .collect();
            audit.record(&events, replay.market.book()).unwrap();
            trades += events.iter().filter(|e| matches!(e, lumea_market::Event::Trade(_))).count();
            rejections += out.len() - events.len();
            out.clear();
        }
        audit.check(replay.market.book()).unwrap();
        assert!(trades > 1_000 && rejections > 1_000, "trades {trades}, rejections {rejections}");
    }
}
