//! Property tests over random command streams: the fast book and the naive
//! reference book must produce identical events, the market's invariants must
//! hold after every command, and settlement must conserve energy and money
//! and change nothing when run twice.

use std::borrow::Cow;

use chrono::{DateTime, Duration, TimeZone, Utc};
use lumea::check::Differential;
use lumea::replay::{Command, Line, Output};
use lumea_market::Side;
use lumea_market::ledger::SettlementEvent;
use proptest::prelude::*;
use proptest::sample::select;
use rust_decimal::Decimal;

/// A command whose times are offsets from the market's clock, so that streams
/// shrink well and expiries land near the present.
#[derive(Clone, Debug)]
struct Step {
    /// Minutes to move the clock (negative: an earlier time, which must not turn it back).
    clock: Option<i64>,
    command: Cmd,
}

#[derive(Clone, Debug)]
enum Cmd {
    Place {
        id: u8,
        user: u8,
        side: Side,
        price: &'static str,
        amount: &'static str,
        expires_in: Option<i64>,
        interval: Option<&'static str>,
    },
    Cancel {
        id: u8,
        user: u8,
    },
    Buy {
        id: u8,
        user: u8,
        amount: &'static str,
        headroom: Option<&'static str>,
    },
    Expire,
    Meter {
        user: u8,
        interval: &'static str,
        import: &'static str,
        export: &'static str,
    },
    Settle {
        interval: &'static str,
    },
}

/// Delivery intervals around the clock's start (08:00): some close during a
/// stream, some stay open; one is not aligned, one is beyond the open horizon.
const INTERVALS: [&str; 10] = [
    "2026-06-01T08:15:00Z",
    "2026-06-01T08:30:00Z",
    "2026-06-01T08:45:00Z",
    "2026-06-01T09:00:00Z",
    "2026-06-01T09:30:00Z",
    "2026-06-01T11:00:00Z",
    "2026-06-01T14:00:00Z",
    "2026-06-01T08:40:00Z",
    "2026-06-03T08:00:00Z",
    "soon",
];
const READINGS: [&str; 9] = ["0", "1", "2.5", "5", "12.345", "40", "0.0001", "-1", "10000.001"];
const FEES: [&str; 4] = ["0", "0.01", "0.005", "0.0333"];

const PRICES: [&str; 16] = [
    "0.15", "0.15", "0.16", "0.16", "0.17", "0.18", "0.14", "0.05", "1.00", "0.1234", "0.0499", "1.0001", "0.12345", "abc", "", "-",
];
const AMOUNTS: [&str; 12] = ["1", "2.5", "5", "5", "10", "20", "100", "0.99", "100.01", "1.234", "-5", "x"];
const PURCHASES: [&str; 10] = ["0.01", "1", "2.5", "5", "10", "25", "0", "-1", "1.001", "NaN"];
const HEADROOMS: [&str; 4] = ["0", "3", "10", "100"];

fn step() -> impl Strategy<Value = Step> {
    let id = 0u8..24;
    let user = 0u8..4;
    let side = prop_oneof![Just(Side::Buy), Just(Side::Sell)];
    let interval = proptest::option::weighted(0.7, select(&INTERVALS[..]));
    let command = prop_oneof![
        5 => (id.clone(), user.clone(), side, select(&PRICES[..]), select(&AMOUNTS[..]), proptest::option::weighted(0.2, -2i64..20), interval)
            .prop_map(|(id, user, side, price, amount, expires_in, interval)| Cmd::Place { id, user, side, price, amount, expires_in, interval }),
        2 => (id.clone(), user.clone()).prop_map(|(id, user)| Cmd::Cancel { id, user }),
        2 => (id, user.clone(), select(&PURCHASES[..]), proptest::option::of(select(&HEADROOMS[..])))
            .prop_map(|(id, user, amount, headroom)| Cmd::Buy { id, user, amount, headroom }),
        1 => Just(Cmd::Expire),
        2 => (user, select(&INTERVALS[..]), select(&READINGS[..]), select(&READINGS[..]))
            .prop_map(|(user, interval, import, export)| Cmd::Meter { user, interval, import, export }),
        1 => select(&INTERVALS[..]).prop_map(|interval| Cmd::Settle { interval }),
    ];
    (proptest::option::weighted(0.3, -3i64..15), command).prop_map(|(clock, command)| Step { clock, command })
}

fn line(step: &Step, now: DateTime<Utc>) -> Line<'static> {
    let text = |s: String| Cow::Owned(s);
    let command = match step.command.clone() {
        Cmd::Place {
            id,
            user,
            side,
            price,
            amount,
            expires_in,
            interval,
        } => Command::Place {
            id: text(format!("o{id}")),
            user: text(format!("u{user}")),
            side,
            price: price.into(),
            amount: amount.into(),
            expires_at: expires_in.map(|m| now + Duration::minutes(m)),
            interval: interval.map(Cow::Borrowed),
        },
        Cmd::Cancel { id, user } => Command::Cancel {
            id: text(format!("o{id}")),
            user: text(format!("u{user}")),
        },
        Cmd::Buy { id, user, amount, headroom } => Command::Buy {
            reference: text(format!("r{id}")),
            order: text(format!("o{id}")),
            user: text(format!("u{user}")),
            amount: amount.into(),
            headroom: headroom.map(|h| h.parse::<Decimal>().unwrap()),
        },
        Cmd::Expire => Command::Expire,
        Cmd::Meter {
            user,
            interval,
            import,
            export,
        } => Command::Meter {
            reference: "m".into(),
            user: text(format!("u{user}")),
            interval: interval.into(),
            import: import.into(),
            export: export.into(),
        },
        Cmd::Settle { interval } => Command::Settle {
            reference: "s".into(),
            interval: interval.into(),
        },
    };
    Line {
        at: step.clock.map(|m| now + Duration::minutes(m)),
        command,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn fast_and_reference_books_agree_and_keep_the_invariants(
        fees in (select(&FEES[..]), select(&FEES[..])),
        steps in prop::collection::vec(step(), 1..250),
    ) {
        let mut markets = Differential::default();
        let start = Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).unwrap();
        let config = lumea_market::DeliveryRules {
            buyer_fee: lumea_market::Fee::parse(fees.0).unwrap(),
            seller_fee: lumea_market::Fee::parse(fees.1).unwrap(),
            ..lumea_market::DeliveryRules::default()
        };
        markets.apply(&Line { at: Some(start), command: Command::Config(config) }).map_err(TestCaseError::fail)?;
        for step in &steps {
            let line = line(step, markets.now().max(start));
            markets.apply(&line).map_err(TestCaseError::fail)?;
            if matches!(step.command, Cmd::Settle { .. }) {
                let again = markets.apply(&Line { at: None, ..line }).map_err(TestCaseError::fail)?;
                prop_assert!(!again.iter().any(|o| matches!(o, Output::Settlement(SettlementEvent::Settled { .. }))), "settling twice changed {again:?}");
            }
        }
        markets.compare_books().map_err(TestCaseError::fail)?;
        // Settled against the latest readings: every ended interval once more, well past every deadline.
        let late = markets.now().max(start) + Duration::days(3);
        for interval in INTERVALS {
            let settle = Line { at: Some(late), command: Command::Settle { reference: "final".into(), interval: interval.into() } };
            markets.apply(&settle).map_err(TestCaseError::fail)?;
        }
        markets.check_settlements().map_err(TestCaseError::fail)?;
    }
}
