//! A household's statement over a range: each dated trade with what it
//! delivered and paid, the grid residual from its readings, totals, savings
//! against buying and selling only from the grid, and CO2 avoided. Money is
//! whole micro-dollars throughout, each term rounded half to even on its own
//! (`lumea_market::delivery::value`), so the lines add up to the totals exactly.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{Row, SqlitePool};

use crate::rows::Role;
use crate::{Result, parse_timestamp, timestamp};
use lumea_market::delivery::{DeliveryRules, WattHours, value};
use lumea_market::energy::{Co2Intensity, GridPrices};
use lumea_market::{Energy, Money, Price};

/// Where a trade is in its delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// The interval has not ended.
    Contracted,
    /// Ended, and a reading it needs has not arrived (before the deadline).
    AwaitingMeter,
    /// Settled against the readings.
    Settled,
}

impl DeliveryState {
    fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Contracted => "contracted",
            DeliveryState::AwaitingMeter => "awaiting_meter",
            DeliveryState::Settled => "settled",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct StatementLine {
    pub trade_id: String,
    pub interval_start: DateTime<Utc>,
    pub role: Role,
    /// The other household's display name.
    pub counterparty: String,
    pub contracted: Energy,
    /// `None` until settled.
    pub delivered: Option<WattHours>,
    pub price: Price,
    /// What the household paid (bought) or received (sold) for the energy, its own fee not included.
    pub energy_value: Money,
    /// The household's own fee on the delivered energy.
    pub fee: Money,
    pub state: DeliveryState,
    /// The settlement's revision (0 when not settled).
    pub revision: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct StatementTotals {
    pub bought: WattHours,
    pub sold: WattHours,
    /// Paid for delivered purchases, fees included.
    pub paid: Money,
    /// Received for delivered sales, fees deducted.
    pub received: Money,
    pub fees: Money,
    /// Metered import not covered by delivered purchases, at the grid's price.
    pub grid_import: WattHours,
    pub grid_import_cost: Money,
    /// Metered export not sold to neighbours, at the grid's feed-in price.
    pub grid_export: WattHours,
    pub grid_export_income: Money,
    /// What the household paid in all: purchases, fees and grid import, less sales and feed-in.
    pub net_cost: Money,
    /// What the same readings would have cost with the grid alone.
    pub grid_only_cost: Money,
    /// `grid_only_cost − net_cost`.
    pub savings: Money,
    /// CO2 avoided by energy bought from neighbours instead of the grid, in kg.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub co2_kg: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Statement {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub lines: Vec<StatementLine>,
    pub totals: StatementTotals,
}

/// The statement of `user` for the intervals starting in `from..to`.
pub(crate) async fn statement(
    pool: &SqlitePool,
    user: &str,
    range: (DateTime<Utc>, DateTime<Utc>),
    rules: &DeliveryRules,
    grid: GridPrices,
    co2: Co2Intensity,
    now: DateTime<Utc>,
) -> Result<Statement> {
    let (from, to) = range;
    let rows = sqlx::query(
        "SELECT t.id, t.interval_start, t.buyer_id, ub.username, us.username, t.price_ticks, t.amount_centi_kwh,
                s.revision, s.delivered_wh
           FROM trades t
           JOIN users ub ON ub.id = t.buyer_id
           JOIN users us ON us.id = t.seller_id
           LEFT JOIN settlements s ON s.trade_id = t.id
                AND s.revision = (SELECT MAX(revision) FROM settlements l WHERE l.trade_id = t.id)
          WHERE (t.buyer_id = ?1 OR t.seller_id = ?1) AND t.interval_start >= ?2 AND t.interval_start < ?3
          ORDER BY t.interval_start, t.seq",
    )
    .bind(user)
    .bind(timestamp(from))
    .bind(timestamp(to))
    .fetch_all(pool)
    .await?;
    let mut totals = StatementTotals::default();
    // Per interval: delivered purchases and sales, to find the grid residual.
    let mut delivered_by_interval: BTreeMap<DateTime<Utc>, (u64, u64)> = BTreeMap::new();
    let mut lines = Vec::with_capacity(rows.len());
    for row in &rows {
        let start = parse_timestamp(&row.get::<String, _>(1))?;
        let bought = row.get::<String, _>(2) == user;
        let price = Price::from_ticks(row.get::<i64, _>(5) as u32);
        let revision = row.get::<Option<i64>, _>(7).map_or(0, |r| r as u32);
        let delivered = row.get::<Option<i64>, _>(8).map(|wh| WattHours::from_wh(wh as u64));
        let state = match delivered {
            Some(_) => DeliveryState::Settled,
            None if rules.check_ended(start, now).is_ok() => DeliveryState::AwaitingMeter,
            None => DeliveryState::Contracted,
        };
        let energy = delivered.unwrap_or_default();
        let energy_value = value(energy, price.ticks());
        let fee = value(energy, if bought { rules.buyer_fee } else { rules.seller_fee }.ticks());
        let entry = delivered_by_interval.entry(start).or_default();
        if bought {
            entry.0 += energy.wh();
            totals.bought = WattHours::from_wh(totals.bought.wh() + energy.wh());
            totals.paid = totals.paid + energy_value + fee;
        } else {
            entry.1 += energy.wh();
            totals.sold = WattHours::from_wh(totals.sold.wh() + energy.wh());
            totals.received = totals.received + energy_value - fee;
        }
        totals.fees = totals.fees + fee;
        lines.push(StatementLine {
            trade_id: row.get(0),
            interval_start: start,
            role: if bought { Role::Bought } else { Role::Sold },
            counterparty: row.get(if bought { 4 } else { 3 }),
            contracted: Energy::from_centi_kwh(row.get::<i64, _>(6) as u64),
            delivered,
            price,
            energy_value,
            fee,
            state,
            revision,
        });
    }
    let readings: HashMap<DateTime<Utc>, (u64, u64)> = sqlx::query(
        "SELECT interval_start, import_wh, export_wh FROM meter_readings m
          WHERE user_id = ?1 AND interval_start >= ?2 AND interval_start < ?3
            AND id = (SELECT MAX(id) FROM meter_readings l WHERE l.user_id = m.user_id AND l.interval_start = m.interval_start)",
    )
    .bind(user)
    .bind(timestamp(from))
    .bind(timestamp(to))
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| {
        Ok((
            parse_timestamp(&row.get::<String, _>(0))?,
            (row.get::<i64, _>(1) as u64, row.get::<i64, _>(2) as u64),
        ))
    })
    .collect::<Result<_>>()?;
    let (mut grid_only_import, mut grid_only_export) = (0u64, 0u64);
    for (start, (import, export)) in &readings {
        let (bought, sold) = delivered_by_interval.get(start).copied().unwrap_or_default();
        totals.grid_import = WattHours::from_wh(totals.grid_import.wh() + import.saturating_sub(bought));
        totals.grid_export = WattHours::from_wh(totals.grid_export.wh() + export.saturating_sub(sold));
        grid_only_import += import;
        grid_only_export += export;
    }
    totals.grid_import_cost = value(totals.grid_import, grid.buy.ticks());
    totals.grid_export_income = value(totals.grid_export, grid.sell.ticks());
    totals.net_cost = totals.paid + totals.grid_import_cost - totals.received - totals.grid_export_income;
    totals.grid_only_cost =
        value(WattHours::from_wh(grid_only_import), grid.buy.ticks()) - value(WattHours::from_wh(grid_only_export), grid.sell.ticks());
    totals.savings = totals.grid_only_cost - totals.net_cost;
    totals.co2_kg = (totals.bought.to_decimal() * co2.kg_per_kwh()).normalize();
    Ok(Statement { from, to, lines, totals })
}

impl Statement {
    /// The statement as CSV: one row per trade, then the totals as labelled rows.
    pub fn to_csv(&self) -> String {
        let mut csv = String::from("interval_start,side,counterparty,contracted_kwh,delivered_kwh,price_per_kwh,energy_value,fee,state,revision\n");
        for line in &self.lines {
            let side = match line.role {
                Role::Bought => "bought",
                _ => "sold",
            };
            let delivered = line.delivered.map(|d| d.to_string()).unwrap_or_default();
            let _ = writeln!(
                csv,
                "{},{side},{},{},{delivered},{},{},{},{},{}",
                rfc3339(line.interval_start),
                csv_field(&line.counterparty),
                line.contracted,
                line.price,
                line.energy_value,
                line.fee,
                line.state.as_str(),
                line.revision
            );
        }
        let t = &self.totals;
        let totals: [(&str, String); 14] = [
            ("bought_kwh", t.bought.to_string()),
            ("sold_kwh", t.sold.to_string()),
            ("paid", t.paid.to_string()),
            ("received", t.received.to_string()),
            ("fees", t.fees.to_string()),
            ("grid_import_kwh", t.grid_import.to_string()),
            ("grid_import_cost", t.grid_import_cost.to_string()),
            ("grid_export_kwh", t.grid_export.to_string()),
            ("grid_export_income", t.grid_export_income.to_string()),
            ("net_cost", t.net_cost.to_string()),
            ("grid_only_cost", t.grid_only_cost.to_string()),
            ("savings", t.savings.to_string()),
            ("co2_kg", t.co2_kg.to_string()),
            ("period", format!("{} to {}", rfc3339(self.from), rfc3339(self.to))),
        ];
        csv.push_str("\ntotal,value\n");
        for (name, value) in totals {
            let _ = writeln!(csv, "{name},{value}");
        }
        csv
    }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A display name as one CSV field: quoted when it holds a comma, quote or line
/// break, and never read as a formula by a spreadsheet.
fn csv_field(text: &str) -> String {
    let text = match text.chars().next() {
        Some('=' | '+' | '-' | '@') => format!("'{text}"),
        _ => text.to_string(),
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_csv_safe() {
        assert_eq!(csv_field("Alice"), "Alice");
        assert_eq!(csv_field("Bob, Jr."), "\"Bob, Jr.\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
    }
}
