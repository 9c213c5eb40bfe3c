//! Rows as the community backend sends them (PostgREST and Realtime), checked
//! into the market's own units. Every value is checked: a row that breaks the
//! market's rules is a bad answer, never a cached figure.

use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use uuid::Uuid;

use lumea_market::delivery::{DeliveryRules, Fee, WattHours};
use lumea_market::energy::{Co2Intensity, GridPrices};
use lumea_market::geo::Location;
use lumea_market::{Energy, Money, Price, Side, Status};

/// A number as PostgREST or Realtime sends a `numeric`: a JSON number or a string.
/// A JSON number arrives as an f64; its shortest round-trip text is the decimal
/// the database sent for every numeric(10, 4) or narrower, so it is read as text.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Numeric(pub Decimal);

impl<'de> Deserialize<'de> for Numeric {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(f64),
        }
        let text = match Raw::deserialize(deserializer)? {
            Raw::Text(text) => text,
            Raw::Number(number) if number.is_finite() => number.to_string(),
            Raw::Number(number) => return Err(serde::de::Error::custom(format!("not a number: {number}"))),
        };
        Decimal::from_str(&text)
            .map(Numeric)
            .map_err(|_| serde::de::Error::custom(format!("not a decimal: {text:?}")))
    }
}

/// A `timestamptz` as RFC 3339 (PostgREST) or in PostgreSQL's own text form
/// (`2026-11-24 09:30:00.123+00`, as @supabase/lite and Realtime send it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    pub fn parse(text: &str) -> Option<Timestamp> {
        if let Ok(at) = DateTime::parse_from_rfc3339(text) {
            return Some(Timestamp(at.with_timezone(&Utc)));
        }
        // PostgreSQL: a space for the T, and an offset of hours alone (+00) or with minutes (+05:30).
        let text = text.replacen(' ', "T", 1);
        let Some(offset_at) = text.rfind(['+', '-']).filter(|&at| at > 10) else {
            // No zone: the database's own clock, UTC.
            return NaiveDateTime::from_str(&text).ok().map(|at| Timestamp(at.and_utc()));
        };
        let (local, offset) = text.split_at(offset_at);
        let offset = if offset.len() == 3 { format!("{offset}:00") } else { offset.to_string() };
        DateTime::parse_from_rfc3339(&format!("{local}{offset}"))
            .ok()
            .map(|at| Timestamp(at.with_timezone(&Utc)))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("not a timestamp: {text:?}")))
    }
}

/// A whole number that may arrive as a JSON number or as text (`bigint` through Realtime).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BigInt(pub i64);

impl<'de> Deserialize<'de> for BigInt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(i64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(number) => Ok(BigInt(number)),
            Raw::Text(text) => text
                .parse()
                .map(BigInt)
                .map_err(|_| serde::de::Error::custom(format!("not an integer: {text:?}"))),
        }
    }
}

