//! Rows as the community backend sends them (PostgREST and Realtime), checked
//! into the market's own units. Every value is checked: a row that breaks the
//! market's rules is a bad answer, never a cached figure.

use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use uuid::Uuid;

use lumea_market::geo::Location;
use lumea_market::{Energy, Price, Side, Status};

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

/// A row of `market_orders` or `open_orders`.
#[derive(Clone, Debug, Deserialize)]
pub struct OrderRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub username: String,
    pub community_id: String,
    #[serde(rename = "type")]
    pub side: Side,
    pub price: Numeric,
    pub amount: Numeric,
    pub filled_amount: Numeric,
    pub status: Status,
    pub location_lat: Option<Numeric>,
    pub location_lng: Option<Numeric>,
    pub seq: BigInt,
    pub expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A row of `trades`.
#[derive(Clone, Debug, Deserialize)]
pub struct TradeRow {
    pub id: Uuid,
    pub buy_order_id: Option<Uuid>,
    pub sell_order_id: Uuid,
    pub buyer_id: Uuid,
    pub seller_id: Uuid,
    pub buyer_username: Option<String>,
    pub seller_username: Option<String>,
    pub taker: Option<Side>,
    pub price: Numeric,
    pub amount: Numeric,
    pub seq: BigInt,
    pub created_at: Timestamp,
}

/// A row of `profiles`: the signed-in household.
#[derive(Clone, Debug, Deserialize)]
pub struct ProfileRow {
    pub id: Uuid,
    pub username: String,
    pub community_id: String,
    pub location_lat: Option<Numeric>,
    pub location_lng: Option<Numeric>,
}

/// An order in the market's units, ready for the cache.
#[derive(Clone, Debug, PartialEq)]
pub struct CachedOrder {
    pub id: Uuid,
    pub user_id: Uuid,
    pub username: String,
    pub side: Side,
    pub price: Price,
    pub amount: Energy,
    pub filled: Energy,
    pub status: Status,
    pub location: Option<Location>,
    pub seq: i64,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A trade in the market's units, ready for the cache.
#[derive(Clone, Debug, PartialEq)]
pub struct CachedTrade {
    pub id: Uuid,
    pub buy_order: Option<Uuid>,
    pub sell_order: Uuid,
    pub buyer_id: Uuid,
    pub seller_id: Uuid,
    pub buyer: String,
    pub seller: String,
    pub taker: Side,
    pub price: Price,
    pub amount: Energy,
    pub seq: i64,
    pub created_at: DateTime<Utc>,
}

fn price(value: Numeric) -> Result<Price, String> {
    Price::parse(&value.0.to_string()).ok_or_else(|| format!("price {} is outside the market's rules", value.0))
}

fn energy(value: Numeric) -> Result<Energy, String> {
    Energy::parse(&value.0.to_string()).ok_or_else(|| format!("amount {} is not whole hundredths of a kWh", value.0))
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
            location: degrees(self.location_lat)
                .zip(degrees(self.location_lng))
                .and_then(|(lat, lng)| Location::coarse(lat, lng)),
            seq: self.seq.0,
            expires_at: self.expires_at.map(|at| at.0),
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
        })
    }
}

impl TradeRow {
    pub fn check(self) -> Result<CachedTrade, String> {
        let amount = energy(self.amount)?;
        if amount == Energy::ZERO || self.buyer_id == self.seller_id {
            return Err(format!("trade {} is empty or with oneself", self.id));
        }
        // Trades made before the server named them: the other household stays unnamed.
        let name = |name: Option<String>| name.unwrap_or_else(|| "A neighbour".to_string());
        Ok(CachedTrade {
            id: self.id,
            buy_order: self.buy_order_id,
            sell_order: self.sell_order_id,
            buyer_id: self.buyer_id,
            seller_id: self.seller_id,
            buyer: name(self.buyer_username),
            seller: name(self.seller_username),
            taker: self.taker.unwrap_or(if self.buy_order_id.is_none() { Side::Buy } else { Side::Sell }),
            price: price(self.price)?,
            amount,
            seq: self.seq.0,
            created_at: self.created_at.0,
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
        assert!(cached.location.is_some());
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
