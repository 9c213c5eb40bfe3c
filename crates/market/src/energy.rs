//! The household's energy: what its battery can take and give, the grid's
//! reference prices, the figures the UI shows, and the CO2 token rule.
//!
//! No kWh is invented or lost: an open bid reserves battery headroom and an
//! open ask reserves stored energy, so whatever fills can always be settled.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::Side;
use crate::rules::Reason;
use crate::units::{Energy, Money, Price, parse_steps};

/// A home battery and the energy its open orders have spoken for.
///
/// Invariants: `reserved_for_asks ≤ level` and `level + reserved_for_bids ≤ capacity`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Battery {
    pub capacity: Energy,
    pub level: Energy,
    /// Room kept free for energy that open bids may still buy.
    pub reserved_for_bids: Energy,
    /// Stored energy promised to open asks.
    pub reserved_for_asks: Energy,
}

impl Battery {
    pub fn new(capacity: Energy, level: Energy) -> Option<Battery> {
        (level <= capacity).then_some(Battery {
            capacity,
            level,
            reserved_for_bids: Energy::ZERO,
            reserved_for_asks: Energy::ZERO,
        })
    }

    /// How much more energy the battery can take: capacity − level − reserved for bids.
    pub fn headroom(&self) -> Energy {
        self.capacity - self.level - self.reserved_for_bids
    }

    /// How much stored energy is free to sell: level − reserved for asks.
    pub fn sellable(&self) -> Energy {
        self.level - self.reserved_for_asks
    }

    /// Sets energy aside for a new open order: room for a bid, stored energy for an ask.
    pub fn reserve(&mut self, side: Side, amount: Energy) -> Result<(), Reason> {
        match side {
            Side::Buy if amount > self.headroom() => Err(Reason::ExceedsBattery),
            Side::Sell if amount > self.sellable() => Err(Reason::InsufficientEnergy),
            Side::Buy => {
                self.reserved_for_bids += amount;
                Ok(())
            }
            Side::Sell => {
                self.reserved_for_asks += amount;
                Ok(())
            }
        }
    }

    /// Gives back what an order that closed unfilled (cancelled, expired) had reserved.
    pub fn release(&mut self, side: Side, amount: Energy) {
        match side {
            Side::Buy => self.reserved_for_bids -= amount,
            Side::Sell => self.reserved_for_asks -= amount,
        }
    }

    /// Settles a fill of a resting order: the reservation becomes a real movement.
    pub fn settle(&mut self, side: Side, amount: Energy) {
        self.release(side, amount);
        match side {
            Side::Buy => self.level += amount,
            Side::Sell => self.level -= amount,
        }
    }

    /// Takes in energy with no reservation behind it (a direct purchase, the grid, the sun).
    pub fn receive(&mut self, amount: Energy) -> Result<(), Reason> {
        if amount > self.headroom() {
            return Err(Reason::ExceedsBattery);
        }
        self.level += amount;
        Ok(())
    }

    /// Gives out energy with no reservation behind it (to the grid, to the house).
    pub fn deliver(&mut self, amount: Energy) -> Result<(), Reason> {
        if amount > self.sellable() {
            return Err(Reason::InsufficientEnergy);
        }
        self.level -= amount;
        Ok(())
    }

    pub fn check(&self) -> Result<(), String> {
        let fits = self.level.centi_kwh() + self.reserved_for_bids.centi_kwh() <= self.capacity.centi_kwh();
        if !fits || self.reserved_for_asks > self.level {
            return Err(format!("battery out of bounds: {self:?}"));
        }
        Ok(())
    }
}

/// The grid's fixed prices: what the household pays to buy, and gets to sell (feed-in).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct GridPrices {
    pub buy: Price,
    pub sell: Price,
}

impl GridPrices {
    /// Feed-in below the grid's own price: otherwise a household would buy
    /// from the grid to sell straight back to it.
    pub fn is_ordered(self) -> bool {
        self.sell < self.buy
    }
}

