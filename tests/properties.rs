//! Property tests over random command streams: the fast book and the naive
//! reference book must produce identical events, and the market's invariants
//! must hold after every command.

use std::borrow::Cow;

use chrono::{DateTime, Duration, TimeZone, Utc};
use lumea::check::Differential;
use lumea::replay::{Command, Line};
use lumea_market::Side;
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
}

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
    let command = prop_oneof![
        5 => (id.clone(), user.clone(), side, select(&PRICES[..]), select(&AMOUNTS[..]), proptest::option::weighted(0.2, -2i64..20))
            .prop_map(|(id, user, side, price, amount, expires_in)| Cmd::Place { id, user, side, price, amount, expires_in }),
        2 => (id.clone(), user.clone()).prop_map(|(id, user)| Cmd::Cancel { id, user }),
        2 => (id, user, select(&PURCHASES[..]), proptest::option::of(select(&HEADROOMS[..])))
            .prop_map(|(id, user, amount, headroom)| Cmd::Buy { id, user, amount, headroom }),
        1 => Just(Cmd::Expire),
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
        } => Command::Place {
            id: text(format!("o{id}")),
            user: text(format!("u{user}")),
            side,
            price: price.into(),
            amount: amount.into(),
            expires_at: expires_in.map(|m| now + Duration::minutes(m)),
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
    };
    Line {
        at: step.clock.map(|m| now + Duration::minutes(m)),
        command,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn fast_and_reference_books_agree_and_keep_the_invariants(steps in prop::collection::vec(step(), 1..250)) {
        let mut markets = Differential::default();
        let start = Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).unwrap();
        for step in &steps {
            let line = line(step, markets.now().max(start));
            markets.apply(&line).map_err(TestCaseError::fail)?;
        }
        markets.compare_books().map_err(TestCaseError::fail)?;
    }
}
