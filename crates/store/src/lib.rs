//! The local market: the engine over a SQLite file, with every household's
//! battery, its history and the CO2 ledger. Every operation is one SQLite
//! transaction; the in-memory book is rebuilt from the file on open and after
//! any failed write, so it always agrees with what is stored.

pub mod clock;
mod demo;
pub mod device;
pub mod meter_files;
pub mod rows;
pub mod settlement;
pub mod simulator;
pub mod statement;
mod verify;

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteLockingMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use tokio::sync::{Mutex, broadcast};
use uuid::Uuid;

use crate::clock::Clock;
use lumea_market::delivery::{DeliveryRules, Fee};
use lumea_market::energy::{Battery, Co2Intensity, GridPrices};
use lumea_market::geo::Location;
use lumea_market::rules::{self, BuyNow, Cancel, Place};
use lumea_market::stats::{MarketStats, TradePrint};
use lumea_market::{Book, Energy, ErrorCode, Event, FastBook, Market, Money, Order, Price, Reason, Side, Status, Trade};

use rows::Batch;
pub use rows::{BookView, EnergyView, GridTransactionView, OrderFilter, OrderView, Page, Role, TradeView};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// How hard each commit waits for the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL`: a commit survives power loss.
    Full,
    /// `synchronous=NORMAL`: a commit survives a crash of the app, but the
    /// last commits may be lost if the machine loses power.
    Normal,
}

#[derive(Clone, Copy, Debug)]
pub struct OpenOptions {
    pub durability: Durability,
    /// Seed the demo neighbourhood and its opening book into an empty file
    /// (the household itself is always created).
    pub seed_demo: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            durability: Durability::Full,
            seed_demo: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Rejected(#[from] Reason),
    #[error("the market file could not be read or written: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("the market file could not be brought up to date: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A meter file that cannot be imported: where and why.
    #[error("the meter file cannot be imported, nothing was: {0}")]
    MeterFile(String),
}

impl Error {
    /// The stable code the UI maps to a sentence.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Rejected(reason) => ErrorCode::from(*reason),
            Error::Storage(err) if is_busy(err) => ErrorCode::StoreInUse,
            Error::Storage(_) | Error::Migration(_) => ErrorCode::StorageFailure,
            Error::MeterFile(_) => ErrorCode::InvalidMeterFile,
        }
    }
}

/// SQLite's SQLITE_BUSY or SQLITE_LOCKED, extended codes included: another
/// process holds the file (the market file is opened with an exclusive lock).
fn is_busy(err: &sqlx::Error) -> bool {
    const SQLITE_BUSY: i32 = 5;
    const SQLITE_LOCKED: i32 = 6;
    let primary = match err {
        sqlx::Error::Database(db) => db.code().and_then(|code| code.parse::<i32>().ok()).map(|code| code & 0xff),
        _ => None,
    };
    matches!(primary, Some(SQLITE_BUSY | SQLITE_LOCKED))
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What the UI hears about, after the change is committed.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MarketEvent {
    BookChanged,
    TradeExecuted {
        trade: TradeView,
    },
    OrderUpdated(OrderUpdate),
    EnergyChanged {
        user_id: String,
    },
    /// Community mode: the connection indicator's state.
    ConnectionChanged {
        connection: Connection,
    },
    /// Community mode: a command made offline was refused when it was sent.
    CommandRefused {
        id: String,
        code: ErrorCode,
    },
    /// Meter readings were recorded or an interval settled: what trades
    /// delivered, the statement, the readings and the CO2 tokens are read again.
    Settled,
    /// Community mode: the household's membership changed (approved,
    /// suspended, its role): the mode is read again.
    MembershipChanged,
    /// Events were dropped on the way to a receiver that fell behind: every
    /// view must be read again.
    Resync,
}

/// What the connection indicator shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum Connection {
    /// Local mode: the demo neighbourhood on this device.
    Local,
    Connecting,
    /// Joined and up to date: changes arrive as they happen.
    Online,
    /// Not connected: the cache shows the last known state, commands wait in the outbox.
    Offline,
    /// The session ended: sign in again.
    SignedOut,
}

#[derive(Clone, Debug)]
pub(crate) struct Member {
    pub(crate) username: String,
    pub(crate) location: Option<Location>,
}

