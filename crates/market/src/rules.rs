//! The market's rules for accepting a command, checked in one fixed order so that
//! every implementation (both books here, the Postgres functions) rejects a bad
//! command with the same reason code.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::delivery::DeliveryRules;
use crate::order::{Order, Side};
use crate::units::{Energy, Price};

/// Why a command was refused. The codes are stable: the UI, the CLI and the
/// Postgres functions all speak them. The engine checks the market's own rules;
/// the household's store adds the energy and input checks at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, thiserror::Error)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    #[error("an order with this id already exists")]
    DuplicateOrder,
    #[error("the price must be between $0.05 and $1.00 per kWh, with at most 4 decimal places")]
    InvalidPrice,
    #[error("the amount is outside the allowed range or has more than 2 decimal places")]
    InvalidAmount,
    #[error("the expiry time must be in the future")]
    InvalidExpiry,
    #[error("there is no such order")]
    UnknownOrder,
    #[error("only the household that placed an order can cancel it")]
    NotOwner,
    #[error("the order is no longer open")]
    NotOpen,
    #[error("a household cannot buy its own offer")]
    SelfTrade,
    #[error("the amount is more than the order has left")]
    ExceedsAvailable,
    #[error("the amount is more than the battery can take")]
    ExceedsBattery,
    #[error("the battery does not hold that much energy to sell")]
    InsufficientEnergy,
    #[error("a name must be 1 to 40 characters, without control characters")]
    InvalidUsername,
    #[error("the location must be a latitude within ±90° and a longitude within ±180°")]
    InvalidLocation,
    #[error("the setting's value is out of its range")]
    InvalidSetting,
    #[error("there is no household with that name")]
    UnknownUser,
    #[error("the delivery interval must be a time on the start of an interval")]
    InvalidInterval,
    #[error("the delivery interval's book has closed")]
    IntervalClosed,
    #[error("the delivery interval's book is not open yet")]
    IntervalNotOpen,
    #[error("the delivery interval has not ended yet")]
    IntervalNotEnded,
    #[error("a meter reading must be 0 to 10,000 kWh with at most 3 decimal places")]
    InvalidReading,
    #[error("the amount is more than the inverter can deliver in one interval")]
    ExceedsPower,
}

impl Reason {
    pub const ALL: [Reason; 21] = [
        Reason::DuplicateOrder,
        Reason::InvalidPrice,
        Reason::InvalidAmount,
        Reason::InvalidExpiry,
        Reason::UnknownOrder,
        Reason::NotOwner,
        Reason::NotOpen,
        Reason::SelfTrade,
        Reason::ExceedsAvailable,
        Reason::ExceedsBattery,
        Reason::InsufficientEnergy,
        Reason::InvalidUsername,
        Reason::InvalidLocation,
        Reason::InvalidSetting,
        Reason::UnknownUser,
        Reason::InvalidInterval,
        Reason::IntervalClosed,
        Reason::IntervalNotOpen,
        Reason::IntervalNotEnded,
        Reason::InvalidReading,
        Reason::ExceedsPower,
    ];

    pub fn code(self) -> &'static str {
        crate::ErrorCode::from(self).as_str()
    }
}

/// Place a limit order. Prices and amounts arrive as text, as the household typed them.
#[derive(Clone, Copy, Debug)]
pub struct Place<'a> {
    pub id: &'a str,
    pub user: &'a str,
    pub side: Side,
    pub price: &'a str,
    pub amount: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
    /// The start of the delivery interval, as text (RFC 3339); `None` for an undated order.
    pub interval: Option<&'a str>,
}

#[derive(Clone, Copy, Debug)]
pub struct Cancel<'a> {
    pub id: &'a str,
    pub user: &'a str,
}

/// Buy now from a listed sell order, at its price.
#[derive(Clone, Copy, Debug)]
pub struct BuyNow<'a> {
    /// The purchase's own id: the trade's id.
    pub reference: &'a str,
    pub order: &'a str,
    pub user: &'a str,
    pub amount: &'a str,
    /// The buyer's battery headroom in kWh, when the buyer knows it.
    pub headroom: Option<Decimal>,
}

/// A place command that passed every check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidPlace {
    pub price: Price,
    pub amount: Energy,
    pub interval: Option<DateTime<Utc>>,
}

