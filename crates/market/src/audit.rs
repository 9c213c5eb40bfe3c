//! The market's invariants, checked from the outside: what every trade must be,
//! and what the book must look like after any command. Used by property tests,
//! the fuzz target and crash-recovery tests.

use std::collections::HashMap;

use crate::book::{Book, Event};
use crate::delivery::{DeliveryRules, WattHours, value};
use crate::ledger::Ledger;
use crate::order::{Order, OrderId, Side, Status, Trade};
use crate::units::Energy;

/// Follows the trades of a market and checks its invariants.
#[derive(Default)]
pub struct Audit {
    traded: HashMap<OrderId, Energy>,
}

impl Audit {
    /// Checks each new trade against the orders it names and counts it.
    pub fn record(&mut self, events: &[Event], book: &impl Book) -> Result<(), String> {
        for event in events {
            if let Event::Trade(trade) = event {
                check_trade(trade, book)?;
                for id in trade.buy_order.iter().chain([&trade.sell_order]) {
                    *self.traded.entry(id.clone()).or_default() += trade.amount;
                }
            }
        }
        Ok(())
    }

    /// Checks the whole book: fills, statuses, priority order, and that no two
    /// different users' orders are left crossed.
    pub fn check(&self, book: &impl Book) -> Result<(), String> {
        let mut open = 0;
        for order in book.orders() {
            let traded = self.traded.get(&order.id).copied().unwrap_or_default();
            if order.filled != traded {
                return Err(format!("{}: filled {} but traded {}", order.id, order.filled, traded));
            }
            if order.filled > order.amount {
                return Err(format!("{}: filled {} of {}", order.id, order.filled, order.amount));
            }
            let fill_status = Status::of_fill(order.filled, order.amount);
            let consistent = match order.status {
                Status::Active | Status::Partial | Status::Filled => order.status == fill_status,
                Status::Cancelled | Status::Expired => fill_status != Status::Filled,
            };
            if !consistent {
                return Err(format!(
                    "{}: status {:?} with {} of {} filled",
                    order.id, order.status, order.filled, order.amount
                ));
            }
            open += usize::from(order.status.is_open());
        }
        let mut booked = 0;
        for interval in book.intervals() {
            let asks: Vec<_> = book.open_orders(Side::Sell, interval).collect();
            let bids: Vec<_> = book.open_orders(Side::Buy, interval).collect();
            booked += asks.len() + bids.len();
            if asks.iter().chain(&bids).any(|o| !o.status.is_open() || o.interval != interval) {
                return Err(format!("the book of {interval:?} holds an order that is not its own or not open"));
            }
            check_priority_and_crossing(&asks, &bids)?;
        }
        if booked != open {
            return Err("the book does not hold exactly the open orders".into());
        }
        Ok(())
    }
}

/// Checks every settlement against the rules it must keep, whatever the
/// readings: delivered never exceeds contracted; per household and interval,
/// delivered sales never exceed its metered export nor delivered purchases its
/// import (a missing reading counts as zero); each side pays exactly the value
/// of what was delivered and its fee; and money is conserved: what buyers pay
/// is what sellers receive plus the fees.
pub fn check_settlements(ledger: &Ledger, rules: &DeliveryRules) -> Result<(), String> {
    let (mut paid, mut received, mut fees) = (0i64, 0i64, 0i64);
    for (start, contracts) in ledger.contracts() {
        let mut sold: HashMap<&str, u64> = HashMap::new();
        let mut bought: HashMap<&str, u64> = HashMap::new();
        for contract in contracts {
            let Some((figures, _)) = ledger.settlement(&contract.trade) else {
                continue;
            };
            let delivered = figures.delivered;
            if delivered > contract.amount {
                return Err(format!("{}: delivered {delivered} of {} contracted", contract.trade, contract.amount));
            }
            *sold.entry(contract.seller.as_str()).or_default() += delivered.wh();
            *bought.entry(contract.buyer.as_str()).or_default() += delivered.wh();
            let energy = value(delivered, contract.price.ticks());
            let (buyer_fee, seller_fee) = (value(delivered, rules.buyer_fee.ticks()), value(delivered, rules.seller_fee.ticks()));
            if figures.buyer_pays != energy + buyer_fee || figures.seller_receives != energy - seller_fee {
                return Err(format!("{}: {figures:?} is not the value of {delivered} kWh", contract.trade));
            }
            paid += figures.buyer_pays.micros();
            received += figures.seller_receives.micros();
            fees += buyer_fee.micros() + seller_fee.micros();
        }
        let metered =
            |user: &str, pick: fn(crate::delivery::Reading) -> WattHours| ledger.reading(&user.into(), start).map(pick).unwrap_or_default().wh();
        for (user, wh) in sold {
            if wh > metered(user, |r| r.export) {
                return Err(format!("{user} delivered {wh} Wh of sales in {start} beyond its export"));
            }
        }
        for (user, wh) in bought {
            if wh > metered(user, |r| r.import) {
                return Err(format!("{user} took {wh} Wh of purchases in {start} beyond its import"));
            }
        }
    }
    if paid != received + fees {
        return Err(format!("buyers paid {paid} µ$, sellers received {received} µ$ and fees were {fees} µ$"));
    }
    Ok(())
}

