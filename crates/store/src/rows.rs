//! Rows of the market file and the views built from them. Units in the file
//! are integers (see the first migration); views carry exact decimals.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};

use super::{Error, Member, Result, parse_timestamp, timestamp};
use lumea_market::energy::{Battery, Co2Intensity, tokens};
use lumea_market::geo::Location;
use lumea_market::stats::TradePrint;
use lumea_market::{Energy, Money, Order, Price, Reason, Side, Status, Trade, WattHours};

/// An order as the UI lists it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct OrderView {
    pub id: String,
    pub user_id: String,
    pub username: String,
    pub side: Side,
    pub price: Price,
    pub amount: Energy,
    pub filled: Energy,
    pub remaining: Energy,
    pub status: Status,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The start of its delivery interval; `None` for an undated order.
    pub interval: Option<DateTime<Utc>>,
    /// From the household's home, in km to one decimal, when both locations are known.
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub distance_km: Option<Decimal>,
    /// Placed by the household looking at it.
    pub mine: bool,
    /// Made offline or not yet confirmed by the community market (never in local mode).
    pub pending: bool,
}

/// The open book: asks lowest price first, bids highest first, then by arrival.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct BookView {
    pub asks: Vec<OrderView>,
    pub bids: Vec<OrderView>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct TradeView {
    pub id: String,
    pub buy_order: Option<String>,
    pub sell_order: String,
    pub buyer_id: String,
    pub seller_id: String,
    pub buyer: String,
    pub seller: String,
    pub price: Price,
    pub amount: Energy,
    pub total: Money,
    pub created_at: DateTime<Utc>,
    /// `bought` or `sold` from the viewer's side.
    pub role: Role,
    /// The side of the order that came in and traded with a resting one (a
    /// direct purchase is a buy): the other side's order was waiting, filled.
    pub taker: Side,
    /// The delivery interval it is a contract for; `None` for an undated trade.
    pub interval: Option<DateTime<Utc>>,
    /// What the meters say it delivered, once settled (its latest revision).
    pub delivered: Option<WattHours>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Bought,
    Sold,
    /// Neither side is the viewer (events about neighbours' trades).
    Other,
}

impl TradeView {
    pub(super) fn of(id: &str, trade: &Trade, taker: Side, names: (&str, &str), at: DateTime<Utc>, viewer: &str) -> TradeView {
        let (buyer, seller) = names;
        TradeView {
            id: id.to_string(),
            buy_order: trade.buy_order.as_ref().map(ToString::to_string),
            sell_order: trade.sell_order.to_string(),
            buyer_id: trade.buyer.to_string(),
            seller_id: trade.seller.to_string(),
            buyer: buyer.to_string(),
            seller: seller.to_string(),
            price: trade.price,
            amount: trade.amount,
            total: Money::of(trade.price, trade.amount),
            created_at: at,
            role: role(trade.buyer.as_str(), trade.seller.as_str(), viewer),
            taker,
            interval: trade.interval,
            delivered: None,
        }
    }

    /// Whether this trade filled an order of the viewer's that was waiting in the book.
    pub fn filled_resting_order_of_viewer(&self) -> bool {
        matches!((self.role, self.taker), (Role::Sold, Side::Buy) | (Role::Bought, Side::Sell))
    }
}