#[derive(Clone, Copy, Debug)]
struct Settings {
    grid: GridPrices,
    co2: Co2Intensity,
    simulator: bool,
    delivery: DeliveryRules,
    /// The household's inverter power, in 0.01 kW: an order delivers at most
    /// power × interval length. `None`: not set, no limit.
    inverter_centi_kw: Option<u64>,
}

impl Settings {
    /// Refuses `amount` for one of the household's orders if its inverter cannot deliver it in one interval.
    fn check_power(&self, amount: Energy) -> Result<(), Reason> {
        let limit = self.inverter_centi_kw.map(|kw| kw * u64::from(self.delivery.interval_minutes) / 60);
        match limit {
            Some(limit) if amount.centi_kwh() > limit => Err(Reason::ExceedsPower),
            _ => Ok(()),
        }
    }
}

/// A dated trade whose interval has not ended: both batteries keep its energy reserved.
#[derive(Clone, Debug)]
struct Contracted {
    trade: String,
    ends_at: DateTime<Utc>,
    buyer: String,
    seller: String,
    amount: Energy,
}

/// The market in memory: the engine and every battery, always as the file has them.
struct State {
    market: Market<FastBook>,
    batteries: HashMap<String, Battery>,
    members: HashMap<String, Member>,
    settings: Settings,
    next_trade_seq: i64,
    /// Dated trades not yet released, in trade order.
    contracted: Vec<Contracted>,
}

pub struct LocalMarket {
    pool: SqlitePool,
    state: Mutex<State>,
    clock: Arc<dyn Clock>,
    events: broadcast::Sender<MarketEvent>,
    household: String,
}

/// A request to place a limit order; price and amount as the household typed them.
#[derive(Clone, Debug)]
pub struct PlaceRequest {
    pub id: Uuid,
    pub side: Side,
    pub price: String,
    pub amount: String,
    pub expires_at: Option<DateTime<Utc>>,
    /// The start of the delivery interval (RFC 3339); `None` for an undated order.
    pub interval: Option<String>,
}

/// What an operation did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Outcome {
    pub trades: Vec<TradeView>,
    /// Every order it placed, filled, cancelled or expired, as it now stands.
    pub orders: Vec<OrderUpdate>,
    /// Community mode: not yet confirmed (offline); it is sent when the market is back.
    pub pending: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct OrderUpdate {
    pub id: String,
    pub user_id: String,
    pub status: Status,
    pub filled: Energy,
    pub remaining: Energy,
}

impl OrderUpdate {
    pub fn of(order: &Order) -> Self {
        OrderUpdate {
            id: order.id.to_string(),
            user_id: order.user.to_string(),
            status: order.status,
            filled: order.filled,
            remaining: order.remaining(),
        }
    }
}