/// A row of `market_orders` (mine) or `open_orders` (the book, which names no
/// user and holds no home).
#[derive(Clone, Debug, Deserialize)]
pub struct OrderRow {
    pub id: Uuid,
    #[serde(default)]
    pub user_id: Option<Uuid>,
    pub username: String,
    pub community_id: String,
    #[serde(rename = "type")]
    pub side: Side,
    pub price: Numeric,
    pub amount: Numeric,
    pub filled_amount: Numeric,
    pub status: Status,
    pub seq: BigInt,
    pub expires_at: Option<Timestamp>,
    /// The delivery interval's start; absent on a server from before intervals.
    #[serde(default)]
    pub delivery_start: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A row of `household_trades`: my side of one trade.
#[derive(Clone, Debug, Deserialize)]
pub struct TradeRow {
    pub trade_id: Uuid,
    pub side: Side,
    pub order_id: Option<Uuid>,
    pub other_order_id: Option<Uuid>,
    pub counterpart: String,
    pub taker: Side,
    pub price: Numeric,
    pub amount: Numeric,
    pub seq: BigInt,
    pub created_at: Timestamp,
    /// The delivery interval's start; absent on a server from before intervals.
    #[serde(default)]
    pub delivery_start: Option<Timestamp>,
}

/// A row of `trade_prints`: a trade of the community, with no party.
#[derive(Clone, Debug, Deserialize)]
pub struct PrintRow {
    pub seq: BigInt,
    pub price: Numeric,
    pub amount: Numeric,
    pub traded_at: Timestamp,
}

/// A row of `order_distances`: from my home to an order's, to 0.1 km.
#[derive(Clone, Debug, Deserialize)]
pub struct DistanceRow {
    pub id: Uuid,
    pub distance_km: Option<Numeric>,
}

/// A row of `profiles`: the signed-in household's coarse home.
#[derive(Clone, Debug, Deserialize)]
pub struct ProfileRow {
    pub id: Uuid,
    pub location_lat: Option<Numeric>,
    pub location_lng: Option<Numeric>,
}

/// What `my_membership` and `join_community` answer.
#[derive(Clone, Debug, Deserialize)]
pub struct MembershipRow {
    pub membership_id: Uuid,
    pub community_id: String,
    pub community_name: String,
    pub display_name: String,
    pub role: MemberRole,
    pub status: MembershipStatus,
    #[serde(default)]
    pub settings: Option<SettingsRow>,
}

/// The community's settings as `my_membership` sends them.
#[derive(Clone, Debug, Deserialize)]
pub struct SettingsRow {
    #[serde(default)]
    pub min_price: Option<Numeric>,
    #[serde(default)]
    pub max_price: Option<Numeric>,
    #[serde(default)]
    pub open_order_cap: Option<u32>,
    pub grid_buy_price: Numeric,
    pub grid_sell_price: Numeric,
    pub co2_kg_per_kwh: Numeric,
    #[serde(default)]
    pub interval_minutes: Option<u32>,
    #[serde(default)]
    pub open_hours_ahead: Option<u32>,
    #[serde(default)]
    pub gate_closure_minutes: Option<u32>,
    #[serde(default)]
    pub settlement_deadline_hours: Option<u32>,
    #[serde(default)]
    pub buyer_fee: Option<Numeric>,
    #[serde(default)]
    pub seller_fee: Option<Numeric>,
}

impl SettingsRow {
    /// The grid's prices and CO2 intensity the household's quotes and tokens use.
    pub fn check(&self) -> Result<(GridPrices, Co2Intensity), String> {
        let grid = GridPrices {
            buy: price(self.grid_buy_price)?,
            sell: price(self.grid_sell_price)?,
        };
        let co2 = Co2Intensity::parse(&self.co2_kg_per_kwh.0.normalize().to_string())
            .ok_or_else(|| format!("CO2 intensity {} is outside the market's rules", self.co2_kg_per_kwh.0))?;
        Ok((grid, co2))
    }

