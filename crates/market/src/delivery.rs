//! Delivery intervals and their settlement: every dated trade is a contract for
//! one interval, and what is paid is what the meters say was delivered.
//!
//! All energy here is in whole watt-hours (meters read to the Wh), all money in
//! whole micro-dollars. Time is always passed in.

use std::collections::HashMap;

use chrono::{DateTime, Duration, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::order::{Trade, UserId};
use crate::rules::Reason;
use crate::units::{Energy, Money, Price, decimal_text, parse_steps};

/// A fee in $/kWh on delivered energy, in $0.0001 ticks like a price.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Fee(#[cfg_attr(feature = "ts", ts(type = "string"))] u32);

impl Fee {
    pub const ZERO: Fee = Fee(0);
    /// At most the lowest price an order may carry, so a seller never pays to sell.
    pub const MAX: Fee = Fee(Price::MIN.ticks());

    /// $0–$0.05 per kWh with at most 4 decimal places.
    pub fn parse(text: &str) -> Option<Fee> {
        let ticks = u32::try_from(parse_steps(text, Price::SCALE)?).ok()?;
        (ticks <= Self::MAX.0).then_some(Fee(ticks))
    }

    pub const fn from_ticks(ticks: u32) -> Fee {
        Fee(ticks)
    }

    pub const fn ticks(self) -> u32 {
        self.0
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(i64::from(self.0), Price::SCALE).normalize()
    }
}

/// Energy as meters count it: whole watt-hours.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct WattHours(#[cfg_attr(feature = "ts", ts(type = "string"))] u64);

impl WattHours {
    pub const ZERO: WattHours = WattHours(0);
    pub const SCALE: u32 = 3;
    /// The most a reading may state in one interval: 10,000 kWh.
    pub const MAX_READING: WattHours = WattHours(10_000_000);

    /// A reading's value: 0–10,000 kWh with at most 3 decimal places.
    pub fn parse_reading(text: &str) -> Option<WattHours> {
        let wh = u64::try_from(parse_steps(text, Self::SCALE)?).ok()?;
        (wh <= Self::MAX_READING.0).then_some(WattHours(wh))
    }

    pub const fn from_wh(wh: u64) -> WattHours {
        WattHours(wh)
    }

    pub const fn wh(self) -> u64 {
        self.0
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0 as i64, Self::SCALE).normalize()
    }
}

impl From<Energy> for WattHours {
    fn from(energy: Energy) -> WattHours {
        WattHours(energy.centi_kwh() * 10)
    }
}

decimal_text!(Fee);
decimal_text!(WattHours);

/// A market's delivery parameters: how long an interval is, how far ahead it
/// opens, when its book closes, how long meters have to report, and the fees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct DeliveryRules {
    pub interval_minutes: u32,
    pub open_hours_ahead: u32,
    pub gate_closure_minutes: u32,
    pub settlement_deadline_hours: u32,
    pub buyer_fee: Fee,
    pub seller_fee: Fee,
}

impl Default for DeliveryRules {
    fn default() -> Self {
        DeliveryRules {
            interval_minutes: 15,
            open_hours_ahead: 24,
            gate_closure_minutes: 5,
            settlement_deadline_hours: 48,
            buyer_fee: Fee::ZERO,
            seller_fee: Fee::ZERO,
        }
    }
}

impl DeliveryRules {
    /// Whether every parameter is in range: an interval divides the day (so
    /// intervals start at the same clock times every day), the gate closes at
    /// most a day ahead, a book opens 1 hour to a week ahead, meters have 1 to
    /// 30 days to report.
    pub fn is_valid(&self) -> bool {
        (1..=1440).contains(&self.interval_minutes)
            && 1440 % self.interval_minutes == 0
            && (1..=168).contains(&self.open_hours_ahead)
            && self.gate_closure_minutes <= 1440
            && (1..=720).contains(&self.settlement_deadline_hours)
            && self.buyer_fee <= Fee::MAX
            && self.seller_fee <= Fee::MAX
    }

