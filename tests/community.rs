//! Community mode end to end: app cores (each with its own SQLite cache)
//! against real PostgreSQL 15 with the project's migrations, @supabase/lite for
//! REST and auth, and the realtime test server (see tests/support/stand.rs).

#[path = "support/stand.rs"]
mod stand;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use lumea_community::CommunityMarket;
use lumea_community::realtime::{self, Feed, Subscription};
use lumea_market::{Energy, Side, Status};
use lumea_store::Connection;
use lumea_store::{MarketEvent, OrderFilter, Page, PlaceRequest, Role};
use sqlx::Row;
use stand::{Stand, until};
use tokio::sync::{broadcast, mpsc, watch};
use uuid::Uuid;

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

/// Orders as (id, filled, status) and trades as (id, amount): what must agree.
#[derive(Debug, PartialEq, Eq)]
struct View {
    book: BTreeSet<(String, String, String)>,
    mine: BTreeSet<(String, String, String)>,
    trades: BTreeSet<(String, String)>,
}

fn energy(text: &str) -> String {
    Energy::parse(text).unwrap().to_string()
}

/// What the server holds for `user`: its community's open book, its orders, its trades.
async fn server_view(stand: &Stand, user: &str) -> View {
    let mut pg = stand.pg().await;
    let rows = |sql: &'static str| sqlx::query(sql).bind(user);
    let book = rows(
        "select id::text, filled_amount::text, status from public.market_orders
          where status in ('active', 'partial') and community_id = (select community_id from public.memberships where user_id = $1::uuid)",
    )
    .fetch_all(&mut pg)
    .await
    .unwrap();
    let mine = rows("select id::text, filled_amount::text, status from public.market_orders where user_id = $1::uuid")
        .fetch_all(&mut pg)
        .await
        .unwrap();
    let trades = rows("select id::text, amount::text from public.trades where buyer_id = $1::uuid or seller_id = $1::uuid")
        .fetch_all(&mut pg)
        .await
        .unwrap();
    let order = |r: &sqlx::postgres::PgRow| (r.get::<String, _>(0), energy(r.get(1)), r.get::<String, _>(2));
    View {
        book: book.iter().map(order).collect(),
        mine: mine.iter().map(order).collect(),
        trades: trades.iter().map(|r| (r.get::<String, _>(0), energy(r.get(1)))).collect(),
    }
}

async fn cache_view(market: &CommunityMarket) -> View {
    let book = market.book().await.unwrap();
    let mine = market.orders(&OrderFilter::default(), Page { limit: 200, offset: 0 }).await.unwrap();
    let trades = market.trades(Page { limit: 200, offset: 0 }).await.unwrap();
    let order = |o: &lumea_store::OrderView| (o.id.clone(), o.filled.to_string(), o.status.as_str().to_string());
    View {
        book: book.asks.iter().chain(&book.bids).map(order).collect(),
        mine: mine.iter().filter(|o| !o.pending).map(order).collect(),
        trades: trades.iter().map(|t| (t.id.clone(), t.amount.to_string())).collect(),
    }
}

async fn in_sync(stand: &Stand, market: &CommunityMarket) -> bool {
    market.waiting().await.unwrap() == 0 && cache_view(market).await == server_view(stand, &market.household_id()).await
}