/// `existing` is the stored order with the command's id, if any.
pub fn check_place(cmd: &Place, existing: Option<&Order>, now: DateTime<Utc>, rules: &DeliveryRules) -> Result<ValidPlace, Reason> {
    if existing.is_some() {
        return Err(Reason::DuplicateOrder);
    }
    let price = Price::parse(cmd.price).ok_or(Reason::InvalidPrice)?;
    let amount = Energy::parse_order_amount(cmd.amount).ok_or(Reason::InvalidAmount)?;
    let interval = match cmd.interval {
        None => None,
        Some(text) => {
            let start = rules.parse_interval(text)?;
            rules.check_open(start, now)?;
            Some(start)
        }
    };
    if cmd.expires_at.is_some_and(|at| at <= now) {
        return Err(Reason::InvalidExpiry);
    }
    Ok(ValidPlace { price, amount, interval })
}

/// `order` is the stored order with the command's id, if any.
pub fn check_cancel(cmd: &Cancel, order: Option<&Order>) -> Result<(), Reason> {
    let order = order.ok_or(Reason::UnknownOrder)?;
    if order.user.as_str() != cmd.user {
        return Err(Reason::NotOwner);
    }
    if !order.status.is_open() {
        return Err(Reason::NotOpen);
    }
    Ok(())
}

