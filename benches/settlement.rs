//! Settling one delivery interval of 1,000 households and 5,000 trades: the
//! market's rule in Rust (`delivery::settle`, and the in-memory ledger that
//! records revisions), and PostgreSQL's `settle_interval` on the same shape of
//! interval, first run (every trade new) and again (nothing changed). Prints
//! figures, asserts none. Without `--bench` (as `cargo test` runs it) it does
//! a smoke run: 50 households and 250 trades, one repetition.

#[allow(dead_code)] // The shared harness; this benchmark needs its database alone.
#[path = "../tests/support/pg.rs"]
mod pg;

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use lumea_market::delivery::{self, Contract, DeliveryRules, Fee, Reading, WattHours};
use lumea_market::ledger::Ledger;
use lumea_market::{Energy, Price, Trade, UserId};
use pg::TestDb;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

struct Shape {
    households: usize,
    trades: usize,
    repeats: usize,
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// The interval's trades: sellers are the first half of the households, buyers the second.
fn trades(shape: &Shape, start: DateTime<Utc>) -> Vec<Trade> {
    let mut rng = SmallRng::seed_from_u64(7);
    (0..shape.trades)
        .map(|i| {
            let seller = rng.random_range(0..shape.households / 2);
            let buyer = shape.households / 2 + rng.random_range(0..shape.households / 2);
            Trade {
                id: format!("b{i}/s{i}").as_str().into(),
                buy_order: Some(format!("b{i}").as_str().into()),
                sell_order: format!("s{i}").as_str().into(),
                buyer: format!("h{buyer}").as_str().into(),
                seller: format!("h{seller}").as_str().into(),
                price: Price::from_ticks(1500 + rng.random_range(0..300)),
                amount: Energy::from_centi_kwh(rng.random_range(100..=500)),
                interval: Some(start),
            }
        })
        .collect()
}

/// Readings that fall a little short of the contracts now and then.
fn readings(shape: &Shape) -> Vec<Reading> {
    let mut rng = SmallRng::seed_from_u64(8);
    (0..shape.households)
        .map(|_| Reading {
            import: WattHours::from_wh(rng.random_range(0..=60_000)),
            export: WattHours::from_wh(rng.random_range(0..=60_000)),
        })
        .collect()
}

fn rust(shape: &Shape, rules: &DeliveryRules, start: DateTime<Utc>) -> (f64, f64) {
    let trades = trades(shape, start);
    let readings = readings(shape);
    let contracts: Vec<Contract> = trades.iter().map(Contract::of).collect();
    let metered = |user: &UserId| user.as_str()[1..].parse::<usize>().ok().map(|h| readings[h]);
    let rule = median(
        (0..shape.repeats)
            .map(|_| {
                let started = Instant::now();
                let figures = delivery::settle(&contracts, metered, false, rules);
                let took = started.elapsed().as_secs_f64();
                assert_eq!(figures.len(), contracts.len());
                took
            })
            .collect(),
    );
    let interval = start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let ledger = median(
        (0..shape.repeats)
            .map(|_| {
                let mut ledger = Ledger::default();
                trades.iter().for_each(|t| ledger.record(t));
                for (h, reading) in readings.iter().enumerate() {
                    ledger.restore_reading(&format!("h{h}"), start, *reading);
                }
                let mut events = Vec::new();
                let started = Instant::now();
                ledger.settle(rules, start + Duration::days(1), &interval, &mut events).unwrap();
                started.elapsed().as_secs_f64()
            })
            .collect(),
    );
    (rule, ledger)
}

async fn postgres(shape: &Shape, start: DateTime<Utc>) -> (f64, f64) {
    let db = TestDb::new(2).await;
    let setup = [
        "insert into public.communities (id, name, buyer_fee, seller_fee) values ('bench', 'Bench', 0.01, 0.005)",
        "insert into auth.users (id, email, raw_user_meta_data)
         select gen_random_uuid(), 'h' || n || '@example.com', '{}'::jsonb from generate_series(0, $1 - 1) as n",
        "insert into public.memberships (community_id, user_id, display_name, status, approved_at)
         select 'bench', u.id, 'H' || split_part(split_part(u.email, '@', 1), 'h', 2), 'active', now() from auth.users u",
    ];
    for sql in setup {
        sqlx::query(sql).bind(shape.households as i64).execute(&db.pool).await.unwrap();
    }
    // The same shape of interval as the Rust run: sellers the first half, buyers the second.
    sqlx::query(
        "with h as (select m.user_id, m.display_name, row_number() over (order by m.display_name collate \"C\") - 1 as n
                      from public.memberships m where m.community_id = 'bench'),
              t as (select i, (select user_id from h where n = (i * 7919) % ($2 / 2)) as seller,
                              (select user_id from h where n = $2 / 2 + (i * 104729) % ($2 / 2)) as buyer
                      from generate_series(0, $1 - 1) as i),
              o as (insert into public.market_orders (id, user_id, username, community_id, type, price, amount, filled_amount, status, delivery_start)
                    select gen_random_uuid(), t.seller, 'S', 'bench', 'sell', 0.15 + (t.i % 30) * 0.001, 1 + t.i % 5, 1 + t.i % 5, 'filled', $3::timestamptz
                      from t returning id, user_id, price, amount)
         insert into public.trades (community_id, sell_order_id, buyer_id, seller_id, price, amount, delivery_start, buyer_fee, seller_fee)
         select 'bench', o.id, (select buyer from t where t.seller = o.user_id limit 1), o.user_id, o.price, o.amount, $3::timestamptz, 0.01, 0.005
           from o",
    )
    .bind(shape.trades as i64)
    .bind(shape.households as i64)
    .bind(start.to_rfc3339())
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into public.meter_readings (community_id, membership_id, delivery_start, revision, import_kwh, export_kwh, source)
         select 'bench', m.id, $1::timestamptz, 1, (abs(hashtext(m.id::text)) % 60000) / 1000.0, (abs(hashtext(m.display_name)) % 60000) / 1000.0, 'operator'
           from public.memberships m where m.community_id = 'bench'",
    )
    .bind(start.to_rfc3339())
    .execute(&db.pool)
    .await
    .unwrap();
    // Statistics, as autovacuum keeps them on a live project.
    sqlx::query("analyze").execute(&db.pool).await.unwrap();
    let trades: i64 = sqlx::query_scalar("select count(*) from public.trades where community_id = 'bench'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(trades as usize, shape.trades);
    let run = || {
        let pool = db.pool.clone();
        async move {
            let started = Instant::now();
            sqlx::query("select public.settle_interval('bench', $1::timestamptz)")
                .bind(start.to_rfc3339())
                .execute(&pool)
                .await
                .unwrap();
            started.elapsed().as_secs_f64()
        }
    };
    let first = run().await;
    let again = median({
        let mut samples = Vec::new();
        for _ in 0..shape.repeats {
            samples.push(run().await);
        }
        samples
    });
    let settled: i64 = sqlx::query_scalar("select count(*) from public.settlements where community_id = 'bench'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(settled as usize, shape.trades, "every trade settled once");
    (first, again)
}

#[tokio::main]
async fn main() {
    let bench = std::env::args().any(|arg| arg == "--bench");
    let shape = if bench {
        Shape {
            households: 1000,
            trades: 5000,
            repeats: 11,
        }
    } else {
        Shape {
            households: 50,
            trades: 250,
            repeats: 1,
        }
    };
    let rules = DeliveryRules {
        buyer_fee: Fee::parse("0.01").unwrap(),
        seller_fee: Fee::parse("0.005").unwrap(),
        ..DeliveryRules::default()
    };
    // An interval that ended a day ago: readings in, its deadline not passed.
    let start = rules.next_open(Utc::now()) - Duration::days(1);
    let (rule, ledger) = rust(&shape, &rules, start);
    let (first, again) = postgres(&shape, start).await;
    println!(
        "settling one interval of {} households and {} trades (median of {}):",
        shape.households, shape.trades, shape.repeats
    );
    println!("  Rust delivery::settle (the rule)       {:>9.2} ms", rule * 1e3);
    println!("  Rust ledger, recording revisions       {:>9.2} ms", ledger * 1e3);
    println!("  PostgreSQL settle_interval, first run  {:>9.2} ms", first * 1e3);
    println!("  PostgreSQL settle_interval, unchanged  {:>9.2} ms", again * 1e3);
}
