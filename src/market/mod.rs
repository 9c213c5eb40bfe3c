//! The market: exact units, orders, the rules, two books (fast and reference),
//! the engine that applies the rules over a book, statistics and invariants.

pub mod audit;
pub mod book;
pub mod engine;
pub mod order;
pub mod reference;
pub mod rules;
pub mod stats;
pub mod units;
pub mod workload;

pub use book::FastBook;
pub use engine::{Book, Event, Market};
pub use order::{Order, OrderId, Side, Status, Trade, UserId};
pub use rules::Reason;
pub use units::{Energy, Money, Price};
