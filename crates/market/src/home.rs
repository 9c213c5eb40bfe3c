//! The household's home as it sets it up on first run: a display name, where
//! it is (coarsened, as every stored location), its battery, its solar array
//! and how it likes figures written. The form arrives as text; `Home::parse`
//! is the one place it is checked, and the first failing field decides the code.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use crate::ErrorCode;
use crate::geo::Location;
use crate::names;
use crate::units::{Energy, parse_decimal};

/// The household's home as the setup form has it: text, as typed; the saved
/// home comes back the same way, its location coarsened to about 100 m.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct HomeSettings {
    pub display_name: String,
    /// "latitude, longitude" in decimal degrees, as typed or pasted.
    pub location: String,
    /// kWh; `null`: no battery.
    pub battery_capacity: Option<String>,
    /// kWh stored now; `null` with no battery.
    pub battery_level: Option<String>,
    /// The solar array's peak power in kWp; `null`: none or not known.
    pub pv_kwp: Option<String>,
    /// A BCP 47 language tag for formatting, such as "en-GB".
    pub locale: String,
    /// An ISO 4217 currency code, such as "GBP".
    pub currency: String,
}

/// A checked home.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Home {
    pub display_name: String,
    pub location: Location,
    /// Capacity and level; `None`: no battery.
    pub battery: Option<(Energy, Energy)>,
    pub pv_kwp: Option<Decimal>,
    pub locale: String,
    pub currency: String,
}

/// The largest home battery taken: 100 kWh, several stacked home units.
pub const MAX_BATTERY: Energy = Energy::from_centi_kwh(10_000);

/// The largest rooftop array taken, in kWp.
const MAX_PV_KWP: i64 = 100;

impl Home {
    /// Checks the form field by field, in the form's order.
    pub fn parse(form: &HomeSettings) -> Result<Home, ErrorCode> {
        let display_name = names::display_name(&form.display_name).ok_or(ErrorCode::InvalidUsername)?;
        let location = parse_location(&form.location).ok_or(ErrorCode::InvalidLocation)?;
        let battery = match (blank(&form.battery_capacity), blank(&form.battery_level)) {
            (None, None) => None,
            (Some(capacity), Some(level)) => Some(parse_battery(capacity, level).ok_or(ErrorCode::InvalidBattery)?),
            _ => return Err(ErrorCode::InvalidBattery),
        };
        let pv_kwp = match blank(&form.pv_kwp) {
            None => None,
            Some(text) => Some(parse_pv(text).ok_or(ErrorCode::InvalidPvSize)?),
        };
        let locale = parse_locale(form.locale.trim()).ok_or(ErrorCode::InvalidLocale)?;
        let currency = form.currency.trim();
        if !(currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase())) {
            return Err(ErrorCode::InvalidCurrency);
        }
        Ok(Home {
            display_name,
            location,
            battery,
            pv_kwp,
            locale,
            currency: currency.to_string(),
        })
    }

    /// The home as the form shows it again (the location as stored, coarse).
    pub fn settings(&self) -> HomeSettings {
        HomeSettings {
            display_name: self.display_name.clone(),
            location: format!("{:.3}, {:.3}", self.location.lat(), self.location.lng()),
            battery_capacity: self.battery.map(|(capacity, _)| capacity.to_string()),
            battery_level: self.battery.map(|(_, level)| level.to_string()),
            pv_kwp: self.pv_kwp.map(|kwp| kwp.normalize().to_string()),
            locale: self.locale.clone(),
            currency: self.currency.clone(),
        }
    }
}

fn blank(field: &Option<String>) -> Option<&str> {
    field.as_deref().map(str::trim).filter(|text| !text.is_empty())
}

/// Two decimal degrees, latitude first, as people type or paste them:
/// "51.5072, -0.1276", "51.5072 -0.1276" or "51.5072° N, 0.1276° W".
fn parse_location(text: &str) -> Option<Location> {
    let parts: Vec<&str> = text.split([',', ';', ' ']).filter(|part| !part.is_empty()).collect();
    let (lat, lng) = match parts.as_slice() {
        [lat, lng] => (degrees(lat, 'N', 'S')?, degrees(lng, 'E', 'W')?),
        // "51.5072° N, 0.1276° W": each hemisphere letter a word of its own.
        [lat, ns, lng, ew] => (degrees(&format!("{lat}{ns}"), 'N', 'S')?, degrees(&format!("{lng}{ew}"), 'E', 'W')?),
        _ => return None,
    };
    Location::coarse(lat, lng)
}