impl LocalMarket {
    /// Opens (creating and migrating if needed) the market file at `path`.
    pub async fn open(path: &Path, clock: Arc<dyn Clock>, options: OpenOptions) -> Result<LocalMarket> {
        let connect = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match options.durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Normal => SqliteSynchronous::Normal,
            })
            // One process owns the market: a second one would hold a second book.
            .locking_mode(SqliteLockingMode::Exclusive)
            .busy_timeout(Duration::from_secs(2))
            .foreign_keys(true);
        // One connection that only this process can use: no need to ping it before each use.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(connect)
            .await?;
        MIGRATOR.run(&pool).await?;
        let now = clock.now();
        let seeded = demo::seed_if_empty(&pool, now, options.seed_demo).await? && options.seed_demo;
        let state = load_state(&pool, now).await?;
        let household = rows::household_id(&pool).await?;
        let (events, _) = broadcast::channel(1024);
        let market = LocalMarket {
            pool,
            state: Mutex::new(state),
            clock,
            events,
            household,
        };
        if seeded {
            demo::place_opening_orders(&market).await?;
        }
        market.expire_due().await?;
        Ok(market)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<MarketEvent> {
        self.events.subscribe()
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn household_id(&self) -> &str {
        &self.household
    }

    /// The household this app belongs to.
    pub fn household(&self) -> Trader<'_> {
        Trader {
            market: self,
            user: self.household.clone(),
        }
    }

    /// A household by its id (the simulator, which knows every home).
    pub(crate) fn trader_by_id(&self, user: &str) -> Trader<'_> {
        Trader {
            market: self,
            user: user.to_string(),
        }
    }

    /// A neighbour by username (the demo community, the CLI's `--as`).
    pub async fn trader(&self, username: &str) -> Result<Trader<'_>> {
        let state = self.state.lock().await;
        let user = state.members.iter().find(|(_, m)| m.username == username).map(|(id, _)| id.clone());
        Ok(Trader {
            market: self,
            user: user.ok_or(Reason::UnknownUser)?,
        })
    }

    pub async fn close(&self) {
        close_file(&self.pool).await;
    }

    /// Expires every order due now; returns how many.
    pub async fn expire_due(&self) -> Result<usize> {
        let outcome = self.transact(None, |_, _, _| Ok(())).await?;
        Ok(outcome.orders.iter().filter(|o| o.status == Status::Expired).count())
    }

    /// The open book, best prices first, with distances from the household.
    pub async fn book(&self) -> Result<BookView> {
        let home = self.home().await;
        rows::book(&self.pool, &self.household, home).await
    }

    pub async fn stats(&self, since: DateTime<Utc>) -> Result<MarketStats> {
        let now = self.clock.now();
        let trades: Vec<TradePrint> = rows::trade_prints(&self.pool, rows::PrintTable::Trades, since, now).await?;
        let state = self.state.lock().await;
        Ok(MarketStats::compute(state.market.book(), None, &trades, since, now))
    }

    /// Trades since `since`, oldest first, for the price history chart.
    pub async fn price_history(&self, since: DateTime<Utc>) -> Result<Vec<TradePrint>> {
        let mut prints = rows::trade_prints(&self.pool, rows::PrintTable::Trades, since, self.clock.now()).await?;
        prints.retain(|print| print.at >= since);
        Ok(prints)
    }

    pub async fn grid_prices(&self) -> GridPrices {
        self.state.lock().await.settings.grid
    }

    pub async fn co2_intensity(&self) -> Co2Intensity {
        self.state.lock().await.settings.co2
    }

    pub async fn simulator_enabled(&self) -> bool {
        self.state.lock().await.settings.simulator
    }

    /// The household's home, coarsened as stored.
    pub async fn household_home(&self) -> Option<Location> {
        self.home().await
    }

    async fn home(&self) -> Option<Location> {
        self.state.lock().await.members.get(&self.household).and_then(|m| m.location)
    }

    /// A neighbour joins the market with a battery of `capacity` kWh holding `level` kWh.
    pub async fn add_neighbour(&self, username: &str, lat: f64, lng: f64, capacity: &str, level: &str) -> Result<String> {
        let username = rows::valid_username(username)?;
        let location = Location::coarse(lat, lng).ok_or(Reason::InvalidLocation)?;
        let battery = Energy::parse(capacity)
            .zip(Energy::parse(level))
            .and_then(|(capacity, level)| Battery::new(capacity, level))
            .ok_or(Reason::InvalidAmount)?;
        let mut state = self.state.lock().await;
        if state.members.values().any(|m| m.username.to_lowercase() == username.to_lowercase()) {
            return Err(Reason::InvalidUsername.into());
        }
        let id = Uuid::new_v4().to_string();
        let now = self.clock.now();
        let mut batch = Batch::new();
        rows::insert_member(&mut batch, &id, &username, Some(location), false, battery, now);
        batch.commit(&self.pool).await?;
        state.batteries.insert(id.clone(), battery);
        state.members.insert(
            id.clone(),
            Member {
                username,
                location: Some(location),
            },
        );
        Ok(id)
    }

    /// Sets the household's name.
    pub async fn set_username(&self, username: &str) -> Result<()> {
        let username = rows::valid_username(username)?;
        let mut state = self.state.lock().await;
        // Unique ignoring case, as in a community.
        if state
            .members
            .iter()
            .any(|(id, m)| m.username.to_lowercase() == username.to_lowercase() && *id != self.household)
        {
            return Err(Reason::InvalidUsername.into());
        }
        sqlx::query("UPDATE users SET username = ? WHERE id = ?")
            .bind(&username)
            .bind(&self.household)
            .execute(&self.pool)
            .await?;
        state.members.get_mut(&self.household).expect("household is a member").username = username;
        Ok(())
    }

    /// Sets the household's home, stored coarsened to about 100 m.
    pub async fn set_home(&self, lat: f64, lng: f64) -> Result<()> {
        let location = Location::coarse(lat, lng).ok_or(Reason::InvalidLocation)?;
        let mut state = self.state.lock().await;
        let (lat_e3, lng_e3) = location.grid();
        sqlx::query("UPDATE users SET lat_e3 = ?, lng_e3 = ? WHERE id = ?")
            .bind(lat_e3)
            .bind(lng_e3)
            .bind(&self.household)
            .execute(&self.pool)
            .await?;
        state.members.get_mut(&self.household).expect("household is a member").location = Some(location);
        Ok(())
    }

    /// Changes a setting: `grid_buy_price`, `grid_sell_price` ($/kWh),
    /// `co2_kg_per_kwh`, or `simulator` (`on`/`off`).
    pub async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        let mut state = self.state.lock().await;
        let mut settings = state.settings;
        match key {
            "grid_buy_price" => settings.grid.buy = Price::parse(value).ok_or(Reason::InvalidSetting)?,
            "grid_sell_price" => settings.grid.sell = Price::parse(value).ok_or(Reason::InvalidSetting)?,
            "co2_kg_per_kwh" => settings.co2 = Co2Intensity::parse(value).ok_or(Reason::InvalidSetting)?,
            "simulator" => {
                settings.simulator = match value {
                    "on" => true,
                    "off" => false,
                    _ => return Err(Reason::InvalidSetting.into()),
                }
            }
            "interval_minutes" => settings.delivery.interval_minutes = value.parse().map_err(|_| Reason::InvalidSetting)?,
            "open_hours_ahead" => settings.delivery.open_hours_ahead = value.parse().map_err(|_| Reason::InvalidSetting)?,
            "gate_closure_minutes" => settings.delivery.gate_closure_minutes = value.parse().map_err(|_| Reason::InvalidSetting)?,
            "settlement_deadline_hours" => settings.delivery.settlement_deadline_hours = value.parse().map_err(|_| Reason::InvalidSetting)?,
            "buyer_fee" => settings.delivery.buyer_fee = Fee::parse(value).ok_or(Reason::InvalidSetting)?,
            "seller_fee" => settings.delivery.seller_fee = Fee::parse(value).ok_or(Reason::InvalidSetting)?,
            "inverter_kw" => settings.inverter_centi_kw = parse_inverter(value).ok_or(Reason::InvalidSetting)?,
            _ => return Err(Reason::InvalidSetting.into()),
        }
        if !settings.grid.is_ordered() || !settings.delivery.is_valid() {
            return Err(Reason::InvalidSetting.into());
        }
        sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        state.settings = settings;
        // Orders already placed keep the gate closure they were placed under (their stored closes_at).
        state.market.set_rules(settings.delivery);
        Ok(())
    }

    /// Checks everything the store promises; see `verify.rs`.
    pub async fn verify(&self) -> Result<(), String> {
        let state = self.state.lock().await;
        verify::verify(&self.pool, &state.market, &state.batteries).await
    }

    /// Runs one operation as one transaction: the clock first (expiring due
    /// orders), then `operation`, which may change the engine and the batteries,
    /// then every change written and committed together. A rejected operation
    /// commits only the expiries; a failed write rebuilds the state from the file.
    async fn transact(
        &self,
        actor: Option<&str>,
        operation: impl FnOnce(&mut Market<FastBook>, &mut Changes, &mut Vec<Event>) -> Result<()>,
    ) -> Result<Outcome> {
        let mut state = self.state.lock().await;
        let now = self.clock.now();
        let mut events = Vec::new();
        state.market.advance(now, &mut events);
        let expired = events.len();
        let mut changes = Changes::default();
        let mut result = release_ended(&state, &mut changes, now);
        if result.is_ok() {
            result = actor.map_or(Ok(()), |actor| changes.load(&state.batteries, actor));
        }
        if result.is_ok() {
            result = operation(&mut state.market, &mut changes, &mut events);
        }
        if result.is_err() {
            // The engine refuses without changing anything; forget any battery change but the releases too.
            debug_assert_eq!(events.len(), expired, "a rejected operation produced events");
            changes = Changes::default();
            release_ended(&state, &mut changes, now)?;
        }
        let mut batch = Batch::new();
        let written = self.write(&mut batch, &mut state, &mut changes, &events, now);
        let committed = match written {
            Ok(outcome) => batch.commit(&self.pool).await.map(|()| outcome),
            Err(err) => Err(err),
        };
        match committed {
            Ok(outcome) => {
                changes.apply(&mut state.batteries);
                state.contracted.retain(|c| !changes.released.contains(&c.trade));
                state.contracted.append(&mut changes.contracted);
                drop(state);
                self.announce(&outcome, &changes);
                result.map(|()| outcome)
            }
            Err(err) => {
                *state = load_state(&self.pool, now).await?;
                Err(err)
            }
        }
    }

    fn write(&self, batch: &mut Batch, state: &mut State, changes: &mut Changes, events: &[Event], now: DateTime<Utc>) -> Result<Outcome> {
        let mut outcome = Outcome::default();
        // The new order first: its trades refer to it.
        if let Some(order) = &changes.placed {
            let stored = state.market.book().get(order).expect("placed order is known");
            rows::insert_order(batch, stored, &state.members[stored.user.as_str()], now);
            outcome.orders.push(OrderUpdate::of(stored));
        }
        let mut touched: Vec<&str> = Vec::new();
        for event in events {
            match event {
                Event::Trade(trade) => {
                    let seq = state.next_trade_seq;
                    state.next_trade_seq += 1;
                    outcome.trades.push(self.settle_trade(batch, state, changes, trade, seq, now)?);
                    touched.extend(trade.buy_order.iter().map(|id| id.as_str()));
                    touched.push(trade.sell_order.as_str());
                }
                Event::Cancelled { order } | Event::Expired { order } => {
                    let closed = state.market.book().get(order.as_str()).expect("closed order is known");
                    changes.load(&state.batteries, closed.user.as_str())?;
                    changes.get(closed.user.as_str()).release(closed.side, closed.remaining());
                    touched.push(order.as_str());
                }
            }
        }
        touched.sort_unstable();
        touched.dedup();
        for id in touched.into_iter().filter(|id| changes.placed.as_deref() != Some(*id)) {
            let order = state.market.book().get(id).expect("touched order is known");
            rows::update_order(batch, order, now);
            outcome.orders.push(OrderUpdate::of(order));
        }
        changes.save(batch, now);
        Ok(outcome)
    }

    fn settle_trade(
        &self,
        batch: &mut Batch,
        state: &State,
        changes: &mut Changes,
        trade: &Trade,
        seq: i64,
        now: DateTime<Utc>,
    ) -> Result<TradeView> {
        let id = trade.id.to_string();
        changes.load(&state.batteries, trade.buyer.as_str())?;
        changes.load(&state.batteries, trade.seller.as_str())?;
        if let Some(start) = trade.interval {
            // A contract for an interval: both reservations stay until the interval has ended,
            // and the batteries move as the devices deliver. A direct purchase reserves its room now.
            if trade.buy_order.is_none() {
                changes.get(trade.buyer.as_str()).reserve(Side::Buy, trade.amount)?;
            }
            changes.contracted.push(Contracted {
                trade: id.clone(),
                ends_at: state.market.rules().end(start),
                buyer: trade.buyer.to_string(),
                seller: trade.seller.to_string(),
                amount: trade.amount,
            });
            rows::insert_trade(batch, &id, seq, trade, now);
        } else {
            let buyer = changes.get(trade.buyer.as_str());
            match trade.buy_order {
                Some(_) => buyer.settle(Side::Buy, trade.amount),
                None => buyer.receive(trade.amount)?,
            }
            changes.get(trade.seller.as_str()).settle(Side::Sell, trade.amount);
            changes.moved(trade.buyer.as_str(), "trade_in", trade.amount.centi_kwh() as i64, &id);
            changes.moved(trade.seller.as_str(), "trade_out", -(trade.amount.centi_kwh() as i64), &id);
            rows::insert_trade(batch, &id, seq, trade, now);
            rows::award_co2(batch, &id, trade, state.settings.co2, now);
        }
        let name = |user: &lumea_market::UserId| state.members[user.as_str()].username.as_str();
        // The order that came in is the one just placed; a direct purchase is a buy.
        let taker = match &trade.buy_order {
            Some(bid) if changes.placed.as_deref() != Some(bid.as_str()) => Side::Sell,
            _ => Side::Buy,
        };
        Ok(TradeView::of(
            &id,
            trade,
            taker,
            (name(&trade.buyer), name(&trade.seller)),
            now,
            &self.household,
        ))
    }

    fn announce(&self, outcome: &Outcome, changes: &Changes) {
        // Nobody listening is fine: events are for whoever is subscribed now.
        let send = |event| {
            let _ = self.events.send(event);
        };
        for trade in &outcome.trades {
            send(MarketEvent::TradeExecuted { trade: trade.clone() });
        }
        for order in &outcome.orders {
            send(MarketEvent::OrderUpdated(order.clone()));
        }
        for user in changes.changed() {
            send(MarketEvent::EnergyChanged { user_id: user.to_string() });
        }
        if !outcome.orders.is_empty() {
            send(MarketEvent::BookChanged);
        }
    }
}