    /// The community's delivery rules; the market's defaults for what a server from before intervals does not say.
    pub fn delivery(&self) -> Result<DeliveryRules, String> {
        let defaults = DeliveryRules::default();
        let fee = |value: Option<Numeric>, default: Fee| match value {
            None => Ok(default),
            Some(fee) => Fee::parse(&fee.0.normalize().to_string()).ok_or_else(|| format!("fee {} is outside the market's rules", fee.0)),
        };
        let rules = DeliveryRules {
            interval_minutes: self.interval_minutes.unwrap_or(defaults.interval_minutes),
            open_hours_ahead: self.open_hours_ahead.unwrap_or(defaults.open_hours_ahead),
            gate_closure_minutes: self.gate_closure_minutes.unwrap_or(defaults.gate_closure_minutes),
            settlement_deadline_hours: self.settlement_deadline_hours.unwrap_or(defaults.settlement_deadline_hours),
            buyer_fee: fee(self.buyer_fee, defaults.buyer_fee)?,
            seller_fee: fee(self.seller_fee, defaults.seller_fee)?,
        };
        rules
            .is_valid()
            .then_some(rules)
            .ok_or_else(|| format!("delivery rules {rules:?} are outside the market's rules"))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    Member,
    Admin,
}

/// A membership's status; `None` before the household has joined any community.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum MembershipStatus {
    None,
    Pending,
    Active,
    Suspended,
}

impl MemberRole {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberRole::Member => "member",
            MemberRole::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<MemberRole> {
        [MemberRole::Member, MemberRole::Admin].into_iter().find(|r| r.as_str() == text)
    }
}

impl MembershipStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MembershipStatus::None => "none",
            MembershipStatus::Pending => "pending",
            MembershipStatus::Active => "active",
            MembershipStatus::Suspended => "suspended",
        }
    }

    pub fn parse(text: &str) -> Option<MembershipStatus> {
        [
            MembershipStatus::None,
            MembershipStatus::Pending,
            MembershipStatus::Active,
            MembershipStatus::Suspended,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// An order in the market's units, ready for the cache.
#[derive(Clone, Debug, PartialEq)]
pub struct CachedOrder {
    pub id: Uuid,
    /// Mine only: the book does not say whose an order is.
    pub user_id: Option<Uuid>,
    pub username: String,
    pub side: Side,
    pub price: Price,
    pub amount: Energy,
    pub filled: Energy,
    pub status: Status,
    /// Tenths of a km from my home, as the server computed it.
    pub distance_hm: Option<i64>,
    /// Whether the server was asked: a distance unknown to it stays `None`.
    pub distance_asked: bool,
    pub seq: i64,
    pub expires_at: Option<DateTime<Utc>>,
    pub interval: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A trade of mine in the market's units, ready for the cache. The other
/// party is named, never identified: its id is `None`.
#[derive(Clone, Debug, PartialEq)]
pub struct CachedTrade {
    pub id: Uuid,
    pub buy_order: Option<Uuid>,
    pub sell_order: Uuid,
    pub buyer_id: Option<Uuid>,
    pub seller_id: Option<Uuid>,
    pub buyer: String,
    pub seller: String,
    pub taker: Side,
    pub price: Price,
    pub amount: Energy,
    pub seq: i64,
    pub interval: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A print in the market's units.
#[derive(Clone, Debug, PartialEq)]
pub struct CachedPrint {
    pub seq: i64,
    pub price: Price,
    pub amount: Energy,
    pub at: DateTime<Utc>,
}

fn price(value: Numeric) -> Result<Price, String> {
    Price::parse(&value.0.to_string()).ok_or_else(|| format!("price {} is outside the market's rules", value.0))
}

fn energy(value: Numeric) -> Result<Energy, String> {
    Energy::parse(&value.0.to_string()).ok_or_else(|| format!("amount {} is not whole hundredths of a kWh", value.0))
}

/// A row of `meter_readings`: one reading of mine, as recorded.
#[derive(Clone, Debug, Deserialize)]
pub struct ReadingRow {
    pub delivery_start: Timestamp,
    pub import_kwh: Numeric,
    pub export_kwh: Numeric,
    /// `operator` (the community's import, authoritative) or `self` (my own).
    pub source: String,
    pub revision: u32,
    pub recorded_at: Timestamp,
}

/// A row of `settlements`: the current settlement of one of my trades.
#[derive(Clone, Debug, Deserialize)]
pub struct SettlementRow {
    pub trade_id: Uuid,
    pub revision: u32,
    pub delivered_kwh: Numeric,
    pub buyer_pays: Numeric,
    pub seller_receives: Numeric,
}

/// kWh to the Wh, as readings and settlements state it.
pub fn watt_hours(value: Numeric) -> Result<WattHours, String> {
    WattHours::parse_reading(&value.0.normalize().to_string()).ok_or_else(|| format!("energy {} is not whole Wh up to 10,000 kWh", value.0))
}

/// Dollars to the micro-dollar.
pub fn micro_dollars(value: Numeric) -> Result<Money, String> {
    use rust_decimal::prelude::ToPrimitive;
    let micros = value.0 * rust_decimal::Decimal::from(1_000_000);
    micros
        .fract()
        .is_zero()
        .then(|| micros.to_i64())
        .flatten()
        .map(Money::from_micros)
        .ok_or_else(|| format!("money {} is not whole micro-dollars", value.0))
}

fn degrees(value: Option<Numeric>) -> Option<f64> {
    value.and_then(|v| v.0.to_string().parse().ok())
}

impl OrderRow {
    pub fn check(self) -> Result<CachedOrder, String> {
        let (amount, filled) = (energy(self.amount)?, energy(self.filled_amount)?);
        if filled > amount || (self.status == Status::Filled) != (filled == amount) {
            return Err(format!("order {} has fill {filled} of {amount} with status {:?}", self.id, self.status));
        }
        Ok(CachedOrder {
            id: self.id,
            user_id: self.user_id,
            username: self.username,
            side: self.side,
            price: price(self.price)?,
            amount,
            filled,
            status: self.status,
            distance_hm: None,
            distance_asked: false,
            seq: self.seq.0,
            interval: self.delivery_start.map(|at| at.0),
            expires_at: self.expires_at.map(|at| at.0),
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
        })
    }
}

impl TradeRow {
    /// My side of the trade as a trade between me (`me`, named `my_name`) and a neighbour.
    pub fn check(self, me: Uuid, my_name: &str) -> Result<CachedTrade, String> {
        let amount = energy(self.amount)?;
        if amount == Energy::ZERO {
            return Err(format!("trade {} is empty", self.trade_id));
        }
        let (buy_order, sell_order) = match self.side {
            Side::Buy => (self.order_id, self.other_order_id),
            Side::Sell => (self.other_order_id, self.order_id),
        };
        let sell_order = sell_order.ok_or_else(|| format!("trade {} has no sell order", self.trade_id))?;
        let (mine, theirs) = ((Some(me), my_name.to_string()), (None, self.counterpart));
        let ((buyer_id, buyer), (seller_id, seller)) = match self.side {
            Side::Buy => (mine, theirs),
            Side::Sell => (theirs, mine),
        };
        Ok(CachedTrade {
            id: self.trade_id,
            buy_order,
            sell_order,
            buyer_id,
            seller_id,
            buyer,
            seller,
            taker: self.taker,
            price: price(self.price)?,
            amount,
            seq: self.seq.0,
            interval: self.delivery_start.map(|at| at.0),
            created_at: self.created_at.0,
        })
    }
}

impl PrintRow {
    pub fn check(self) -> Result<CachedPrint, String> {
        let amount = energy(self.amount)?;
        if amount == Energy::ZERO {
            return Err(format!("print {} is empty", self.seq.0));
        }
        Ok(CachedPrint {
            seq: self.seq.0,
            price: price(self.price)?,
            amount,
            at: self.traded_at.0,
        })
    }
}

impl DistanceRow {
    pub fn hectometres(&self) -> Result<Option<i64>, String> {
        hectometres(self.distance_km)
    }
}

/// Tenths of a km; a distance that is negative or not in tenths is a bad answer.
fn hectometres(km: Option<Numeric>) -> Result<Option<i64>, String> {
    km.map(|km| {
        let hm = km.0 * Decimal::TEN;
        (hm.fract().is_zero() && hm >= Decimal::ZERO)
            .then(|| i64::try_from(hm.trunc()).ok())
            .flatten()
            .ok_or_else(|| format!("distance {} km is not in tenths", km.0))
    })
    .transpose()
}

/// A row of `book_page`: an open order of the book with its distance from my home.
#[derive(Clone, Debug, Deserialize)]
pub struct BookRow {
    #[serde(flatten)]
    pub order: OrderRow,
    pub distance_km: Option<Numeric>,
}

impl BookRow {
    pub fn check(self) -> Result<CachedOrder, String> {
        let distance_hm = hectometres(self.distance_km)?;
        Ok(CachedOrder {
            distance_hm,
            distance_asked: true,
            ..self.order.check()?
        })
    }
}

impl ProfileRow {
    pub fn location(&self) -> Option<Location> {
        degrees(self.location_lat)
            .zip(degrees(self.location_lng))
            .and_then(|(lat, lng)| Location::coarse(lat, lng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_are_read_as_rfc_3339_and_as_postgresql_text() {
        let at = |text| Timestamp::parse(text).map(|t| t.0.to_rfc3339());
        let expected = Some("2026-11-24T09:30:00.123456+00:00".to_string());
        assert_eq!(at("2026-11-24T09:30:00.123456Z"), expected);
        assert_eq!(at("2026-11-24T09:30:00.123456+00:00"), expected);
        assert_eq!(at("2026-11-24 09:30:00.123456+00"), expected);
        assert_eq!(at("2026-11-24 11:30:00.123456+02"), expected);
        assert_eq!(at("2026-11-24 15:00:00.123456+05:30"), expected);
        assert_eq!(at("2026-11-24 09:30:00.123456"), expected);
        assert_eq!(at("2026-11-24 09:30:00-01"), Some("2026-11-24T10:30:00+00:00".to_string()));
        assert_eq!(at("yesterday"), None);
        assert_eq!(at("2026-11-24 09:30:00+0x"), None);
    }

    #[test]
    fn numerics_are_exact_from_numbers_and_text() {
        let read = |value: serde_json::Value| serde_json::from_value::<Numeric>(value).map(|n| n.0.to_string());
        assert_eq!(read(json!(0.16)).unwrap(), "0.16");
        assert_eq!(read(json!(0.1234)).unwrap(), "0.1234");
        assert_eq!(read(json!("12.50")).unwrap(), "12.50");
        assert_eq!(read(json!(100)).unwrap(), "100");
        assert!(read(json!("1e400")).is_err());
        assert!(read(json!(true)).is_err());
    }

    fn order(status: &str, filled: &str) -> serde_json::Value {
        json!({
            "id": "5f0b6a53-37e4-4a8b-9d7b-1c0f7f0b5e11", "user_id": "0e5d1c5e-7f7a-4b7e-9c39-3b1a1a2e6f00",
            "username": "Alice", "community_id": "default", "type": "sell", "price": 0.16, "amount": "5.00",
            "filled_amount": filled, "status": status, "location_lat": 51.501, "location_lng": -0.142,
            "seq": "42", "expires_at": null, "created_at": "2026-11-24 09:30:00+00", "updated_at": "2026-11-24T09:31:00Z"
        })
    }

    #[test]
    fn an_order_row_becomes_market_units() {
        let row: OrderRow = serde_json::from_value(order("partial", "2")).unwrap();
        let cached = row.check().unwrap();
        assert_eq!(
            (cached.price.to_string(), cached.amount.to_string(), cached.filled.to_string()),
            ("0.16".into(), "5".into(), "2".into())
        );
        assert_eq!(cached.seq, 42);
        assert!(cached.user_id.is_some(), "my own order says it is mine");
        let mut book_row = order("active", "0");
        book_row.as_object_mut().unwrap().remove("user_id");
        let neighbours = serde_json::from_value::<OrderRow>(book_row).unwrap().check().unwrap();
        assert_eq!(neighbours.user_id, None, "the book names no user");
    }

    #[test]
    fn my_side_of_a_trade_names_the_neighbour_without_its_id() {
        let me = Uuid::new_v4();
        let row = |side: &str| {
            serde_json::from_value::<TradeRow>(json!({
                "trade_id": "6a0b6a53-37e4-4a8b-9d7b-1c0f7f0b5e11", "side": side,
                "order_id": "7b0b6a53-37e4-4a8b-9d7b-1c0f7f0b5e11", "other_order_id": "8c0b6a53-37e4-4a8b-9d7b-1c0f7f0b5e11",
                "counterpart": "Bob", "taker": "buy", "price": "0.1700", "amount": 2.5, "seq": 9,
                "created_at": "2026-11-24 09:30:00+00"
            }))
            .unwrap()
            .check(me, "Alice")
            .unwrap()
        };
        let bought = row("buy");
        assert_eq!((bought.buyer_id, bought.seller_id), (Some(me), None));
        assert_eq!((bought.buyer.as_str(), bought.seller.as_str()), ("Alice", "Bob"));
        assert_eq!(bought.sell_order.to_string(), "8c0b6a53-37e4-4a8b-9d7b-1c0f7f0b5e11");
        let sold = row("sell");
        assert_eq!((sold.buyer_id, sold.seller_id), (None, Some(me)));
        assert_eq!(sold.sell_order.to_string(), "7b0b6a53-37e4-4a8b-9d7b-1c0f7f0b5e11");
    }

    #[test]
    fn distances_are_whole_tenths_of_a_km() {
        let hm = |km: serde_json::Value| {
            serde_json::from_value::<DistanceRow>(json!({ "id": "6a0b6a53-37e4-4a8b-9d7b-1c0f7f0b5e11", "distance_km": km }))
                .unwrap()
                .hectometres()
        };
        assert_eq!(hm(json!(1.2)), Ok(Some(12)));
        assert_eq!(hm(json!("0.0")), Ok(Some(0)));
        assert_eq!(hm(json!(null)), Ok(None));
        assert!(hm(json!(1.25)).is_err());
        assert!(hm(json!(-0.1)).is_err());
    }

    #[test]
    fn an_order_row_that_breaks_the_rules_is_refused() {
        let check = |value| {
            serde_json::from_value::<OrderRow>(value)
                .map_err(|e| e.to_string())
                .and_then(OrderRow::check)
        };
        assert!(check(order("filled", "2")).is_err(), "filled with a remainder");
        assert!(check(order("partial", "6")).is_err(), "overfilled");
        assert!(check(order("partial", "0.001")).is_err(), "a thousandth of a kWh");
        let mut bad_price = order("active", "0");
        bad_price["price"] = json!(7);
        assert!(check(bad_price).is_err(), "a price above the market's limit");
        let mut bad_side = order("active", "0");
        bad_side["type"] = json!("lend");
        assert!(check(bad_side).is_err());
    }
}
