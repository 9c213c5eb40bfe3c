//! The market: one clock, one set of rules, over a book that does the matching.

use chrono::{DateTime, Utc};

use crate::book::{Book, Event};
use crate::delivery::DeliveryRules;
use crate::fast::FastBook;
use crate::order::{Order, Status};
use crate::rules::{self, BuyNow, Cancel, Place, Reason};
use crate::units::Energy;

/// The market of one community: a book, its clock, and the rules.
///
/// Time is passed in with every command; it never runs backwards (an earlier
/// time counts as the current one), and orders due at that time (their expiry
/// or their interval's gate closure) expire before the command is looked at.
pub struct Market<B = FastBook> {
    book: B,
    now: DateTime<Utc>,
    next_seq: u64,
    rules: DeliveryRules,
}

impl<B: Book + Default> Default for Market<B> {
    fn default() -> Self {
        Market::with_rules(DeliveryRules::default())
    }
}

impl<B: Book + Default> Market<B> {
    pub fn with_rules(rules: DeliveryRules) -> Self {
        Market {
            book: B::default(),
            now: DateTime::UNIX_EPOCH,
            next_seq: 1,
            rules,
        }
    }

    /// Rebuilds a market from its stored orders, in arrival order, with its clock at `now`.
    pub fn restore(orders: impl IntoIterator<Item = Order>, now: DateTime<Utc>, rules: DeliveryRules) -> Self {
        let mut market = Market::<B> {
            now,
            ..Market::with_rules(rules)
        };
        for order in orders {
            market.next_seq = market.next_seq.max(order.seq + 1);
            market.book.restore(order);
        }
        market
    }
}