/// The operations of one household.
pub struct Trader<'a> {
    market: &'a LocalMarket,
    user: String,
}

impl Trader<'_> {
    pub fn user_id(&self) -> &str {
        &self.user
    }

    /// Places a limit order: checked against the market's rules, then the
    /// battery (a bid needs headroom, an ask stored energy), then matched.
    pub async fn place(&self, request: &PlaceRequest) -> Result<Outcome> {
        let settings = self.market.state.lock().await.settings;
        let id = request.id.to_string();
        let place = Place {
            id: &id,
            user: &self.user,
            side: request.side,
            price: &request.price,
            amount: &request.amount,
            expires_at: request.expires_at,
            interval: request.interval.as_deref(),
        };
        self.market
            .transact(Some(&self.user), |market, changes, events| {
                let valid = rules::check_place(&place, market.book().get(&id), market.now(), market.rules())?;
                if self.user == self.market.household {
                    settings.check_power(valid.amount)?;
                }
                changes.get(&self.user).reserve(place.side, valid.amount)?;
                market.place(market.now(), &place, events)?;
                changes.placed = Some(id.clone());
                Ok(())
            })
            .await
    }

    pub async fn cancel(&self, id: Uuid) -> Result<Outcome> {
        let id = id.to_string();
        self.market
            .transact(None, |market, _, events| {
                market.cancel(market.now(), &Cancel { id: &id, user: &self.user }, events)?;
                Ok(())
            })
            .await
    }

    /// Buys `amount` kWh of a listed ask at its price, up to the battery's headroom.
    pub async fn buy_now(&self, order: Uuid, amount: &str) -> Result<Outcome> {
        let settings = self.market.state.lock().await.settings;
        let order = order.to_string();
        let reference = Uuid::new_v4().to_string();
        self.market
            .transact(Some(&self.user), |market, changes, events| {
                let headroom = changes.get(&self.user).headroom().to_decimal();
                let cmd = BuyNow {
                    reference: &reference,
                    order: &order,
                    user: &self.user,
                    amount,
                    headroom: Some(headroom),
                };
                if self.user == self.market.household {
                    let amount = rules::check_buy_now(&cmd, market.book().get(&order))?;
                    settings.check_power(amount)?;
                }
                market.buy_now(market.now(), &cmd, events)?;
                Ok(())
            })
            .await
    }

    /// My statement for the delivery intervals starting in `from..to`.
    pub async fn statement(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<statement::Statement> {
        let (rules, grid, co2) = {
            let state = self.market.state.lock().await;
            (*state.market.rules(), state.settings.grid, state.settings.co2)
        };
        statement::statement(&self.market.pool, &self.user, (from, to), (&rules, grid, co2), self.market.clock.now()).await
    }

    /// Buys from the grid at its fixed price, up to the battery's headroom.
    pub async fn buy_from_grid(&self, amount: &str) -> Result<GridTransactionView> {
        self.grid_trade(Side::Buy, amount).await
    }

    /// Sells stored energy not promised to open asks to the grid at its feed-in price.
    pub async fn sell_to_grid(&self, amount: &str) -> Result<GridTransactionView> {
        self.grid_trade(Side::Sell, amount).await
    }

    /// Moves energy between the battery and the grid at the grid's price, as one transaction.
    async fn grid_trade(&self, direction: Side, amount: &str) -> Result<GridTransactionView> {
        let amount = Energy::parse_purchase(amount).ok_or(Reason::InvalidAmount)?;
        let mut state = self.market.state.lock().await;
        let now = self.market.clock.now();
        let id = Uuid::new_v4().to_string();
        let mut changes = Changes::default();
        changes.load(&state.batteries, &self.user)?;
        let battery = changes.get(&self.user);
        let steps = amount.centi_kwh() as i64;
        let (kind, delta, price) = match direction {
            Side::Buy => {
                battery.receive(amount)?;
                ("grid_in", steps, state.settings.grid.buy)
            }
            Side::Sell => {
                battery.deliver(amount)?;
                ("grid_out", -steps, state.settings.grid.sell)
            }
        };
        changes.moved(&self.user, kind, delta, &id);
        let view = GridTransactionView {
            id,
            direction,
            amount,
            price,
            total: Money::of(price, amount),
            created_at: now,
        };
        let mut batch = Batch::new();
        rows::insert_grid_transaction(&mut batch, &self.user, &view);
        changes.save(&mut batch, now);
        batch.commit(&self.market.pool).await?;
        changes.apply(&mut state.batteries);
        drop(state);
        let _ = self.market.events.send(MarketEvent::EnergyChanged { user_id: self.user.clone() });
        Ok(view)
    }

    pub async fn energy(&self) -> Result<EnergyView> {
        rows::energy_of(&self.market.pool, &self.user).await
    }

    /// My orders, newest first.
    pub async fn orders(&self, filter: &OrderFilter, page: Page) -> Result<Vec<OrderView>> {
        let home = self.market.home().await;
        rows::orders_of(&self.market.pool, &self.user, filter, page, home).await
    }

    /// My trades, newest first.
    pub async fn trades(&self, page: Page) -> Result<Vec<TradeView>> {
        rows::trades_of(&self.market.pool, &self.user, page).await
    }

    pub async fn grid_transactions(&self, page: Page) -> Result<Vec<GridTransactionView>> {
        rows::grid_transactions_of(&self.market.pool, &self.user, page).await
    }
}