/// `order` is the stored order the buyer chose, if any. Returns the amount to buy.
pub fn check_buy_now(cmd: &BuyNow, order: Option<&Order>) -> Result<Energy, Reason> {
    let order = order.filter(|order| order.side == Side::Sell).ok_or(Reason::UnknownOrder)?;
    if !order.status.is_open() {
        return Err(Reason::NotOpen);
    }
    if order.user.as_str() == cmd.user {
        return Err(Reason::SelfTrade);
    }
    let amount = Energy::parse_purchase(cmd.amount).ok_or(Reason::InvalidAmount)?;
    if amount > order.remaining() {
        return Err(Reason::ExceedsAvailable);
    }
    if cmd.headroom.is_some_and(|headroom| amount.to_decimal() > headroom) {
        return Err(Reason::ExceedsBattery);
    }
    Ok(amount)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::Status;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap()
    }

    fn ask(user: &str, remaining: u64, status: Status) -> Order {
        Order {
            id: "ask".into(),
            user: user.into(),
            side: Side::Sell,
            price: Price::from_ticks(1600),
            amount: Energy::from_centi_kwh(remaining),
            filled: Energy::ZERO,
            status,
            seq: 1,
            expires_at: None,
            interval: None,
            closes_at: None,
        }
    }

    fn place<'a>(price: &'a str, amount: &'a str, expires_at: Option<DateTime<Utc>>) -> Place<'a> {
        Place {
            id: "o",
            user: "alice",
            side: Side::Sell,
            price,
            amount,
            expires_at,
            interval: None,
        }
    }

    fn check(cmd: &Place, existing: Option<&Order>) -> Result<ValidPlace, Reason> {
        check_place(cmd, existing, now(), &DeliveryRules::default())
    }

    #[test]
    fn reason_codes_are_the_stable_snake_case_names() {
        for reason in Reason::ALL {
            assert_eq!(serde_json::to_value(reason).unwrap(), reason.code());
        }
    }

    #[test]
    fn a_valid_place_yields_exact_price_and_amount() {
        let valid = check(&place("0.16", "10", None), None).unwrap();
        assert_eq!(
            valid,
            ValidPlace {
                price: Price::from_ticks(1600),
                amount: Energy::from_centi_kwh(1000),
                interval: None,
            }
        );
    }

    #[test]
    fn place_checks_in_order_duplicate_price_amount_expiry() {
        let stored = ask("alice", 100, Status::Filled);
        let past = Some(now());
        assert_eq!(check(&place("9", "0", past), Some(&stored)), Err(Reason::DuplicateOrder));
        assert_eq!(check(&place("0.04", "0", past), None), Err(Reason::InvalidPrice));
        assert_eq!(check(&place("abc", "10", None), None), Err(Reason::InvalidPrice));
        assert_eq!(check(&place("0.16", "101", past), None), Err(Reason::InvalidAmount));
        assert_eq!(check(&place("0.16", "", None), None), Err(Reason::InvalidAmount));
        assert_eq!(check(&place("0.16", "10", past), None), Err(Reason::InvalidExpiry));
        let later = Some(now() + chrono::Duration::seconds(1));
        assert!(check(&place("0.16", "10", later), None).is_ok());
    }

    #[test]
    fn a_dated_place_checks_its_interval_after_the_amount_and_before_the_expiry() {
        let dated = |price, amount, interval, expires_at| Place {
            interval: Some(interval),
            ..place(price, amount, expires_at)
        };
        let past = Some(now());
        // now() is 09:00: the 09:00 and 09:05 books are closed, 09:15 is open, a day and more ahead is not.
        assert_eq!(check(&dated("0.16", "0", "x", past), None), Err(Reason::InvalidAmount));
        assert_eq!(check(&dated("0.16", "10", "x", past), None), Err(Reason::InvalidInterval));
        assert_eq!(
            check(&dated("0.16", "10", "2026-06-01T09:10:00Z", past), None),
            Err(Reason::InvalidInterval)
        );
        assert_eq!(
            check(&dated("0.16", "10", "2026-06-01T09:00:00Z", past), None),
            Err(Reason::IntervalClosed)
        );
        assert_eq!(
            check(&dated("0.16", "10", "2026-06-02T09:15:00Z", past), None),
            Err(Reason::IntervalNotOpen)
        );
        assert_eq!(
            check(&dated("0.16", "10", "2026-06-01T09:15:00Z", past), None),
            Err(Reason::InvalidExpiry)
        );
        let valid = check(&dated("0.16", "10", "2026-06-02T09:00:00Z", None), None).unwrap();
        assert_eq!(valid.interval, Some(now() + chrono::Duration::hours(24)));
    }

    #[test]
    fn cancel_checks_in_order_unknown_owner_open() {
        let cmd = Cancel { id: "ask", user: "bob" };
        assert_eq!(check_cancel(&cmd, None), Err(Reason::UnknownOrder));
        assert_eq!(check_cancel(&cmd, Some(&ask("alice", 100, Status::Filled))), Err(Reason::NotOwner));
        assert_eq!(check_cancel(&cmd, Some(&ask("bob", 100, Status::Cancelled))), Err(Reason::NotOpen));
        assert_eq!(check_cancel(&cmd, Some(&ask("bob", 100, Status::Partial))), Ok(()));
    }

    #[test]
    fn buy_now_checks_in_order() {
        let buy = |amount, headroom: Option<&str>| BuyNow {
            reference: "r",
            order: "ask",
            user: "charlie",
            amount,
            headroom: headroom.map(|h| h.parse().unwrap()),
        };
        let open = ask("alice", 1000, Status::Active);
        let mut bid = open.clone();
        bid.side = Side::Buy;
        assert_eq!(check_buy_now(&buy("1", None), None), Err(Reason::UnknownOrder));
        assert_eq!(check_buy_now(&buy("1", None), Some(&bid)), Err(Reason::UnknownOrder));
        assert_eq!(
            check_buy_now(&buy("x", None), Some(&ask("alice", 1000, Status::Expired))),
            Err(Reason::NotOpen)
        );
        assert_eq!(
            check_buy_now(&buy("x", None), Some(&ask("charlie", 1000, Status::Active))),
            Err(Reason::SelfTrade)
        );
        assert_eq!(check_buy_now(&buy("0", None), Some(&open)), Err(Reason::InvalidAmount));
        assert_eq!(check_buy_now(&buy("1.001", None), Some(&open)), Err(Reason::InvalidAmount));
        assert_eq!(check_buy_now(&buy("10.01", Some("0")), Some(&open)), Err(Reason::ExceedsAvailable));
        // The product guide's battery: 13.5 kWh capacity at 8.5 kWh leaves room for 5.0 kWh.
        assert_eq!(check_buy_now(&buy("5.01", Some("5.0")), Some(&open)), Err(Reason::ExceedsBattery));
        assert_eq!(check_buy_now(&buy("5", Some("5.0")), Some(&open)), Ok(Energy::from_centi_kwh(500)));
        assert_eq!(check_buy_now(&buy("10", None), Some(&open)), Ok(Energy::from_centi_kwh(1000)));
    }
}