pub fn role(buyer: &str, seller: &str, viewer: &str) -> Role {
    if buyer == viewer {
        Role::Bought
    } else if seller == viewer {
        Role::Sold
    } else {
        Role::Other
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct EnergyView {
    pub capacity: Energy,
    pub level: Energy,
    pub reserved_for_bids: Energy,
    pub reserved_for_asks: Energy,
    /// What the battery can still take: capacity − level − reserved for bids.
    pub headroom: Energy,
    /// What can still be offered: level − reserved for asks.
    pub sellable: Energy,
    /// CO2 tokens earned (1 token = 1 kg of grid CO2 displaced).
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub co2_tokens: Decimal,
}

impl EnergyView {
    pub fn of(battery: &Battery, co2_tokens: Decimal) -> EnergyView {
        EnergyView {
            capacity: battery.capacity,
            level: battery.level,
            reserved_for_bids: battery.reserved_for_bids,
            reserved_for_asks: battery.reserved_for_asks,
            headroom: battery.headroom(),
            sellable: battery.sellable(),
            co2_tokens,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct GridTransactionView {
    pub id: String,
    pub direction: Side,
    pub amount: Energy,
    pub price: Price,
    pub total: Money,
    pub created_at: DateTime<Utc>,
}

/// Which of my orders to list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct OrderFilter {
    /// `Some(true)`: only open orders; `Some(false)`: only closed ones.
    pub open: Option<bool>,
    pub side: Option<Side>,
}

/// A page of a newest-first list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct Page {
    pub limit: u32,
    pub offset: u32,
}

impl Page {
    pub const MAX_LIMIT: u32 = 200;

    pub fn first(limit: u32) -> Page {
        Page { limit, offset: 0 }
    }

    pub(crate) fn limit(self) -> i64 {
        i64::from(self.limit.clamp(1, Self::MAX_LIMIT))
    }
}

/// The writes of one operation, sent to SQLite as one transaction in one round
/// trip: each statement of a query costs the driver two thread switches, far
/// more than SQLite's own work.
pub(super) struct Batch(QueryBuilder<'static, Sqlite>);

/// A value bound to one `?` of a batched statement.
pub(super) enum Value {
    Integer(Option<i64>),
    Text(Option<String>),
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Integer(Some(value))
    }
}

impl From<Option<i64>> for Value {
    fn from(value: Option<i64>) -> Self {
        Value::Integer(value)
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Text(Some(value.to_string()))
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::Text(Some(value))
    }
}

impl From<Option<String>> for Value {
    fn from(value: Option<String>) -> Self {
        Value::Text(value)
    }
}

impl Batch {
    pub(super) fn new() -> Self {
        Batch(QueryBuilder::new("BEGIN IMMEDIATE;"))
    }

    /// Appends one statement, binding `values` in order to its `?` marks.
    pub(super) fn push<const N: usize>(&mut self, sql: &str, values: [Value; N]) {
        let mut parts = sql.split('?');
        self.0.push(parts.next().unwrap_or_default());
        let mut bound = 0;
        for (value, part) in values.into_iter().zip(parts.by_ref()) {
            match value {
                Value::Integer(value) => self.0.push_bind(value),
                Value::Text(value) => self.0.push_bind(value),
            };
            self.0.push(part);
            bound += 1;
        }
        assert!(bound == N && parts.next().is_none(), "statement and values disagree: {sql}");
        self.0.push(";");
    }

    /// Commits every statement, or none of them.
    pub(super) async fn commit(mut self, pool: &SqlitePool) -> Result<()> {
        self.0.push("COMMIT;");
        let mut connection = pool.acquire().await?;
        if let Err(err) = self.0.build().execute(&mut *connection).await {
            // A statement failed midway: undo what ran before it. A failed
            // rollback leaves nothing to undo, so its own error tells nothing new.
            let _ = sqlx::query("ROLLBACK").execute(&mut *connection).await;
            return Err(err.into());
        }
        Ok(())
    }
}

fn corrupt(what: String) -> Error {
    Error::Storage(sqlx::Error::Decode(what.into()))
}

fn side(text: &str) -> Result<Side> {
    match text {
        "buy" => Ok(Side::Buy),
        "sell" => Ok(Side::Sell),
        other => Err(corrupt(format!("unknown side {other:?}"))),
    }
}

fn status(text: &str) -> Result<Status> {
    match text {
        "active" => Ok(Status::Active),
        "partial" => Ok(Status::Partial),
        "filled" => Ok(Status::Filled),
        "cancelled" => Ok(Status::Cancelled),
        "expired" => Ok(Status::Expired),
        other => Err(corrupt(format!("unknown status {other:?}"))),
    }
}

fn energy(row: &SqliteRow, column: &str) -> Result<Energy> {
    let value: i64 = row.try_get(column)?;
    u64::try_from(value)
        .map(Energy::from_centi_kwh)
        .map_err(|_| corrupt(format!("negative {column}")))
}

fn price(row: &SqliteRow, column: &str) -> Result<Price> {
    let value: i64 = row.try_get(column)?;
    u32::try_from(value).map(Price::from_ticks).map_err(|_| corrupt(format!("bad {column}")))
}

fn time(row: &SqliteRow, column: &str) -> Result<DateTime<Utc>> {
    parse_timestamp(&row.try_get::<String, _>(column)?)
}

fn optional_time(row: &SqliteRow, column: &str) -> Result<Option<DateTime<Utc>>> {
    row.try_get::<Option<String>, _>(column)?.as_deref().map(parse_timestamp).transpose()
}

fn location(row: &SqliteRow) -> Result<Option<Location>> {
    let lat: Option<i64> = row.try_get("lat_e3")?;
    let lng: Option<i64> = row.try_get("lng_e3")?;
    Ok(lat.zip(lng).and_then(|(lat, lng)| Location::from_grid(lat, lng)))
}

/// A name as a household may choose it: the market's display-name rule.
pub(super) fn valid_username(text: &str) -> Result<String, Reason> {
    lumea_market::names::display_name(text).ok_or(Reason::InvalidUsername)
}

pub(super) async fn household_id(pool: &SqlitePool) -> Result<String> {
    Ok(sqlx::query("SELECT id FROM users WHERE is_household = 1")
        .fetch_one(pool)
        .await?
        .try_get(0)?)
}

pub(super) async fn members(pool: &SqlitePool) -> Result<HashMap<String, Member>> {
    let rows = sqlx::query("SELECT id, username, lat_e3, lng_e3 FROM users").fetch_all(pool).await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("id")?,
                Member {
                    username: row.try_get("username")?,
                    location: location(row)?,
                },
            ))
        })
        .collect()
}