/// What one operation changes besides the engine: the batteries it touches
/// (loaded in its transaction, saved with it), their movements, and the order it placed.
#[derive(Default)]
struct Changes {
    batteries: HashMap<String, Battery>,
    changed: Vec<String>,
    movements: Vec<(String, &'static str, i64, String)>,
    placed: Option<String>,
    /// New dated trades, and the ones whose interval ended and whose reservations are released.
    contracted: Vec<Contracted>,
    released: Vec<String>,
}

impl Changes {
    /// Takes a copy of `user`'s battery to change; the state keeps its own until the commit.
    fn load(&mut self, batteries: &HashMap<String, Battery>, user: &str) -> Result<()> {
        if !self.batteries.contains_key(user) {
            let battery = batteries
                .get(user)
                .ok_or_else(|| sqlx::Error::Decode(format!("no battery for user {user}").into()))?;
            self.batteries.insert(user.to_string(), *battery);
        }
        Ok(())
    }

    fn get(&mut self, user: &str) -> &mut Battery {
        if !self.changed.iter().any(|u| u == user) {
            self.changed.push(user.to_string());
        }
        self.batteries.get_mut(user).expect("battery loaded for the operation")
    }

    fn moved(&mut self, user: &str, kind: &'static str, delta: i64, reference: &str) {
        self.movements.push((user.to_string(), kind, delta, reference.to_string()));
    }