async fn online(market: &CommunityMarket) {
    until("the app core is online", || async { market.connection() == Connection::Online }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_households_trade_live() {
    let stand = Stand::start().await;
    let alice = stand.household("alice", stand.sign_up("Alice", "default").await).await;
    let bob = stand.household("bob", stand.sign_up("Bob", "default").await).await;
    online(&alice).await;
    online(&bob).await;
    let mut alice_events = alice.subscribe();

    // Alice lists 5 kWh; Bob's cached book shows it through Realtime.
    let ask = place(Side::Sell, "0.16", "5");
    let placed = alice.place(&ask).await.unwrap();
    assert!(!placed.pending);
    assert_eq!(placed.orders[0].status, Status::Active);
    until("Bob's cache shows Alice's ask", || async {
        bob.book()
            .await
            .unwrap()
            .asks
            .iter()
            .any(|o| o.id == ask.id.to_string() && o.username == "Alice" && !o.mine)
    })
    .await;
    assert_eq!(alice.energy().await.unwrap().reserved_for_asks.to_string(), "5");

    // Bob buys 2 kWh of it; Alice's order turns partial and she hears of the fill.
    let bought = bob.buy_now(ask.id, "2").await.unwrap();
    assert_eq!(bought.trades.len(), 1);
    assert_eq!((bought.trades[0].seller.as_str(), bought.trades[0].role), ("Alice", Role::Bought));
    until("Alice's order is partly filled in her cache", || async {
        let mine = alice.orders(&OrderFilter::default(), Page::first(10)).await.unwrap();
        mine.iter()
            .any(|o| o.id == ask.id.to_string() && o.status == Status::Partial && o.filled.to_string() == "2")
    })
    .await;
    let fill = loop {
        match alice_events.recv().await {
            Ok(MarketEvent::TradeExecuted { trade }) => break trade,
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(err) => panic!("Alice's events ended: {err}"),
        }
    };
    assert!(fill.filled_resting_order_of_viewer(), "Alice's fill notification: {fill:?}");
    assert_eq!(
        (fill.buyer.as_str(), fill.amount.to_string(), fill.price.to_string()),
        ("Bob", "2".into(), "0.16".into())
    );

    // Batteries moved by the trade; both histories agree with the server.
    until("Alice's battery gave 2 kWh", || async {
        alice.energy().await.unwrap().level.to_string() == "28"
    })
    .await;
    let bob_energy = bob.energy().await.unwrap();
    assert_eq!(
        (bob_energy.level.to_string(), bob_energy.reserved_for_bids.to_string()),
        ("32".into(), "0".into())
    );
    until("both caches equal the server", || async {
        in_sync(&stand, &alice).await && in_sync(&stand, &bob).await
    })
    .await;
    let alice_trades = alice.trades(Page::first(10)).await.unwrap();
    let bob_trades = bob.trades(Page::first(10)).await.unwrap();
    assert_eq!(
        alice_trades.iter().map(|t| &t.id).collect::<Vec<_>>(),
        bob_trades.iter().map(|t| &t.id).collect::<Vec<_>>()
    );
    assert_eq!((alice_trades[0].role, bob_trades[0].role), (Role::Sold, Role::Bought));

    // A bid that crosses Alice's ask trades at her price; refusals carry local mode's codes.
    let bid = place(Side::Buy, "0.18", "1");
    let crossed = bob.place(&bid).await.unwrap();
    assert_eq!(crossed.trades.len(), 1, "{crossed:?}");
    assert_eq!(crossed.trades[0].price.to_string(), "0.16");
    let refused = bob.place(&place(Side::Buy, "0.04", "1")).await.unwrap_err();
    assert_eq!(refused.code().as_str(), "invalid_price");
    let too_big = bob.place(&place(Side::Buy, "0.10", "50")).await.unwrap_err();
    assert_eq!(
        too_big.code().as_str(),
        "exceeds_battery",
        "the battery is checked before anything is sent"
    );
    let resting = place(Side::Buy, "0.10", "1");
    bob.place(&resting).await.unwrap();
    until("Alice's cache shows Bob's bid", || async {
        alice.book().await.unwrap().bids.iter().any(|o| o.id == resting.id.to_string())
    })
    .await;
    assert_eq!(alice.cancel(resting.id).await.unwrap_err().code().as_str(), "not_owner");
    until("both caches equal the server", || async {
        in_sync(&stand, &alice).await && in_sync(&stand, &bob).await
    })
    .await;

    alice.close().await;
    bob.close().await;
    stand.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_recover_with_nothing_lost() {
    let stand = Stand::start().await;
    let alice_session = stand.sign_up("Alice", "default").await;
    let alice = stand.household("alice", alice_session.clone()).await;
    let bob = stand.household("bob", stand.sign_up("Bob", "default").await).await;
    online(&alice).await;
    online(&bob).await;
    let both_in_sync = || async { in_sync(&stand, &alice).await && in_sync(&stand, &bob).await };

    // The websocket drops mid-stream: changes made meanwhile arrive by the snapshot after the rejoin.
    for i in 0..10 {
        alice.place(&place(Side::Sell, "0.20", &format!("1.{i}"))).await.unwrap();
        if i == 4 {
            stand.fault("drop-realtime").await;
        }
    }
    until("caches equal the server after the websocket dropped", both_in_sync).await;

    // The REST server stops: Alice's order is kept, shown pending, and sent once it is back.
    stand.fault("stop-rest").await;
    let offline = place(Side::Sell, "0.21", "2");
    let queued = alice.place(&offline).await.unwrap();
    assert!(queued.pending, "{queued:?}");
    let mine = alice.orders(&OrderFilter::default(), Page::first(50)).await.unwrap();
    assert!(mine.iter().any(|o| o.id == offline.id.to_string() && o.pending));
    assert_eq!(
        alice.energy().await.unwrap().reserved_for_asks.to_string(),
        "16.5",
        "a pending ask holds its energy"
    );
    stand.fault("start-rest").await;
    until("the outbox is sent and every cache equals the server", both_in_sync).await;

    // PostgreSQL restarts under both apps.
    stand.fault("restart-postgres").await;
    let after_restart = place(Side::Buy, "0.15", "1");
    // The first call may find the database still coming back: then it waits in the outbox.
    bob.place(&after_restart).await.unwrap();
    until("caches equal the server after PostgreSQL restarted", both_in_sync).await;
    assert!(
        bob.orders(&OrderFilter::default(), Page::first(10))
            .await
            .unwrap()
            .iter()
            .any(|o| o.id == after_restart.id.to_string())
    );

    // The same outbox replayed by two copies of the app creates one order.
    stand.fault("stop-rest").await;
    let twice = place(Side::Sell, "0.22", "1");
    assert!(alice.place(&twice).await.unwrap().pending);
    alice.close().await;
    let copy = stand.dir.path().join("alice-copy.sqlite");
    std::fs::copy(stand.dir.path().join("alice.sqlite"), &copy).unwrap();
    stand.fault("start-rest").await;
    let alice = stand.household("alice", alice_session.clone()).await;
    let alice_copy = stand.household("alice-copy", alice_session).await;
    until("both copies sent their outbox", || async {
        alice.waiting().await.unwrap() == 0 && alice_copy.waiting().await.unwrap() == 0
    })
    .await;
    let mut pg = stand.pg().await;
    let count: i64 = sqlx::query_scalar("select count(*) from public.market_orders where id = $1")
        .bind(twice.id)
        .fetch_one(&mut pg)
        .await
        .unwrap();
    assert_eq!(count, 1, "the outbox replayed twice made one order");
    until("every cache equals the server", || async {
        in_sync(&stand, &alice).await && in_sync(&stand, &alice_copy).await && in_sync(&stand, &bob).await
    })
    .await;
    alice_copy.close().await;

    // An expired access token: renewed with the refresh token, nothing else changes.
    let mut expired = stand.sign_up("Carol", "default").await;
    expired.access_token = forge_expired_token(&stand, &expired);
    expired.expires_at = chrono::Utc::now() - chrono::Duration::minutes(5);
    let carol = stand.household("carol", expired).await;
    online(&carol).await;
    carol.place(&place(Side::Buy, "0.12", "1")).await.unwrap();
    until("every cache equals the server after the token expired", || async {
        in_sync(&stand, &carol).await && in_sync(&stand, &alice).await && in_sync(&stand, &bob).await
    })
    .await;

    // Nothing acknowledged was lost: every order any app was told about is on the server.
    let count: i64 = sqlx::query_scalar("select count(*) from public.market_orders")
        .fetch_one(&mut pg)
        .await
        .unwrap();
    assert_eq!(count, 10 + 1 + 1 + 1 + 1);
    for market in [&alice, &bob, &carol] {
        market.close().await;
    }
    stand.stop().await;
}

/// A token the server once would have accepted, expired an hour ago.
fn forge_expired_token(stand: &Stand, session: &lumea_community::Session) -> String {
    use base64::Engine;
    use hmac::Mac;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let exp = chrono::Utc::now().timestamp() - 3600;
    let header = b64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = serde_json::json!({ "sub": session.user_id, "role": "authenticated", "aud": "authenticated", "exp": exp, "iat": exp - 3600 });
    let payload = b64.encode(claims.to_string());
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(stand.endpoints.jwt_secret.as_bytes()).unwrap();
    mac.update(format!("{header}.{payload}").as_bytes());
    format!("{header}.{payload}.{}", b64.encode(mac.finalize().into_bytes()))
}

/// Every change a household's realtime channel delivers, as raw rows.
async fn listen(stand: &Stand, session: &lumea_community::Session, community: &str) -> mpsc::Receiver<Feed> {
    let subscriptions = vec![
        Subscription {
            table: "open_orders",
            event: "*",
            filter: Some(format!("community_id=eq.{community}")),
        },
        Subscription {
            table: "market_orders",
            event: "*",
            filter: None,
        },
        Subscription {
            table: "household_trades",
            event: "*",
            filter: None,
        },
        Subscription {
            table: "trade_prints",
            event: "*",
            filter: None,
        },
        Subscription {
            table: "memberships",
            event: "*",
            filter: None,
        },
    ];
    let (tokens, token) = watch::channel(session.access_token.clone());
    let (feed_in, mut feed) = mpsc::channel(1024);
    let endpoint = stand.project().realtime_endpoint();
    tokio::spawn(async move {
        let _tokens = tokens; // the channel lives as long as the connection
        realtime::run(endpoint, subscriptions, token, feed_in).await
    });
    assert_eq!(feed.recv().await, Some(Feed::Joined));
    feed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_household_never_receives_its_neighbours_private_changes() {
    let stand = Stand::start().await;
    let bob_session = stand.sign_up("Bob", "default").await;
    let mut bob_feed = listen(&stand, &bob_session, "default").await;
    let (alice_session, carol_session) = (stand.sign_up("Alice", "default").await, stand.sign_up("Carol", "default").await);
    let others = [alice_session.user_id.to_string(), carol_session.user_id.to_string()];
    let alice = stand.household("alice", alice_session).await;
    let carol = stand.household("carol", carol_session).await;
    let bob = stand.household("bob", bob_session).await;
    for market in [&alice, &carol, &bob] {
        online(market).await;
    }

    // Alice lists and cancels; Carol buys from another of Alice's asks; then a marker Bob may see.
    let cancelled = place(Side::Sell, "0.17", "3");
    alice.place(&cancelled).await.unwrap();
    alice.cancel(cancelled.id).await.unwrap();
    let sold = place(Side::Sell, "0.19", "2");
    alice.place(&sold).await.unwrap();
    until("Carol's cache shows the ask", || async {
        carol.book().await.unwrap().asks.iter().any(|o| o.id == sold.id.to_string())
    })
    .await;
    let private_trade = carol.buy_now(sold.id, "2").await.unwrap().trades[0].id.clone();
    let marker = place(Side::Buy, "0.06", "1");
    alice.place(&marker).await.unwrap();

    let mut seen = Vec::new();
    loop {
        match bob_feed.recv().await.expect("Bob's channel stays open") {
            Feed::Change(change) => {
                let done = change.row.get("id").and_then(|v| v.as_str()) == Some(marker.id.to_string().as_str());
                seen.push(change);
                if done {
                    break;
                }
            }
            Feed::Joined | Feed::Down(_) => {}
        }
    }
    for change in &seen {
        let row = &change.row;
        assert_ne!(
            row.get("status").and_then(|s| s.as_str()),
            Some("cancelled"),
            "Bob received a cancelled order: {change:?}"
        );
        assert_ne!(
            row.get("status").and_then(|s| s.as_str()),
            Some("filled"),
            "Bob received a closed order: {change:?}"
        );
        assert_ne!(
            row.get("id").and_then(|s| s.as_str()),
            Some(private_trade.as_str()),
            "Bob received Alice and Carol's trade"
        );
        assert_ne!(change.table, "household_trades", "Bob is in no trade: {change:?}");
        let text = row.to_string();
        for other in &others {
            assert!(!text.contains(other.as_str()), "Bob received a neighbour's user id: {change:?}");
        }
        // Homes are at (51.5, -0.12): no coordinate field, and no such number in any field.
        let fields = row.as_object().into_iter().flatten();
        assert!(
            !text.contains("location")
                && fields.clone().all(|(key, _)| key != "lat" && key != "lng")
                && fields.clone().all(|(_, value)| value.as_f64().is_none_or(|n| n != 51.5 && n != -0.12)),
            "Bob received a home: {change:?}"
        );
        if change.kind == realtime::ChangeKind::Delete {
            assert_eq!(row.as_object().map(|o| o.len()), Some(1), "a delete tells the key alone: {change:?}");
        }
    }
    assert!(
        seen.iter()
            .any(|c| c.row.get("id").and_then(|v| v.as_str()) == Some(cancelled.id.to_string().as_str())),
        "Bob saw the ask listed"
    );

    // Bob's cache agrees: the cancelled and the sold ask left his book, nothing else of theirs is in it.
    until("Bob's cache equals what the server lets him see", || async {
        in_sync(&stand, &bob).await
    })
    .await;
    let bob_view = cache_view(&bob).await;
    assert!(
        !bob_view
            .book
            .iter()
            .any(|(id, ..)| *id == cancelled.id.to_string() || *id == sold.id.to_string())
    );
    assert!(bob_view.trades.is_empty());
    for market in [&alice, &carol, &bob] {
        market.close().await;
    }
    stand.stop().await;
}

/// What the stand-in server answers to reads of the open book.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Answer {
    Good,
    Failure,
    Malformed,
    WrongShape,
    BrokenRule,
    Huge,
    Slow,
}

/// A server that answers like the REST API, or badly on purpose. The profile
/// is always answered well, so the app core opens; the book answers `answer`.
async fn answering(answer: Arc<std::sync::Mutex<Answer>>, user: Uuid) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let answer = *answer.lock().unwrap();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&request).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                // The body, as long as its content-length says: an RPC's arguments.
                let length = head
                    .lines()
                    .find_map(|line| {
                        line.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|n| n.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                let start = request.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                while request.len() < start + length {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let body = String::from_utf8_lossy(&request[start..]).to_string();
                let row = |price: &str| {
                    format!(
                        r#"{{"id":"{}","username":"Erin","community_id":"default","type":"sell","price":{price},"amount":5,"filled_amount":0,"status":"active","seq":7,"expires_at":null,"created_at":"2026-11-24 09:00:00+00","updated_at":"2026-11-24 09:00:00+00","distance_km":null}}"#,
                        Uuid::from_u128(7)
                    )
                };
                let (status, body): (u16, Vec<u8>) = if path.starts_with("/rest/v1/profiles") {
                    (
                        200,
                        format!(r#"[{{"id":"{user}","location_lat":null,"location_lng":null}}]"#).into_bytes(),
                    )
                } else if path.starts_with("/rest/v1/rpc/my_membership") {
                    let membership = r#"{"membership_id":"00000000-0000-4000-8000-000000000009","community_id":"default","community_name":"Default",
                                         "display_name":"Dee","role":"member","status":"active"}"#;
                    (200, membership.as_bytes().to_vec())
                } else if !path.starts_with("/rest/v1/rpc/book_page") || body.contains(r#""p_after_seq":7"#) {
                    (200, b"[]".to_vec())
                } else {
                    match answer {
                        Answer::Good => (200, format!("[{}]", row("0.17")).into_bytes()),
                        Answer::Failure => (500, br#"{"message":"internal error"}"#.to_vec()),
                        Answer::Malformed => (200, b"[{\"id\": ".to_vec()),
                        Answer::WrongShape => (200, br#"{"rows": [{"id": 5}]}"#.to_vec()),
                        Answer::BrokenRule => (200, format!("[{}]", row("7.5")).into_bytes()),
                        Answer::Huge => (200, vec![b' '; 10 << 20]),
                        Answer::Slow => {
                            tokio::time::sleep(Duration::from_secs(5)).await;
                            (200, b"[]".to_vec())
                        }
                    }
                };
                // No content-length: the body ends when the connection closes, so only reading it tells its size.
                let head = format!("HTTP/1.1 {status} X\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n");
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_server_answers_give_a_clear_error_and_leave_the_cache_untouched() {
    let user = Uuid::new_v4();
    let answer = Arc::new(std::sync::Mutex::new(Answer::Good));
    let url = answering(answer.clone(), user).await;
    // Realtime at a port nobody serves: this test drives the snapshots itself.
    let project = lumea_community::Project::new(&url, "anon", Some("ws://127.0.0.1:9/realtime/v1/websocket")).unwrap();
    let session = lumea_community::Session {
        user_id: user,
        email: "dee@example.com".into(),
        access_token: "token".into(),
        refresh_token: "refresh".into(),
        expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
    };
    let dir = tempfile::tempdir().unwrap();
    let (cache, session_file) = (dir.path().join("dee.sqlite"), dir.path().join("dee.session.json"));
    let paths = lumea_community::Paths {
        cache: &cache,
        session: lumea_community::SessionStore::in_store(&session_file, None),
    };
    let battery = lumea_market::energy::Battery::new(Energy::parse("10").unwrap(), Energy::parse("4").unwrap()).unwrap();
    let api = lumea_community::Api::new(project, Duration::from_secs(1));
    let market = CommunityMarket::open(api, session, paths, battery, Arc::new(lumea_store::clock::SystemClock))
        .await
        .unwrap();
    market.resync().await.unwrap();
    let before = cache_view(&market).await;
    assert_eq!(before.book.len(), 1, "the good snapshot is cached");
    let energy = market.energy().await.unwrap();

    for (bad, code) in [
        (Answer::Failure, "server_error"),
        (Answer::Malformed, "bad_server_answer"),
        (Answer::WrongShape, "bad_server_answer"),
        (Answer::BrokenRule, "bad_server_answer"),
        (Answer::Huge, "bad_server_answer"),
        (Answer::Slow, "offline"),
    ] {
        *answer.lock().unwrap() = bad;
        let err = market.resync().await.unwrap_err();
        assert_eq!(err.code().as_str(), code, "{bad:?}: {err}");
        assert!(!err.to_string().is_empty());
        assert_eq!(cache_view(&market).await, before, "{bad:?} changed the cache");
        assert_eq!(market.energy().await.unwrap(), energy, "{bad:?} changed the battery");
    }
    market.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_switches_between_the_local_demo_and_a_community_market() {
    use lumea_core::{App, DeveloperSettings};
    let stand = Stand::start().await;
    let dir = tempfile::tempdir().unwrap();
    let developer = DeveloperSettings {
        realtime_url: Some(stand.endpoints.realtime_url.clone()),
        ..DeveloperSettings::default()
    };
    let local_file = dir.path().join("market.sqlite");
    let open = || App::open(dir.path(), &local_file, Arc::new(lumea_store::clock::SystemClock), 7, developer.clone());
    let app = open().await.unwrap();
    let local_book = app.book().await.unwrap();
    assert!(!local_book.asks.is_empty(), "the demo neighbourhood's book");
    assert_eq!(app.mode().await.connection, Connection::Local);

    // A wrong password changes nothing; signing up switches to the community.
    let (url, key) = (&stand.endpoints.rest_url, &stand.endpoints.anon_key);
    assert_eq!(
        app.sign_in(url, key, "nobody@example.com", "wrong").await.unwrap_err().code.as_str(),
        "invalid_credentials"
    );
    assert_eq!(app.mode().await.connection, Connection::Local);
    assert_eq!(app.mode().await.setup, lumea_core::Setup::Unset, "a first run");
    let link = stand.invitation_link("default", true).await;
    let sign_up = || app.sign_up(&link, "erin@example.com", "correct-horse-battery", " Erin\u{200B} ");
    assert_eq!(sign_up().await.unwrap_err().code.as_str(), "home_not_set", "never with the demo's home");

    // Her home, set up on first run: a bad field is refused and saves nothing.
    let mut form = lumea_core::HomeSettings {
        display_name: "Erin".into(),
        location: "51.50722° N, 0.12758° W".into(),
        battery_capacity: Some("10".into()),
        battery_level: Some("4.5".into()),
        pv_kwp: Some("3.6".into()),
        locale: "en-GB".into(),
        currency: "GBP".into(),
    };
    form.battery_level = Some("10.5".into());
    assert_eq!(app.save_home(&form).await.unwrap_err().code.as_str(), "invalid_battery");
    assert_eq!((app.home_settings(), app.mode().await.setup), (None, lumea_core::Setup::Unset));
    form.battery_level = Some("4.5".into());
    assert_eq!(app.save_home(&form).await.unwrap().location, "51.507, -0.128");
    assert_eq!(app.mode().await.setup, lumea_core::Setup::Home);
    let mode = sign_up().await.unwrap();
    assert!(mode.community);
    assert_eq!((mode.username.as_deref(), mode.community_id.as_deref()), (Some("Erin"), Some("default")));
    assert_eq!(
        mode.membership,
        Some(lumea_core::MembershipStatus::Active),
        "the invitation pre-approved it"
    );
    until("the app is online", || async { app.mode().await.connection == Connection::Online }).await;
    assert!(app.book().await.unwrap().asks.is_empty(), "the community's book, not the demo's");
    let energy = app.energy().await.unwrap();
    assert_eq!(
        (energy.capacity.to_string(), energy.level.to_string()),
        ("10".into(), "4.5".into()),
        "her battery, not the demo's"
    );
    let mut pg = stand.pg().await;
    assert_eq!(stored_home(&mut pg, "erin@example.com").await, "51.507, -0.128", "her home, coarse");

    // A corrected battery in Settings becomes the community cache's; an order it can't hold is refused.
    let corrected = lumea_core::HomeSettings {
        battery_capacity: Some("12".into()),
        battery_level: Some("6".into()),
        ..form.clone()
    };
    app.save_home(&corrected).await.unwrap();
    let energy = app.energy().await.unwrap();
    assert_eq!((energy.capacity.to_string(), energy.level.to_string()), ("12".into(), "6".into()));

    // An order goes to the server; the session file is the user's alone.
    let ask = place(Side::Sell, "0.16", "1");
    assert!(!app.place(&ask).await.unwrap().pending);
    let stored: i64 = sqlx::query_scalar("select count(*) from public.market_orders where id = $1")
        .bind(ask.id)
        .fetch_one(&mut pg)
        .await
        .unwrap();
    assert_eq!(stored, 1);
    // In the platform's credential store where one runs, else in a file only this user reads.
    let sessions = lumea_community::SessionStore::open(&dir.path().join("community-session.json"));
    assert!(sessions.load().is_some(), "the session is kept");
    if sessions.kept() == lumea_community::secrets::Kept::PrivateFile {
        let session = std::fs::metadata(dir.path().join("community-session.json")).unwrap();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&session.permissions()) & 0o777, 0o600);
    }

    // Reopened, the app resumes in the community; signing out returns to the demo.
    app.close().await;
    let app = open().await.unwrap();
    assert!(app.mode().await.community);
    assert!(
        app.orders(&OrderFilter::default(), Page::first(10))
            .await
            .unwrap()
            .iter()
            .any(|o| o.id == ask.id.to_string())
    );
    let mode = app.use_local().await;
    assert_eq!(mode.connection, Connection::Local);
    assert_eq!(sessions.load(), None, "signing out forgets the tokens");
    assert!(!dir.path().join("community-session.json").exists());
    assert_eq!(app.book().await.unwrap().asks.len(), local_book.asks.len());

    // A home moved while signed out reaches the community at the next sign-in.
    let moved = lumea_core::HomeSettings {
        location: "51.52, -0.1".into(),
        ..corrected.clone()
    };
    app.save_home(&moved).await.unwrap();
    assert!(
        app.sign_in(url, key, "erin@example.com", "correct-horse-battery")
            .await
            .unwrap()
            .community
    );
    assert_eq!(stored_home(&mut pg, "erin@example.com").await, "51.520, -0.100", "the moved home, coarse");
    app.use_local().await;
    app.close().await;
    stand.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_household_trades_once_approved_and_is_refused_once_suspended() {
    let stand = Stand::start().await;
    let alice = stand.household("alice", stand.sign_up("Alice", "sunny").await).await;
    online(&alice).await;
    let ask = place(Side::Sell, "0.16", "5");
    alice.place(&ask).await.unwrap();

    // Dee joins with an invitation that needs approval: she reads nothing and places nothing.
    let form = lumea_community::SignUp {
        email: "dee@example.com",
        password: "correct-horse-battery",
        home: Some((51.51, -0.12)),
        confirmation: None,
    };
    let session = stand.api().sign_up(&form, chrono::Utc::now()).await.unwrap();
    let token = stand.invitation("sunny", false).await;
    let joined = stand.api().join(&session, "sunny", &token, "Dee").await.unwrap();
    assert_eq!(joined.status, lumea_community::MembershipStatus::Pending);
    let dee = stand.household("dee", session).await;
    let mut dee_events = dee.subscribe();
    assert_eq!(dee.standing().status, lumea_community::MembershipStatus::Pending);
    until("Dee's app is connected", || async { dee.connection() == Connection::Online }).await;
    assert!(dee.book().await.unwrap().asks.is_empty(), "a pending member reads no book");
    let refused = dee.place(&place(Side::Buy, "0.10", "1")).await.unwrap_err();
    assert_eq!(refused.code().as_str(), "membership_pending");

    // An admin approves her (as the console's RPC does): her app hears it without a restart.
    let mut pg = stand.pg().await;
    let membership: Uuid = sqlx::query_scalar("select id from public.memberships where display_name = 'Dee'")
        .fetch_one(&mut pg)
        .await
        .unwrap();
    sqlx::query("update public.memberships set status = 'active', approved_at = now() where id = $1")
        .bind(membership)
        .execute(&mut pg)
        .await
        .unwrap();
    loop {
        match dee_events.recv().await {
            Ok(MarketEvent::MembershipChanged) => break,
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(err) => panic!("Dee's events ended: {err}"),
        }
    }
    assert_eq!(dee.standing().status, lumea_community::MembershipStatus::Active);
    until("Dee's book shows Alice's ask, with its distance and no home", || async {
        dee.book()
            .await
            .unwrap()
            .asks
            .iter()
            .any(|o| o.id == ask.id.to_string() && o.username == "Alice" && o.distance_km.map(|d| d.to_string()) == Some("1.1".into()))
    })
    .await;
    let bought = dee.buy_now(ask.id, "1").await.unwrap();
    assert_eq!(bought.trades[0].seller, "Alice");
    until("the market's print reaches Dee's statistics", || async {
        dee.stats(chrono::Utc::now() - chrono::Duration::hours(1))
            .await
            .unwrap()
            .last_price
            .map(|p| p.to_string())
            == Some("0.16".into())
    })
    .await;

    // Suspended, her next order is refused with its code.
    sqlx::query("update public.memberships set status = 'suspended' where id = $1")
        .bind(membership)
        .execute(&mut pg)
        .await
        .unwrap();
    until("Dee's app hears the suspension", || async {
        dee.standing().status == lumea_community::MembershipStatus::Suspended
    })
    .await;
    let refused = dee.place(&place(Side::Buy, "0.10", "1")).await.unwrap_err();
    assert_eq!(refused.code().as_str(), "membership_suspended");
    for market in [&alice, &dee] {
        market.close().await;
    }
    stand.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_runs_the_community_from_the_console() {
    use lumea_community::console::SettingsChange;
    use lumea_community::{MemberAction, MembershipStatus};
    let stand = Stand::start().await;
    let ann_session = stand.sign_up("Ann", "sunny").await;
    let mut pg = stand.pg().await;
    sqlx::query("update public.memberships set role = 'admin' where user_id = $1")
        .bind(ann_session.user_id)
        .execute(&mut pg)
        .await
        .unwrap();
    let ann = stand.household("ann", ann_session).await;
    online(&ann).await;

    // An invitation that needs approval, as a link; Bea joins with it and waits.
    let invitation = ann
        .create_invitation(2, chrono::Utc::now() + chrono::Duration::days(3), false)
        .await
        .unwrap();
    let link = invitation.link.clone().expect("a new invitation carries its link");
    assert_eq!(invitation.code.as_deref().map(|c| c.starts_with("LUMEA1-")), Some(true));
    assert!(invitation.qr_svg.as_deref().is_some_and(|svg| svg.contains("<svg")), "and its QR image");
    let parsed = lumea_community::invitation::Invitation::parse(&link).unwrap();
    assert_eq!(parsed.community, "sunny");
    let form = lumea_community::SignUp {
        email: "bea@example.com",
        password: "correct-horse-battery",
        home: None,
        confirmation: None,
    };
    let bea_session = stand.api().sign_up(&form, chrono::Utc::now()).await.unwrap();
    stand.api().join(&bea_session, "sunny", &parsed.token, "Bea").await.unwrap();
    let bea = stand.household("bea", bea_session).await;
    let members = ann.members().await.unwrap();
    assert_eq!(
        members.iter().map(|m| (m.display_name.as_str(), m.status)).collect::<Vec<_>>(),
        [("Bea", MembershipStatus::Pending), ("Ann", MembershipStatus::Active)],
        "pending members first"
    );
    let listed = ann.invitations().await.unwrap();
    assert_eq!(
        (listed[0].uses_left, listed[0].link.as_deref()),
        (1, None),
        "a listed invitation shows no token"
    );

    // Approved from the console: Bea's app hears it and she trades.
    let bea_member = uuid::Uuid::parse_str(&members[0].membership_id).unwrap();
    assert_eq!(
        ann.manage_member(bea_member, MemberAction::Approve).await.unwrap().status,
        MembershipStatus::Active
    );
    until("Bea's app hears her approval", || async {
        bea.standing().status == MembershipStatus::Active
    })
    .await;
    let ask = place(Side::Sell, "0.16", "2");
    ann.place(&ask).await.unwrap();
    until("Bea sees Ann's ask", || async {
        bea.book().await.unwrap().asks.iter().any(|o| o.id == ask.id.to_string())
    })
    .await;
    bea.buy_now(ask.id, "1").await.unwrap();
    until("the console shows Bea's purchase", || async {
        ann.members()
            .await
            .unwrap()
            .iter()
            .any(|m| m.display_name == "Bea" && m.trades == 1 && m.bought.to_string() == "1")
    })
    .await;

    // The rules of the console.
    let ann_member = uuid::Uuid::parse_str(&ann.members().await.unwrap()[0].membership_id).unwrap();
    let code = |err: lumea_community::Error| err.code().as_str();
    assert_eq!(
        code(ann.manage_member(ann_member, MemberAction::Suspend).await.unwrap_err()),
        "last_admin"
    );
    assert_eq!(code(bea.members().await.unwrap_err()), "not_admin");
    let bad = SettingsChange {
        min_price: Some("0.5".into()),
        max_price: Some("0.2".into()),
        ..SettingsChange::default()
    };
    assert_eq!(code(ann.update_settings(&bad).await.unwrap_err()), "invalid_setting");
    let narrower = SettingsChange {
        min_price: Some("0.10".into()),
        ..SettingsChange::default()
    };
    ann.update_settings(&narrower).await.unwrap();
    assert_eq!(code(bea.place(&place(Side::Buy, "0.09", "1")).await.unwrap_err()), "invalid_price");
    let dearer_grid = SettingsChange {
        grid_buy_price: Some("0.25".into()),
        co2_kg_per_kwh: Some("0.2".into()),
        ..SettingsChange::default()
    };
    ann.update_settings(&dearer_grid).await.unwrap();
    until("Bea's app hears the community's grid prices and CO2 intensity", || async {
        let standing = bea.standing();
        standing.grid.buy.to_string() == "0.25" && standing.co2.grams_per_kwh() == 200
    })
    .await;
    assert_eq!(bea.grid_prices().sell.to_string(), "0.1", "a setting not changed stays");
    // The console's form reads every setting as it is now.
    assert_eq!(
        ann.settings().await.unwrap(),
        SettingsChange {
            name: Some("sunny".into()),
            min_price: Some("0.1".into()),
            max_price: Some("1".into()),
            grid_buy_price: Some("0.25".into()),
            grid_sell_price: Some("0.1".into()),
            co2_kg_per_kwh: Some("0.2".into()),
            open_order_cap: Some(50),
        }
    );
    let revoked = ann
        .revoke_invitation(uuid::Uuid::parse_str(&invitation.invitation_id).unwrap())
        .await
        .unwrap();
    assert!(revoked.revoked_at.is_some());

    // Suspended from the console: her next order is refused.
    ann.manage_member(bea_member, MemberAction::Suspend).await.unwrap();
    until("Bea's app hears her suspension", || async {
        bea.standing().status == MembershipStatus::Suspended
    })
    .await;
    assert_eq!(code(bea.place(&place(Side::Buy, "0.12", "1")).await.unwrap_err()), "membership_suspended");
    for market in [&ann, &bea] {
        market.close().await;
    }
    stand.stop().await;
}

/// The home the server keeps for `email`'s household, as "lat, lng".
async fn stored_home(pg: &mut sqlx::PgConnection, email: &str) -> String {
    sqlx::query_scalar(
        "select location_lat::text || ', ' || location_lng::text from public.profiles p join auth.users u on u.id = p.id where u.email = $1",
    )
    .bind(email)
    .fetch_one(pg)
    .await
    .unwrap()
}

/// Opens the e-mail's link for `email` as its mail client would, and returns
/// where the project sends the household: the app's own link.
async fn follow_email_link(stand: &Stand, email: &str, kind: &str) -> String {
    let mut pg = stand.pg().await;
    let column = if kind == "recovery" { "recovery_token" } else { "confirmation_token" };
    let token: String = sqlx::query_scalar(&format!("select {column} from auth.users where email = $1"))
        .bind(email)
        .fetch_one(&mut pg)
        .await
        .unwrap();
    // One plain HTTP/1.1 GET, its redirect not followed: the link's target is the app.
    let address = stand.endpoints.rest_url.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let request = format!(
        "GET /auth/v1/verify?token={token}&type={kind}&redirect_to=lumea%3A%2F%2Fauth%2Fcallback HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    );
    tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 303"), "the link redirects: {answer:.200}");
    answer
        .lines()
        .find_map(|line| line.strip_prefix("location: ").or_else(|| line.strip_prefix("Location: ")))
        .expect("a Location header")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emailed_link_confirms_the_sign_up_and_resets_the_password_in_the_app() {
    use lumea_core::{App, AuthLinkKind, DeveloperSettings};
    let stand = Stand::start_confirming_email().await;
    let dir = tempfile::tempdir().unwrap();
    let developer = DeveloperSettings {
        realtime_url: Some(stand.endpoints.realtime_url.clone()),
        ..DeveloperSettings::default()
    };
    let app = App::open(
        dir.path(),
        &dir.path().join("market.sqlite"),
        Arc::new(lumea_store::clock::SystemClock),
        7,
        developer,
    )
    .await
    .unwrap();
    let home = lumea_core::HomeSettings {
        display_name: "Gita".into(),
        location: "51.51, -0.12".into(),
        battery_capacity: None,
        battery_level: None,
        pv_kwp: None,
        locale: "en-GB".into(),
        currency: "GBP".into(),
    };
    app.save_home(&home).await.unwrap();
    let link = stand.invitation_link("default", true).await;

    // Signing up waits for the e-mail; a link nobody asked this app for does nothing.
    let (email, password) = ("gita@example.com", "correct-horse-battery");
    assert_eq!(
        app.sign_up(&link, email, password, "Gita").await.unwrap_err().code.as_str(),
        "email_not_confirmed"
    );
    assert!(!app.mode().await.community);
    assert_eq!(
        app.complete_auth_link("lumea://auth/callback?error=access_denied&error_code=otp_expired")
            .await
            .unwrap_err()
            .code
            .as_str(),
        "invalid_auth_link"
    );

    // The e-mail's link opens the app: signed in, and in the invitation's community.
    let opened = follow_email_link(&stand, email, "signup").await;
    assert!(opened.starts_with("lumea://auth/callback"), "{opened}");
    assert_eq!(app.complete_auth_link(&opened).await.unwrap(), AuthLinkKind::Confirmed);
    let mode = app.mode().await;
    assert_eq!((mode.community, mode.username.as_deref()), (true, Some("Gita")));
    assert_eq!(mode.membership, Some(lumea_core::MembershipStatus::Active));
    assert_eq!(
        app.complete_auth_link(&opened).await.unwrap_err().code.as_str(),
        "invalid_auth_link",
        "a link works once"
    );

    // Forgotten password: the reset e-mail's link signs in to choose a new one.
    app.use_local().await;
    app.request_password_reset(email).await.unwrap();
    let opened = follow_email_link(&stand, email, "recovery").await;
    assert_eq!(app.complete_auth_link(&opened).await.unwrap(), AuthLinkKind::Recovery);
    assert_eq!(app.set_new_password("short").await.unwrap_err().code.as_str(), "weak_password");
    app.set_new_password("another-horse-battery").await.unwrap();
    app.use_local().await;
    let (url, key) = (&stand.endpoints.rest_url, &stand.endpoints.anon_key);
    assert_eq!(
        app.sign_in(url, key, email, password).await.unwrap_err().code.as_str(),
        "invalid_credentials"
    );
    assert!(app.sign_in(url, key, email, "another-horse-battery").await.unwrap().community);
    app.close().await;
    stand.stop().await;
}

#[tokio::test]
async fn dated_orders_and_trades_keep_their_interval_live_and_after_a_snapshot() {
    let stand = Stand::start().await;
    let alice = stand.household("alice", stand.sign_up("Alice", "default").await).await;
    let bob_session = stand.sign_up("Bob", "default").await;
    let bob = stand.household("bob", bob_session.clone()).await;
    online(&alice).await;
    online(&bob).await;
    let rules = alice.delivery_rules();
    let start = rules.next_open(chrono::Utc::now()) + rules.interval_length() * 2;
    let ask = PlaceRequest {
        interval: Some(start.to_rfc3339()),
        ..place(Side::Sell, "0.16", "5")
    };
    alice.place(&ask).await.unwrap();
    // Live, through Realtime.
    until("Bob's cache shows Alice's dated ask", || async {
        bob.book()
            .await
            .unwrap()
            .asks
            .iter()
            .any(|o| o.id == ask.id.to_string() && o.interval == Some(start))
    })
    .await;
    let bought = bob.buy_now(ask.id, "2").await.unwrap();
    assert_eq!(bought.trades[0].interval, Some(start));
    until("Bob's trade keeps its interval in his cache", || async {
        bob.trades(Page::first(10)).await.unwrap().iter().any(|t| t.interval == Some(start))
    })
    .await;
    // From a snapshot: a new cache of Bob's reads the book and his trades over REST.
    let fresh = stand
        .open(
            "bob-again",
            bob_session.clone(),
            lumea_market::energy::Battery::new(lumea_market::Energy::from_centi_kwh(1350), lumea_market::Energy::from_centi_kwh(850)).unwrap(),
        )
        .await;
    online(&fresh).await;
    until("a snapshot keeps the ask's interval", || async {
        fresh
            .book()
            .await
            .unwrap()
            .asks
            .iter()
            .any(|o| o.id == ask.id.to_string() && o.interval == Some(start))
    })
    .await;
    let trades = fresh.trades(Page::first(10)).await.unwrap();
    assert!(!trades.is_empty() && trades.iter().all(|t| t.interval == Some(start)), "{trades:?}");

    // A day later (the trade moved back on the server), the operator's readings settle it:
    // Alice exported 1.5 of her 2 kWh. Bob's app reads his reading and his statement from the server.
    let mut pg = stand.pg().await;
    let ended = start - chrono::Duration::days(1);
    for table in ["trades", "household_trades", "market_orders"] {
        sqlx::query(&format!(
            "update public.{table} set delivery_start = $1::timestamptz where delivery_start = $2::timestamptz"
        ))
        .bind(ended.to_rfc3339())
        .bind(start.to_rfc3339())
        .execute(&mut pg)
        .await
        .unwrap();
    }
    for (name, import, export) in [("Alice", "0", "1.5"), ("Bob", "3", "0")] {
        sqlx::query(
            "insert into public.meter_readings (community_id, membership_id, delivery_start, revision, import_kwh, export_kwh, source)
             select 'default', id, $2::timestamptz, 1, $3::numeric, $4::numeric, 'operator' from public.memberships where display_name = $1",
        )
        .bind(name)
        .bind(ended.to_rfc3339())
        .bind(import)
        .bind(export)
        .execute(&mut pg)
        .await
        .unwrap();
    }
    sqlx::query("select public.settle_interval('default', $1::timestamptz)")
        .bind(ended.to_rfc3339())
        .execute(&mut pg)
        .await
        .unwrap();
    // A cache made now reads the trade where the server has it now.
    let later = stand
        .open(
            "bob-later",
            bob_session,
            lumea_market::energy::Battery::new(lumea_market::Energy::from_centi_kwh(1350), lumea_market::Energy::from_centi_kwh(850)).unwrap(),
        )
        .await;
    online(&later).await;
    let reading = &later.readings(Page::first(10)).await.unwrap()[0];
    assert_eq!(
        (reading.interval_start, reading.import.to_string(), reading.source.as_str()),
        (ended, "3".into(), "operator")
    );
    let day = (ended - chrono::Duration::hours(1), ended + chrono::Duration::hours(1));
    until("the later cache has the trade", || async {
        !later.trades(Page::first(10)).await.unwrap().is_empty()
    })
    .await;
    let statement = later.statement(day.0, day.1).await.unwrap();
    let line = &statement.lines[0];
    assert_eq!(
        (
            line.counterparty.as_str(),
            line.delivered.map(|d| d.to_string()),
            line.energy_value.to_string(),
            line.revision
        ),
        ("Alice", Some("1.5".into()), "0.24".into(), 1)
    );
    // 3 kWh imported, 1.5 of them from Alice: the rest from the grid at its price.
    assert_eq!(
        (statement.totals.paid.to_string(), statement.totals.grid_import.to_string()),
        ("0.24".into(), "1.5".into())
    );
    stand.stop().await;
}
