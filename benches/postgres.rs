//! `place_order` through PostgreSQL as PostgREST calls it (a transaction that
//! sets the role and the JWT claims, the call, the commit), at 1, 8 and 32
//! clients, on one community and on eight, each with a 10,000-order book;
//! and pgbench's tpcb-like on the same cluster for scale. Prints figures,
//! asserts none. Without `--bench` (as `cargo test` runs it) it does a
//! smoke run: a small book, few orders, no pgbench.

#[allow(dead_code)] // The shared harness; this benchmark places orders only.
#[path = "../tests/support/pg.rs"]
mod pg;

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use hdrhistogram::Histogram;
use pg::TestDb;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use uuid::Uuid;

struct Scale {
    book: usize,
    orders_per_run: usize,
    pgbench: bool,
}

/// Resting orders that do not cross (bids $0.05–0.14, asks $0.20–0.99), spread
/// over users of the community so no one reaches the open-order cap.
async fn fill_book(db: &TestDb, community: &str, orders: usize) {
    let mut owners = Vec::new();
    for n in 0..50 {
        owners.push(
            db.sign_up(serde_json::json!({ "username": format!("{community} resting {n}"), "community_id": community }))
                .await,
        );
    }
    sqlx::query(
        "insert into public.market_orders (id, user_id, username, community_id, type, price, amount)
         select gen_random_uuid(), o.owner, p.display_name, $2, s.type,
                case when s.type = 'buy' then 0.05 + (i % 10) * 0.01 else 0.20 + (i % 80) * 0.01 end,
                1 + (i % 20)
           from generate_series(0, $3 - 1) as i
           cross join lateral (select case when i % 2 = 0 then 'buy' else 'sell' end as type) s
           cross join lateral (select ($1::uuid[])[1 + i % array_length($1::uuid[], 1)] as owner) o
           join public.memberships p on p.user_id = o.owner",
    )
    .bind(&owners)
    .bind(community)
    .bind(orders as i64)
    .execute(&db.pool)
    .await
    .unwrap();
}

async fn run(scale: &Scale, clients: usize, communities: usize) -> (f64, Histogram<u64>) {
    let db = Arc::new(TestDb::new(clients as u32 + 2).await);
    let mut traders = Vec::new();
    for community in 0..communities {
        fill_book(&db, &format!("c{community}"), scale.book).await;
    }
    for client in 0..clients {
        let community = format!("c{}", client % communities);
        traders.push(
            db.sign_up(serde_json::json!({ "username": format!("Trader {client}"), "community_id": community }))
                .await,
        );
    }
    // The cap is a Postgres-only rule: at its highest here.
    sqlx::query("update public.communities set open_order_cap = 10000")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("analyze").execute(&db.pool).await.unwrap();
    let per_client = scale.orders_per_run.div_ceil(clients);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (client, trader) in traders.into_iter().enumerate() {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = SmallRng::seed_from_u64(client as u64);
            let mut latencies = Histogram::<u64>::new(3).unwrap();
            for _ in 0..per_client {
                // Mostly resting near the spread; about one in six crosses it.
                let side = if rng.random_range(0..2) == 0 { "buy" } else { "sell" };
                let price = match side {
                    "buy" => format!("0.{}", rng.random_range(10..=21)),
                    _ => format!("0.{}", rng.random_range(13..=24)),
                };
                let amount = rng.random_range(1..=5).to_string();
                let call = Instant::now();
                db.place(trader, &Uuid::new_v4().to_string(), side, &price, &amount, None).await.unwrap();
                latencies.record(call.elapsed().as_micros() as u64).unwrap();
            }
            latencies
        }));
    }
    let mut latencies = Histogram::<u64>::new(3).unwrap();
    for task in tasks {
        latencies.add(task.await.unwrap()).unwrap();
    }
    let rate = (per_client * clients) as f64 / started.elapsed().as_secs_f64();
    (rate, latencies)
}

/// pgbench's built-in tpcb-like at `clients`, on its own database of the same cluster.
fn pgbench_tps(clients: usize) -> Option<f64> {
    let url = std::env::var("LUMEA_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let base = url.rsplit_once('/')?.0.to_string();
    let database = format!("{base}/lumea_pgbench");
    let psql = |sql: &str| {
        Command::new("psql")
            .args([url.as_str(), "-qc", sql])
            .status()
            .ok()
            .filter(|s| s.success())
    };
    psql("drop database if exists lumea_pgbench")?;
    psql("create database lumea_pgbench")?;
    Command::new("pgbench")
        .args(["-i", "-q", "-s", "10", database.as_str()])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let output = Command::new("pgbench")
        .args(["-b", "tpcb-like", "-c", &clients.to_string(), "-j", "2", "-T", "10", database.as_str()])
        .output()
        .ok()?;
    psql("drop database if exists lumea_pgbench");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let line = text.lines().find(|line| line.starts_with("tps = "))?;
    line["tps = ".len()..].split_whitespace().next()?.parse().ok()
}

#[tokio::main]
async fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let scale = if full {
        Scale {
            book: 10_000,
            orders_per_run: 4_000,
            pgbench: true,
        }
    } else {
        Scale {
            book: 200,
            orders_per_run: 64,
            pgbench: false,
        }
    };
    println!("place_order through PostgreSQL, {} resting orders per community:", scale.book);
    let mut eight_communities_at_8 = None;
    for communities in [1, 8] {
        for clients in [1, 8, 32] {
            let (rate, latencies) = run(&scale, clients, communities).await;
            println!(
                "  {communities} communit{} {clients:>2} clients: {rate:>6.0} orders/s  p50 {:>5} µs  p99 {:>6} µs",
                if communities == 1 { "y,  " } else { "ies," },
                latencies.value_at_quantile(0.5),
                latencies.value_at_quantile(0.99),
            );
            if communities == 8 && clients == 8 {
                eight_communities_at_8 = Some(rate);
            }
        }
    }
    if scale.pgbench {
        match (pgbench_tps(8), eight_communities_at_8) {
            (Some(tps), Some(rate)) => {
                println!(
                    "pgbench tpcb-like, 8 clients, same cluster: {tps:.0} tps; place_order on 8 communities at 8 clients is {:.2} × that",
                    rate / tps
                )
            }
            _ => println!("pgbench: not available (apt postgresql-contrib or postgresql-15 provides it)"),
        }
    }
}
