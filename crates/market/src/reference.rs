//! A naive book, written to be obviously right rather than fast: one list of
//! every order, sorted afresh on every question. Tests and the fuzz target run
//! it beside [`FastBook`](crate::fast::FastBook) and demand the same events.

use chrono::{DateTime, Utc};

use crate::book::{Book, Event};
use crate::order::{Order, OrderId, Side, Status, Trade, UserId};
use crate::units::Energy;

#[derive(Clone, Default)]
pub struct ReferenceBook {
    orders: Vec<Order>,
}

impl ReferenceBook {
    fn position(&self, id: &str) -> usize {
        self.orders.iter().position(|o| o.id.as_str() == id).expect("known order")
    }

    /// Positions of the open orders of `side` in `interval`'s book, best first.
    fn by_priority(&self, side: Side, interval: Option<DateTime<Utc>>) -> Vec<usize> {
        let mut open: Vec<usize> = (0..self.orders.len())
            .filter(|&i| {
                let o = &self.orders[i];
                o.side == side && o.interval == interval && o.status.is_open()
            })
            .collect();
        open.sort_by_key(|&i| {
            let o = &self.orders[i];
            let price = match side {
                Side::Sell => i64::from(o.price.ticks()),
                Side::Buy => -i64::from(o.price.ticks()),
            };
            (price, o.seq)
        });
        open
    }
}

impl Book for ReferenceBook {
    fn get(&self, id: &str) -> Option<&Order> {
        self.orders.iter().find(|o| o.id.as_str() == id)
    }

    fn orders(&self) -> impl Iterator<Item = &Order> {
        self.orders.iter()
    }

    fn open_orders(&self, side: Side, interval: Option<DateTime<Utc>>) -> impl Iterator<Item = &Order> {
        self.by_priority(side, interval).into_iter().map(|i| &self.orders[i])
    }

    fn intervals(&self) -> Vec<Option<DateTime<Utc>>> {
        let mut intervals: Vec<_> = self.orders.iter().filter(|o| o.status.is_open()).map(|o| o.interval).collect();
        intervals.sort();
        intervals.dedup();
        intervals
    }

    fn insert(&mut self, mut taker: Order, events: &mut Vec<Event>) {
        for i in self.by_priority(taker.side.opposite(), taker.interval) {
            let maker = &mut self.orders[i];
            let crosses = match taker.side {
                Side::Buy => Side::crosses(taker.price, maker.price),
                Side::Sell => Side::crosses(maker.price, taker.price),
            };
            if !crosses || taker.remaining() == Energy::ZERO {
                break;
            }
            if maker.user == taker.user {
                continue;
            }
            let amount = taker.remaining().min(maker.remaining());
            events.push(Event::Trade(Trade::between(&taker, maker, amount)));
            taker.fill(amount);
            maker.fill(amount);
        }
        self.orders.push(taker);
    }

    fn restore(&mut self, order: Order) {
        self.orders.push(order);
    }

    fn close(&mut self, id: &str, status: Status) {
        let i = self.position(id);
        self.orders[i].status = status;
    }

    fn buy_now(&mut self, id: &str, reference: &str, buyer: UserId, amount: Energy) -> Trade {
        let i = self.position(id);
        let trade = Trade::purchase(reference, &self.orders[i], buyer, amount);
        self.orders[i].fill(amount);
        trade
    }

    fn due(&self, now: DateTime<Utc>) -> Vec<OrderId> {
        let mut due: Vec<&Order> = self.orders.iter().filter(|o| o.status.is_open() && o.is_due(now)).collect();
        due.sort_by_key(|o| (o.closes_at, o.seq));
        due.into_iter().map(|o| o.id.clone()).collect()
    }
}
