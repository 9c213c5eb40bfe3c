//! What a book is: order storage and matching, behind one trait so the fast
//! book and the naive reference that checks it are interchangeable.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::order::{Order, OrderId, Side, Status, Trade, UserId};
use crate::units::Energy;

/// What happened, in the order it happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Event {
    Trade(Trade),
    Cancelled { order: OrderId },
    Expired { order: OrderId },
}

/// Order storage and matching, one book per delivery interval (and one for
/// undated orders, `None`). The [`Market`](crate::Market) has already checked
/// every rule before it calls a method that changes the book.
pub trait Book {
    /// Any order ever placed (open or closed), by id.
    fn get(&self, id: &str) -> Option<&Order>;
    /// Every order ever placed, in arrival order.
    fn orders(&self) -> impl Iterator<Item = &Order>;
    /// Open orders of one side of one interval's book in priority order: best
    /// price first, then earliest arrival.
    fn open_orders(&self, side: Side, interval: Option<DateTime<Utc>>) -> impl Iterator<Item = &Order>;
    /// The intervals with open orders, undated (`None`) first, then by start.
    fn intervals(&self) -> Vec<Option<DateTime<Utc>>>;
    /// Matches a new order against the opposite side of its interval's book
    /// while prices cross, skipping orders of its own user, and rests what is left.
    fn insert(&mut self, order: Order, events: &mut Vec<Event>);
    /// Puts back a stored order as it is, without matching (a book being rebuilt).
    fn restore(&mut self, order: Order);
    /// Takes an open order out of the book with its final `status`.
    fn close(&mut self, id: &str, status: Status);
    /// Fills `amount` of an open sell order for a buyer without a resting order,
    /// as the purchase `reference`.
    fn buy_now(&mut self, id: &str, reference: &str, buyer: UserId, amount: Energy) -> Trade;
    /// Open orders with `closes_at <= now`, by that time then arrival.
    fn due(&self, now: DateTime<Utc>) -> Vec<OrderId>;
}
