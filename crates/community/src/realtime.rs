//! A Supabase Realtime client: the Phoenix channels protocol (JSON, vsn 1.0.0)
//! over a websocket, written here so that reconnecting is ours to decide.
//! One channel joins `postgres_changes` for the given tables with the user's
//! access token; a heartbeat every 25 s finds dead connections; a refreshed
//! token is pushed to the channel; a lost connection is retried with growing,
//! jittered waits. After every join the owner hears `Feed::Joined` and takes a
//! snapshot, because changes made while disconnected are not replayed.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::time::{MissedTickBehavior, interval_at, sleep, timeout};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

pub const HEARTBEAT: Duration = Duration::from_secs(25);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const TOPIC: &str = "realtime:lumea";

/// One `postgres_changes` subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    pub table: &'static str,
    /// `*`, `INSERT`, `UPDATE` or `DELETE`.
    pub event: &'static str,
    /// A Realtime filter such as `community_id=eq.default`.
    pub filter: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ChangeKind {
    Insert,
    Update,
    Delete,
}

/// A row that changed, as the subscriber may see it (the new row; for a delete, its key).
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub table: String,
    pub kind: ChangeKind,
    pub row: Value,
}

#[derive(Debug, PartialEq)]
pub enum Feed {
    /// The channel is joined (again): changes flow from now on.
    Joined,
    Change(Change),
    /// The connection is gone or was refused; a new attempt follows.
    Down(String),
}

/// Connects and keeps connecting until `feed` is dropped.
pub async fn run(endpoint: String, subscriptions: Vec<Subscription>, mut tokens: watch::Receiver<String>, feed: mpsc::Sender<Feed>) {
    let mut failures: u32 = 0;
    loop {
        let outcome = connection(&endpoint, &subscriptions, &mut tokens, &feed).await;
        if feed.is_closed() {
            return;
        }
        let (joined, reason) = outcome;
        if joined {
            failures = 0;
        }
        if feed.send(Feed::Down(reason)).await.is_err() {
            return;
        }
        sleep(backoff(failures)).await;
        failures = failures.saturating_add(1);
    }
}

/// 0.5 s doubling up to 30 s, each wait a random 50–100% of that, so that a
/// community's apps do not all come back at the same instant.
pub fn backoff(failures: u32) -> Duration {
    let ceiling = Duration::from_millis(500)
        .saturating_mul(1 << failures.min(6))
        .min(Duration::from_secs(30));
    let jitter = 0.5 + 0.5 * (Uuid::new_v4().as_u128() as u16 as f64 / f64::from(u16::MAX));
    ceiling.mul_f64(jitter)
}

#[derive(Deserialize)]
struct Incoming {
    topic: String,
    event: String,
    #[serde(default)]
    payload: Value,
    #[serde(rename = "ref")]
    reference: Option<String>,
}

fn message(topic: &str, event: &str, payload: Value, reference: u64) -> Message {
    let reference = reference.to_string();
    Message::text(json!({ "topic": topic, "event": event, "payload": payload, "ref": reference, "join_ref": "1" }).to_string())
}

fn join_payload(subscriptions: &[Subscription], token: &str) -> Value {
    let changes: Vec<Value> = subscriptions
        .iter()
        .map(|s| {
            let mut change = json!({ "event": s.event, "schema": "public", "table": s.table });
            if let Some(filter) = &s.filter {
                change["filter"] = json!(filter);
            }
            change
        })
        .collect();
    json!({
        "config": { "broadcast": { "ack": false, "self": false }, "presence": { "key": "" }, "postgres_changes": changes, "private": false },
        "access_token": token,
    })
}

/// The postgres change a `postgres_changes` message carries, in either of the
/// shapes Realtime uses (`record`/`old_record`/`type`, or `new`/`old`/`eventType`).
fn change(payload: &Value) -> Option<Change> {
    let data = payload.get("data")?;
    let table = data.get("table")?.as_str()?.to_string();
    let kind_text = data.get("type").or_else(|| data.get("eventType"))?;
    let kind: ChangeKind = serde_json::from_value(kind_text.clone()).ok()?;
    let row = match kind {
        ChangeKind::Delete => data.get("old_record").or_else(|| data.get("old")),
        ChangeKind::Insert | ChangeKind::Update => data.get("record").or_else(|| data.get("new")),
    }?;
    Some(Change {
        table,
        kind,
        row: row.clone(),
    })
}