    pub fn interval_length(&self) -> TimeDelta {
        Duration::minutes(i64::from(self.interval_minutes))
    }

    /// The start of a delivery interval, from its text: an RFC 3339 time on a
    /// whole multiple of the interval length since the Unix epoch.
    pub fn parse_interval(&self, text: &str) -> Result<DateTime<Utc>, Reason> {
        let start = DateTime::parse_from_rfc3339(text).map_err(|_| Reason::InvalidInterval)?.to_utc();
        self.check_aligned(start)?;
        Ok(start)
    }

    pub fn check_aligned(&self, start: DateTime<Utc>) -> Result<(), Reason> {
        let length = i64::from(self.interval_minutes) * 60;
        let aligned = start.timestamp_subsec_nanos() == 0 && start.timestamp().rem_euclid(length) == 0;
        aligned.then_some(()).ok_or(Reason::InvalidInterval)
    }

    /// When the book of the interval starting at `start` closes.
    pub fn gate_closure(&self, start: DateTime<Utc>) -> DateTime<Utc> {
        start - Duration::minutes(i64::from(self.gate_closure_minutes))
    }

    pub fn end(&self, start: DateTime<Utc>) -> DateTime<Utc> {
        start + self.interval_length()
    }

    /// After it, a missing meter reading counts as zero.
    pub fn settlement_deadline(&self, start: DateTime<Utc>) -> DateTime<Utc> {
        self.end(start) + Duration::hours(i64::from(self.settlement_deadline_hours))
    }

    /// Whether orders for the interval starting at `start` may be placed at `now`.
    pub fn check_open(&self, start: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), Reason> {
        if now >= self.gate_closure(start) {
            return Err(Reason::IntervalClosed);
        }
        if start - now > Duration::hours(i64::from(self.open_hours_ahead)) {
            return Err(Reason::IntervalNotOpen);
        }
        Ok(())
    }

    /// Whether the interval starting at `start` has ended at `now`.
    pub fn check_ended(&self, start: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), Reason> {
        (now >= self.end(start)).then_some(()).ok_or(Reason::IntervalNotEnded)
    }

    /// The first interval whose book is still open at `now`.
    pub fn next_open(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let length = i64::from(self.interval_minutes) * 60;
        let after_gate = now.timestamp() + i64::from(self.gate_closure_minutes) * 60;
        // The first aligned start strictly after now + gate closure.
        let start = (after_gate.div_euclid(length) + 1) * length;
        DateTime::from_timestamp(start, 0).expect("a start within chrono's range")
    }

    /// The next `count` intervals whose books are open at `now`, earliest first.
    pub fn open_intervals(&self, now: DateTime<Utc>, count: usize) -> Vec<IntervalView> {
        let first = self.next_open(now);
        (0..count)
            .map(|i| first + self.interval_length() * i32::try_from(i).unwrap_or(i32::MAX))
            .take_while(|&start| self.check_open(start, now).is_ok())
            .map(|start| IntervalView {
                start,
                end: self.end(start),
                closes_at: self.gate_closure(start),
            })
            .collect()
    }

    /// When an open order leaves the book unfilled: its own expiry or its interval's gate closure, whichever is first.
    pub fn closes_at(&self, expires_at: Option<DateTime<Utc>>, interval: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
        let gate = interval.map(|start| self.gate_closure(start));
        match (expires_at, gate) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A delivery interval as the app offers it: "Delivery 12:15–12:30 · closes 12:10".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct IntervalView {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
}

/// A household's metered energy at its grid connection in one interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Reading {
    /// Drawn from the grid connection.
    pub import: WattHours,
    /// Fed into it.
    pub export: WattHours,
}

impl Reading {
    pub fn parse(import: &str, export: &str) -> Result<Reading, Reason> {
        let value = |text| WattHours::parse_reading(text).ok_or(Reason::InvalidReading);
        Ok(Reading {
            import: value(import)?,
            export: value(export)?,
        })
    }
}

/// A dated trade, as settlement sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contract {
    pub trade: String,
    pub buyer: UserId,
    pub seller: UserId,
    pub price: Price,
    pub amount: WattHours,
}

