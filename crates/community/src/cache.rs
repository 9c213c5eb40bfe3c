//! The community cache on SQLite: what the household last heard from the
//! community market, its battery, and its outbox. Writes happen in
//! transactions; an answer that fails its checks never reaches this file.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteLockingMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, Sqlite, SqlitePool, Transaction};
use uuid::Uuid;

use super::wire::{CachedOrder, CachedPrint, CachedTrade, MemberRole, MembershipStatus};
use lumea_market::delivery::DeliveryRules;
use lumea_market::energy::{Battery, Co2Intensity, GridPrices, tokens};
use lumea_market::geo::Location;
use lumea_market::{Energy, Price, Side};
use lumea_store::rows::{TradeView, trade_view};
use lumea_store::{EnergyView, GridTransactionView, Page, Result, timestamp};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/community");

pub type Tx = Transaction<'static, Sqlite>;

/// The signed-in household as this cache knows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    pub project_url: String,
    pub user_id: Uuid,
    pub username: String,
    pub community: String,
    pub home: Option<Location>,
    pub capacity: Energy,
    pub opening: Energy,
    pub standing: Standing,
}

/// What the household's membership lets it do, as the server last said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Standing {
    pub membership: Option<Uuid>,
    pub community_name: String,
    pub role: MemberRole,
    pub status: MembershipStatus,
    /// The community's grid prices and CO2 intensity (the market's defaults until heard).
    pub grid: GridPrices,
    pub co2: Co2Intensity,
    /// The community's delivery rules, as the server said at the last
    /// connection (not kept in the cache: the market's defaults until heard).
    pub delivery: DeliveryRules,
}

impl Default for Standing {
    /// Before the household has joined a community.
    fn default() -> Self {
        Standing {
            membership: None,
            community_name: String::new(),
            role: MemberRole::Member,
            status: MembershipStatus::None,
            grid: GridPrices::default(),
            co2: Co2Intensity::default(),
            delivery: DeliveryRules::default(),
        }
    }
}

/// A command waiting in the outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Command {
    Place {
        id: Uuid,
        side: Side,
        price: String,
        amount: String,
        /// The delivery interval's start; absent in commands queued before intervals.
        #[serde(default)]
        interval: Option<DateTime<Utc>>,
    },
    Cancel {
        id: Uuid,
    },
    Buy {
        reference: Uuid,
        order: Uuid,
        amount: String,
    },
}

impl Command {
    /// Its own id: the order it places, a fresh one for a cancel, the purchase's reference.
    fn key(&self, cancel_id: Uuid) -> Uuid {
        match self {
            Command::Place { id, .. } => *id,
            Command::Cancel { .. } => cancel_id,
            Command::Buy { reference, .. } => *reference,
        }
    }