const ORDER_COLUMNS: &str = "id, user_id, username, side, price_ticks, amount_centi_kwh, filled_centi_kwh, status, \
                             lat_e3, lng_e3, seq, created_at, updated_at, expires_at, pending, interval_start, closes_at";

fn order(row: &SqliteRow) -> Result<Order> {
    Ok(Order {
        id: row.try_get::<String, _>("id")?.as_str().into(),
        user: row.try_get::<String, _>("user_id")?.as_str().into(),
        side: side(row.try_get("side")?)?,
        price: price(row, "price_ticks")?,
        amount: energy(row, "amount_centi_kwh")?,
        filled: energy(row, "filled_centi_kwh")?,
        status: status(row.try_get("status")?)?,
        // A community order not yet on the server has a temporary negative seq: no place in any book yet.
        seq: u64::try_from(row.try_get::<i64, _>("seq")?).unwrap_or(0),
        expires_at: optional_time(row, "expires_at")?,
        interval: optional_time(row, "interval_start")?,
        closes_at: optional_time(row, "closes_at")?,
    })
}

fn order_view(row: &SqliteRow, home: Option<Location>, viewer: &str) -> Result<OrderView> {
    let order = order(row)?;
    // A community cache holds the server's distance (neighbours' homes are never
    // sent, so its orders table has distance_hm); locally it is measured here.
    let distance_km = match row.try_get::<Option<i64>, _>("distance_hm") {
        Ok(tenths_of_km) => tenths_of_km.map(|hm| Decimal::new(hm, 1).normalize()),
        Err(_) => home.zip(location(row)?).map(|(home, there)| {
            Decimal::from_f64_retain(home.distance_km(there))
                .unwrap_or_default()
                .round_dp(1)
                .normalize()
        }),
    };
    Ok(OrderView {
        mine: order.user.as_str() == viewer,
        id: order.id.to_string(),
        user_id: order.user.to_string(),
        username: row.try_get("username")?,
        side: order.side,
        price: order.price,
        amount: order.amount,
        filled: order.filled,
        remaining: order.remaining(),
        status: order.status,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
        expires_at: order.expires_at,
        interval: order.interval,
        distance_km,
        pending: row.try_get("pending")?,
    })
}

