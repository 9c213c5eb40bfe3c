//! Orders as the market keeps them.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::units::{Energy, Price};

/// An order's id as the client chose it (a UUID in the app, any text in a replay).
/// Shared, because trades and events name orders far more often than orders are made.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct OrderId(Arc<str>);

/// A household's id: who owns an order, who is on each side of a trade.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct UserId(Arc<str>);

/// A trade's id: `<buy order id>/<sell order id>`, or a purchase's ref.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TradeId(Arc<str>);

macro_rules! shared_text {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self(Arc::from(text))
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
shared_text!(OrderId);
shared_text!(UserId);
shared_text!(TradeId);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// A bid: the household wants energy.
    Buy,
    /// An ask: the household offers energy.
    Sell,
}

impl Side {
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    /// Whether a bid at `bid` and an ask at `ask` trade.
    pub fn crosses(bid: Price, ask: Price) -> bool {
        bid >= ask
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// In the book, nothing filled yet.
    Active,
    /// In the book, partly filled.
    Partial,
    Filled,
    Cancelled,
    Expired,
}

impl Status {
    /// Open orders rest in the book and can still trade or be cancelled.
    pub fn is_open(self) -> bool {
        matches!(self, Status::Active | Status::Partial)
    }

    /// The status an open order has after `filled` of its `amount` traded.
    pub fn of_fill(filled: Energy, amount: Energy) -> Status {
        if filled == Energy::ZERO {
            Status::Active
        } else if filled < amount {
            Status::Partial
        } else {
            Status::Filled
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Partial => "partial",
            Status::Filled => "filled",
            Status::Cancelled => "cancelled",
            Status::Expired => "expired",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Order {
    pub id: OrderId,
    pub user: UserId,
    pub side: Side,
    pub price: Price,
    pub amount: Energy,
    pub filled: Energy,
    pub status: Status,
    /// Arrival sequence: breaks price ties (earlier first), never a timestamp.
    pub seq: u64,
    pub expires_at: Option<DateTime<Utc>>,
    /// The start of the delivery interval it trades for; `None` for an undated
    /// order, which only ever meets other undated orders.
    pub interval: Option<DateTime<Utc>>,
    /// When it leaves the book unfilled: its expiry or its interval's gate
    /// closure, whichever is first (`DeliveryRules::closes_at`).
    pub closes_at: Option<DateTime<Utc>>,
}

impl Order {
    pub fn remaining(&self) -> Energy {
        self.amount - self.filled
    }

    /// Records a fill of `amount` and moves the status along active → partial → filled.
    pub fn fill(&mut self, amount: Energy) {
        self.filled += amount;
        assert!(self.filled <= self.amount, "overfill of order {}", self.id);
        self.status = Status::of_fill(self.filled, self.amount);
    }

    /// Whether this order is due to expire at `now`.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.closes_at.is_some_and(|at| at <= now)
    }
}

/// One trade. A direct purchase has no resting buy order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Trade {
    /// `<buy order id>/<sell order id>` for a matched trade (a pair trades at
    /// most once), the purchase's ref for a direct purchase.
    pub id: TradeId,
    pub buy_order: Option<OrderId>,
    pub sell_order: OrderId,
    pub buyer: UserId,
    pub seller: UserId,
    /// Always the sell order's price.
    pub price: Price,
    pub amount: Energy,
    /// The delivery interval it is a contract for: the sell order's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<DateTime<Utc>>,
}

impl Trade {
    /// The trade between an incoming order and a resting one: at the sell order's price.
    pub fn between(taker: &Order, maker: &Order, amount: Energy) -> Trade {
        let (buy, sell) = match taker.side {
            Side::Buy => (taker, maker),
            Side::Sell => (maker, taker),
        };
        Trade {
            id: format!("{}/{}", buy.id, sell.id).as_str().into(),
            buy_order: Some(buy.id.clone()),
            sell_order: sell.id.clone(),
            buyer: buy.user.clone(),
            seller: sell.user.clone(),
            price: sell.price,
            amount,
            interval: sell.interval,
        }
    }

    /// A direct purchase of `amount` from the sell order `ask`, named by the purchase's `reference`.
    pub fn purchase(reference: &str, ask: &Order, buyer: UserId, amount: Energy) -> Trade {
        Trade {
            id: reference.into(),
            buy_order: None,
            sell_order: ask.id.clone(),
            buyer,
            seller: ask.user.clone(),
            price: ask.price,
            amount,
            interval: ask.interval,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_the_fill() {
        let amount = Energy::from_centi_kwh(2000);
        assert_eq!(Status::of_fill(Energy::ZERO, amount), Status::Active);
        assert_eq!(Status::of_fill(Energy::from_centi_kwh(1000), amount), Status::Partial);
        assert_eq!(Status::of_fill(amount, amount), Status::Filled);
    }

    #[test]
    fn only_active_and_partial_orders_are_open() {
        assert!(Status::Active.is_open() && Status::Partial.is_open());
        assert!(![Status::Filled, Status::Cancelled, Status::Expired].iter().any(|s| s.is_open()));
    }

    #[test]
    fn prices_cross_when_the_bid_reaches_the_ask() {
        let p = Price::from_ticks;
        assert!(Side::crosses(p(1800), p(1600)));
        assert!(Side::crosses(p(1600), p(1600)));
        assert!(!Side::crosses(p(1500), p(1700)));
    }

    #[test]
    #[should_panic(expected = "overfill")]
    fn an_order_never_fills_past_its_amount() {
        let mut order = Order {
            id: "o".into(),
            user: "u".into(),
            side: Side::Sell,
            price: Price::MIN,
            amount: Energy::MIN_ORDER,
            filled: Energy::ZERO,
            status: Status::Active,
            seq: 0,
            expires_at: None,
            interval: None,
            closes_at: None,
        };
        order.fill(Energy::from_centi_kwh(101));
    }
}
