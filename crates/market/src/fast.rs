//! The fast order book: price levels in ordered maps, each level a FIFO list
//! threaded through a slab of orders, so insert, cancel and fill at a level are
//! O(1) after an O(log levels) lookup.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use foldhash::fast::RandomState;
use std::ops::Bound;

use chrono::{DateTime, Utc};

use crate::book::{Book, Event};
use crate::order::{Order, OrderId, Side, Status, Trade, UserId};
use crate::units::{Energy, Price};

const NIL: u32 = u32::MAX;

#[derive(Clone)]
struct Slot {
    order: Order,
    /// Neighbours in the order's price level while it is open.
    prev: u32,
    next: u32,
}

#[derive(Clone, Copy)]
struct Level {
    head: u32,
    tail: u32,
}

#[derive(Clone, Default)]
pub struct FastBook {
    /// Every order ever placed, in arrival order; closed orders stay so that
    /// their ids are known (duplicates, history) and slot numbers never move.
    slots: Vec<Slot>,
    /// Order ids come from clients; foldhash is fast and seeded per process.
    index: HashMap<OrderId, u32, RandomState>,
    asks: BTreeMap<Price, Level>,
    bids: BTreeMap<Price, Level>,
    /// Open orders with an expiry: (expires_at, seq, slot).
    expiries: BTreeSet<(DateTime<Utc>, u64, u32)>,
}

impl FastBook {
    fn levels(&mut self, side: Side) -> &mut BTreeMap<Price, Level> {
        match side {
            Side::Sell => &mut self.asks,
            Side::Buy => &mut self.bids,
        }
    }

    /// The best level of `side` that is worse than `after` (all levels when `None`).
    fn next_level(&self, side: Side, after: Option<Price>) -> Option<Price> {
        match (side, after) {
            (Side::Sell, None) => self.asks.keys().next(),
            (Side::Sell, Some(p)) => self.asks.range((Bound::Excluded(p), Bound::Unbounded)).map(|(p, _)| p).next(),
            (Side::Buy, None) => self.bids.keys().next_back(),
            (Side::Buy, Some(p)) => self.bids.range(..p).map(|(p, _)| p).next_back(),
        }
        .copied()
    }

    fn append(&mut self, slot: u32) {
        let Order {
            side,
            price,
            expires_at,
            seq,
            ..
        } = self.slots[slot as usize].order;
        if let Some(at) = expires_at {
            self.expiries.insert((at, seq, slot));
        }
        let level = self.levels(side).entry(price).or_insert(Level { head: NIL, tail: NIL });
        let tail = std::mem::replace(&mut level.tail, slot);
        if tail == NIL {
            level.head = slot;
        }
        self.slots[slot as usize].prev = tail;
        if tail != NIL {
            self.slots[tail as usize].next = slot;
        }
    }

    fn unlink(&mut self, slot: u32) {
        let Slot { prev, next, ref order } = self.slots[slot as usize];
        let (side, price) = (order.side, order.price);
        if let Some(at) = order.expires_at {
            self.expiries.remove(&(at, order.seq, slot));
        }
        match prev {
            NIL => {}
            prev => self.slots[prev as usize].next = next,
        }
        match next {
            NIL => {}
            next => self.slots[next as usize].prev = prev,
        }
        let levels = self.levels(side);
        let level = levels.get_mut(&price).expect("open order has a level");
        if level.head == slot {
            level.head = next;
        }
        if level.tail == slot {
            level.tail = prev;
        }
        if level.head == NIL {
            levels.remove(&price);
        }
        let unlinked = &mut self.slots[slot as usize];
        unlinked.prev = NIL;
        unlinked.next = NIL;
    }

    /// Fills `amount` of the open order in `slot`, and takes it out of the book once filled.
    fn fill(&mut self, slot: u32, amount: Energy) {
        let order = &mut self.slots[slot as usize].order;
        order.fill(amount);
        if order.status == Status::Filled {
            self.unlink(slot);
        }
    }

    fn level_orders(&self, level: &Level) -> impl Iterator<Item = &Order> {
        std::iter::successors(Some(level.head).filter(|&s| s != NIL), |&s| {
            Some(self.slots[s as usize].next).filter(|&s| s != NIL)
        })
        .map(|s| &self.slots[s as usize].order)
    }
}

impl Book for FastBook {
    fn get(&self, id: &str) -> Option<&Order> {
        self.index.get(id).map(|&slot| &self.slots[slot as usize].order)
    }

    fn orders(&self) -> impl Iterator<Item = &Order> {
        self.slots.iter().map(|slot| &slot.order)
    }

    fn open_orders(&self, side: Side) -> impl Iterator<Item = &Order> {
        let levels: Box<dyn Iterator<Item = &Level>> = match side {
            Side::Sell => Box::new(self.asks.values()),
            Side::Buy => Box::new(self.bids.values().rev()),
        };
        levels.flat_map(|level| self.level_orders(level))
    }

    fn insert(&mut self, mut taker: Order, events: &mut Vec<Event>) {
        let maker_side = taker.side.opposite();
        let mut walked = None;
        while taker.remaining() > Energy::ZERO {
            let Some(price) = self.next_level(maker_side, walked) else { break };
            let (bid, ask) = match taker.side {
                Side::Buy => (taker.price, price),
                Side::Sell => (price, taker.price),
            };
            if !Side::crosses(bid, ask) {
                break;
            }
            let mut slot = self.levels(maker_side)[&price].head;
            while slot != NIL && taker.remaining() > Energy::ZERO {
                let next = self.slots[slot as usize].next;
                let maker = &self.slots[slot as usize].order;
                if maker.user != taker.user {
                    let amount = taker.remaining().min(maker.remaining());
                    events.push(Event::Trade(Trade::between(&taker, maker, amount)));
                    taker.fill(amount);
                    self.fill(slot, amount);
                }
                slot = next;
            }
            walked = Some(price);
        }
        self.restore(taker);
    }

    fn restore(&mut self, order: Order) {
        let slot = u32::try_from(self.slots.len()).expect("fewer than 2^32 orders");
        let open = order.status.is_open();
        self.index.insert(order.id.clone(), slot);
        self.slots.push(Slot { order, prev: NIL, next: NIL });
        if open {
            self.append(slot);
        }
    }

    fn close(&mut self, id: &str, status: Status) {
        let slot = self.index[id];
        self.unlink(slot);
        self.slots[slot as usize].order.status = status;
    }

    fn buy_now(&mut self, id: &str, buyer: UserId, amount: Energy) -> Trade {
        let slot = self.index[id];
        let ask = &self.slots[slot as usize].order;
        let trade = Trade {
            buy_order: None,
            sell_order: ask.id.clone(),
            buyer,
            seller: ask.user.clone(),
            price: ask.price,
            amount,
        };
        self.fill(slot, amount);
        trade
    }

    fn due(&self, now: DateTime<Utc>) -> Vec<OrderId> {
        self.expiries
            .iter()
            .take_while(|(at, _, _)| *at <= now)
            .map(|&(_, _, slot)| self.slots[slot as usize].order.id.clone())
            .collect()
    }
}