/// Every order ever placed, in arrival order: what the engine is rebuilt from.
pub async fn all_orders(pool: &SqlitePool) -> Result<Vec<Order>> {
    let rows = sqlx::query(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE seq >= 0 ORDER BY seq"))
        .fetch_all(pool)
        .await?;
    rows.iter().map(order).collect()
}

pub async fn order_by_id(pool: &SqlitePool, id: &str) -> Result<Option<Order>> {
    let row = sqlx::query(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(order).transpose()
}

pub async fn book(pool: &SqlitePool, viewer: &str, home: Option<Location>) -> Result<BookView> {
    let side = |side: &str, order_by: &str| {
        format!("SELECT * FROM orders WHERE status IN ('active', 'partial') AND pending = 0 AND side = '{side}' ORDER BY {order_by}, seq")
    };
    let asks = sqlx::query(&side("sell", "price_ticks")).fetch_all(pool).await?;
    let bids = sqlx::query(&side("buy", "price_ticks DESC")).fetch_all(pool).await?;
    Ok(BookView {
        asks: asks.iter().map(|row| order_view(row, home, viewer)).collect::<Result<_>>()?,
        bids: bids.iter().map(|row| order_view(row, home, viewer)).collect::<Result<_>>()?,
    })
}

/// Every order of `user`, whatever its status, unpaged; or only those `among` the given ids.
pub async fn all_orders_of(pool: &SqlitePool, user: &str, among: Option<&[String]>) -> Result<Vec<Order>> {
    let mut query = QueryBuilder::<Sqlite>::new(format!("SELECT {ORDER_COLUMNS} FROM orders WHERE user_id = "));
    query.push_bind(user);
    if let Some(ids) = among {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        query.push(" AND id IN (");
        let mut list = query.separated(", ");
        for id in ids {
            list.push_bind(id);
        }
        list.push_unseparated(")");
    }
    let rows = query.build().fetch_all(pool).await?;
    rows.iter().map(order).collect()
}

pub async fn orders_of(pool: &SqlitePool, user: &str, filter: &OrderFilter, page: Page, home: Option<Location>) -> Result<Vec<OrderView>> {
    let rows = sqlx::query(
        "SELECT * FROM orders WHERE user_id = ?1
           AND (?2 IS NULL OR (status IN ('active', 'partial')) = ?2)
           AND (?3 IS NULL OR side = ?3)
         ORDER BY seq DESC LIMIT ?4 OFFSET ?5",
    )
    .bind(user)
    .bind(filter.open)
    .bind(filter.side.map(Side::as_str))
    .bind(page.limit())
    .bind(i64::from(page.offset))
    .fetch_all(pool)
    .await?;
    rows.iter().map(|row| order_view(row, home, user)).collect()
}

pub(super) fn insert_order(batch: &mut Batch, order: &Order, member: &Member, now: DateTime<Utc>) {
    let (lat, lng) = member.location.map(Location::grid).unzip();
    batch.push(
        "INSERT INTO orders (id, user_id, username, side, price_ticks, amount_centi_kwh, filled_centi_kwh, status,
                             lat_e3, lng_e3, seq, created_at, updated_at, expires_at, interval_start, closes_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            order.id.as_str().into(),
            order.user.as_str().into(),
            member.username.as_str().into(),
            order.side.as_str().into(),
            i64::from(order.price.ticks()).into(),
            (order.amount.centi_kwh() as i64).into(),
            (order.filled.centi_kwh() as i64).into(),
            order.status.as_str().into(),
            lat.map(i64::from).into(),
            lng.map(i64::from).into(),
            (order.seq as i64).into(),
            timestamp(now).into(),
            timestamp(now).into(),
            order.expires_at.map(timestamp).into(),
            order.interval.map(timestamp).into(),
            order.closes_at.map(timestamp).into(),
        ],
    );
}

pub(super) fn update_order(batch: &mut Batch, order: &Order, now: DateTime<Utc>) {
    batch.push(
        "UPDATE orders SET filled_centi_kwh = ?, status = ?, updated_at = ? WHERE id = ?",
        [
            (order.filled.centi_kwh() as i64).into(),
            order.status.as_str().into(),
            timestamp(now).into(),
            order.id.as_str().into(),
        ],
    );
}

pub(super) fn insert_trade(batch: &mut Batch, id: &str, seq: i64, trade: &Trade, now: DateTime<Utc>) {
    batch.push(
        "INSERT INTO trades (id, seq, buy_order_id, sell_order_id, buyer_id, seller_id, price_ticks, amount_centi_kwh, status, created_at,
                             interval_start)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'completed', ?, ?)",
        [
            id.into(),
            seq.into(),
            trade.buy_order.as_ref().map(ToString::to_string).into(),
            trade.sell_order.as_str().into(),
            trade.buyer.as_str().into(),
            trade.seller.as_str().into(),
            i64::from(trade.price.ticks()).into(),
            (trade.amount.centi_kwh() as i64).into(),
            timestamp(now).into(),
            trade.interval.map(timestamp).into(),
        ],
    );
}

/// The buyer of community energy earns CO2 tokens for the grid energy it displaced.
pub(super) fn award_co2(batch: &mut Batch, trade_id: &str, trade: &Trade, intensity: Co2Intensity, now: DateTime<Utc>) {
    batch.push(
        "INSERT INTO co2_ledger (user_id, trade_id, amount_centi_kwh, grams_per_kwh, tokens_mg, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        [
            trade.buyer.as_str().into(),
            trade_id.into(),
            (trade.amount.centi_kwh() as i64).into(),
            i64::from(intensity.grams_per_kwh()).into(),
            (intensity.tokens_mg(trade.amount) as i64).into(),
            timestamp(now).into(),
        ],
    );
}