impl Default for GridPrices {
    fn default() -> Self {
        GridPrices {
            buy: Price::from_ticks(2000),
            sell: Price::from_ticks(1000),
        }
    }
}

/// What buying `amount` at `price` from a neighbour costs, and saves against the grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PurchaseQuote {
    pub total_cost: Money,
    /// Grid price × amount − total cost; negative when the grid is cheaper.
    pub savings_vs_grid: Money,
}

impl PurchaseQuote {
    pub fn new(price: Price, amount: Energy, grid: GridPrices) -> Self {
        let total_cost = Money::of(price, amount);
        PurchaseQuote {
            total_cost,
            savings_vs_grid: Money::of(grid.buy, amount) - total_cost,
        }
    }
}

/// What selling `amount` at `price` to neighbours brings, against feeding the grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SaleQuote {
    pub expected_revenue: Money,
    /// Expected revenue − feed-in revenue for the same energy.
    pub gain_vs_grid: Money,
    /// (price − feed-in price) / feed-in price, in percent, one decimal place.
    pub margin_percent: Decimal,
}

impl SaleQuote {
    pub fn new(price: Price, amount: Energy, grid: GridPrices) -> Self {
        let expected_revenue = Money::of(price, amount);
        let margin = Decimal::from(i64::from(price.ticks()) - i64::from(grid.sell.ticks())) * Decimal::from(100) / Decimal::from(grid.sell.ticks());
        SaleQuote {
            expected_revenue,
            gain_vs_grid: expected_revenue - Money::of(grid.sell, amount),
            margin_percent: margin.round_dp(1).normalize(),
        }
    }
}

/// CO2 tokens: community-bought energy displaces grid energy, and the buyer
/// earns one token per kg of grid CO2 it displaced: tokens = kWh × the grid's
/// intensity in kg CO2/kWh. Held exactly, in milligrams.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Co2Intensity {
    grams_per_kwh: u32,
}

impl Default for Co2Intensity {
    /// 0.367 kg CO2/kWh: the US average for 2023 reported by the EIA.
    fn default() -> Self {
        Co2Intensity { grams_per_kwh: 367 }
    }
}

impl Co2Intensity {
    /// kg CO2 per kWh with at most 3 decimal places, from 0 to 2.
    pub fn parse(kg_per_kwh: &str) -> Option<Co2Intensity> {
        let grams = parse_steps(kg_per_kwh, 3)?;
        (0..=2000).contains(&grams).then_some(Co2Intensity { grams_per_kwh: grams as u32 })
    }

    pub fn grams_per_kwh(self) -> u32 {
        self.grams_per_kwh
    }

    pub fn kg_per_kwh(self) -> Decimal {
        Decimal::new(i64::from(self.grams_per_kwh), 3).normalize()
    }

    /// The tokens, in milligrams of CO2, that buying `amount` from a neighbour earns.
    pub fn tokens_mg(self, amount: Energy) -> u64 {
        // centi-kWh × g/kWh = 10 mg each.
        amount.centi_kwh() * u64::from(self.grams_per_kwh) * 10
    }
}