impl Contract {
    pub fn of(trade: &Trade) -> Contract {
        Contract {
            trade: trade.id.to_string(),
            buyer: trade.buyer.clone(),
            seller: trade.seller.clone(),
            price: trade.price,
            amount: trade.amount.into(),
        }
    }
}

/// What a settled trade delivered and what it paid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Figures {
    pub delivered: WattHours,
    pub buyer_pays: Money,
    pub seller_receives: Money,
}

impl Figures {
    /// The operator's fees: what the buyer paid beyond what the seller received.
    pub fn fees(&self) -> Money {
        self.buyer_pays - self.seller_receives
    }
}

/// `delivered` at `ticks` ($0.0001/kWh) in whole micro-dollars, rounded half to even.
pub fn value(delivered: WattHours, ticks: u32) -> Money {
    // Wh × $0.0001/kWh = $10⁻⁷: tenths of a micro-dollar.
    let tenths = i128::from(delivered.0) * i128::from(ticks);
    let (whole, rest) = (tenths / 10, tenths % 10);
    let rounded = if rest > 5 || (rest == 5 && whole % 2 == 1) { whole + 1 } else { whole };
    Money::from_micros(i64::try_from(rounded).expect("a trade's value fits in i64 micro-dollars"))
}

/// Per household: contracted sales and purchases in one interval.
#[derive(Clone, Copy, Debug, Default)]
struct Contracted {
    sold: u64,
    bought: u64,
}

/// `floor(amount × metered / contracted)`: a household's metered energy shared
/// pro rata over its contracts.
fn share(amount: u64, metered: WattHours, contracted: u64) -> u64 {
    let share = u128::from(amount) * u128::from(metered.0) / u128::from(contracted);
    u64::try_from(share).expect("a share is at most its metered energy")
}

