//! Crash safety: a real `lumea` process trading on a real SQLite file is killed
//! with SIGKILL at random points, again and again. After each kill the file
//! must reopen consistent: every acknowledged action present, no partial
//! operation, every invariant of the market and of the batteries intact.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use lumea_store::clock::ManualClock;
use lumea_store::{LocalMarket, OpenOptions};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use sqlx::{Connection, Row, SqliteConnection};

const ROUNDS: u64 = 25;

/// Runs the demo neighbourhood in a child process and kills it after it has
/// acknowledged `acks` actions; returns the acknowledged actions.
fn run_and_kill(path: &Path, start: DateTime<Utc>, round: u64, acks: usize) -> Vec<serde_json::Value> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lumea"))
        .args(["--db", path.to_str().unwrap(), "simulate", "--steps", "100000", "--minutes-per-step", "2"])
        .args(["--seed", &round.to_string(), "--start", &start.to_rfc3339()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acknowledged = Vec::new();
    while acknowledged.len() < acks {
        match lines.next() {
            Some(line) => acknowledged.push(serde_json::from_str(&line.unwrap()).unwrap()),
            None => panic!("the simulation ended on its own after {} actions", acknowledged.len()),
        }
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no flush, no rollback runs.
    child.wait().unwrap();
    acknowledged
}

async fn assert_present(path: &Path, acknowledged: &[serde_json::Value]) {
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    for action in acknowledged {
        let kind = action["action"].as_str().unwrap();
        match kind {
            "place" => {
                let id = action["id"].as_str().unwrap();
                let found: i64 = sqlx::query("SELECT COUNT(*) FROM orders WHERE id = ?")
                    .bind(id)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap()
                    .get(0);
                assert_eq!(found, 1, "acknowledged order {id} is missing");
            }
            "cancel" => {
                let id = action["id"].as_str().unwrap();
                let status: String = sqlx::query("SELECT status FROM orders WHERE id = ?")
                    .bind(id)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap()
                    .get(0);
                assert_eq!(status, "cancelled", "acknowledged cancel of {id} is missing");
            }
            "buy_now" => {
                let order = action["order"].as_str().unwrap();
                let trades: i64 = sqlx::query("SELECT COUNT(*) FROM trades WHERE sell_order_id = ? AND buy_order_id IS NULL")
                    .bind(order)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap()
                    .get(0);
                assert!(trades >= 1, "acknowledged purchase from {order} is missing");
            }
            "deliver" => {
                let (user, interval) = (action["user"].as_str().unwrap(), action["interval"].as_str().unwrap());
                let readings: i64 =
                    sqlx::query("SELECT COUNT(*) FROM meter_readings WHERE user_id = ? AND substr(interval_start, 1, 19) = substr(?, 1, 19)")
                        .bind(user)
                        .bind(interval)
                        .fetch_one(&mut conn)
                        .await
                        .unwrap()
                        .get(0);
                assert!(readings >= 1, "acknowledged delivery of {user} in {interval} is missing");
            }
            other => panic!("unknown action {other}"),
        }
    }
    conn.close().await.unwrap();
}

#[tokio::test]
async fn a_killed_process_leaves_a_consistent_file_with_every_acknowledged_action() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("market.sqlite");
    let mut rng = SmallRng::seed_from_u64(20261124);
    let mut total = 0;
    for round in 0..ROUNDS {
        let acks = rng.random_range(1..40);
        // Each round's simulated day follows the last, so stored times keep moving forward.
        let start = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap() + Duration::days(2 * round as i64);
        let acknowledged = run_and_kill(&path, start, round, acks);
        total += acknowledged.len();
        assert_present(&path, &acknowledged).await;
        let clock = ManualClock::new(start);
        let market = LocalMarket::open(&path, Arc::new(clock), OpenOptions::default()).await.unwrap();
        if let Err(problem) = market.verify().await {
            panic!("after kill {round}: {problem}");
        }
        market.close().await;
    }
    assert!(total >= ROUNDS as usize);
}
