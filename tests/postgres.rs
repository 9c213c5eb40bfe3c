//! The community backend (`supabase/`) on a real PostgreSQL 15: the stand-in
//! for the Supabase platform, then the project's migrations, in a fresh
//! database per test. Users act as PostgREST makes them act: role
//! `authenticated` and `request.jwt.claims` set for the transaction.
//!
//! The harness is in tests/support/pg.rs.

mod support;

use std::str::FromStr;

use chrono::{DateTime, Utc};
use lumea_market::rules::{BuyNow, Cancel, Place};
use lumea_market::{Book, Event, Market, Side};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use rust_decimal::Decimal;
use sqlx::Row;
use support::pg::TestDb;
use uuid::Uuid;

#[tokio::test]
async fn the_migration_gives_new_users_a_safe_profile_and_name() {
    let db = TestDb::new(4).await;
    let user = db
        .sign_up_only(&serde_json::json!({ "username": "Mallory", "community_id": "north", "lat": "52.3701234", "lng": "4.8952101" }))
        .await;
    let row = sqlx::query("select location_lat::text, location_lng::text from public.profiles where id = $1")
        .bind(user)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    // The location coarsened to ~100 m; the metadata's community is not a membership.
    assert_eq!((row.get::<String, _>(0), row.get::<String, _>(1)), ("52.370".into(), "4.895".into()));
    let memberships: i64 = sqlx::query_scalar("select count(*) from public.memberships")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(memberships, 0, "sign-up metadata joins no community");
    // Locations that are not plain degrees are dropped, never stored as given.
    for hostile in ["'; drop table profiles;--", "NaN", "1e400", "91", "-181.5", "52.3 4.9"] {
        let user = db.sign_up_only(&serde_json::json!({ "lat": hostile, "lng": hostile })).await;
        let stored: (Option<String>, Option<String>) =
            sqlx::query_as("select location_lat::text, location_lng::text from public.profiles where id = $1")
                .bind(user)
                .fetch_one(&db.pool)
                .await
                .unwrap();
        let expected_lng = (hostile == "91").then(|| "91.000".to_string());
        assert_eq!(stored, (None, expected_lng), "{hostile}");
    }
    // A hostile name joins as text, cleaned as the market crate cleans it.
    sqlx::query("insert into public.communities (id, name) values ('north', 'North')")
        .execute(&db.pool)
        .await
        .unwrap();
    let token: String = sqlx::query_scalar("select private.make_invitation('north', 'member', 5, now() + interval '1 day', true, null) ->> 'token'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let hostile = "Rob'); drop table market_orders;--\u{7}\u{1b}[31m\u{202E}";
    let joined = db
        .as_user(
            Some(user),
            "select public.join_community('north', $1, $2)::text",
            &[token.as_str(), hostile],
        )
        .await
        .unwrap();
    let answer: serde_json::Value = serde_json::from_str(&joined[0].get::<String, _>(0)).unwrap();
    assert_eq!(answer["display_name"], lumea_market::names::display_name(hostile).unwrap().as_str());
    assert_eq!(answer["display_name"], "Rob'); drop table market_orders;--[31m");
    let count: i64 = sqlx::query_scalar("select count(*) from public.market_orders")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(count, 0, "the table the hostile name spoke of is still there");
}

#[tokio::test]
async fn postgres_cleans_display_names_as_the_market_crate_does() {
    #[derive(serde::Deserialize)]
    struct Case {
        why: String,
        input: String,
        name: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Table {
        cases: Vec<Case>,
    }
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/display-names.json")).unwrap();
    let table: Table = serde_json::from_str(&text).unwrap();
    let db = TestDb::new(2).await;
    for case in table.cases {
        let cleaned: Option<String> = sqlx::query_scalar("select private.display_name($1)")
            .bind(&case.input)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(cleaned, case.name, "{}", case.why);
        assert_eq!(lumea_market::names::display_name(&case.input), case.name, "{}", case.why);
    }
}

/// Every answer a user gets, as text: what must never hold another member's secrets.
async fn answers(db: &TestDb, user: Uuid, queries: &[String]) -> String {
    let mut text = String::new();
    for sql in queries {
        match db.as_user(Some(user), &format!("select to_jsonb(r)::text from ({sql}) r"), &[]).await {
            Ok(rows) => rows.iter().for_each(|row| text.push_str(&row.get::<String, _>(0))),
            Err(message) => text.push_str(&message),
        }
    }
    text
}

#[tokio::test]
async fn membership_and_invitation_attacks_are_refused_and_change_nothing() {
    let db = TestDb::new(4).await;
    let made: String = sqlx::query_scalar("select public.create_community('sunny', 'Sunny Street')::text")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let admin_token = serde_json::from_str::<serde_json::Value>(&made).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let home = |lat: &str| serde_json::json!({ "lat": lat, "lng": "4.8952" });
    let (ann, bea, cas, dan, eve) = (
        db.sign_up_only(&home("52.3702")).await,
        db.sign_up_only(&home("52.3712")).await,
        db.sign_up_only(&home("52.3722")).await,
        db.sign_up_only(&home("52.3732")).await,
        db.sign_up_only(&home("52.3742")).await,
    );
    let north = db
        .sign_up(serde_json::json!({ "username": "Nora", "community_id": "north", "lat": "53.0", "lng": "5.0" }))
        .await;
    let join = |user: Uuid, community: &'static str, token: String, name: &'static str| {
        let db = &db;
        async move {
            db.as_user(
                Some(user),
                "select public.join_community($1, $2, $3)::text",
                &[community, token.as_str(), name],
            )
            .await
            .map(|rows| serde_json::from_str::<serde_json::Value>(&rows[0].get::<String, _>(0)).unwrap())
        }
    };
    let ann_joined = join(ann, "sunny", admin_token.clone(), "Ann").await.unwrap();
    assert_eq!(
        (ann_joined["role"].as_str(), ann_joined["status"].as_str()),
        (Some("admin"), Some("active"))
    );
    let invite = |uses: i32, pre_approved: bool| {
        let db = &db;
        async move {
            let sql = format!("select public.create_invitation('sunny', {uses}, now() + interval '1 day', {pre_approved})::text");
            let rows = db.as_user(Some(ann), &sql, &[]).await.unwrap();
            serde_json::from_str::<serde_json::Value>(&rows[0].get::<String, _>(0)).unwrap()
        }
    };
    let open = invite(10, false).await;
    let token = open["token"].as_str().unwrap().to_string();
    assert_eq!(join(bea, "sunny", token.clone(), "Bea").await.unwrap()["status"], "pending");
    assert_eq!(join(cas, "sunny", token.clone(), "Cas").await.unwrap()["status"], "pending");
    let bea_member = sqlx::query_scalar::<_, Uuid>("select id from public.memberships where user_id = $1")
        .bind(bea)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let cas_member = sqlx::query_scalar::<_, Uuid>("select id from public.memberships where user_id = $1")
        .bind(cas)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let manage = |member: Uuid, action: &'static str| {
        let db = &db;
        async move {
            db.as_user(Some(ann), &format!("select public.manage_member('sunny', '{member}', '{action}')"), &[])
                .await
                .map(drop)
        }
    };
    manage(bea_member, "approve").await.unwrap();
    let ask = Uuid::new_v4().to_string();
    db.place(ann, &ask, "sell", "0.16", "5", None).await.unwrap();
    db.place(north, &Uuid::new_v4().to_string(), "sell", "0.17", "5", None).await.unwrap();
    db.buy_now(bea, &ask, "1", &Uuid::new_v4().to_string()).await.unwrap();
    manage(cas_member, "approve").await.unwrap();
    manage(cas_member, "suspend").await.unwrap();
    let mut before = db.digest().await;

    // Refused: each reader and each writer without an active membership of the book.
    let (ask_id, uuid) = (ask.as_str(), Uuid::new_v4().to_string());
    for (user, code) in [(dan, "not_member"), (cas, "membership_suspended")] {
        assert_eq!(db.place(user, &uuid, "buy", "0.2", "1", None).await, Err(code.into()));
        assert_eq!(db.cancel(user, ask_id).await, Err(code.into()));
        assert_eq!(db.buy_now(user, ask_id, "1", &uuid).await, Err(code.into()));
        let read = db
            .as_user(Some(user), &format!("select * from public.order_distances(array['{ask}'::uuid])"), &[])
            .await;
        assert_eq!(read.map(|rows| rows.len()), Err(code.into()));
        for table in ["open_orders", "trade_prints"] {
            let rows = db.as_user(Some(user), &format!("select * from public.{table}"), &[]).await.unwrap();
            assert!(rows.is_empty(), "{code} reads {table}");
        }
    }
    assert_eq!(
        db.digest().await,
        before,
        "a refusal to a non-member or a suspended member changed something"
    );
    // Pending: a member joining with the same open invitation.
    let pending = db.sign_up_only(&home("52.36")).await;
    assert_eq!(join(pending, "sunny", token.clone(), "Pia").await.unwrap()["status"], "pending");
    let joined = db.digest().await;
    assert_eq!(db.place(pending, &uuid, "buy", "0.2", "1", None).await, Err("membership_pending".into()));
    assert!(
        db.as_user(Some(pending), "select * from public.open_orders", &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(db.digest().await, joined, "a refusal to a pending member changed something");

    // A member of one community reads nothing of another, and cannot buy there.
    let nora_reads = answers(
        &db,
        north,
        &[
            "select * from public.open_orders".into(),
            "select * from public.trade_prints".into(),
            "select * from public.communities".into(),
            "select * from public.memberships".into(),
        ],
    )
    .await;
    assert!(!nora_reads.contains("sunny") && !nora_reads.contains("Ann"), "{nora_reads}");
    assert_eq!(db.buy_now(north, ask_id, "1", &uuid).await, Err("unknown_order".into()));

    // Invitation tokens.
    let expired = invite(1, true).await;
    sqlx::query("update private.invitations set expires_at = now() - interval '1 second' where id = $1::uuid")
        .bind(expired["invitation_id"].as_str().unwrap())
        .execute(&db.pool)
        .await
        .unwrap();
    let revoked = invite(1, true).await;
    db.as_user(
        Some(ann),
        &format!(
            "select public.revoke_invitation('sunny', '{}')",
            revoked["invitation_id"].as_str().unwrap()
        ),
        &[],
    )
    .await
    .unwrap();
    let single = invite(1, true).await;
    let taker = db.sign_up_only(&home("52.35")).await;
    join(taker, "sunny", single["token"].as_str().unwrap().into(), "Tia").await.unwrap();
    let north_token: String =
        sqlx::query_scalar("select private.make_invitation('north', 'member', 5, now() + interval '1 day', true, null) ->> 'token'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    before = db.digest().await;
    for (token, community, code) in [
        (expired["token"].as_str().unwrap().to_string(), "sunny", "invitation_expired"),
        (revoked["token"].as_str().unwrap().to_string(), "sunny", "invitation_revoked"),
        (single["token"].as_str().unwrap().to_string(), "sunny", "invitation_used_up"),
        (admin_token.clone(), "sunny", "invitation_used_up"),
        (
            "guessed-token-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_string(),
            "sunny",
            "invalid_invitation",
        ),
        (String::new(), "sunny", "invalid_invitation"),
        (north_token.clone(), "sunny", "invalid_invitation"),
        (token.clone(), "north", "invalid_invitation"),
    ] {
        assert_eq!(
            join(eve, community, token.clone(), "Eve").await.err().as_deref(),
            Some(code),
            "{token} for {community}"
        );
    }
    assert_eq!(join(bea, "sunny", token.clone(), "Bea 2").await.err().as_deref(), Some("already_member"));
    assert_eq!(
        join(eve, "sunny", token.clone(), " bea\u{200B}").await.err().as_deref(),
        Some("username_taken")
    );
    assert_eq!(
        join(eve, "sunny", token.clone(), "\u{202E}\u{200B}").await.err().as_deref(),
        Some("invalid_username")
    );
    assert_eq!(db.digest().await, before, "a refused join changed something");

    // Admin functions: members are refused, and an admin only acts in its own community.
    let nora_member = sqlx::query_scalar::<_, Uuid>("select id from public.memberships where user_id = $1")
        .bind(north)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    for (user, sql, code) in [
        (bea, "select public.community_members('sunny')".to_string(), "not_admin"),
        (
            bea,
            format!("select public.manage_member('sunny', '{cas_member}', 'reinstate')"),
            "not_admin",
        ),
        (
            bea,
            "select public.create_invitation('sunny', 1, now() + interval '1 day', true)".to_string(),
            "not_admin",
        ),
        (
            bea,
            "select public.update_community_settings('sunny', p_open_order_cap => 1)".to_string(),
            "not_admin",
        ),
        (ann, "select public.community_members('north')".to_string(), "not_admin"),
        (
            ann,
            format!("select public.manage_member('north', '{nora_member}', 'suspend')"),
            "not_admin",
        ),
        (
            ann,
            format!("select public.manage_member('sunny', '{nora_member}', 'suspend')"),
            "unknown_member",
        ),
        (ann, "select public.community_invitations('north')".to_string(), "not_admin"),
        (
            ann,
            format!(
                "select public.manage_member('sunny', '{}', 'suspend')",
                ann_joined["membership_id"].as_str().unwrap()
            ),
            "last_admin",
        ),
        (
            ann,
            format!(
                "select public.manage_member('sunny', '{}', 'make_member')",
                ann_joined["membership_id"].as_str().unwrap()
            ),
            "last_admin",
        ),
        (
            ann,
            format!("select public.manage_member('sunny', '{bea_member}', 'approve')"),
            "invalid_member_status",
        ),
        (
            ann,
            "select public.update_community_settings('sunny', p_min_price => 0.5, p_max_price => 0.2)".to_string(),
            "invalid_setting",
        ),
        (
            ann,
            "select public.update_community_settings('sunny', p_open_order_cap => 0)".to_string(),
            "invalid_setting",
        ),
        (
            ann,
            "select public.create_invitation('sunny', 0, now() + interval '1 day', true)".to_string(),
            "invalid_invitation_settings",
        ),
    ] {
        assert_eq!(db.as_user(Some(user), &sql, &[]).await.err().as_deref(), Some(code), "{sql}");
    }
    assert_eq!(db.digest().await, before, "a refused admin call changed something");

    // Nothing anyone reads holds another member's user id, e-mail or home; prints name no party.
    let secrets: Vec<String> = sqlx::query_scalar(
        "select s from (select u.id::text as s, u.id from auth.users u union all select u.email, u.id from auth.users u
                        union all select p.location_lat::text, p.id from public.profiles p where p.location_lat is not null) x",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let reads = |me: Uuid| {
        vec![
            "select * from public.open_orders".to_string(),
            "select * from public.trade_prints".to_string(),
            "select * from public.communities".to_string(),
            "select * from public.household_trades where user_id <> auth.uid()".to_string(),
            "select * from public.memberships where user_id <> auth.uid()".to_string(),
            "select * from public.market_orders where user_id <> auth.uid()".to_string(),
            "select * from public.profiles where id <> auth.uid()".to_string(),
            "select public.my_membership() as m".to_string(),
            format!("select * from public.order_distances(array['{ask}'::uuid])"),
            "select public.community_members('sunny') as m".to_string(),
            "select public.community_invitations('sunny') as m".to_string(),
            format!("select counterpart, price from public.household_trades where user_id = '{me}'"),
        ]
    };
    for me in [ann, bea, cas, pending, north] {
        let text = answers(&db, me, &reads(me)).await;
        let own: Vec<String> = sqlx::query_scalar(
            "select s from (select u.id::text as s from auth.users u where u.id = $1 union all select u.email from auth.users u where u.id = $1
                            union all select p.location_lat::text from public.profiles p where p.id = $1) x",
        )
        .bind(me)
        .fetch_all(&db.pool)
        .await
        .unwrap();
        for secret in secrets.iter().filter(|s| !own.contains(s)) {
            assert!(!text.contains(secret.as_str()), "{me} read {secret}: {text}");
        }
    }
    let print_columns: Vec<String> = sqlx::query_scalar(
        "select column_name::text from information_schema.columns where table_schema = 'public' and table_name = 'trade_prints' order by 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(print_columns, ["amount", "community_id", "price", "seq", "traded_at"]);
    // Bea's distance to Ann's ask: 0.001° of latitude apart, from the server, to 0.1 km.
    let distance = db
        .as_user(
            Some(bea),
            &format!("select distance_km::text from public.order_distances(array['{ask}'::uuid])"),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(distance[0].get::<String, _>(0), "0.1");
}

#[tokio::test]
async fn attacks_are_refused_and_change_nothing() {
    let db = TestDb::new(4).await;
    let alice = db.sign_up(serde_json::json!({ "username": "Alice" })).await;
    let bob = db.sign_up(serde_json::json!({ "username": "Bob" })).await;
    let carol = db.sign_up(serde_json::json!({ "username": "Carol", "community_id": "north" })).await;
    let ask = Uuid::new_v4().to_string();
    let closed = Uuid::new_v4().to_string();
    db.place(alice, &ask, "sell", "0.16", "5", None).await.unwrap();
    db.place(alice, &closed, "sell", "0.18", "2", None).await.unwrap();
    db.cancel(alice, &closed).await.unwrap();
    db.place(bob, &Uuid::new_v4().to_string(), "buy", "0.17", "1", None).await.unwrap();
    let before = db.digest().await;

    let denied = "permission denied";
    let attempts: Vec<(Option<Uuid>, String, &str)> = vec![
        (
            Some(bob),
            format!(
                "insert into public.market_orders (id, user_id, username, community_id, type, price, amount) values (gen_random_uuid(), '{alice}', 'Alice', 'default', 'sell', 0.05, 100) returning id"
            ),
            denied,
        ),
        (
            Some(bob),
            format!(
                "insert into public.trades (community_id, sell_order_id, buyer_id, seller_id, price, amount) values ('default', '{ask}', '{bob}', '{alice}', 0.05, 5) returning id"
            ),
            denied,
        ),
        (Some(bob), "update public.trades set price = 0.01 returning id".into(), denied),
        (
            Some(alice),
            "update public.market_orders set filled_amount = 0, status = 'active' returning id".into(),
            denied,
        ),
        (Some(alice), "update public.market_orders set price = 0.99 returning id".into(), denied),
        (Some(alice), "delete from public.market_orders returning id".into(), denied),
        (Some(alice), "update public.profiles set location_lat = 0 returning id".into(), denied),
        (Some(alice), "update public.memberships set role = 'admin' returning id".into(), denied),
        (
            Some(alice),
            "insert into public.memberships (community_id, user_id, display_name, status) values ('north', auth.uid(), 'A2', 'active') returning id"
                .into(),
            denied,
        ),
        (
            Some(alice),
            "update public.communities set open_order_cap = 10000 returning id".into(),
            denied,
        ),
        (Some(alice), "select id from private.invitations".into(), denied),
        (Some(alice), "select id from public.trades".into(), denied),
        (Some(alice), "delete from public.household_trades returning trade_id".into(), denied),
        (Some(alice), "select public.create_community('mine', 'Mine')".into(), denied),
        (Some(alice), "select public.invite_admin('default')".into(), denied),
        (Some(alice), "select private.fill_order(id, 1) from public.market_orders".into(), denied),
        (Some(alice), "select public.match_orders('default')".into(), denied),
        (Some(alice), "select public.expire_orders('default')".into(), denied),
        (None, "select id from public.market_orders".into(), denied),
        (None, "select id from public.trades".into(), denied),
        (None, "select id from public.profiles".into(), denied),
        (
            None,
            "select id from public.place_order(gen_random_uuid(), 'buy', 0.2, 1)".to_string(),
            denied,
        ),
        (None, format!("select id from public.cancel_order('{ask}')"), denied),
        (Some(bob), format!("select id from public.cancel_order('{ask}')"), "not_owner"),
    ];
    for (user, sql, expected) in &attempts {
        let refused = db.as_user(*user, sql, &[]).await.expect_err(sql);
        assert!(refused.contains(expected), "{sql}: {refused}");
    }
    assert_eq!(db.digest().await, before, "a refused attempt changed something");

    // Reading: Bob sees open orders of his community and nothing closed of others'; Carol, in
    // another community, sees no order of Alice's and cannot buy one.
    let seen = |rows: Vec<sqlx::postgres::PgRow>| rows.into_iter().map(|row| row.get::<Uuid, _>(0).to_string()).collect::<Vec<_>>();
    let bob_sees = seen(
        db.as_user(
            Some(bob),
            "select id from public.open_orders where id not in (select id from public.market_orders)",
            &[],
        )
        .await
        .unwrap(),
    );
    assert_eq!(bob_sees, vec![ask.clone()]);
    let carol_sees = seen(db.as_user(Some(carol), "select id from public.open_orders", &[]).await.unwrap());
    assert!(carol_sees.is_empty());
    let bob_reads_alices_orders = db
        .as_user(Some(bob), &format!("select id from public.market_orders where id = '{ask}'"), &[])
        .await
        .unwrap();
    assert!(
        bob_reads_alices_orders.is_empty(),
        "a neighbour's order row (its user id and home) is its owner's alone"
    );
    assert_eq!(
        db.buy_now(carol, &ask, "1", &Uuid::new_v4().to_string()).await,
        Err("unknown_order".into())
    );
    let alice_history = seen(
        db.as_user(Some(alice), "select id from public.market_orders order by seq", &[])
            .await
            .unwrap(),
    );
    assert_eq!(alice_history, vec![ask.clone(), closed.clone()], "her own closed order is in her history");
    let profiles_bob_sees = db.as_user(Some(bob), "select id from public.profiles", &[]).await.unwrap().len();
    assert_eq!(profiles_bob_sees, 1, "only his own profile, never a neighbour's home");

    // Bad numbers, each refused with its code.
    for price in ["-1", "0", "0.049", "1.0001", "1000000000", "NaN", "0.12345"] {
        assert_eq!(
            db.place(bob, &Uuid::new_v4().to_string(), "buy", price, "1", None).await,
            Err("invalid_price".into()),
            "{price}"
        );
    }
    for amount in ["-5", "0", "0.99", "100.01", "NaN", "1.001", "1e30"] {
        assert_eq!(
            db.place(bob, &Uuid::new_v4().to_string(), "buy", "0.1", amount, None).await,
            Err("invalid_amount".into()),
            "{amount}"
        );
        // A purchase needs no whole kWh: 0.99 kWh of an ask is valid (bought below).
        if amount != "0.99" {
            let expected = if amount == "100.01" || amount == "1e30" {
                "exceeds_available"
            } else {
                "invalid_amount"
            };
            assert_eq!(
                db.buy_now(bob, &ask, amount, &Uuid::new_v4().to_string()).await,
                Err(expected.into()),
                "buy_now {amount}"
            );
        }
    }
    assert_eq!(
        db.place(bob, &Uuid::new_v4().to_string(), "hold", "0.1", "1", None).await,
        Err("invalid_side".into())
    );
    assert_eq!(
        db.place(bob, &Uuid::new_v4().to_string(), "buy", "0.1", "1", Some("2001-01-01T00:00:00Z"))
            .await,
        Err("invalid_expiry".into())
    );
    assert_eq!(db.buy_now(alice, &ask, "1", &Uuid::new_v4().to_string()).await, Err("self_trade".into()));
    assert_eq!(db.cancel(alice, &closed).await, Err("not_open".into()));
    assert_eq!(db.cancel(alice, &Uuid::new_v4().to_string()).await, Err("unknown_order".into()));
    assert_eq!(db.digest().await, before, "a refused command changed something");
    let bought_before = db.digest().await;
    assert_eq!(db.buy_now(bob, &ask, "0.99", &Uuid::new_v4().to_string()).await, Ok(()));
    assert_ne!(db.digest().await, bought_before);

    // The open-order cap.
    sqlx::query("update public.communities set open_order_cap = 3")
        .execute(&db.pool)
        .await
        .unwrap();
    for _ in 0..3 {
        db.place(bob, &Uuid::new_v4().to_string(), "buy", "0.10", "1", None).await.unwrap();
    }
    let capped = db.digest().await;
    assert_eq!(
        db.place(bob, &Uuid::new_v4().to_string(), "buy", "0.10", "1", None).await,
        Err("too_many_open_orders".into())
    );
    assert_eq!(db.digest().await, capped);
}

#[tokio::test]
async fn retries_are_idempotent_and_reuse_with_other_arguments_is_refused() {
    let db = TestDb::new(4).await;
    let alice = db.sign_up(serde_json::json!({ "username": "Alice" })).await;
    let bob = db.sign_up(serde_json::json!({ "username": "Bob" })).await;
    let ask = Uuid::new_v4().to_string();
    db.place(alice, &ask, "sell", "0.16", "5", None).await.unwrap();
    let once = db.digest().await;
    db.place(alice, &ask, "sell", "0.1600", "5.0", None).await.unwrap();
    assert_eq!(db.digest().await, once, "the same command again returns the stored order");
    assert_eq!(db.place(alice, &ask, "sell", "0.17", "5", None).await, Err("duplicate_order".into()));
    assert_eq!(db.place(bob, &ask, "sell", "0.16", "5", None).await, Err("duplicate_order".into()));

    let reference = Uuid::new_v4().to_string();
    db.buy_now(bob, &ask, "2", &reference).await.unwrap();
    let bought = db.digest().await;
    db.buy_now(bob, &ask, "2", &reference).await.unwrap();
    assert_eq!(db.digest().await, bought, "the same purchase again is the same trade");
    assert_eq!(db.buy_now(bob, &ask, "1", &reference).await, Err("duplicate_order".into()));
    let filled: String = sqlx::query_scalar("select filled_amount::text from public.market_orders where id = $1::uuid")
        .bind(&ask)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(filled, "2.00");
}

/// One command of the differential stream, as text for both sides.
enum Command {
    Place {
        user: usize,
        id: String,
        side: Side,
        price: String,
        amount: String,
        expires: Option<&'static str>,
    },
    Cancel {
        user: usize,
        id: String,
    },
    BuyNow {
        user: usize,
        order: String,
        amount: String,
    },
}

fn generate(rng: &mut SmallRng, placed: &mut [String], users: usize) -> Command {
    const PRICES: [&str; 16] = [
        "0.14", "0.15", "0.155", "0.16", "0.1625", "0.165", "0.17", "0.18", "0.15", "0.16", "0.17", "1.00", "0.0499", "1.0001", "0.12345", "NaN",
    ];
    const AMOUNTS: [&str; 10] = ["1", "2", "2.5", "3", "5", "7.25", "0.99", "100.01", "1.005", "100"];
    const PURCHASES: [&str; 8] = ["0.5", "1", "1.25", "2", "0", "-1", "0.001", "50"];
    const EXPIRIES: [Option<&str>; 8] = [
        None,
        None,
        None,
        None,
        None,
        None,
        Some("2099-01-01T00:00:00Z"),
        Some("2001-01-01T00:00:00Z"),
    ];
    let user = rng.random_range(0..users);
    let known = |rng: &mut SmallRng, placed: &[String]| {
        if placed.is_empty() || rng.random_range(0..10) == 0 {
            Uuid::new_v4().to_string()
        } else {
            placed[rng.random_range(0..placed.len())].clone()
        }
    };
    match rng.random_range(0..100) {
        0..=59 => {
            // One in fifty reuses a stored id (always as another user: a different command).
            let id = if rng.random_range(0..50) == 0 && !placed.is_empty() {
                known(rng, placed)
            } else {
                Uuid::new_v4().to_string()
            };
            Command::Place {
                user,
                id,
                side: if rng.random_range(0..2) == 0 { Side::Buy } else { Side::Sell },
                price: PRICES[rng.random_range(0..PRICES.len())].into(),
                amount: AMOUNTS[rng.random_range(0..AMOUNTS.len())].into(),
                expires: EXPIRIES[rng.random_range(0..EXPIRIES.len())],
            }
        }
        60..=79 => Command::Cancel {
            user,
            id: known(rng, placed),
        },
        _ => Command::BuyNow {
            user,
            order: known(rng, placed),
            amount: PURCHASES[rng.random_range(0..PURCHASES.len())].into(),
        },
    }
}

fn normal(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap().normalize()
}

#[tokio::test]
async fn postgres_and_the_rust_engine_agree_on_random_streams() {
    let db = TestDb::new(4).await;
    // The cap is a Postgres-only rule; out of the way here.
    sqlx::query("update public.communities set open_order_cap = 10000")
        .execute(&db.pool)
        .await
        .unwrap();
    let names = ["Alice", "Bob", "Charlie", "Diana"];
    let mut users = Vec::new();
    for name in names {
        users.push(db.sign_up(serde_json::json!({ "username": name })).await);
    }
    let user_key: Vec<String> = users.iter().map(Uuid::to_string).collect();
    let mut engine: Market = Market::default();
    let now: DateTime<Utc> = Utc::now();
    let mut rng = SmallRng::seed_from_u64(20261124);
    let mut placed: Vec<String> = Vec::new();
    let mut last_trade_seq = 0i64;
    let (mut trades, mut refusals) = (0, 0);
    let commands = std::env::var("LUMEA_DIFF_COMMANDS").ok().and_then(|n| n.parse().ok()).unwrap_or(3000);

    for step in 0..commands {
        let command = generate(&mut rng, &mut placed, users.len());
        let mut events = Vec::new();
        let (rust, pg) = match &command {
            Command::Place {
                user,
                id,
                side,
                price,
                amount,
                expires,
            } => {
                // The same id again comes from another user, so it is never a retry.
                let owner = engine.book().get(id).map(|order| order.user.as_str().to_string());
                let user = match owner {
                    Some(owner) if owner == user_key[*user] => (*user + 1) % users.len(),
                    _ => *user,
                };
                let expires_at = expires.map(|text| DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc));
                let cmd = Place {
                    id,
                    user: &user_key[user],
                    side: *side,
                    price,
                    amount,
                    expires_at,
                    interval: None,
                };
                let rust = engine.place(now, &cmd, &mut events).map_err(|reason| reason.code().to_string());
                if rust.is_ok() {
                    placed.push(id.clone());
                }
                let side = if *side == Side::Buy { "buy" } else { "sell" };
                (rust, db.place(users[user], id, side, price, amount, *expires).await)
            }
            Command::Cancel { user, id } => (
                engine
                    .cancel(now, &Cancel { id, user: &user_key[*user] }, &mut events)
                    .map_err(|r| r.code().to_string()),
                db.cancel(users[*user], id).await,
            ),
            Command::BuyNow { user, order, amount } => {
                let reference = Uuid::new_v4().to_string();
                (
                    engine
                        .buy_now(
                            now,
                            &BuyNow {
                                reference: &reference,
                                order,
                                user: &user_key[*user],
                                amount,
                                headroom: None,
                            },
                            &mut events,
                        )
                        .map_err(|r| r.code().to_string()),
                    db.buy_now(users[*user], order, amount, &reference).await,
                )
            }
        };
        assert_eq!(rust, pg, "step {step}: the rules disagree");
        refusals += usize::from(rust.is_err());

        let rust_trades: Vec<_> = events
            .iter()
            .filter_map(|event| match event {
                Event::Trade(trade) => Some((
                    trade.buy_order.as_ref().map(|id| id.as_str().to_string()),
                    trade.sell_order.as_str().to_string(),
                    trade.buyer.as_str().to_string(),
                    trade.seller.as_str().to_string(),
                    trade.price.to_decimal().normalize(),
                    trade.amount.to_decimal().normalize(),
                )),
                _ => None,
            })
            .collect();
        let rows = sqlx::query(
            "select buy_order_id::text, sell_order_id::text, buyer_id::text, seller_id::text, price::text, amount::text, seq
               from public.trades where seq > $1 order by seq",
        )
        .bind(last_trade_seq)
        .fetch_all(&db.pool)
        .await
        .unwrap();
        let pg_trades: Vec<_> = rows
            .iter()
            .map(|row| {
                last_trade_seq = row.get(6);
                (
                    row.get::<Option<String>, _>(0),
                    row.get::<String, _>(1),
                    row.get::<String, _>(2),
                    row.get::<String, _>(3),
                    normal(row.get(4)),
                    normal(row.get(5)),
                )
            })
            .collect();
        assert_eq!(rust_trades, pg_trades, "step {step}: the trades disagree");
        trades += rust_trades.len();
    }

    // Every order ends alike: fill and status.
    let rows = sqlx::query("select id::text, filled_amount::text, status from public.market_orders")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), engine.book().orders().count());
    for row in rows {
        let id: String = row.get(0);
        let order = engine.book().get(&id).unwrap();
        assert_eq!(normal(row.get(1)), order.filled.to_decimal().normalize(), "{id}");
        assert_eq!(row.get::<String, _>(2), order.status.as_str(), "{id}");
    }
    assert_consistent(&db).await;
    println!("differential: {commands} commands, {trades} trades, {refusals} refusals, all alike");
    assert!(
        trades > 100 && refusals > 100,
        "the stream exercised too little: {trades} trades, {refusals} refusals"
    );
}

/// The book's invariants, checked on the stored rows after concurrent work.
async fn assert_consistent(db: &TestDb) {
    let overfilled: i64 = sqlx::query_scalar("select count(*) from public.market_orders where filled_amount > amount")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(overfilled, 0, "an order filled beyond its amount");
    let unexplained: i64 = sqlx::query_scalar(
        "select count(*) from public.market_orders o
          where o.filled_amount <> coalesce((select sum(t.amount) from public.trades t
                                              where t.buy_order_id = o.id or t.sell_order_id = o.id), 0)",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(unexplained, 0, "an order's fill is not the sum of its trades");
    let wrong_status: i64 = sqlx::query_scalar(
        "select count(*) from public.market_orders
          where (status = 'filled') <> (filled_amount = amount)
             or (status = 'active' and filled_amount <> 0)
             or (status = 'partial' and not (filled_amount > 0 and filled_amount < amount))",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(wrong_status, 0, "a status does not match its fill");
    let crossed: i64 = sqlx::query_scalar(
        "select count(*) from public.market_orders b join public.market_orders a
            on a.community_id = b.community_id and a.type = 'sell' and b.type = 'buy'
           and a.status in ('active', 'partial') and b.status in ('active', 'partial')
           and a.user_id <> b.user_id and b.price >= a.price",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(crossed, 0, "a bid and an ask of different users cross in an open book");
    let off_price: i64 = sqlx::query_scalar(
        "select count(*) from public.trades t join public.market_orders s on s.id = t.sell_order_id
          left join public.market_orders b on b.id = t.buy_order_id
          where t.price <> s.price or t.community_id <> s.community_id
             or (b.id is not null and (b.price < t.price or b.community_id <> s.community_id or b.user_id = s.user_id))",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(off_price, 0, "a trade not at its sell price, across communities, or with oneself");
    // The realtime mirror holds exactly the open orders, as they stand.
    let mirror_differs: i64 = sqlx::query_scalar(
        "select count(*) from (
           (select id, filled_amount, status from public.market_orders where status in ('active', 'partial')
            except select id, filled_amount, status from public.open_orders)
           union all
           (select id, filled_amount, status from public.open_orders
            except select id, filled_amount, status from public.market_orders where status in ('active', 'partial'))) d",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(mirror_differs, 0, "open_orders is not the open book");
    // Every trade names both parties and the side that came in.
    let undescribed: i64 = sqlx::query_scalar(
        "select count(*) from public.trades t
           join public.memberships b on b.user_id = t.buyer_id join public.memberships s on s.user_id = t.seller_id
           left join public.market_orders bo on bo.id = t.buy_order_id join public.market_orders so on so.id = t.sell_order_id
          where t.buyer_username is distinct from b.display_name or t.seller_username is distinct from s.display_name
             or t.taker is distinct from (case when bo.seq is null or bo.seq > so.seq then 'buy' else 'sell' end)",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(undescribed, 0, "a trade without its parties' names or its taker");
    // Each trade is told to its two parties, and printed once without them.
    let untold: i64 = sqlx::query_scalar(
        "select count(*) from public.trades t
          where (select count(*) from public.household_trades h
                  where h.trade_id = t.id and h.price = t.price and h.amount = t.amount and h.seq = t.seq
                    and ((h.side = 'buy' and h.user_id = t.buyer_id) or (h.side = 'sell' and h.user_id = t.seller_id))) <> 2
             or (select count(*) from public.trade_prints p
                  where p.seq = t.seq and p.price = t.price and p.amount = t.amount and p.community_id = t.community_id) <> 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(untold, 0, "a trade missing a party's side or its print");
}

async fn concurrent_run(communities: usize) {
    const TASKS: usize = 32;
    const COMMANDS: usize = 60;
    let db = std::sync::Arc::new(TestDb::new(TASKS as u32 + 2).await);
    let mut users = Vec::new();
    for task in 0..TASKS {
        let community = format!("c{}", task % communities);
        users.push(
            db.sign_up(serde_json::json!({ "username": format!("User {task}"), "community_id": community }))
                .await,
        );
    }
    let mut handles = Vec::new();
    for (task, user) in users.into_iter().enumerate() {
        let db = db.clone();
        let community = format!("c{}", task % communities);
        handles.push(tokio::spawn(async move {
            let mut rng = SmallRng::seed_from_u64(task as u64);
            let mut mine: Vec<String> = Vec::new();
            let mut accepted = 0usize;
            for _ in 0..COMMANDS {
                match rng.random_range(0..10) {
                    // Crossing orders around one price, so nearly every order trades.
                    0..=6 => {
                        let id = Uuid::new_v4().to_string();
                        let side = if rng.random_range(0..2) == 0 { "buy" } else { "sell" };
                        let price = format!("0.{}", rng.random_range(15..=18));
                        let amount = rng.random_range(1..=5).to_string();
                        if db.place(user, &id, side, &price, &amount, None).await.is_ok() {
                            accepted += 1;
                            // An outbox unsure of its first send sends the same command again.
                            if rng.random_range(0..4) == 0 {
                                db.place(user, &id, side, &price, &amount, None).await.expect("a retry is accepted");
                            }
                            mine.push(id);
                        }
                    }
                    7..=8 if !mine.is_empty() => {
                        let id = mine[rng.random_range(0..mine.len())].clone();
                        let _ = db.cancel(user, &id).await;
                    }
                    _ => {
                        // The upkeep, as pg_cron's job runs it (the service, one community).
                        sqlx::query("select public.match_orders($1)")
                            .bind(&community)
                            .execute(&db.pool)
                            .await
                            .unwrap();
                    }
                }
            }
            (user, accepted)
        }));
    }
    let mut expected_orders = 0;
    for handle in handles {
        let (user, accepted) = handle.await.unwrap();
        let stored: i64 = sqlx::query_scalar("select count(*) from public.market_orders where user_id = $1")
            .bind(user)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(stored as usize, accepted, "an order lost or doubled");
        expected_orders += accepted;
    }
    assert_consistent(&db).await;
    let trades: i64 = sqlx::query_scalar("select count(*) from public.trades")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    println!("concurrency, {communities} communities: {expected_orders} orders, {trades} trades from {TASKS} connections");
    assert!(trades > 50, "too few trades to test anything: {trades}");
    let leftover: i32 = sqlx::query_scalar("select coalesce(sum(public.match_orders(c.id)), 0)::int4 from public.communities c")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(leftover, 0, "match_orders found a crossed book after atomic placing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_connections_on_one_community_never_overfill_or_cross() {
    concurrent_run(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_connections_on_eight_communities_never_overfill_or_cross() {
    concurrent_run(8).await;
}

#[tokio::test]
async fn the_seed_applies_through_the_market_functions() {
    let db = TestDb::new(2).await;
    sqlx::raw_sql(include_str!("../supabase/seed.sql"))
        .execute(&db.pool)
        .await
        .expect("the seed applies");
    let book: Vec<(String, String, String)> =
        sqlx::query_as("select username, type, price::text from public.market_orders where status = 'active' order by seq")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        book,
        [
            ("Bob", "sell", "0.1700"),
            ("Charlie", "sell", "0.1750"),
            ("Diana", "buy", "0.1500"),
            ("Alice", "buy", "0.1400")
        ]
        .map(|(name, side, price)| (name.into(), side.into(), price.into()))
    );
}

#[tokio::test]
async fn due_orders_expire_before_anything_else_happens() {
    let db = TestDb::new(2).await;
    let alice = db.sign_up(serde_json::json!({ "username": "Alice" })).await;
    let bob = db.sign_up(serde_json::json!({ "username": "Bob" })).await;
    let (due, later) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    db.place(alice, &due, "sell", "0.15", "5", Some("2099-01-01T00:00:00Z")).await.unwrap();
    db.place(alice, &later, "sell", "0.16", "5", Some("2099-01-01T00:00:00Z")).await.unwrap();
    // Time passes for the first ask: its expiry is now behind us.
    sqlx::query("update public.market_orders set expires_at = now() - interval '1 second' where id = $1::uuid")
        .bind(&due)
        .execute(&db.pool)
        .await
        .unwrap();
    // A crossing bid skips the due ask (it expires first) and trades with the next.
    db.place(bob, &Uuid::new_v4().to_string(), "buy", "0.20", "2", None).await.unwrap();
    let statuses: Vec<(String, String)> = sqlx::query_as("select id::text, status from public.market_orders where user_id = $1 order by seq")
        .bind(alice)
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(statuses, [(due.clone(), "expired".to_string()), (later.clone(), "partial".to_string())]);
    assert_eq!(db.buy_now(bob, &due, "1", &Uuid::new_v4().to_string()).await, Err("not_open".into()));
    // expire_orders reports what it expired, once.
    sqlx::query("update public.market_orders set expires_at = now() - interval '1 second' where id = $1::uuid")
        .bind(&later)
        .execute(&db.pool)
        .await
        .unwrap();
    // (The service's, one community at a time: a user may not.)
    assert!(
        db.as_user(Some(bob), "select public.expire_orders('default')", &[])
            .await
            .unwrap_err()
            .contains("permission denied")
    );
    let expired: i32 = sqlx::query_scalar("select public.expire_orders('default')")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(expired, 1);
    let again: i32 = sqlx::query_scalar("select public.expire_orders('default')")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(again, 0);
}

#[tokio::test]
async fn match_orders_clears_a_crossed_book_by_price_time_priority() {
    let db = TestDb::new(2).await;
    let alice = db.sign_up(serde_json::json!({ "username": "Alice" })).await;
    let bob = db.sign_up(serde_json::json!({ "username": "Bob" })).await;
    // A book left crossed by something other than place_order (written as the database owner).
    let crossed = [
        (alice, "sell", "0.15", "3"),
        (alice, "buy", "0.19", "4"),
        (bob, "buy", "0.17", "5"),
        (bob, "sell", "0.16", "2"),
    ];
    let mut ids = Vec::new();
    for (user, side, price, amount) in crossed {
        let id = Uuid::new_v4();
        sqlx::query(
            "insert into public.market_orders (id, user_id, username, community_id, type, price, amount)
             values ($1, $2, 'x', 'default', $3, $4::numeric, $5::numeric)",
        )
        .bind(id)
        .bind(user)
        .bind(side)
        .bind(price)
        .bind(amount)
        .execute(&db.pool)
        .await
        .unwrap();
        ids.push(id);
    }
    assert!(
        db.as_user(Some(alice), "select public.match_orders('default')", &[])
            .await
            .unwrap_err()
            .contains("permission denied")
    );
    let made: i32 = sqlx::query_scalar("select public.match_orders('default')")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(made, 2);
    // Alice's 0.19 bid first takes Bob's 0.16 ask (her own 0.15 ask is skipped); then Bob's 0.17
    // bid takes Alice's 0.15 ask. Each at the ask's price.
    let trades: Vec<(Uuid, Uuid, String, String)> =
        sqlx::query_as("select buy_order_id, sell_order_id, price::text, amount::text from public.trades order by seq")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        trades,
        [
            (ids[1], ids[3], "0.1600".to_string(), "2.00".to_string()),
            (ids[2], ids[0], "0.1500".to_string(), "3.00".to_string())
        ]
    );
    let statuses: Vec<String> = sqlx::query_scalar("select status from public.market_orders order by seq")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(statuses, ["filled", "partial", "partial", "filled"]);
    let again: i32 = sqlx::query_scalar("select public.match_orders('default')")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(again, 0);
}

/// Runs the `lumea` CLI and reads its JSON answer.
fn lumea(args: &[&str]) -> Result<serde_json::Value, String> {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_lumea")).args(args).output().unwrap();
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&output.stdout).unwrap())
}

#[tokio::test]
async fn an_operator_goes_from_an_empty_project_to_an_approved_member_with_the_cli() {
    let db = TestDb::new(2).await;
    let project = ["--project-url", "https://abcd.supabase.co", "--anon-key", "sb_publishable_test"];
    let with = |command: &[&'static str], rest: &[&str]| {
        let mut args = vec!["community"];
        args.extend_from_slice(command);
        args.extend(["--db-url", db.url.as_str()]);
        args.extend(project);
        args.extend_from_slice(rest);
        lumea(&args)
    };
    let made = with(&["create"], &["Sunny  Street"]).unwrap();
    assert_eq!(made["community_id"], "sunny-street");
    let redeem = |user: Uuid, link: &str, name: &'static str| {
        let invitation = lumea_community::invitation::Invitation::parse(link).unwrap();
        assert_eq!(
            (invitation.project_url.as_str(), invitation.anon_key.as_str()),
            ("https://abcd.supabase.co", "sb_publishable_test")
        );
        let db = &db;
        async move {
            let rows = db
                .as_user(
                    Some(user),
                    "select public.join_community($1, $2, $3)::text",
                    &[&invitation.community, &invitation.token, name],
                )
                .await?;
            Ok::<_, String>(serde_json::from_str::<serde_json::Value>(&rows[0].get::<String, _>(0)).unwrap())
        }
    };
    // The first admin joins with the printed link (or its code: the same content).
    let admin = db.sign_up_only(&serde_json::json!({})).await;
    let code = lumea_community::invitation::Invitation::parse(made["code"].as_str().unwrap()).unwrap();
    assert_eq!(
        code,
        lumea_community::invitation::Invitation::parse(made["link"].as_str().unwrap()).unwrap()
    );
    let joined = redeem(admin, made["link"].as_str().unwrap(), "Ann").await.unwrap();
    assert_eq!(
        (joined["community_name"].as_str(), joined["role"].as_str(), joined["status"].as_str()),
        (Some("Sunny Street"), Some("admin"), Some("active"))
    );
    assert_eq!(
        redeem(db.sign_up_only(&serde_json::json!({})).await, made["link"].as_str().unwrap(), "Eve").await,
        Err("invitation_used_up".into())
    );
    assert!(with(&["create"], &["Sunny Street"]).unwrap_err().contains("community_exists"));

    // A household's invitation, a pending member, approved.
    let invited = with(&["invite"], &["sunny-street", "--uses", "2"]).unwrap();
    let household = db.sign_up_only(&serde_json::json!({})).await;
    assert_eq!(
        redeem(household, invited["link"].as_str().unwrap(), "Bea").await.unwrap()["status"],
        "pending"
    );
    let approved = lumea(&["community", "approve", "--db-url", db.url.as_str(), "sunny-street", "bea"]).unwrap();
    assert_eq!(approved["approved"], "Bea");
    assert_eq!(db.place(household, &Uuid::new_v4().to_string(), "buy", "0.15", "1", None).await, Ok(()));
    assert!(
        lumea(&["community", "approve", "--db-url", db.url.as_str(), "sunny-street", "Bea"])
            .unwrap_err()
            .contains("no pending member")
    );
    assert!(with(&["invite"], &["nowhere"]).unwrap_err().contains("no such community"));
    assert!(
        with(&["invite-admin"], &["sunny-street"]).unwrap()["link"]
            .as_str()
            .unwrap()
            .starts_with("lumea://join?")
    );
}

/// A trade as both sides print it: id, buyer, seller, price, amount, interval.
type DatedTrade = (String, String, String, Decimal, Decimal, Option<DateTime<Utc>>);

/// A dated stream through both: places for intervals (open, closed, not yet
/// open, misaligned), purchases and cancels must get the same answers and make
/// the same trades, each with its interval. Then the trades' intervals are
/// moved a day back on both sides (they have ended, the deadline has not
/// passed), random readings are recorded (some missing, some revised), and
/// settlement must give identical figures and revisions, and nothing new when
/// run again.
#[tokio::test]
async fn postgres_and_the_rust_engine_agree_on_delivery_intervals_readings_and_settlement() {
    use lumea_market::delivery::{DeliveryRules, Fee};
    use lumea_market::ledger::{Ledger, SettlementEvent};

    let db = TestDb::new(4).await;
    let mut users = Vec::new();
    for name in ["Alice", "Bob", "Charlie", "Diana"] {
        users.push(db.sign_up(serde_json::json!({ "username": name })).await);
    }
    let changed = sqlx::query("update public.communities set open_order_cap = 10000, buyer_fee = 0.0125, seller_fee = 0.005, self_readings = true")
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(changed.rows_affected(), 1);
    let rules = DeliveryRules {
        buyer_fee: Fee::parse("0.0125").unwrap(),
        seller_fee: Fee::parse("0.005").unwrap(),
        ..DeliveryRules::default()
    };
    let key: Vec<String> = users.iter().map(Uuid::to_string).collect();
    let now = Utc::now();
    let mut engine: Market = Market::with_rules(rules);
    // Intervals well away from any gate closure while the test runs: one to four past the
    // first open one, one closed long ago, one a day and more ahead, one misaligned.
    let first = rules.next_open(now);
    let length = rules.interval_length();
    let rfc = |at: DateTime<Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut intervals: Vec<String> = (1..5).map(|k| rfc(first + length * k)).collect();
    intervals.push(rfc(first - length * 4));
    intervals.push(rfc(first + chrono::Duration::hours(25)));
    intervals.push(rfc(first + length + chrono::Duration::minutes(7)));
    let mut rng = SmallRng::seed_from_u64(20261204);
    let mut placed: Vec<String> = Vec::new();
    let mut trades: Vec<lumea_market::Trade> = Vec::new();
    let refusals_and_trades = |rust: &Result<(), String>, pg: &Result<(), String>, step: usize| assert_eq!(rust, pg, "step {step}");
    for step in 0..400 {
        let user = rng.random_range(0..users.len());
        let mut events = Vec::new();
        let pick = |rng: &mut SmallRng, placed: &[String]| {
            if placed.is_empty() || rng.random_range(0..8) == 0 {
                Uuid::new_v4().to_string()
            } else {
                placed[rng.random_range(0..placed.len())].clone()
            }
        };
        match rng.random_range(0..10) {
            0..=6 => {
                let id = Uuid::new_v4().to_string();
                let side = if rng.random_range(0..2) == 0 { Side::Buy } else { Side::Sell };
                let price = ["0.15", "0.16", "0.17", "0.18", "0.1625"][rng.random_range(0..5)];
                let amount = ["1", "2.5", "4", "7.25", "0.5"][rng.random_range(0..5)];
                let interval = intervals[rng.random_range(0..intervals.len())].clone();
                let cmd = Place {
                    id: &id,
                    user: &key[user],
                    side,
                    price,
                    amount,
                    expires_at: None,
                    interval: Some(&interval),
                };
                let rust = engine.place(Utc::now(), &cmd, &mut events).map_err(|r| r.code().to_string());
                let side_text = if side == Side::Buy { "buy" } else { "sell" };
                let pg = db
                    .as_user(
                        Some(users[user]),
                        "select id from public.place_order($1::uuid, $2, $3::numeric, $4::numeric, null, $5::timestamptz)",
                        &[&id, side_text, price, amount, &interval],
                    )
                    .await
                    .map(drop)
                    .map_err(|message| {
                        if message.starts_with("invalid input syntax") {
                            "invalid_interval".into()
                        } else {
                            message
                        }
                    });
                refusals_and_trades(&rust, &pg, step);
                if rust.is_ok() {
                    placed.push(id);
                }
            }
            7 => {
                let id = pick(&mut rng, &placed);
                let rust = engine
                    .cancel(Utc::now(), &Cancel { id: &id, user: &key[user] }, &mut events)
                    .map_err(|r| r.code().to_string());
                refusals_and_trades(&rust, &db.cancel(users[user], &id).await, step);
            }
            _ => {
                let order = pick(&mut rng, &placed);
                let reference = Uuid::new_v4().to_string();
                let amount = ["0.5", "1", "2"][rng.random_range(0..3)];
                let cmd = BuyNow {
                    reference: &reference,
                    order: &order,
                    user: &key[user],
                    amount,
                    headroom: None,
                };
                let rust = engine.buy_now(Utc::now(), &cmd, &mut events).map_err(|r| r.code().to_string());
                refusals_and_trades(&rust, &db.buy_now(users[user], &order, amount, &reference).await, step);
            }
        }
        trades.extend(events.into_iter().filter_map(|e| if let Event::Trade(t) = e { Some(t) } else { None }));
    }
    // The same trades, each with its interval, named by the pair or the purchase's ref.
    let rows = sqlx::query(
        r#"select coalesce(buy_order_id::text || '/' || sell_order_id::text, id::text), buyer_id::text, seller_id::text,
                  price::text, amount::text,
                  to_char(delivery_start at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
             from public.trades order by seq"#,
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let pg_trades: Vec<DatedTrade> = rows
        .iter()
        .map(|r| {
            let interval = r
                .get::<Option<String>, _>(5)
                .map(|text| DateTime::parse_from_rfc3339(&text).unwrap().to_utc());
            (r.get(0), r.get(1), r.get(2), normal(r.get(3)), normal(r.get(4)), interval)
        })
        .collect();
    let rust_trades: Vec<_> = trades
        .iter()
        .map(|t| {
            (
                t.id.to_string(),
                t.buyer.to_string(),
                t.seller.to_string(),
                t.price.to_decimal().normalize(),
                t.amount.to_decimal().normalize(),
                t.interval,
            )
        })
        .collect();
    assert_eq!(rust_trades, pg_trades, "the trades differ");
    assert!(rust_trades.len() > 20, "only {} trades", rust_trades.len());

    // A day later on both sides: the intervals have ended, their deadline has not passed.
    let day = chrono::Duration::days(1);
    for table in ["trades", "market_orders", "household_trades"] {
        sqlx::query(&format!(
            "update public.{table} set delivery_start = delivery_start - interval '1 day' where delivery_start is not null"
        ))
        .execute(&db.pool)
        .await
        .unwrap();
    }
    let mut ledger = Ledger::default();
    for trade in &trades {
        let mut earlier = trade.clone();
        earlier.interval = trade.interval.map(|start| start - day);
        ledger.record(&earlier);
    }
    let ended: Vec<String> = ledger.contracts().map(|(start, _)| rfc(start)).collect();
    let readings = ["0", "0.5", "1", "2.345", "4", "9.999", "12"];
    let settle_both = |ledger: &mut Ledger| {
        let mut rust = Vec::new();
        for interval in &ended {
            ledger.settle(&rules, Utc::now(), interval, &mut rust).unwrap();
        }
        rust.into_iter()
            .filter_map(|event| match event {
                SettlementEvent::Settled { trade, figures, revision } => Some((
                    trade,
                    revision as i32,
                    figures.delivered.to_decimal().normalize(),
                    figures.buyer_pays.to_decimal().normalize(),
                    figures.seller_receives.to_decimal().normalize(),
                )),
                SettlementEvent::AwaitingMeter { .. } => None,
            })
            .collect::<Vec<_>>()
    };
    for round in 0..2 {
        for interval in &ended {
            for (user, id) in users.iter().zip(&key) {
                // Round 0: most households report; round 1: some revise.
                if rng.random_range(0..10) < if round == 0 { 7 } else { 3 } {
                    let (import, export) = (
                        readings[rng.random_range(0..readings.len())],
                        readings[rng.random_range(0..readings.len())],
                    );
                    ledger.meter(&rules, Utc::now(), id, interval, import, export).unwrap();
                    db.as_user(
                        Some(*user),
                        "select public.submit_meter_reading($1::timestamptz, $2::numeric, $3::numeric)",
                        &[interval, import, export],
                    )
                    .await
                    .unwrap();
                }
            }
        }
        let mut rust = settle_both(&mut ledger);
        let before: i64 = sqlx::query_scalar("select count(*) from public.settlements")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        for interval in &ended {
            sqlx::query("select public.settle_interval('default', $1::timestamptz)")
                .bind(interval)
                .execute(&db.pool)
                .await
                .unwrap();
        }
        let rows = sqlx::query(
            "select coalesce(t.buy_order_id::text || '/' || t.sell_order_id::text, t.id::text), s.revision,
                    s.delivered_kwh::text, s.buyer_pays::text, s.seller_receives::text
               from public.settlements s join public.trades t on t.id = s.trade_id
              order by s.settled_at, t.seq, s.revision offset $1",
        )
        .bind(before)
        .fetch_all(&db.pool)
        .await
        .unwrap();
        let mut pg: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.get::<String, _>(0),
                    r.get::<i32, _>(1),
                    normal(r.get(2)),
                    normal(r.get(3)),
                    normal(r.get(4)),
                )
            })
            .collect();
        rust.sort();
        pg.sort();
        assert_eq!(rust, pg, "round {round}: the settlements differ");
        assert!(!rust.is_empty(), "round {round} settled nothing");
        // Again: nothing changes on either side.
        assert!(settle_both(&mut ledger).is_empty());
        for interval in &ended {
            sqlx::query("select public.settle_interval('default', $1::timestamptz)")
                .bind(interval)
                .execute(&db.pool)
                .await
                .unwrap();
        }
        let after: i64 = sqlx::query_scalar("select count(*) from public.settlements")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(after, before + pg.len() as i64, "settling again wrote something");
    }
    lumea_market::audit::check_settlements(&ledger, &rules).unwrap();
}