/// A signed decimal, or an unsigned one with its hemisphere letter after it.
fn degrees(text: &str, positive: char, negative: char) -> Option<f64> {
    let upper = text.to_ascii_uppercase();
    let (number, hemisphere) = match (upper.strip_suffix(positive), upper.strip_suffix(negative)) {
        (Some(number), _) => (number, Some(1.0)),
        (_, Some(number)) => (number, Some(-1.0)),
        _ => (upper.as_str(), None),
    };
    let number = number.trim_end_matches('°');
    let value = parse_decimal(number)?.to_f64()?;
    match hemisphere {
        None => Some(value),
        // A hemisphere letter goes with an unsigned number only.
        Some(_) if number.starts_with('-') => None,
        Some(sign) => Some(sign * value),
    }
}

fn parse_battery(capacity: &str, level: &str) -> Option<(Energy, Energy)> {
    let capacity = Energy::parse(capacity).filter(|c| *c > Energy::ZERO && *c <= MAX_BATTERY)?;
    let level = Energy::parse(level).filter(|l| *l <= capacity)?;
    Some((capacity, level))
}

fn parse_pv(text: &str) -> Option<Decimal> {
    let kwp = parse_decimal(text)?;
    (kwp > Decimal::ZERO && kwp <= Decimal::from(MAX_PV_KWP) && kwp.normalize().scale() <= 2).then_some(kwp.normalize())
}

/// A language tag as the formatting needs it: language, then optionally a
/// script and a region ("en", "en-GB", "zh-Hant-TW", "es-419"), normalised to
/// the usual case.
fn parse_locale(text: &str) -> Option<String> {
    let mut parts = text.split(['-', '_']);
    let language = parts
        .next()
        .filter(|l| (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphabetic()))?;
    let mut tag = language.to_ascii_lowercase();
    let mut rest: Vec<&str> = parts.collect();
    if let Some(script) = rest.first().filter(|s| s.len() == 4 && s.bytes().all(|b| b.is_ascii_alphabetic())) {
        tag.push('-');
        tag.push_str(&script[..1].to_ascii_uppercase());
        tag.push_str(&script[1..].to_ascii_lowercase());
        rest.remove(0);
    }
    match rest.as_slice() {
        [] => {}
        [region] if region.len() == 2 && region.bytes().all(|b| b.is_ascii_alphabetic()) => {
            tag.push('-');
            tag.push_str(&region.to_ascii_uppercase());
        }
        [region] if region.len() == 3 && region.bytes().all(|b| b.is_ascii_digit()) => {
            tag.push('-');
            tag.push_str(region);
        }
        _ => return None,
    }
    Some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> HomeSettings {
        HomeSettings {
            display_name: "  Ada ".into(),
            location: "51.50722, -0.12758".into(),
            battery_capacity: Some("13.5".into()),
            battery_level: Some("6.75".into()),
            pv_kwp: Some("4.20".into()),
            locale: "en_gb".into(),
            currency: "GBP".into(),
        }
    }

    #[test]
    fn a_home_is_stored_coarse_and_normalised() {
        let home = Home::parse(&form()).unwrap();
        assert_eq!(home.location.grid(), (51_507, -128));
        assert_eq!(
            home.settings(),
            HomeSettings {
                display_name: "Ada".into(),
                location: "51.507, -0.128".into(),
                battery_capacity: Some("13.5".into()),
                battery_level: Some("6.75".into()),
                pv_kwp: Some("4.2".into()),
                locale: "en-GB".into(),
                currency: "GBP".into(),
            }
        );
        // What it shows parses to the same home: saving it again changes nothing.
        assert_eq!(Home::parse(&home.settings()).unwrap(), home);
    }

    /// One case of tests/fixtures/home-cases.json, which the UI's checks run too.
    #[derive(Deserialize)]
    struct Case {
        why: String,
        change: serde_json::Map<String, serde_json::Value>,
        home: Option<HomeSettings>,
        code: Option<ErrorCode>,
    }

    #[derive(Deserialize)]
    struct Table {
        base: HomeSettings,
        cases: Vec<Case>,
    }

    #[test]
    fn the_shared_cases_are_stored_or_refused_as_the_ui_expects() {
        let table: Table = serde_json::from_str(include_str!("../../../tests/fixtures/home-cases.json")).unwrap();
        assert!(table.cases.len() >= 40);
        for case in table.cases {
            let mut form = serde_json::to_value(&table.base).unwrap();
            for (field, value) in case.change {
                form[field] = value;
            }
            let form: HomeSettings = serde_json::from_value(form).unwrap();
            let outcome = Home::parse(&form).map(|home| home.settings());
            match (case.home, case.code) {
                (Some(home), None) => assert_eq!(outcome, Ok(home), "{}", case.why),
                (None, Some(code)) => assert_eq!(outcome, Err(code), "{}", case.why),
                _ => panic!("{}: a case has a home or a code", case.why),
            }
        }
    }
}