/// Settles one interval's contracts: `Some(figures)` for each settleable
/// trade, `None` for one still waiting for a reading. A trade is settleable
/// when both readings are present, or once `past_deadline` (a missing reading
/// then counts as zero). Delivered energy is the smaller side's pro-rata share
/// of what it metered, never more than contracted.
pub fn settle(
    contracts: &[Contract],
    reading: impl Fn(&UserId) -> Option<Reading>,
    past_deadline: bool,
    rules: &DeliveryRules,
) -> Vec<Option<Figures>> {
    let mut contracted: HashMap<&UserId, Contracted> = HashMap::new();
    for c in contracts {
        contracted.entry(&c.seller).or_default().sold += c.amount.0;
        contracted.entry(&c.buyer).or_default().bought += c.amount.0;
    }
    contracts
        .iter()
        .map(|c| {
            let (seller, buyer) = (reading(&c.seller), reading(&c.buyer));
            if !past_deadline && (seller.is_none() || buyer.is_none()) {
                return None;
            }
            let (seller, buyer) = (seller.unwrap_or_default(), buyer.unwrap_or_default());
            let a = c.amount.0;
            let by_seller = share(a, seller.export, contracted[&c.seller].sold);
            let by_buyer = share(a, buyer.import, contracted[&c.buyer].bought);
            let delivered = WattHours(a.min(by_seller).min(by_buyer));
            let energy = value(delivered, c.price.ticks());
            Some(Figures {
                delivered,
                buyer_pays: energy + value(delivered, rules.buyer_fee.ticks()),
                seller_receives: energy - value(delivered, rules.seller_fee.ticks()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, hour, minute, 0).unwrap()
    }

    fn contract(trade: &str, buyer: &str, seller: &str, ticks: u32, wh: u64) -> Contract {
        Contract {
            trade: trade.into(),
            buyer: buyer.into(),
            seller: seller.into(),
            price: Price::from_ticks(ticks),
            amount: WattHours(wh),
        }
    }

    fn reading(import: u64, export: u64) -> Reading {
        Reading {
            import: WattHours(import),
            export: WattHours(export),
        }
    }

    #[test]
    fn intervals_are_aligned_rfc3339_times() {
        let rules = DeliveryRules::default();
        assert_eq!(rules.parse_interval("2026-06-01T12:15:00Z"), Ok(at(12, 15)));
        assert_eq!(rules.parse_interval("2026-06-01T14:15:00+02:00"), Ok(at(12, 15)));
        for bad in [
            "2026-06-01T12:10:00Z",
            "2026-06-01T12:15:01Z",
            "2026-06-01T12:15:00.5Z",
            "noon",
            "",
            "2026-06-01",
        ] {
            assert_eq!(rules.parse_interval(bad), Err(Reason::InvalidInterval), "{bad}");
        }
        let half_hours = DeliveryRules {
            interval_minutes: 30,
            ..rules
        };
        assert_eq!(half_hours.parse_interval("2026-06-01T12:15:00Z"), Err(Reason::InvalidInterval));
    }

    #[test]
    fn a_book_opens_a_day_ahead_and_closes_five_minutes_before_delivery() {
        let rules = DeliveryRules::default();
        let start = at(12, 0);
        assert_eq!(rules.check_open(start, at(11, 54)), Ok(()));
        assert_eq!(rules.check_open(start, at(11, 55)), Err(Reason::IntervalClosed));
        assert_eq!(rules.check_open(start, start - Duration::hours(24)), Ok(()));
        let early = start - Duration::hours(24) - Duration::seconds(1);
        assert_eq!(rules.check_open(start, early), Err(Reason::IntervalNotOpen));
        assert_eq!(rules.next_open(at(11, 54)), at(12, 0));
        assert_eq!(rules.next_open(at(11, 55)), at(12, 15));
        assert_eq!(rules.next_open(at(11, 50)), at(12, 0));
        assert_eq!(rules.check_ended(start, at(12, 14)), Err(Reason::IntervalNotEnded));
        assert_eq!(rules.check_ended(start, at(12, 15)), Ok(()));
        assert_eq!(rules.settlement_deadline(start), at(12, 15) + Duration::hours(48));
        let offered = rules.open_intervals(at(11, 56), 3);
        assert_eq!(offered.iter().map(|i| i.start).collect::<Vec<_>>(), [at(12, 15), at(12, 30), at(12, 45)]);
        assert_eq!((offered[0].end, offered[0].closes_at), (at(12, 30), at(12, 10)));
        // Never beyond the horizon: from 12:15 to 11:45 the next day, the last start within 24 hours of 11:56.
        let day = rules.open_intervals(at(11, 56), 200);
        assert_eq!((day.len(), day.last().unwrap().start), (95, at(11, 45) + Duration::days(1)));
    }

    #[test]
    fn an_order_closes_at_its_expiry_or_its_gate_whichever_is_first() {
        let rules = DeliveryRules::default();
        assert_eq!(rules.closes_at(None, None), None);
        assert_eq!(rules.closes_at(Some(at(9, 0)), None), Some(at(9, 0)));
        assert_eq!(rules.closes_at(None, Some(at(12, 0))), Some(at(11, 55)));
        assert_eq!(rules.closes_at(Some(at(9, 0)), Some(at(12, 0))), Some(at(9, 0)));
        assert_eq!(rules.closes_at(Some(at(11, 58)), Some(at(12, 0))), Some(at(11, 55)));
    }

    #[test]
    fn parameters_have_ranges() {
        let rules = DeliveryRules::default();
        assert!(rules.is_valid());
        for bad in [
            DeliveryRules {
                interval_minutes: 7,
                ..rules
            },
            DeliveryRules {
                interval_minutes: 0,
                ..rules
            },
            DeliveryRules {
                open_hours_ahead: 0,
                ..rules
            },
            DeliveryRules {
                gate_closure_minutes: 1441,
                ..rules
            },
            DeliveryRules {
                settlement_deadline_hours: 0,
                ..rules
            },
            DeliveryRules {
                buyer_fee: Fee(501),
                ..rules
            },
        ] {
            assert!(!bad.is_valid(), "{bad:?}");
        }
        assert_eq!(Fee::parse("0.005"), Some(Fee(50)));
        assert_eq!(Fee::parse("0"), Some(Fee::ZERO));
        for bad in ["-0.01", "0.00001", "0.0501", "x"] {
            assert_eq!(Fee::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn readings_are_up_to_ten_thousand_kwh_to_the_watt_hour() {
        assert_eq!(Reading::parse("0", "8"), Ok(reading(0, 8000)));
        assert_eq!(Reading::parse("1.234", "10000"), Ok(reading(1234, 10_000_000)));
        for (import, export) in [("-1", "0"), ("0.0001", "0"), ("0", "10000.001"), ("", "0"), ("0", "abc")] {
            assert_eq!(Reading::parse(import, export), Err(Reason::InvalidReading), "{import} {export}");
        }
    }

    #[test]
    fn value_rounds_each_term_half_to_even() {
        assert_eq!(value(WattHours(8000), 1600).micros(), 1_280_000);
        // 1 Wh at $0.0005 is 0.5 µ$: to the even 0; 3 Wh is 1.5 µ$: to 2.
        assert_eq!(value(WattHours(1), 5).micros(), 0);
        assert_eq!(value(WattHours(3), 5).micros(), 2);
        assert_eq!(value(WattHours(1), 16).micros(), 2);
        assert_eq!(value(WattHours(1), 14).micros(), 1);
    }

    #[test]
    fn the_issue_example_pays_what_was_delivered_with_fees() {
        let rules = DeliveryRules {
            buyer_fee: Fee(100),
            seller_fee: Fee(50),
            ..DeliveryRules::default()
        };
        let contracts = [contract("charlie-1/alice-1", "charlie", "alice", 1600, 10_000)];
        let readings = |user: &UserId| match user.as_str() {
            "alice" => Some(reading(0, 8000)),
            "charlie" => Some(reading(20_000, 0)),
            _ => None,
        };
        let figures = settle(&contracts, readings, false, &rules)[0].unwrap();
        assert_eq!(figures.delivered, WattHours(8000));
        assert_eq!(figures.buyer_pays.to_string(), "1.36");
        assert_eq!(figures.seller_receives.to_string(), "1.24");
        assert_eq!(figures.fees().to_string(), "0.12");
    }

    #[test]
    fn a_missing_reading_waits_until_the_deadline_then_counts_as_zero() {
        let rules = DeliveryRules::default();
        let contracts = [contract("b/a", "bob", "alice", 1600, 5000)];
        let readings = |user: &UserId| (user.as_str() == "alice").then(|| reading(0, 5000));
        assert_eq!(settle(&contracts, readings, false, &rules), [None]);
        let late = settle(&contracts, readings, true, &rules)[0].unwrap();
        assert_eq!((late.delivered, late.buyer_pays), (WattHours::ZERO, Money::ZERO));
    }

    #[test]
    fn shortfalls_are_shared_pro_rata_and_the_smaller_side_decides() {
        let rules = DeliveryRules::default();
        // Alice sold 6 + 4 kWh but exported 5: each buyer gets half.
        // Bob imported only 2 of the 4 he bought: his trade delivers 2.
        let contracts = [contract("c/a", "carol", "alice", 1600, 6000), contract("b/a", "bob", "alice", 1600, 4000)];
        let readings = |user: &UserId| {
            Some(match user.as_str() {
                "alice" => reading(0, 5000),
                "bob" => reading(2000, 0),
                _ => reading(9000, 0),
            })
        };
        let delivered: Vec<u64> = settle(&contracts, readings, false, &rules)
            .into_iter()
            .map(|f| f.unwrap().delivered.0)
            .collect();
        assert_eq!(delivered, [3000, 2000]);
    }
}
