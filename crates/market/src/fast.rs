//! The fast order book: price levels in ordered maps keyed by (interval,
//! price), each level a FIFO list threaded through a slab of orders, so insert,
//! cancel and fill at a level are O(1) after an O(log levels) lookup, and each
//! interval's book is one contiguous range of the map.

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

/// A price level's key: the interval's book, then the price.
type LevelKey = (Option<DateTime<Utc>>, Price);

/// Every price of one interval's book, as a range of level keys.
fn whole_book(interval: Option<DateTime<Utc>>) -> std::ops::RangeInclusive<LevelKey> {
    (interval, Price::from_ticks(0))..=(interval, Price::from_ticks(u32::MAX))
}

#[derive(Clone, Default)]
pub struct FastBook {
    /// Every order ever placed, in arrival order; closed orders stay so that
    /// their ids are known (duplicates, history) and slot numbers never move.
    slots: Vec<Slot>,
    /// Order ids come from clients; foldhash is fast and seeded per process.
    index: HashMap<OrderId, u32, RandomState>,
    asks: BTreeMap<LevelKey, Level>,
    bids: BTreeMap<LevelKey, Level>,
    /// Open orders that close at a known time: (closes_at, seq, slot).
    expiries: BTreeSet<(DateTime<Utc>, u64, u32)>,
}

impl FastBook {
    fn levels(&mut self, side: Side) -> &mut BTreeMap<LevelKey, Level> {
        match side {
            Side::Sell => &mut self.asks,
            Side::Buy => &mut self.bids,
        }
    }

    /// The best level of `side` in `interval`'s book that is worse than
    /// `after` (all its levels when `None`).
    fn next_level(&self, side: Side, interval: Option<DateTime<Utc>>, after: Option<Price>) -> Option<Price> {
        let (first, last) = whole_book(interval).into_inner();
        let key = match (side, after) {
            (Side::Sell, None) => self.asks.range(first..=last).next(),
            (Side::Sell, Some(p)) => self.asks.range((Bound::Excluded((interval, p)), Bound::Included(last))).next(),
            (Side::Buy, None) => self.bids.range(first..=last).next_back(),
            (Side::Buy, Some(p)) => self.bids.range(first..(interval, p)).next_back(),
        };
        key.map(|((_, price), _)| *price)
    }

    fn append(&mut self, slot: u32) {
        let Order {
            side,
            price,
            closes_at,
            interval,
            seq,
            ..
        } = self.slots[slot as usize].order;
        if let Some(at) = closes_at {
            self.expiries.insert((at, seq, slot));
        }
        let level = self.levels(side).entry((interval, price)).or_insert(Level { head: NIL, tail: NIL });
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
        let (side, key) = (order.side, (order.interval, order.price));
        if let Some(at) = order.closes_at {
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
        let level = levels.get_mut(&key).expect("open order has a level");
        if level.head == slot {
            level.head = next;
        }
        if level.tail == slot {
            level.tail = prev;
        }
        if level.head == NIL {
            levels.remove(&key);
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

    fn open_orders(&self, side: Side, interval: Option<DateTime<Utc>>) -> impl Iterator<Item = &Order> {
        let levels: Box<dyn Iterator<Item = &Level>> = match side {
            Side::Sell => Box::new(self.asks.range(whole_book(interval)).map(|(_, level)| level)),
            Side::Buy => Box::new(self.bids.range(whole_book(interval)).rev().map(|(_, level)| level)),
        };
        levels.flat_map(|level| self.level_orders(level))
    }

    fn intervals(&self) -> Vec<Option<DateTime<Utc>>> {
        let mut intervals: Vec<_> = self.asks.keys().chain(self.bids.keys()).map(|&(interval, _)| interval).collect();
        intervals.sort_unstable();
        intervals.dedup();
        intervals
    }

    fn insert(&mut self, mut taker: Order, events: &mut Vec<Event>) {
        let maker_side = taker.side.opposite();
        let mut walked = None;
        while taker.remaining() > Energy::ZERO {
            let Some(price) = self.next_level(maker_side, taker.interval, walked) else {
                break;
            };
            let (bid, ask) = match taker.side {
                Side::Buy => (taker.price, price),
                Side::Sell => (price, taker.price),
            };
            if !Side::crosses(bid, ask) {
                break;
            }
            let mut slot = self.levels(maker_side)[&(taker.interval, price)].head;
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

    fn buy_now(&mut self, id: &str, reference: &str, buyer: UserId, amount: Energy) -> Trade {
        let slot = self.index[id];
        let trade = Trade::purchase(reference, &self.slots[slot as usize].order, buyer, amount);
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