impl<B: Book> Market<B> {
    pub fn book(&self) -> &B {
        &self.book
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    pub fn rules(&self) -> &DeliveryRules {
        &self.rules
    }

    /// New rules for orders placed from now on; open orders keep their `closes_at`.
    pub fn set_rules(&mut self, rules: DeliveryRules) {
        self.rules = rules;
    }

    /// Moves the clock to `now` and expires every order due by then.
    pub fn advance(&mut self, now: DateTime<Utc>, events: &mut Vec<Event>) {
        self.now = self.now.max(now);
        for id in self.book.due(self.now) {
            self.book.close(id.as_str(), Status::Expired);
            events.push(Event::Expired { order: id });
        }
    }

    pub fn place(&mut self, now: DateTime<Utc>, cmd: &Place, events: &mut Vec<Event>) -> Result<(), Reason> {
        self.advance(now, events);
        let valid = rules::check_place(cmd, self.book.get(cmd.id), self.now, &self.rules)?;
        let order = Order {
            id: cmd.id.into(),
            user: cmd.user.into(),
            side: cmd.side,
            price: valid.price,
            amount: valid.amount,
            filled: Energy::ZERO,
            status: Status::Active,
            seq: self.next_seq,
            expires_at: cmd.expires_at,
            interval: valid.interval,
            closes_at: self.rules.closes_at(cmd.expires_at, valid.interval),
        };
        self.next_seq += 1;
        self.book.insert(order, events);
        Ok(())
    }

    pub fn cancel(&mut self, now: DateTime<Utc>, cmd: &Cancel, events: &mut Vec<Event>) -> Result<(), Reason> {
        self.advance(now, events);
        rules::check_cancel(cmd, self.book.get(cmd.id))?;
        self.book.close(cmd.id, Status::Cancelled);
        events.push(Event::Cancelled { order: cmd.id.into() });
        Ok(())
    }

    pub fn buy_now(&mut self, now: DateTime<Utc>, cmd: &BuyNow, events: &mut Vec<Event>) -> Result<(), Reason> {
        self.advance(now, events);
        let amount = rules::check_buy_now(cmd, self.book.get(cmd.order))?;
        let trade = self.book.buy_now(cmd.order, cmd.reference, cmd.user.into(), amount);
        events.push(Event::Trade(trade));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! The rules exercised through both books, so each test checks both.
    use super::*;
    use crate::order::{Side, Trade};
    use crate::reference::ReferenceBook;
    use crate::units::Price;
    use chrono::TimeZone;

    /// `minute` minutes after 09:00.
    fn t(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap() + chrono::Duration::minutes(minute)
    }

    struct Run<B> {
        market: Market<B>,
        events: Vec<Event>,
    }

    impl<B: Book + Default> Run<B> {
        fn new() -> Self {
            Run {
                market: Market::default(),
                events: Vec::new(),
            }
        }

        fn place(&mut self, id: &str, user: &str, side: Side, price: &str, amount: &str) -> Result<(), Reason> {
            let cmd = Place {
                id,
                user,
                side,
                price,
                amount,
                expires_at: None,
                interval: None,
            };
            self.market.place(t(0), &cmd, &mut self.events)
        }

        fn order(&self, id: &str) -> &Order {
            self.market.book().get(id).unwrap()
        }

        fn trades(&self) -> Vec<(String, String, u32, u64)> {
            self.events
                .iter()
                .filter_map(|event| match event {
                    Event::Trade(t) => Some((t.buyer.to_string(), t.seller.to_string(), t.price.ticks(), t.amount.centi_kwh())),
                    _ => None,
                })
                .collect()
        }

        fn book(&self, side: Side) -> Vec<(String, u64)> {
            let book = self.market.book();
            book.open_orders(side, None)
                .map(|o| (o.id.to_string(), o.remaining().centi_kwh()))
                .collect()
        }
    }

    /// Runs each named scenario once on each book.
    macro_rules! on_both_books {
        ($($name:ident),* $(,)?) => {
            mod fast { use super::*; $(#[test] fn $name() { super::$name::<FastBook>(Run::new()) })* }
            mod reference { use super::*; $(#[test] fn $name() { super::$name::<ReferenceBook>(Run::new()) })* }
        };
    }

    fn guide_example_ends_with_its_final_book<B: Book + Default>(mut run: Run<B>) {
        run.place("alice-1", "alice", Side::Sell, "0.16", "10").unwrap();
        run.place("bob-1", "bob", Side::Sell, "0.17", "15").unwrap();
        run.place("charlie-1", "charlie", Side::Buy, "0.18", "20").unwrap();
        run.place("diana-1", "diana", Side::Buy, "0.15", "25").unwrap();
        assert_eq!(
            run.trades(),
            [
                ("charlie".into(), "alice".into(), 1600, 1000),
                ("charlie".into(), "bob".into(), 1700, 1000)
            ]
        );
        assert_eq!(run.order("alice-1").status, Status::Filled);
        assert_eq!(run.order("bob-1").status, Status::Partial);
        assert_eq!(run.order("charlie-1").status, Status::Filled);
        assert_eq!(run.order("diana-1").status, Status::Active);
        assert_eq!(run.book(Side::Sell), [("bob-1".into(), 500)]);
        assert_eq!(run.book(Side::Buy), [("diana-1".into(), 2500)]);
    }

    fn incoming_ask_trades_at_its_own_price<B: Book + Default>(mut run: Run<B>) {
        run.place("b", "bob", Side::Buy, "0.30", "5").unwrap();
        run.place("a", "alice", Side::Sell, "0.20", "8").unwrap();
        assert_eq!(run.trades(), [("bob".into(), "alice".into(), 2000, 500)]);
        assert_eq!(run.book(Side::Sell), [("a".into(), 300)]);
        assert_eq!(run.order("a").status, Status::Partial);
    }

    fn equal_prices_fill_in_arrival_order<B: Book + Default>(mut run: Run<B>) {
        run.place("first", "alice", Side::Sell, "0.16", "5").unwrap();
        run.place("second", "bob", Side::Sell, "0.16", "5").unwrap();
        run.place("cheaper", "erin", Side::Sell, "0.15", "1").unwrap();
        run.place("bid", "charlie", Side::Buy, "0.16", "7").unwrap();
        let sellers: Vec<_> = run.trades().into_iter().map(|t| (t.1, t.3)).collect();
        assert_eq!(sellers, [("erin".into(), 100), ("alice".into(), 500), ("bob".into(), 100)]);
    }

    fn an_order_skips_its_own_user_and_both_stay<B: Book + Default>(mut run: Run<B>) {
        run.place("mine", "alice", Side::Sell, "0.10", "5").unwrap();
        run.place("theirs", "bob", Side::Sell, "0.12", "5").unwrap();
        run.place("bid", "alice", Side::Buy, "0.20", "10").unwrap();
        assert_eq!(run.trades(), [("alice".into(), "bob".into(), 1200, 500)]);
        assert_eq!(run.book(Side::Sell), [("mine".into(), 500)]);
        assert_eq!(run.book(Side::Buy), [("bid".into(), 500)]);
    }

    fn prices_that_do_not_cross_rest<B: Book + Default>(mut run: Run<B>) {
        run.place("a", "alice", Side::Sell, "0.17", "5").unwrap();
        run.place("d", "diana", Side::Buy, "0.15", "25").unwrap();
        assert!(run.trades().is_empty());
        assert_eq!(run.order("a").status, Status::Active);
    }

    fn status_goes_active_partial_filled<B: Book + Default>(mut run: Run<B>) {
        run.place("a", "alice", Side::Sell, "0.16", "10").unwrap();
        assert_eq!(run.order("a").status, Status::Active);
        run.place("b1", "bob", Side::Buy, "0.16", "4").unwrap();
        assert_eq!(run.order("a").status, Status::Partial);
        run.place("b2", "bob", Side::Buy, "0.16", "6").unwrap();
        assert_eq!(run.order("a").status, Status::Filled);
        assert!(run.book(Side::Sell).is_empty());
    }

    fn cancel_takes_an_open_order_out_once<B: Book + Default>(mut run: Run<B>) {
        run.place("a", "alice", Side::Sell, "0.16", "10").unwrap();
        let cancel = |user| Cancel { id: "a", user };
        assert_eq!(run.market.cancel(t(0), &cancel("bob"), &mut run.events), Err(Reason::NotOwner));
        run.market.cancel(t(0), &cancel("alice"), &mut run.events).unwrap();
        assert_eq!(run.order("a").status, Status::Cancelled);
        assert!(run.book(Side::Sell).is_empty());
        assert_eq!(run.market.cancel(t(0), &cancel("alice"), &mut run.events), Err(Reason::NotOpen));
        assert_eq!(
            run.market.cancel(t(0), &Cancel { id: "nope", user: "alice" }, &mut run.events),
            Err(Reason::UnknownOrder)
        );
        assert_eq!(run.place("a", "alice", Side::Sell, "0.16", "10"), Err(Reason::DuplicateOrder));
    }

    fn buy_now_full_and_partial<B: Book + Default>(mut run: Run<B>) {
        run.place("a", "alice", Side::Sell, "0.16", "10").unwrap();
        let buy = |amount, headroom: &str| BuyNow {
            reference: "r",
            order: "a",
            user: "charlie",
            amount,
            headroom: headroom.parse().ok(),
        };
        assert_eq!(run.market.buy_now(t(0), &buy("5.01", "5"), &mut run.events), Err(Reason::ExceedsBattery));
        assert_eq!(
            run.market.buy_now(t(0), &buy("10.01", "50"), &mut run.events),
            Err(Reason::ExceedsAvailable)
        );
        run.market.buy_now(t(0), &buy("4.5", "5"), &mut run.events).unwrap();
        assert_eq!(run.order("a").status, Status::Partial);
        run.market.buy_now(t(0), &buy("5.5", "none"), &mut run.events).unwrap();
        assert_eq!(run.order("a").status, Status::Filled);
        assert_eq!(
            run.trades(),
            [
                ("charlie".into(), "alice".into(), 1600, 450),
                ("charlie".into(), "alice".into(), 1600, 550)
            ]
        );
        let Some(Event::Trade(trade)) = run.events.last() else {
            panic!("no trade")
        };
        assert_eq!(trade.buy_order, None);
        assert_eq!(run.market.buy_now(t(0), &buy("1", "5"), &mut run.events), Err(Reason::NotOpen));
    }

    fn due_orders_expire_before_the_command<B: Book + Default>(mut run: Run<B>) {
        let ask = Place {
            id: "a",
            user: "alice",
            side: Side::Sell,
            price: "0.16",
            amount: "10",
            expires_at: Some(t(30)),
            interval: None,
        };
        run.market.place(t(0), &ask, &mut run.events).unwrap();
        let bid = Place {
            id: "b",
            user: "bob",
            side: Side::Buy,
            price: "0.20",
            amount: "10",
            expires_at: None,
            interval: None,
        };
        run.market.place(t(30), &bid, &mut run.events).unwrap();
        assert_eq!(run.events, [Event::Expired { order: "a".into() }]);
        assert_eq!(run.order("a").status, Status::Expired);
        assert_eq!(run.book(Side::Buy), [("b".into(), 1000)]);
        let late = Place {
            id: "c",
            expires_at: Some(t(30)),
            ..ask
        };
        assert_eq!(run.market.place(t(30), &late, &mut run.events), Err(Reason::InvalidExpiry));
    }

    fn the_clock_never_runs_backwards<B: Book + Default>(mut run: Run<B>) {
        let ask = Place {
            id: "a",
            user: "alice",
            side: Side::Sell,
            price: "0.16",
            amount: "10",
            expires_at: Some(t(30)),
            interval: None,
        };
        run.market.advance(t(40), &mut run.events);
        assert_eq!(run.market.place(t(0), &ask, &mut run.events), Err(Reason::InvalidExpiry));
        assert_eq!(run.market.now(), t(40));
    }

    /// A place of 5 kWh for the delivery interval starting at `interval`.
    fn dated<'a>(id: &'a str, user: &'a str, side: Side, price: &'a str, interval: &'a str) -> Place<'a> {
        Place {
            id,
            user,
            side,
            price,
            amount: "5",
            expires_at: None,
            interval: Some(interval),
        }
    }

    fn dated_orders_meet_only_their_own_interval<B: Book + Default>(mut run: Run<B>) {
        let (i1, i2) = ("2026-06-01T10:00:00Z", "2026-06-01T10:15:00Z");
        for cmd in [
            dated("a1", "alice", Side::Sell, "0.16", i1),
            dated("a2", "alice", Side::Sell, "0.12", i2),
            dated("b1", "bob", Side::Buy, "0.20", i1),
        ] {
            run.market.place(t(0), &cmd, &mut run.events).unwrap();
        }
        run.place("u", "carol", Side::Sell, "0.10", "5").unwrap();
        let Some(Event::Trade(trade)) = run.events.first() else {
            panic!("no trade: {:?}", run.events)
        };
        assert_eq!(trade.id.as_str(), "b1/a1");
        assert_eq!(trade.interval, Some(t(60)));
        assert_eq!(
            run.events.len(),
            1,
            "the cheaper ask of another interval and the undated one did not trade"
        );
        let ids = |side, interval| -> Vec<String> { run.market.book().open_orders(side, interval).map(|o| o.id.to_string()).collect() };
        assert_eq!(ids(Side::Sell, Some(t(75))), ["a2"]);
        assert_eq!(ids(Side::Sell, None), ["u"]);
        assert!(ids(Side::Sell, Some(t(60))).is_empty());
        assert_eq!(run.market.book().intervals(), [None, Some(t(75))]);
    }

    fn the_gate_closes_an_interval_before_the_next_command<B: Book + Default>(mut run: Run<B>) {
        let early_expiry = Place {
            expires_at: Some(t(50)),
            ..dated("a", "alice", Side::Sell, "0.16", "2026-06-01T10:00:00Z")
        };
        run.market
            .place(t(0), &dated("b", "bob", Side::Sell, "0.16", "2026-06-01T10:00:00Z"), &mut run.events)
            .unwrap();
        run.market.place(t(0), &early_expiry, &mut run.events).unwrap();
        run.market
            .place(t(0), &dated("c", "carol", Side::Sell, "0.16", "2026-06-01T09:45:00Z"), &mut run.events)
            .unwrap();
        // At 09:55 the 10:00 book closes: by due time (09:40 for c, 09:50 for a, 09:55 for b), then arrival.
        run.market.advance(t(55), &mut run.events);
        let expired: Vec<_> = run
            .events
            .iter()
            .map(|e| match e {
                Event::Expired { order } => order.to_string(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(expired, ["c", "a", "b"]);
        let late = dated("d", "dave", Side::Buy, "0.20", "2026-06-01T10:00:00Z");
        assert_eq!(run.market.place(t(55), &late, &mut run.events), Err(Reason::IntervalClosed));
    }

    fn buy_now_from_a_dated_offer_is_a_dated_trade_named_by_its_ref<B: Book + Default>(mut run: Run<B>) {
        run.market
            .place(t(0), &dated("a", "alice", Side::Sell, "0.16", "2026-06-01T10:00:00Z"), &mut run.events)
            .unwrap();
        let buy = BuyNow {
            reference: "p1",
            order: "a",
            user: "bob",
            amount: "2",
            headroom: None,
        };
        run.market.buy_now(t(1), &buy, &mut run.events).unwrap();
        let Some(Event::Trade(trade)) = run.events.last() else {
            panic!("no trade")
        };
        assert_eq!((trade.id.as_str(), trade.interval), ("p1", Some(t(60))));
    }

    on_both_books! {
        dated_orders_meet_only_their_own_interval,
        the_gate_closes_an_interval_before_the_next_command,
        buy_now_from_a_dated_offer_is_a_dated_trade_named_by_its_ref,
        guide_example_ends_with_its_final_book,
        incoming_ask_trades_at_its_own_price,
        equal_prices_fill_in_arrival_order,
        an_order_skips_its_own_user_and_both_stay,
        prices_that_do_not_cross_rest,
        status_goes_active_partial_filled,
        cancel_takes_an_open_order_out_once,
        buy_now_full_and_partial,
        due_orders_expire_before_the_command,
        the_clock_never_runs_backwards,
        a_restored_market_is_the_market_it_was,
    }

    fn a_restored_market_is_the_market_it_was<B: Book + Default>(mut run: Run<B>) {
        run.place("a", "alice", Side::Sell, "0.16", "10").unwrap();
        run.place("b", "bob", Side::Sell, "0.16", "5").unwrap();
        run.place("c", "carol", Side::Buy, "0.16", "12").unwrap();
        run.place("d", "dave", Side::Buy, "0.12", "3").unwrap();
        let stored: Vec<Order> = run.market.book().orders().cloned().collect();
        let mut restored = Run::<B> {
            market: Market::restore(stored.clone(), t(0), DeliveryRules::default()),
            events: Vec::new(),
        };
        assert!(restored.market.book().orders().eq(stored.iter()));
        assert_eq!(restored.book(Side::Sell), run.book(Side::Sell));
        assert_eq!(restored.book(Side::Buy), run.book(Side::Buy));
        // New orders queue behind the restored ones.
        restored.place("e", "erin", Side::Sell, "0.12", "5").unwrap();
        assert_eq!(restored.order("e").seq, 5);
        assert_eq!(restored.trades(), [("dave".into(), "erin".into(), 1200, 300)]);
    }

    #[test]
    fn trade_events_serialise_as_the_replay_format() {
        let trade = Event::Trade(Trade {
            id: "r1".into(),
            buy_order: None,
            sell_order: "alice-1".into(),
            buyer: "charlie".into(),
            seller: "alice".into(),
            price: Price::from_ticks(1600),
            amount: Energy::from_centi_kwh(450),
            interval: None,
        });
        assert_eq!(
            serde_json::to_string(&trade).unwrap(),
            r#"{"event":"trade","id":"r1","buy_order":null,"sell_order":"alice-1","buyer":"charlie","seller":"alice","price":"0.16","amount":"4.5"}"#
        );
    }
}