    pub fn order(&self) -> Uuid {
        match self {
            Command::Place { id, .. } | Command::Cancel { id } => *id,
            Command::Buy { order, .. } => *order,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Command::Place { .. } => "place",
            Command::Cancel { .. } => "cancel",
            Command::Buy { .. } => "buy",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    pub id: Uuid,
    pub command: Command,
}

pub async fn open(path: &Path) -> Result<SqlitePool> {
    let connect = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .locking_mode(SqliteLockingMode::Exclusive)
        .busy_timeout(Duration::from_secs(2))
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .connect_with(connect)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

fn energy_of(value: i64) -> Energy {
    Energy::from_centi_kwh(u64::try_from(value).unwrap_or(0))
}

pub async fn account(pool: &SqlitePool) -> Result<Option<Account>> {
    let Some(row) = sqlx::query("SELECT * FROM account").fetch_optional(pool).await? else {
        return Ok(None);
    };
    let user: String = row.try_get("user_id")?;
    let lat: Option<i64> = row.try_get("lat_e3")?;
    let lng: Option<i64> = row.try_get("lng_e3")?;
    Ok(Some(Account {
        project_url: row.try_get("project_url")?,
        user_id: Uuid::parse_str(&user).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        username: row.try_get("username")?,
        community: row.try_get("community_id")?,
        home: lat.zip(lng).and_then(|(lat, lng)| Location::from_grid(lat, lng)),
        capacity: energy_of(row.try_get("capacity_centi_kwh")?),
        opening: energy_of(row.try_get("opening_centi_kwh")?),
        standing: Standing {
            membership: row
                .try_get::<Option<String>, _>("membership_id")?
                .and_then(|id| Uuid::parse_str(&id).ok()),
            community_name: row.try_get::<Option<String>, _>("community_name")?.unwrap_or_default(),
            role: MemberRole::parse(&row.try_get::<String, _>("role")?).unwrap_or(MemberRole::Member),
            status: MembershipStatus::parse(&row.try_get::<String, _>("status")?).unwrap_or(MembershipStatus::None),
            grid: match (
                row.try_get::<Option<i64>, _>("grid_buy_ticks")?,
                row.try_get::<Option<i64>, _>("grid_sell_ticks")?,
            ) {
                (Some(buy), Some(sell)) => GridPrices {
                    buy: Price::from_ticks(u32::try_from(buy).unwrap_or(0)),
                    sell: Price::from_ticks(u32::try_from(sell).unwrap_or(0)),
                },
                _ => GridPrices::default(),
            },
            co2: row
                .try_get::<Option<i64>, _>("co2_g_per_kwh")?
                .and_then(|grams| Co2Intensity::parse(&format!("{}", rust_decimal::Decimal::new(grams, 3))))
                .unwrap_or_default(),
            delivery: DeliveryRules::default(),
        },
    }))
}

pub async fn save_account(pool: &SqlitePool, account: &Account) -> Result<()> {
    let (lat, lng) = account.home.map(Location::grid).unzip();
    sqlx::query(
        "INSERT INTO account (id, project_url, user_id, username, community_id, lat_e3, lng_e3, capacity_centi_kwh, opening_centi_kwh,
                              membership_id, community_name, role, status, grid_buy_ticks, grid_sell_ticks, co2_g_per_kwh)
         VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET username = excluded.username, community_id = excluded.community_id,
                                        lat_e3 = excluded.lat_e3, lng_e3 = excluded.lng_e3,
                                        membership_id = excluded.membership_id, community_name = excluded.community_name,
                                        role = excluded.role, status = excluded.status,
                                        grid_buy_ticks = excluded.grid_buy_ticks, grid_sell_ticks = excluded.grid_sell_ticks,
                                        co2_g_per_kwh = excluded.co2_g_per_kwh",
    )
    .bind(&account.project_url)
    .bind(account.user_id.to_string())
    .bind(&account.username)
    .bind(&account.community)
    .bind(lat)
    .bind(lng)
    .bind(account.capacity.centi_kwh() as i64)
    .bind(account.opening.centi_kwh() as i64)
    .bind(account.standing.membership.map(|id| id.to_string()))
    .bind(&account.standing.community_name)
    .bind(account.standing.role.as_str())
    .bind(account.standing.status.as_str())
    .bind(i64::from(account.standing.grid.buy.ticks()))
    .bind(i64::from(account.standing.grid.sell.ticks()))
    .bind(i64::from(account.standing.co2.grams_per_kwh()))
    .execute(pool)
    .await?;
    Ok(())
}

/// Stores orders as the server has them, many to a statement; an older copy
/// never replaces a newer one, and an order with a command waiting stays pending.
pub async fn upsert_orders(tx: &mut Tx, orders: &[CachedOrder]) -> Result<()> {
    // 18 values a row, well under SQLite's 32,766 bound variables a statement.
    for chunk in orders.chunks(500) {
        let mut insert = sqlx::QueryBuilder::<Sqlite>::new(
            "INSERT INTO orders (id, user_id, username, side, price_ticks, amount_centi_kwh, filled_centi_kwh, status,
                                 distance_hm, distance_asked, seq, created_at, updated_at, expires_at, closes_at, pending,
                                 interval_start) ",
        );
        insert.push_values(chunk, |mut row, order| {
            row.push_bind(order.id.to_string())
                .push_bind(order.user_id.map(|id| id.to_string()).unwrap_or_default())
                .push_bind(order.username.clone())
                .push_bind(order.side.as_str())
                .push_bind(i64::from(order.price.ticks()))
                .push_bind(order.amount.centi_kwh() as i64)
                .push_bind(order.filled.centi_kwh() as i64)
                .push_bind(order.status.as_str())
                .push_bind(order.distance_hm)
                .push_bind(order.distance_asked)
                .push_bind(order.seq)
                .push_bind(timestamp(order.created_at))
                .push_bind(timestamp(order.updated_at))
                .push_bind(order.expires_at.map(timestamp))
                // The server closes the book; the cache only rebuilds it for statistics.
                .push_bind(order.expires_at.map(timestamp))
                .push_bind(0)
                .push_bind(order.interval.map(timestamp));
        });
        // An order sent from here is cached under a temporary negative seq until the server's row arrives.
        insert.push(
            " ON CONFLICT (id) DO UPDATE SET filled_centi_kwh = excluded.filled_centi_kwh, status = excluded.status,
                  seq = excluded.seq, created_at = excluded.created_at, updated_at = excluded.updated_at,
                  distance_hm = CASE WHEN excluded.distance_asked THEN excluded.distance_hm ELSE orders.distance_hm END,
                  distance_asked = MAX(orders.distance_asked, excluded.distance_asked)
              WHERE excluded.updated_at >= orders.updated_at OR orders.seq < 0 OR excluded.distance_asked > orders.distance_asked",
        );
        insert.build().execute(&mut **tx).await?;
    }
    sqlx::query("UPDATE orders SET pending = 1 WHERE pending = 0 AND id IN (SELECT order_id FROM outbox WHERE kind <> 'buy')")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The server's distances from my home to orders of the book.
pub async fn set_distances(tx: &mut Tx, distances: &[(Uuid, Option<i64>)]) -> Result<()> {
    for chunk in distances.chunks(500) {
        let mut update = sqlx::QueryBuilder::<Sqlite>::new("UPDATE orders SET distance_asked = 1, distance_hm = d.column2 FROM (");
        update.push_values(chunk, |mut row, (id, hm)| {
            row.push_bind(id.to_string()).push_bind(*hm);
        });
        update.push(") AS d WHERE orders.id = d.column1");
        update.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Stores prints not yet known.
pub async fn insert_prints(tx: &mut Tx, prints: &[CachedPrint]) -> Result<()> {
    for chunk in prints.chunks(500) {
        let mut insert = sqlx::QueryBuilder::<Sqlite>::new("INSERT INTO prints (seq, price_ticks, amount_centi_kwh, created_at) ");
        insert.push_values(chunk, |mut row, print| {
            row.push_bind(print.seq)
                .push_bind(i64::from(print.price.ticks()))
                .push_bind(print.amount.centi_kwh() as i64)
                .push_bind(timestamp(print.at));
        });
        insert.push(" ON CONFLICT (seq) DO NOTHING");
        insert.build().execute(&mut **tx).await?;
    }
    Ok(())
}

pub async fn latest_print_seq(pool: &SqlitePool) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM prints").fetch_one(pool).await?)
}

/// The ids of neighbours' open orders with no distance yet.
pub async fn without_distance(pool: &SqlitePool, me: Uuid) -> Result<Vec<Uuid>> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM orders WHERE distance_asked = 0 AND user_id <> ? AND status IN ('active', 'partial')")
        .bind(me.to_string())
        .fetch_all(pool)
        .await?;
    Ok(ids.iter().filter_map(|id| Uuid::parse_str(id).ok()).collect())
}

/// A neighbour's order left the book; mine stay, as my history.
pub async fn remove_from_book(tx: &mut Tx, id: Uuid, me: Uuid) -> Result<bool> {
    let deleted = sqlx::query("DELETE FROM orders WHERE id = ? AND user_id <> ?")
        .bind(id.to_string())
        .bind(me.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(deleted.rows_affected() > 0)
}

/// After a snapshot: drops every confirmed order the server no longer shows me.
/// Only what was cached before the snapshot was read (`seq ≤ known`): an
/// order confirmed or heard while it was read is newer than it and stays.
pub async fn keep_only(tx: &mut Tx, shown: &HashSet<Uuid>, known: i64) -> Result<usize> {
    let cached: Vec<String> = sqlx::query_scalar("SELECT id FROM orders WHERE seq >= 0 AND seq <= ?")
        .bind(known)
        .fetch_all(&mut **tx)
        .await?;
    let mut dropped = 0;
    for id in cached {
        if Uuid::parse_str(&id).is_ok_and(|id| !shown.contains(&id)) {
            sqlx::query("DELETE FROM orders WHERE id = ?").bind(&id).execute(&mut **tx).await?;
            dropped += 1;
        }
    }
    Ok(dropped)
}

/// Stores trades not yet known and moves their energy; returns the new ones.
pub async fn insert_trades(tx: &mut Tx, trades: &[CachedTrade], me: Uuid) -> Result<Vec<CachedTrade>> {
    let mut new = Vec::new();
    for trade in trades {
        let inserted = sqlx::query(
            "INSERT INTO trades (id, seq, buy_order_id, sell_order_id, buyer_id, seller_id, buyer, seller, taker, price_ticks, amount_centi_kwh,
                                 created_at, interval_start)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(trade.id.to_string())
        .bind(trade.seq)
        .bind(trade.buy_order.map(|id| id.to_string()))
        .bind(trade.sell_order.to_string())
        .bind(trade.buyer_id.map(|id| id.to_string()).unwrap_or_default())
        .bind(trade.seller_id.map(|id| id.to_string()).unwrap_or_default())
        .bind(&trade.buyer)
        .bind(&trade.seller)
        .bind(trade.taker.as_str())
        .bind(i64::from(trade.price.ticks()))
        .bind(trade.amount.centi_kwh() as i64)
        .bind(timestamp(trade.created_at))
        .bind(trade.interval.map(timestamp))
        .execute(&mut **tx)
        .await?;
        if inserted.rows_affected() == 0 {
            continue;
        }
        let amount = trade.amount.centi_kwh() as i64;
        let (kind, delta) = if trade.buyer_id == Some(me) {
            ("trade_in", amount)
        } else {
            ("trade_out", -amount)
        };
        move_energy(tx, &trade.id.to_string(), kind, delta, Some(trade.price), trade.created_at).await?;
        new.push(trade.clone());
    }
    Ok(new)
}

pub async fn move_energy(tx: &mut Tx, reference: &str, kind: &str, delta: i64, price: Option<Price>, at: DateTime<Utc>) -> Result<()> {
    sqlx::query("INSERT INTO movements (reference, kind, delta_centi_kwh, price_ticks, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
        .bind(reference)
        .bind(kind)
        .bind(delta)
        .bind(price.map(|p| i64::from(p.ticks())))
        .bind(timestamp(at))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The household's own word on its battery: a new capacity and the level it
/// reads now. Refused (and nothing changed) when open orders would no longer fit.
pub async fn correct_battery(tx: &mut Tx, now: &Battery, capacity: Energy, level: Energy, at: DateTime<Utc>) -> Result<()> {
    let corrected = Battery { capacity, level, ..*now };
    if corrected.check().is_err() {
        return Err(lumea_market::Reason::ExceedsBattery.into());
    }
    sqlx::query("UPDATE account SET capacity_centi_kwh = ?")
        .bind(capacity.centi_kwh() as i64)
        .execute(&mut **tx)
        .await?;
    let delta = level.centi_kwh() as i64 - now.level.centi_kwh() as i64;
    if delta != 0 {
        move_energy(tx, &Uuid::new_v4().to_string(), "correction", delta, None, at).await?;
    }
    Ok(())
}

pub async fn latest_order_seq(pool: &SqlitePool) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM orders").fetch_one(pool).await?)
}

pub async fn latest_trade_seq(pool: &SqlitePool) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM trades").fetch_one(pool).await?)
}

/// The battery as the household's orders and history leave it: the level is
/// the opening plus every movement; reservations are what my open orders
/// (confirmed or pending) and my pending purchases still promise.
pub async fn battery(pool: &SqlitePool, account: &Account) -> Result<Battery> {
    let row = sqlx::query(
        "SELECT (SELECT COALESCE(SUM(delta_centi_kwh), 0) FROM movements) AS moved,
                (SELECT COALESCE(SUM(amount_centi_kwh - filled_centi_kwh), 0) FROM orders
                  WHERE user_id = ?1 AND side = 'buy' AND status IN ('active', 'partial')) AS bids,
                (SELECT COALESCE(SUM(amount_centi_kwh - filled_centi_kwh), 0) FROM orders
                  WHERE user_id = ?1 AND side = 'sell' AND status IN ('active', 'partial')) AS asks,
                (SELECT COALESCE(SUM(buying_centi_kwh), 0) FROM outbox) AS buying",
    )
    .bind(account.user_id.to_string())
    .fetch_one(pool)
    .await?;
    let level = account.opening.centi_kwh() as i64 + row.try_get::<i64, _>("moved")?;
    Ok(Battery {
        capacity: account.capacity,
        level: energy_of(level),
        reserved_for_bids: energy_of(row.try_get::<i64, _>("bids")? + row.try_get::<i64, _>("buying")?),
        reserved_for_asks: energy_of(row.try_get("asks")?),
    })
}

/// The battery and the CO2 tokens its purchases earned, at the community's `co2` intensity.
pub async fn energy_view(pool: &SqlitePool, account: &Account, co2: Co2Intensity) -> Result<EnergyView> {
    let battery = battery(pool, account).await?;
    let bought: i64 = sqlx::query_scalar("SELECT COALESCE(SUM(amount_centi_kwh), 0) FROM trades WHERE buyer_id = ?")
        .bind(account.user_id.to_string())
        .fetch_one(pool)
        .await?;
    Ok(EnergyView::of(&battery, tokens(co2.tokens_mg(energy_of(bought)))))
}

pub async fn trades(pool: &SqlitePool, me: Uuid, page: Page) -> Result<Vec<TradeView>> {
    let rows = sqlx::query("SELECT * FROM trades ORDER BY seq DESC LIMIT ? OFFSET ?")
        .bind(i64::from(page.limit.clamp(1, Page::MAX_LIMIT)))
        .bind(i64::from(page.offset))
        .fetch_all(pool)
        .await?;
    rows.iter().map(|row| trade_view(row, &me.to_string())).collect()
}

pub async fn trade(pool: &SqlitePool, id: Uuid, me: Uuid) -> Result<Option<TradeView>> {
    let row = sqlx::query("SELECT * FROM trades WHERE id = ?")
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?;
    row.map(|row| trade_view(&row, &me.to_string())).transpose()
}

pub async fn grid_transactions(pool: &SqlitePool, page: Page) -> Result<Vec<GridTransactionView>> {
    let rows = sqlx::query("SELECT * FROM movements WHERE kind IN ('grid_in', 'grid_out') ORDER BY created_at DESC, reference LIMIT ? OFFSET ?")
        .bind(i64::from(page.limit.clamp(1, Page::MAX_LIMIT)))
        .bind(i64::from(page.offset))
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            let price = Price::from_ticks(u32::try_from(row.try_get::<i64, _>("price_ticks")?).unwrap_or(0));
            let amount = energy_of(row.try_get::<i64, _>("delta_centi_kwh")?.abs());
            let kind: String = row.try_get("kind")?;
            Ok(GridTransactionView {
                id: row.try_get("reference")?,
                direction: if kind == "grid_in" { Side::Buy } else { Side::Sell },
                amount,
                price,
                total: lumea_market::Money::of(price, amount),
                created_at: lumea_store::parse_timestamp(&row.try_get::<String, _>("created_at")?)?,
            })
        })
        .collect()
}

pub async fn enqueue(tx: &mut Tx, command: &Command, at: DateTime<Utc>) -> Result<Uuid> {
    let id = command.key(Uuid::new_v4());
    let buying = match command {
        Command::Buy { amount, .. } => Energy::parse(amount).map_or(0, |amount| amount.centi_kwh() as i64),
        Command::Place { .. } | Command::Cancel { .. } => 0,
    };
    sqlx::query("INSERT INTO outbox (id, kind, order_id, buying_centi_kwh, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(id.to_string())
        .bind(command.kind())
        .bind(command.order().to_string())
        .bind(buying)
        .bind(serde_json::to_string(command).expect("commands serialise"))
        .bind(timestamp(at))
        .execute(&mut **tx)
        .await?;
    mark_pending(tx, command.order()).await?;
    Ok(id)
}

/// How many commands wait, without reading them.
pub async fn waiting(pool: &SqlitePool) -> Result<usize> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox").fetch_one(pool).await?;
    Ok(usize::try_from(count).unwrap_or(0))
}

pub async fn outbox(pool: &SqlitePool) -> Result<Vec<Queued>> {
    let rows = sqlx::query("SELECT id, payload FROM outbox ORDER BY position").fetch_all(pool).await?;
    rows.iter()
        .map(|row| {
            let id: String = row.try_get("id")?;
            let payload: String = row.try_get("payload")?;
            let decode = |e: Box<dyn std::error::Error + Send + Sync>| sqlx::Error::Decode(e);
            Ok(Queued {
                id: Uuid::parse_str(&id).map_err(|e| decode(Box::new(e)))?,
                command: serde_json::from_str(&payload).map_err(|e| decode(Box::new(e)))?,
            })
        })
        .collect()
}

/// The command is settled (confirmed or refused): out of the outbox, its order no longer pending.
pub async fn settle(tx: &mut Tx, queued: &Queued) -> Result<()> {
    sqlx::query("DELETE FROM outbox WHERE id = ?")
        .bind(queued.id.to_string())
        .execute(&mut **tx)
        .await?;
    if let Command::Place { id, .. } = queued.command {
        // A refused order never existed; a confirmed one is stored with its server row first.
        sqlx::query("DELETE FROM orders WHERE id = ? AND seq < 0")
            .bind(id.to_string())
            .execute(&mut **tx)
            .await?;
    }
    mark_pending(tx, queued.command.order()).await
}

async fn mark_pending(tx: &mut Tx, order: Uuid) -> Result<()> {
    sqlx::query("UPDATE orders SET pending = EXISTS (SELECT 1 FROM outbox WHERE order_id = ?1 AND kind <> 'buy') WHERE id = ?1")
        .bind(order.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// My order as it stands before the server has it: pending, with a temporary negative seq.
pub async fn insert_pending_order(tx: &mut Tx, order: &CachedOrder) -> Result<()> {
    let seq: i64 = sqlx::query_scalar("SELECT MIN(0, COALESCE(MIN(seq), 0)) - 1 FROM orders")
        .fetch_one(&mut **tx)
        .await?;
    upsert_orders(tx, &[CachedOrder { seq, ..order.clone() }]).await
}
