//! The market's rules, with no IO and no clock: exact units, orders and the
//! rules that accept them, the book trait with the fast book and the naive
//! reference that checks it, the engine, statistics and invariants, the
//! household's energy rules (battery, grid quotes, CO2), delivery intervals
//! and their settlement against meter readings, and coarse locations.
//! Time is always passed in.

pub mod audit;
pub mod book;
pub mod codes;
pub mod delivery;
pub mod energy;
pub mod engine;
pub mod fast;
pub mod geo;
pub mod home;
pub mod ledger;
pub mod names;
pub mod order;
pub mod reference;
pub mod rules;
pub mod stats;
pub mod units;

pub use book::{Book, Event};
pub use codes::ErrorCode;
pub use delivery::{DeliveryRules, Fee, Figures, Reading, WattHours};
pub use engine::Market;
pub use fast::FastBook;
pub use order::{Order, OrderId, Side, Status, Trade, TradeId, UserId};
pub use rules::Reason;
pub use units::{Energy, Money, Price};
