//! Exact units of the market. Prices and energy are integers of their smallest
//! step, so matching never rounds; they cross every boundary as decimal strings.

use std::str::FromStr;

use rust_decimal::Decimal;

/// Splits a plain decimal numeral into its sign, whole digits and fraction
/// digits: an optional `-`, digits, and optionally a `.` followed by digits.
/// Anything else (`"abc"`, `"-"`, `""`, `"1e3"`, `"NaN"`, `"1_000"`, `"+1"`,
/// surrounding spaces) is not a number.
fn split_numeral(text: &str) -> Option<(bool, &str, &str)> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() => (whole, fraction),
        Some(_) => return None,
        None => (digits, ""),
    };
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    (!whole.is_empty() && all_digits(whole) && all_digits(fraction)).then_some((negative, whole, fraction))
}

/// A plain decimal numeral as an exact decimal.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    split_numeral(text)?;
    Decimal::from_str(text).ok()
}

/// A plain decimal numeral as a whole number of `scale`-decimal steps, or
/// `None` when it has more decimal places than that (trailing zeros aside) or
/// does not fit. Integer arithmetic only: this is the hot path of every order.
pub(crate) fn parse_steps(text: &str, scale: u32) -> Option<i128> {
    let (negative, whole, fraction) = split_numeral(text)?;
    let fraction = fraction.trim_end_matches('0');
    let places = u32::try_from(fraction.len()).ok().filter(|&places| places <= scale)?;
    let mut steps: i128 = 0;
    for digit in whole.bytes().chain(fraction.bytes()) {
        steps = steps.checked_mul(10)?.checked_add(i128::from(digit - b'0'))?;
    }
    steps = steps.checked_mul(10i128.pow(scale - places))?;
    Some(if negative { -steps } else { steps })
}

/// A price in $/kWh, held as a count of $0.0001 ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Price(#[cfg_attr(feature = "ts", ts(type = "string"))] u32);

impl Price {
    pub const SCALE: u32 = 4;
    /// $0.05/kWh: below it would be predatory pricing (product guide).
    pub const MIN: Price = Price(500);
    /// $1.00/kWh: above it would be price gouging (product guide).
    pub const MAX: Price = Price(10_000);

    /// A limit price as a household types it: a decimal within $0.05–$1.00
    /// with at most 4 decimal places.
    pub fn parse(text: &str) -> Option<Price> {
        let ticks = parse_steps(text, Self::SCALE)?;
        let price = Price(u32::try_from(ticks).ok()?);
        (Self::MIN..=Self::MAX).contains(&price).then_some(price)
    }

    pub const fn from_ticks(ticks: u32) -> Price {
        Price(ticks)
    }

    pub const fn ticks(self) -> u32 {
        self.0
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(i64::from(self.0), Self::SCALE).normalize()
    }
}

/// An amount of energy, held as a count of 0.01 kWh (10 Wh) steps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Energy(#[cfg_attr(feature = "ts", ts(type = "string"))] u64);

impl Energy {
    pub const SCALE: u32 = 2;
    pub const ZERO: Energy = Energy(0);
    /// A placed order is at least 1 kWh ...
    pub const MIN_ORDER: Energy = Energy(100);
    /// ... and at most 100 kWh, about a week of a home battery's cycling.
    pub const MAX_ORDER: Energy = Energy(10_000);

    /// The most energy an amount can state: beyond it, text is not an amount.
    pub const MAX: Energy = Energy(u64::MAX);

    /// Any non-negative amount up to `MAX` with at most 2 decimal places.
    pub fn parse(text: &str) -> Option<Energy> {
        let steps = parse_steps(text, Self::SCALE)?;
        u64::try_from(steps).ok().map(Energy)
    }

    /// The amount of a placed order: 1–100 kWh, at most 2 decimal places.
    pub fn parse_order_amount(text: &str) -> Option<Energy> {
        Self::parse(text).filter(|amount| (Self::MIN_ORDER..=Self::MAX_ORDER).contains(amount))
    }

    /// The amount of a direct purchase: more than zero, at most 2 decimal places.
    pub fn parse_purchase(text: &str) -> Option<Energy> {
        Self::parse(text).filter(|amount| *amount > Self::ZERO)
    }