/// One interval's book: price-time order, and no two different users' orders left crossed.
fn check_priority_and_crossing(asks: &[&Order], bids: &[&Order]) -> Result<(), String> {
    let in_priority = |orders: &[&Order], better: fn(u32, u32) -> bool| {
        orders
            .windows(2)
            .all(|w| better(w[0].price.ticks(), w[1].price.ticks()) || (w[0].price == w[1].price && w[0].seq < w[1].seq))
    };
    if !in_priority(asks, |a, b| a < b) || !in_priority(bids, |a, b| a > b) {
        return Err("the book is out of price-time order".into());
    }
    for bid in bids {
        for ask in asks.iter().take_while(|ask| Side::crosses(bid.price, ask.price)) {
            if ask.user != bid.user {
                return Err(format!(
                    "crossed book: bid {} at {} vs ask {} at {}",
                    bid.id, bid.price, ask.id, ask.price
                ));
            }
        }
    }
    Ok(())
}

fn check_trade(trade: &Trade, book: &impl Book) -> Result<(), String> {
    let sell = book.get(trade.sell_order.as_str()).filter(|o| o.side == Side::Sell);
    let sell = sell.ok_or_else(|| format!("trade names unknown sell order {}", trade.sell_order))?;
    if trade.price != sell.price || trade.seller != sell.user || trade.interval != sell.interval {
        return Err(format!("trade {trade:?} is not at its sell order's price or seller"));
    }
    if trade.buyer == trade.seller {
        return Err(format!("trade {trade:?} is between one user's orders"));
    }
    if trade.amount == Energy::ZERO {
        return Err(format!("trade {trade:?} moves nothing"));
    }
    if let Some(buy_id) = &trade.buy_order {
        let buy = book.get(buy_id.as_str()).filter(|o| o.side == Side::Buy);
        let buy = buy.ok_or_else(|| format!("trade names unknown buy order {buy_id}"))?;
        if buy.price < trade.price || buy.user != trade.buyer || buy.interval != trade.interval {
            return Err(format!("trade {trade:?} is above its buy order's price or not its buyer's"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Market;
    use crate::fast::FastBook;
    use crate::rules::Place;
    use chrono::DateTime;

    #[test]
    fn a_fill_without_a_trade_is_caught() {
        let mut market = Market::<FastBook>::default();
        let mut events = Vec::new();
        let ask = Place {
            id: "a",
            user: "alice",
            side: Side::Sell,
            price: "0.16",
            amount: "10",
            expires_at: None,
            interval: None,
        };
        market.place(DateTime::UNIX_EPOCH, &ask, &mut events).unwrap();
        let bid = Place {
            id: "b",
            user: "bob",
            side: Side::Buy,
            price: "0.20",
            amount: "4",
            ..ask
        };
        market.place(DateTime::UNIX_EPOCH, &bid, &mut events).unwrap();
        // An audit that never saw the trade must refuse the fills it finds.
        let blind = Audit::default();
        assert!(blind.check(market.book()).unwrap_err().contains("traded 0"));
        let mut audit = Audit::default();
        audit.record(&events, market.book()).unwrap();
        audit.check(market.book()).unwrap();
    }

    #[test]
    fn a_forged_trade_is_caught() {
        let mut market = Market::<FastBook>::default();
        let mut events = Vec::new();
        let ask = Place {
            id: "a",
            user: "alice",
            side: Side::Sell,
            price: "0.16",
            amount: "10",
            expires_at: None,
            interval: None,
        };
        market.place(DateTime::UNIX_EPOCH, &ask, &mut events).unwrap();
        let order = market.book().get("a").unwrap();
        let forged = Trade {
            id: "r".into(),
            buy_order: None,
            sell_order: order.id.clone(),
            buyer: "bob".into(),
            seller: order.user.clone(),
            price: crate::units::Price::from_ticks(1500),
            amount: Energy::from_centi_kwh(100),
            interval: None,
        };
        let err = Audit::default().record(&[Event::Trade(forged)], market.book()).unwrap_err();
        assert!(err.contains("sell order's price"), "{err}");
    }
}
