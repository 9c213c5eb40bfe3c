//! The operator's console, for a community's active admins: its members with
//! their activity, its invitations, its settings. Every call is a database
//! function that checks the caller's admin membership of that community; these
//! types check what it answers and are what crosses to the UI.

use chrono::{DateTime, Utc};
use lumea_market::energy::{Co2Intensity, GridPrices};
use lumea_market::{Energy, Price};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::wire::{MemberRole, MembershipStatus, Numeric, Timestamp};

/// What `community_members` and `manage_member` answer for a member.
#[derive(Clone, Debug, Deserialize)]
pub struct MemberRow {
    pub membership_id: Uuid,
    pub display_name: String,
    pub role: MemberRole,
    pub status: MembershipStatus,
    pub joined_at: Timestamp,
    pub approved_at: Option<Timestamp>,
    pub open_orders: i64,
    pub trades: i64,
    pub bought_kwh: Numeric,
    pub sold_kwh: Numeric,
    pub last_trade_at: Option<Timestamp>,
}

/// A member as the console shows it: no user id, e-mail or home.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct MemberView {
    pub membership_id: String,
    pub display_name: String,
    pub role: MemberRole,
    pub status: MembershipStatus,
    pub joined_at: DateTime<Utc>,
    pub approved_at: Option<DateTime<Utc>>,
    pub open_orders: u32,
    pub trades: u32,
    pub bought: Energy,
    pub sold: Energy,
    pub last_trade_at: Option<DateTime<Utc>>,
}

impl MemberRow {
    pub fn check(self) -> Result<MemberView, String> {
        let energy = |value: Numeric| Energy::parse(&value.0.to_string()).ok_or_else(|| format!("{} kWh is not an amount", value.0));
        let count = |value: i64| u32::try_from(value).map_err(|_| format!("{value} is not a count"));
        Ok(MemberView {
            membership_id: self.membership_id.to_string(),
            display_name: self.display_name,
            role: self.role,
            status: self.status,
            joined_at: self.joined_at.0,
            approved_at: self.approved_at.map(|at| at.0),
            open_orders: count(self.open_orders)?,
            trades: count(self.trades)?,
            bought: energy(self.bought_kwh)?,
            sold: energy(self.sold_kwh)?,
            last_trade_at: self.last_trade_at.map(|at| at.0),
        })
    }
}

/// What the invitation functions answer; the token only when one is made.
#[derive(Clone, Debug, Deserialize)]
pub struct InvitationRow {
    pub invitation_id: Uuid,
    pub role: MemberRole,
    pub pre_approved: bool,
    pub uses_left: u32,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub made_by: Option<String>,
    #[serde(default)]
    pub token: Option<String>,
}

/// An invitation as the console lists it; a new one carries its link and code
/// (shown once: the server keeps the token's hash only).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct InvitationView {
    pub invitation_id: String,
    pub role: MemberRole,
    pub pre_approved: bool,
    pub uses_left: u32,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub made_by: Option<String>,
    pub link: Option<String>,
    pub code: Option<String>,
    /// The link as a QR code, an SVG image.
    pub qr_svg: Option<String>,
}

/// A QR code of `link` for a phone's camera, as an SVG image; `None` if the
/// link is too long for a QR code.
pub fn qr_svg(link: &str) -> Option<String> {
    let code = qrcode::QrCode::new(link.as_bytes()).ok()?;
    Some(code.render::<qrcode::render::svg::Color>().min_dimensions(240, 240).build())
}

/// What an admin may change, each checked with the market's rules before it
/// is sent; `None` leaves a setting as it is. Prices in $/kWh, CO2 in kg/kWh.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct SettingsChange {
    pub name: Option<String>,
    pub min_price: Option<String>,
    pub max_price: Option<String>,
    pub grid_buy_price: Option<String>,
    pub grid_sell_price: Option<String>,
    pub co2_kg_per_kwh: Option<String>,
    pub open_order_cap: Option<u32>,
}

/// The most open orders a community may let one member have.
pub const MAX_OPEN_ORDER_CAP: u32 = 10_000;

impl SettingsChange {
    /// The change as the database function's arguments, or `None` if a value breaks the market's rules.
    pub fn arguments(&self, community: &str) -> Option<serde_json::Value> {
        let price = |value: &Option<String>| match value {
            None => Some(None),
            Some(text) => Price::parse(text).map(Some),
        };
        let (min, max) = (price(&self.min_price)?, price(&self.max_price)?);
        let (buy, sell) = (price(&self.grid_buy_price)?, price(&self.grid_sell_price)?);
        // With both in the change, checked here; with one, by the server against the other.
        if let (Some(buy), Some(sell)) = (buy, sell)
            && !(GridPrices { buy, sell }).is_ordered()
        {
            return None;
        }
        let as_text = |price: Option<Price>| price.map(|p| p.to_string());
        let co2 = match &self.co2_kg_per_kwh {
            None => None,
            Some(text) => Some(Co2Intensity::parse(text).map(|_| text.trim().to_string())?),
        };
        let name = match &self.name {
            None => None,
            Some(text) => Some(lumea_market::names::clean(text)).filter(|n| (1..=80).contains(&n.chars().count())),
        };
        if self.name.is_some() && name.is_none() {
            return None;
        }
        if self.open_order_cap.is_some_and(|cap| !(1..=MAX_OPEN_ORDER_CAP).contains(&cap)) {
            return None;
        }
        Some(serde_json::json!({
            "p_community": community, "p_name": name, "p_min_price": as_text(min), "p_max_price": as_text(max),
            "p_grid_buy_price": as_text(buy), "p_grid_sell_price": as_text(sell), "p_co2_kg_per_kwh": co2,
            "p_open_order_cap": self.open_order_cap,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invitation_link_fits_a_qr_code() {
        let link = format!(
            "lumea://join?project=https%3A%2F%2F{}.supabase.co&key={}&community=sunny&token={}",
            "a".repeat(20),
            "k".repeat(220),
            "t".repeat(43)
        );
        let svg = qr_svg(&link).unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg") && svg.contains("<path"), "{svg:.80}");
        assert_eq!(qr_svg(&"x".repeat(8000)), None, "beyond a QR code's capacity");
    }

    #[test]
    fn settings_are_checked_with_the_markets_rules_before_they_are_sent() {
        let change = SettingsChange {
            min_price: Some("0.10".into()),
            open_order_cap: Some(20),
            ..SettingsChange::default()
        };
        let arguments = change.arguments("sunny").unwrap();
        assert_eq!(
            (arguments["p_min_price"].as_str(), arguments["p_max_price"].is_null()),
            (Some("0.1"), true)
        );
        for bad in [
            SettingsChange {
                min_price: Some("0.04".into()),
                ..SettingsChange::default()
            },
            SettingsChange {
                grid_buy_price: Some("0.12345".into()),
                ..SettingsChange::default()
            },
            SettingsChange {
                co2_kg_per_kwh: Some("2.5".into()),
                ..SettingsChange::default()
            },
            SettingsChange {
                open_order_cap: Some(0),
                ..SettingsChange::default()
            },
            SettingsChange {
                grid_buy_price: Some("0.12".into()),
                grid_sell_price: Some("0.12".into()),
                ..SettingsChange::default()
            },
            SettingsChange {
                name: Some("\u{200B} ".into()),
                ..SettingsChange::default()
            },
        ] {
            assert_eq!(bad.arguments("sunny"), None, "{bad:?}");
        }
    }
}