/// The taker is the later of the two orders to arrive; a direct purchase has no buy order and is a buy.
const TRADE_QUERY: &str = "SELECT t.id, t.buy_order_id, t.sell_order_id, t.buyer_id, t.seller_id, t.price_ticks,
                                  t.amount_centi_kwh, t.created_at, b.username AS buyer, s.username AS seller,
                                  CASE WHEN bo.seq IS NULL OR bo.seq > so.seq THEN 'buy' ELSE 'sell' END AS taker,
                                  t.interval_start,
                                  (SELECT delivered_wh FROM settlements d WHERE d.trade_id = t.id ORDER BY revision DESC LIMIT 1) AS delivered_wh
                           FROM trades t JOIN users b ON b.id = t.buyer_id JOIN users s ON s.id = t.seller_id
                           JOIN orders so ON so.id = t.sell_order_id LEFT JOIN orders bo ON bo.id = t.buy_order_id";

pub fn trade_view(row: &SqliteRow, viewer: &str) -> Result<TradeView> {
    let (price, amount) = (price(row, "price_ticks")?, energy(row, "amount_centi_kwh")?);
    let (buyer_id, seller_id): (String, String) = (row.try_get("buyer_id")?, row.try_get("seller_id")?);
    Ok(TradeView {
        id: row.try_get("id")?,
        buy_order: row.try_get("buy_order_id")?,
        sell_order: row.try_get("sell_order_id")?,
        role: role(&buyer_id, &seller_id, viewer),
        buyer_id,
        seller_id,
        buyer: row.try_get("buyer")?,
        seller: row.try_get("seller")?,
        price,
        amount,
        total: Money::of(price, amount),
        created_at: time(row, "created_at")?,
        taker: side(row.try_get("taker")?)?,
        interval: optional_time(row, "interval_start")?,
        delivered: row.try_get::<Option<i64>, _>("delivered_wh")?.map(|wh| WattHours::from_wh(wh as u64)),
    })
}

pub(super) async fn trades_of(pool: &SqlitePool, user: &str, page: Page) -> Result<Vec<TradeView>> {
    let rows = sqlx::query(&format!(
        "{TRADE_QUERY} WHERE t.buyer_id = ?1 OR t.seller_id = ?1 ORDER BY t.seq DESC LIMIT ?2 OFFSET ?3"
    ))
    .bind(user)
    .bind(page.limit())
    .bind(i64::from(page.offset))
    .fetch_all(pool)
    .await?;
    rows.iter().map(|row| trade_view(row, user)).collect()
}

/// Where a market file keeps its trade prints (seq, created_at, price_ticks, amount_centi_kwh).
#[derive(Clone, Copy, Debug)]
pub enum PrintTable {
    Trades,
    Prints,
}

/// Trades within `since..=until` in execution order, led by the last trade
/// before the window (statistics take the last price from it when the window is empty).
/// `table` holds them: `trades` in the local market, `prints` (the community's) in a community cache.
pub async fn trade_prints(pool: &SqlitePool, table: PrintTable, since: DateTime<Utc>, until: DateTime<Utc>) -> Result<Vec<TradePrint>> {
    let table = match table {
        PrintTable::Trades => "trades",
        PrintTable::Prints => "prints",
    };
    let rows = sqlx::query(&format!(
        "SELECT created_at, price_ticks, amount_centi_kwh FROM {table}
         WHERE seq = (SELECT MAX(seq) FROM {table} WHERE created_at < ?1) OR created_at BETWEEN ?1 AND ?2
         ORDER BY seq"
    ))
    .bind(timestamp(since))
    .bind(timestamp(until))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(TradePrint {
                at: time(row, "created_at")?,
                price: price(row, "price_ticks")?,
                amount: energy(row, "amount_centi_kwh")?,
            })
        })
        .collect()
}

/// Every battery, by user: kept in memory beside the engine.
pub(super) async fn all_batteries(pool: &SqlitePool) -> Result<HashMap<String, Battery>> {
    let rows = sqlx::query("SELECT * FROM energy_accounts").fetch_all(pool).await?;
    rows.iter().map(|row| Ok((row.try_get("user_id")?, battery(row)?))).collect()
}

fn battery(row: &SqliteRow) -> Result<Battery> {
    Ok(Battery {
        capacity: energy(row, "capacity_centi_kwh")?,
        level: energy(row, "level_centi_kwh")?,
        reserved_for_bids: energy(row, "reserved_bids_centi_kwh")?,
        reserved_for_asks: energy(row, "reserved_asks_centi_kwh")?,
    })
}