    pub const fn from_centi_kwh(steps: u64) -> Energy {
        Energy(steps)
    }

    pub const fn centi_kwh(self) -> u64 {
        self.0
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0 as i64, Self::SCALE).normalize()
    }

    pub fn min(self, other: Energy) -> Energy {
        Energy(self.0.min(other.0))
    }
}

impl std::ops::Add for Energy {
    type Output = Energy;
    fn add(self, rhs: Energy) -> Energy {
        Energy(self.0 + rhs.0)
    }
}

impl std::ops::AddAssign for Energy {
    fn add_assign(&mut self, rhs: Energy) {
        self.0 += rhs.0;
    }
}

impl std::ops::Sub for Energy {
    type Output = Energy;
    /// Panics on underflow: taking more energy than there is is a logic error.
    fn sub(self, rhs: Energy) -> Energy {
        Energy(self.0.checked_sub(rhs.0).expect("energy underflow"))
    }
}

impl std::ops::SubAssign for Energy {
    fn sub_assign(&mut self, rhs: Energy) {
        *self = *self - rhs;
    }
}

impl std::iter::Sum for Energy {
    fn sum<I: Iterator<Item = Energy>>(iter: I) -> Energy {
        iter.fold(Energy::ZERO, |total, amount| total + amount)
    }
}

/// An amount of money in micro-dollars: a price (in $0.0001) times an amount
/// (in 0.01 kWh) is exactly a whole number of them. Negative for a loss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Money(#[cfg_attr(feature = "ts", ts(type = "string"))] i64);

impl Money {
    pub const SCALE: u32 = 6;
    pub const ZERO: Money = Money(0);

    /// `amount` at `price`.
    pub fn of(price: Price, amount: Energy) -> Money {
        Money(i64::from(price.ticks()) * amount.centi_kwh() as i64)
    }

    pub const fn from_micros(micros: i64) -> Money {
        Money(micros)
    }

    pub const fn micros(self) -> i64 {
        self.0
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, Self::SCALE).normalize()
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        Money(iter.map(|m| m.0).sum())
    }
}

/// A unit that crosses every boundary as its decimal string (`to_decimal`).
macro_rules! decimal_text {
    ($unit:ty) => {
        impl std::fmt::Display for $unit {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&self.to_decimal(), f)
            }
        }

        impl serde::Serialize for $unit {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
    };
}
pub(crate) use decimal_text;
decimal_text!(Price);
decimal_text!(Energy);
decimal_text!(Money);