/// A token balance in milligrams of CO2 as tokens (kg).
pub fn tokens(mg: u64) -> Decimal {
    Decimal::new(mg as i64, 6).normalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kwh(text: &str) -> Energy {
        Energy::parse(text).unwrap()
    }

    fn guide_battery() -> Battery {
        // The product guide's battery: 13.5 kWh capacity, 8.5 kWh stored.
        Battery::new(kwh("13.5"), kwh("8.5")).unwrap()
    }

    #[test]
    fn headroom_is_capacity_minus_level_minus_open_bids() {
        let mut battery = guide_battery();
        assert_eq!(battery.headroom(), kwh("5"));
        battery.reserve(Side::Buy, kwh("3")).unwrap();
        assert_eq!(battery.headroom(), kwh("2"));
        assert_eq!(battery.reserve(Side::Buy, kwh("2.01")), Err(Reason::ExceedsBattery));
        assert_eq!(battery.receive(kwh("2.01")), Err(Reason::ExceedsBattery));
        battery.receive(kwh("2")).unwrap();
        assert_eq!(battery.headroom(), Energy::ZERO);
        battery.check().unwrap();
    }

    #[test]
    fn selling_is_limited_to_stored_energy_not_yet_promised() {
        let mut battery = guide_battery();
        battery.reserve(Side::Sell, kwh("8")).unwrap();
        assert_eq!(battery.sellable(), kwh("0.5"));
        assert_eq!(battery.reserve(Side::Sell, kwh("0.51")), Err(Reason::InsufficientEnergy));
        assert_eq!(battery.deliver(kwh("0.51")), Err(Reason::InsufficientEnergy));
        battery.deliver(kwh("0.5")).unwrap();
        battery.check().unwrap();
    }

    #[test]
    fn fills_turn_reservations_into_movements_and_closing_releases_them() {
        let mut battery = guide_battery();
        battery.reserve(Side::Buy, kwh("4")).unwrap();
        battery.settle(Side::Buy, kwh("1.5"));
        assert_eq!((battery.level, battery.reserved_for_bids), (kwh("10"), kwh("2.5")));
        battery.release(Side::Buy, kwh("2.5"));
        assert_eq!(battery.headroom(), kwh("3.5"));
        battery.reserve(Side::Sell, kwh("6")).unwrap();
        battery.settle(Side::Sell, kwh("6"));
        assert_eq!((battery.level, battery.reserved_for_asks), (kwh("4"), Energy::ZERO));
        battery.check().unwrap();
    }

    #[test]
    fn a_level_above_capacity_is_no_battery() {
        assert_eq!(Battery::new(kwh("10"), kwh("10.01")), None);
    }

    #[test]
    fn purchase_quote_shows_cost_and_savings_against_the_grid() {
        let quote = PurchaseQuote::new(Price::from_ticks(1600), kwh("5"), GridPrices::default());
        assert_eq!(
            (quote.total_cost.to_string(), quote.savings_vs_grid.to_string()),
            ("0.8".into(), "0.2".into())
        );
        let dear = PurchaseQuote::new(Price::from_ticks(2500), kwh("1"), GridPrices::default());
        assert_eq!(dear.savings_vs_grid.to_string(), "-0.05");
    }

    #[test]
    fn sale_quote_shows_revenue_and_margin_over_feed_in() {
        let quote = SaleQuote::new(Price::from_ticks(1600), kwh("10"), GridPrices::default());
        assert_eq!(quote.expected_revenue.to_string(), "1.6");
        assert_eq!(quote.gain_vs_grid.to_string(), "0.6");
        assert_eq!(quote.margin_percent.to_string(), "60");
        let odd = SaleQuote::new(Price::from_ticks(1234), kwh("1"), GridPrices::default());
        assert_eq!(odd.margin_percent.to_string(), "23.4");
    }

    #[test]
    fn co2_tokens_are_kwh_times_intensity_exactly() {
        let intensity = Co2Intensity::default();
        assert_eq!(intensity.kg_per_kwh().to_string(), "0.367");
        assert_eq!(tokens(intensity.tokens_mg(kwh("10"))).to_string(), "3.67");
        assert_eq!(tokens(intensity.tokens_mg(kwh("0.01"))).to_string(), "0.00367");
        assert_eq!(Co2Intensity::parse("0.4").unwrap().tokens_mg(kwh("1")), 400_000);
        for bad in ["2.001", "-0.1", "0.0001", "abc"] {
            assert_eq!(Co2Intensity::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn feed_in_is_below_the_grids_price() {
        assert!(GridPrices::default().is_ordered());
        let level = GridPrices {
            buy: Price::from_ticks(1500),
            sell: Price::from_ticks(1500),
        };
        assert!(!level.is_ordered());
    }
}