    fn changed(&self) -> impl Iterator<Item = &str> {
        self.changed.iter().map(String::as_str)
    }

    fn save(&mut self, batch: &mut Batch, now: DateTime<Utc>) {
        for trade in &self.released {
            batch.push("UPDATE trades SET released = 1 WHERE id = ?", [trade.as_str().into()]);
        }
        for user in &self.changed {
            rows::save_battery(batch, user, &self.batteries[user], now);
        }
        for (user, kind, delta, reference) in self.movements.drain(..) {
            rows::insert_movement(batch, &user, kind, delta, Some(&reference), now);
        }
    }

    /// After the commit: the state's batteries become the changed ones.
    fn apply(&self, batteries: &mut HashMap<String, Battery>) {
        for user in &self.changed {
            batteries.insert(user.clone(), self.batteries[user]);
        }
    }
}

/// Releases the reservations of every dated trade whose interval has ended by `now`.
fn release_ended(state: &State, changes: &mut Changes, now: DateTime<Utc>) -> Result<()> {
    for contract in state.contracted.iter().filter(|c| c.ends_at <= now) {
        changes.load(&state.batteries, &contract.buyer)?;
        changes.load(&state.batteries, &contract.seller)?;
        changes.get(&contract.buyer).release(Side::Buy, contract.amount);
        changes.get(&contract.seller).release(Side::Sell, contract.amount);
        changes.released.push(contract.trade.clone());
    }
    Ok(())
}

async fn load_state(pool: &SqlitePool, now: DateTime<Utc>) -> Result<State> {
    let orders: Vec<Order> = rows::all_orders(pool).await?;
    let batteries = rows::all_batteries(pool).await?;
    let members = rows::members(pool).await?;
    let settings = load_settings(pool).await?;
    let next_trade_seq: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 FROM trades").fetch_one(pool).await?.get(0);
    let length = settings.delivery.interval_length();
    let contracted = sqlx::query(
        "SELECT id, interval_start, buyer_id, seller_id, amount_centi_kwh FROM trades WHERE interval_start IS NOT NULL AND released = 0 ORDER BY seq",
    )
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| {
        Ok(Contracted {
            trade: row.try_get(0)?,
            ends_at: parse_timestamp(&row.try_get::<String, _>(1)?)? + length,
            buyer: row.try_get(2)?,
            seller: row.try_get(3)?,
            amount: Energy::from_centi_kwh(row.try_get::<i64, _>(4)? as u64),
        })
    })
    .collect::<Result<Vec<_>>>()?;
    Ok(State {
        market: Market::restore(orders, now, settings.delivery),
        batteries,
        members,
        settings,
        next_trade_seq,
        contracted,
    })
}