/// The UI's copy of the input limits (`ui/src/bindings/limits.ts`), generated
/// with the other bindings so the two sides cannot drift.
#[cfg(feature = "ts")]
pub fn limits_module() -> String {
    let constants = [
        ("PRICE_SCALE", "Prices are whole $0.0001 ticks.", Price::SCALE.to_string()),
        ("ENERGY_SCALE", "Energy is whole 0.01 kWh steps.", Energy::SCALE.to_string()),
        (
            "MONEY_SCALE",
            "Money is whole $0.000001 (a price tick times an energy step).",
            Money::SCALE.to_string(),
        ),
        (
            "MIN_PRICE",
            "The lowest price an order may carry, in ticks ($0.05/kWh).",
            format!("{}n", Price::MIN.ticks()),
        ),
        (
            "MAX_PRICE",
            "The highest price an order may carry, in ticks ($1.00/kWh).",
            format!("{}n", Price::MAX.ticks()),
        ),
        (
            "MIN_ORDER",
            "The smallest order, in steps (1 kWh).",
            format!("{}n", Energy::MIN_ORDER.centi_kwh()),
        ),
        (
            "MAX_ORDER",
            "The largest order, in steps (100 kWh).",
            format!("{}n", Energy::MAX_ORDER.centi_kwh()),
        ),
        (
            "MAX_ENERGY",
            "The most energy an amount can state, in steps: beyond it, text is not an amount.",
            format!("{}n", Energy::MAX.centi_kwh()),
        ),
    ];
    let mut module =
        String::from("// Generated from the Rust market rules (lumea-market); do not edit by hand.\n// Regenerate: scripts/bindings.sh\n");
    for (name, doc, value) in constants {
        module.push_str(&format!("\n/** {doc} */\nexport const {name} = {value};\n"));
    }
    module
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_decimals_parse_and_everything_else_does_not() {
        for good in ["0", "1", "0.16", "-3", "100.00", "007.50"] {
            assert!(parse_decimal(good).is_some(), "{good}");
        }
        for bad in [
            "", "-", "abc", ".5", "5.", "1e3", "NaN", "inf", " 1", "1 ", "+1", "1_000", "1.2.3", "--1", "0x10",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn steps_are_exact_and_refuse_what_does_not_fit() {
        assert_eq!(parse_steps("0.1600", 4), Some(1600));
        assert_eq!(parse_steps("-12.5", 2), Some(-1250));
        assert_eq!(parse_steps("000000000000000000000000000000000000000001", 2), Some(100));
        assert_eq!(parse_steps("0.001", 2), None);
        assert_eq!(parse_steps("99999999999999999999999999999999999999999", 0), None);
    }

    #[test]
    fn price_accepts_the_range_with_four_decimals() {
        assert_eq!(Price::parse("0.05"), Some(Price::MIN));
        assert_eq!(Price::parse("1.00"), Some(Price::MAX));
        assert_eq!(Price::parse("1"), Some(Price::MAX));
        assert_eq!(Price::parse("0.1234"), Some(Price::from_ticks(1234)));
        // Trailing zeros do not count as decimal places: the value is what matters.
        assert_eq!(Price::parse("0.160000"), Some(Price::from_ticks(1600)));
    }

    #[test]
    fn price_rejects_out_of_range_over_precise_and_non_numbers() {
        for bad in [
            "0.0499",
            "1.0001",
            "0",
            "-0.16",
            "0.12345",
            "abc",
            "",
            "-",
            "99999999999999999999999999999",
        ] {
            assert_eq!(Price::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn order_amount_is_one_to_one_hundred_kwh_with_two_decimals() {
        assert_eq!(Energy::parse_order_amount("1"), Some(Energy::MIN_ORDER));
        assert_eq!(Energy::parse_order_amount("100"), Some(Energy::MAX_ORDER));
        assert_eq!(Energy::parse_order_amount("12.34"), Some(Energy::from_centi_kwh(1234)));
        for bad in ["0.99", "100.01", "1.234", "0", "-5", "abc", ""] {
            assert_eq!(Energy::parse_order_amount(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn purchase_amount_is_positive_with_two_decimals() {
        assert_eq!(Energy::parse_purchase("0.01"), Some(Energy::from_centi_kwh(1)));
        assert_eq!(Energy::parse_purchase("4.5"), Some(Energy::from_centi_kwh(450)));
        for bad in ["0", "0.00", "-1", "0.001", "x"] {
            assert_eq!(Energy::parse_purchase(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn money_is_price_times_amount_exactly() {
        let cost = Money::of(Price::from_ticks(1600), Energy::from_centi_kwh(450));
        assert_eq!(cost.to_string(), "0.72");
        assert_eq!(Money::of(Price::from_ticks(1234), Energy::from_centi_kwh(1)).to_string(), "0.001234");
        assert_eq!((Money::ZERO - cost).to_string(), "-0.72");
    }

    #[test]
    fn units_print_as_normalised_decimal_strings() {
        assert_eq!(Price::from_ticks(1600).to_string(), "0.16");
        assert_eq!(Price::from_ticks(10_000).to_string(), "1");
        assert_eq!(Energy::from_centi_kwh(1000).to_string(), "10");
        assert_eq!(Energy::from_centi_kwh(450).to_string(), "4.5");
        assert_eq!(serde_json::to_string(&Price::from_ticks(1234)).unwrap(), "\"0.1234\"");
    }

    #[cfg(feature = "ts")]
    #[test]
    fn export_bindings_limits() {
        let dir = std::env::var("TS_RS_EXPORT_DIR").expect("TS_RS_EXPORT_DIR is set in .cargo/config.toml");
        std::fs::write(std::path::Path::new(&dir).join("limits.ts"), limits_module()).unwrap();
    }
}