/// One connection, from connecting to losing it: whether it joined, and why it ended.
async fn connection(
    endpoint: &str,
    subscriptions: &[Subscription],
    tokens: &mut watch::Receiver<String>,
    feed: &mpsc::Sender<Feed>,
) -> (bool, String) {
    let socket = match timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(endpoint)).await {
        Ok(Ok((socket, _))) => socket,
        Ok(Err(err)) => return (false, format!("could not connect: {err}")),
        Err(_) => return (false, "could not connect in time".into()),
    };
    let (mut sink, mut stream) = socket.split();
    let mut next_ref: u64 = 1;
    let join_ref = next_ref.to_string();
    let token = tokens.borrow_and_update().clone();
    if sink
        .send(message(TOPIC, "phx_join", join_payload(subscriptions, &token), next_ref))
        .await
        .is_err()
    {
        return (false, "the connection closed".into());
    }
    let mut joined = false;
    let mut unanswered_heartbeat: Option<String> = None;
    let mut heartbeat = interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            incoming = stream.next() => {
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_))) | None => return (joined, "the server closed the connection".into()),
                    Some(Ok(_)) => continue,
                    Some(Err(err)) => return (joined, format!("the connection failed: {err}")),
                };
                let Ok(incoming) = serde_json::from_str::<Incoming>(&text) else { continue };
                match (incoming.topic.as_str(), incoming.event.as_str()) {
                    ("phoenix", "phx_reply") if incoming.reference == unanswered_heartbeat => unanswered_heartbeat = None,
                    (TOPIC, "phx_reply") if incoming.reference.as_deref() == Some(join_ref.as_str()) => {
                        if incoming.payload.get("status").and_then(Value::as_str) != Some("ok") {
                            return (false, format!("the channel was refused: {}", incoming.payload.get("response").unwrap_or(&Value::Null)));
                        }
                        joined = true;
                        if feed.send(Feed::Joined).await.is_err() {
                            return (joined, "stopped".into());
                        }
                    }
                    (TOPIC, "postgres_changes") => {
                        if let Some(change) = change(&incoming.payload)
                            && feed.send(Feed::Change(change)).await.is_err()
                        {
                            return (joined, "stopped".into());
                        }
                    }
                    (TOPIC, "phx_error" | "phx_close") => return (joined, format!("the channel closed ({})", incoming.event)),
                    (TOPIC, "system") if incoming.payload.get("status").and_then(Value::as_str) == Some("error") => {
                        return (joined, format!("the channel failed: {}", incoming.payload.get("message").unwrap_or(&Value::Null)));
                    }
                    _ => {}
                }
            }
            _ = heartbeat.tick() => {
                if unanswered_heartbeat.is_some() {
                    return (joined, "the server stopped answering".into());
                }
                next_ref += 1;
                unanswered_heartbeat = Some(next_ref.to_string());
                if sink.send(message("phoenix", "heartbeat", json!({}), next_ref)).await.is_err() {
                    return (joined, "the connection closed".into());
                }
            }
            changed = tokens.changed() => {
                if changed.is_err() {
                    return (joined, "stopped".into());
                }
                let token = tokens.borrow_and_update().clone();
                next_ref += 1;
                if sink.send(message(TOPIC, "access_token", json!({ "access_token": token }), next_ref)).await.is_err() {
                    return (joined, "the connection closed".into());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_to_half_a_minute_with_jitter() {
        for failures in [0, 1, 3, 6, 40] {
            let ceiling = Duration::from_millis(500 * (1 << failures.min(6))).min(Duration::from_secs(30));
            for _ in 0..50 {
                let wait = backoff(failures);
                assert!(wait >= ceiling / 2 && wait <= ceiling, "{failures}: {wait:?}");
            }
        }
        let waits: std::collections::HashSet<Duration> = (0..20).map(|_| backoff(3)).collect();
        assert!(waits.len() > 1, "no jitter");
    }

    #[test]
    fn changes_are_read_in_both_payload_shapes() {
        let wire = json!({ "ids": [1], "data": { "schema": "public", "table": "open_orders", "type": "INSERT",
                           "record": { "id": "x" }, "old_record": null, "commit_timestamp": "2026-11-24T09:00:00Z" } });
        assert_eq!(
            change(&wire),
            Some(Change {
                table: "open_orders".into(),
                kind: ChangeKind::Insert,
                row: json!({ "id": "x" })
            })
        );
        let client = json!({ "data": { "table": "open_orders", "eventType": "DELETE", "new": {}, "old": { "id": "y" } } });
        assert_eq!(
            change(&client),
            Some(Change {
                table: "open_orders".into(),
                kind: ChangeKind::Delete,
                row: json!({ "id": "y" })
            })
        );
        assert_eq!(change(&json!({ "data": { "table": "t", "type": "TRUNCATE" } })), None);
    }

    #[test]
    fn the_join_asks_for_each_table_with_its_filter_and_the_token() {
        let subscriptions = [
            Subscription {
                table: "open_orders",
                event: "*",
                filter: Some("community_id=eq.default".into()),
            },
            Subscription {
                table: "trades",
                event: "INSERT",
                filter: None,
            },
        ];
        let payload = join_payload(&subscriptions, "token");
        assert_eq!(payload["access_token"], "token");
        assert_eq!(payload["config"]["postgres_changes"][0]["filter"], "community_id=eq.default");
        assert_eq!(payload["config"]["postgres_changes"][1].get("filter"), None);
    }
}