pub(super) fn save_battery(batch: &mut Batch, user: &str, battery: &Battery, now: DateTime<Utc>) {
    batch.push(
        "UPDATE energy_accounts SET level_centi_kwh = ?, reserved_bids_centi_kwh = ?, reserved_asks_centi_kwh = ?, updated_at = ?
         WHERE user_id = ?",
        [
            (battery.level.centi_kwh() as i64).into(),
            (battery.reserved_for_bids.centi_kwh() as i64).into(),
            (battery.reserved_for_asks.centi_kwh() as i64).into(),
            timestamp(now).into(),
            user.into(),
        ],
    );
}

pub(super) fn insert_movement(batch: &mut Batch, user: &str, kind: &str, delta: i64, reference: Option<&str>, now: DateTime<Utc>) {
    batch.push(
        "INSERT INTO energy_movements (user_id, kind, delta_centi_kwh, reference, created_at) VALUES (?, ?, ?, ?, ?)",
        [
            user.into(),
            kind.into(),
            delta.into(),
            reference.map(str::to_string).into(),
            timestamp(now).into(),
        ],
    );
}

pub(super) fn insert_grid_transaction(batch: &mut Batch, user: &str, view: &GridTransactionView) {
    batch.push(
        "INSERT INTO grid_transactions (id, user_id, direction, amount_centi_kwh, price_ticks, total_micro_usd, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            view.id.as_str().into(),
            user.into(),
            view.direction.as_str().into(),
            (view.amount.centi_kwh() as i64).into(),
            i64::from(view.price.ticks()).into(),
            view.total.micros().into(),
            timestamp(view.created_at).into(),
        ],
    );
}

fn grid_transaction_view(row: &SqliteRow) -> Result<GridTransactionView> {
    Ok(GridTransactionView {
        id: row.try_get("id")?,
        direction: side(row.try_get("direction")?)?,
        amount: energy(row, "amount_centi_kwh")?,
        price: price(row, "price_ticks")?,
        total: Money::from_micros(row.try_get("total_micro_usd")?),
        created_at: time(row, "created_at")?,
    })
}

pub(super) async fn grid_transactions_of(pool: &SqlitePool, user: &str, page: Page) -> Result<Vec<GridTransactionView>> {
    let rows = sqlx::query("SELECT * FROM grid_transactions WHERE user_id = ? ORDER BY created_at DESC, id LIMIT ? OFFSET ?")
        .bind(user)
        .bind(page.limit())
        .bind(i64::from(page.offset))
        .fetch_all(pool)
        .await?;
    rows.iter().map(grid_transaction_view).collect()
}

pub(super) async fn energy_of(pool: &SqlitePool, user: &str) -> Result<EnergyView> {
    let row = sqlx::query(
        "SELECT a.*, (SELECT COALESCE(SUM(tokens_mg), 0) FROM co2_ledger WHERE user_id = a.user_id)
                      + (SELECT COALESCE(SUM(tokens_mg_delta), 0) FROM co2_adjustments WHERE user_id = a.user_id) AS tokens_mg
         FROM energy_accounts a WHERE a.user_id = ?",
    )
    .bind(user)
    .fetch_one(pool)
    .await?;
    let tokens_mg: i64 = row.try_get("tokens_mg")?;
    Ok(EnergyView::of(
        &battery(&row)?,
        tokens(u64::try_from(tokens_mg).map_err(|_| corrupt("negative tokens".into()))?),
    ))
}

/// Creates a household or neighbour with its battery and opening balance.
pub(super) fn insert_member(
    batch: &mut Batch,
    id: &str,
    username: &str,
    location: Option<Location>,
    household: bool,
    battery: Battery,
    now: DateTime<Utc>,
) {
    let (lat, lng) = location.map(Location::grid).unzip();
    batch.push(
        "INSERT INTO users (id, username, lat_e3, lng_e3, is_household, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        [
            id.into(),
            username.into(),
            lat.map(i64::from).into(),
            lng.map(i64::from).into(),
            i64::from(household).into(),
            timestamp(now).into(),
        ],
    );
    batch.push(
        "INSERT INTO energy_accounts (user_id, capacity_centi_kwh, level_centi_kwh, updated_at) VALUES (?, ?, ?, ?)",
        [
            id.into(),
            (battery.capacity.centi_kwh() as i64).into(),
            (battery.level.centi_kwh() as i64).into(),
            timestamp(now).into(),
        ],
    );
    insert_movement(batch, id, "opening", battery.level.centi_kwh() as i64, None, now);
}