/// An inverter's power as set: kW from 0.01 to 1,000 with at most 2 decimals, or `off` (no limit).
fn parse_inverter(value: &str) -> Option<Option<u64>> {
    if value == "off" {
        return Some(None);
    }
    let steps = Energy::parse(value)?.centi_kwh();
    (1..=100_000).contains(&steps).then_some(Some(steps))
}

async fn load_settings(pool: &SqlitePool) -> Result<Settings> {
    let stored: HashMap<String, String> = sqlx::query_as("SELECT key, value FROM settings")
        .fetch_all(pool)
        .await?
        .into_iter()
        .collect();
    let mut settings = Settings {
        grid: GridPrices::default(),
        co2: Co2Intensity::default(),
        simulator: true,
        delivery: DeliveryRules::default(),
        inverter_centi_kw: None,
    };
    if let Some(price) = stored.get("grid_buy_price").and_then(|v| Price::parse(v)) {
        settings.grid.buy = price;
    }
    if let Some(price) = stored.get("grid_sell_price").and_then(|v| Price::parse(v)) {
        settings.grid.sell = price;
    }
    if let Some(co2) = stored.get("co2_kg_per_kwh").and_then(|v| Co2Intensity::parse(v)) {
        settings.co2 = co2;
    }
    settings.simulator = stored.get("simulator").is_none_or(|v| v != "off");
    let mut delivery = settings.delivery;
    let number = |key: &str, default: u32| stored.get(key).and_then(|v| v.parse().ok()).unwrap_or(default);
    delivery.interval_minutes = number("interval_minutes", delivery.interval_minutes);
    delivery.open_hours_ahead = number("open_hours_ahead", delivery.open_hours_ahead);
    delivery.gate_closure_minutes = number("gate_closure_minutes", delivery.gate_closure_minutes);
    delivery.settlement_deadline_hours = number("settlement_deadline_hours", delivery.settlement_deadline_hours);
    delivery.buyer_fee = stored.get("buyer_fee").and_then(|v| Fee::parse(v)).unwrap_or(delivery.buyer_fee);
    delivery.seller_fee = stored.get("seller_fee").and_then(|v| Fee::parse(v)).unwrap_or(delivery.seller_fee);
    settings.inverter_centi_kw = stored.get("inverter_kw").and_then(|v| parse_inverter(v)).flatten();
    // Settings are checked when set; a file edited by hand falls back to the defaults.
    if delivery.is_valid() {
        settings.delivery = delivery;
    }
    Ok(settings)
}

/// Closes a market file's only connection now, then its pool, so that the
/// file can be opened again at once: closing the pool alone was seen to leave
/// the connection, and with it the file's exclusive lock, open.
pub async fn close_file(pool: &SqlitePool) {
    if let Ok(connection) = pool.acquire().await {
        let _ = sqlx::Connection::close(connection.detach()).await;
    }
    pool.close().await;
}

/// Fixed-width UTC text, so that stored times sort as text.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>> {
    DateTime::from_str(text).map_err(|e| Error::Storage(sqlx::Error::Decode(Box::new(e))))
}
