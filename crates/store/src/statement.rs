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

/// One of the household's dated trades as a statement needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementTrade {
    pub trade_id: String,
    pub interval_start: DateTime<Utc>,
    pub bought: bool,
    pub counterparty: String,
    pub contracted: Energy,
    pub price: Price,
    /// Its latest settlement: delivered, what this household paid (bought) or
    /// received (sold), and the revision.
    pub settled: Option<(WattHours, Money, u32)>,
}

/// A household's statement over `from..to` from its dated trades (in interval
/// order) and its current readings by interval start (import, export in Wh):
/// the same composition for the local market and a community's.
pub fn compose(
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    trades: &[StatementTrade],
    readings: &HashMap<DateTime<Utc>, (u64, u64)>,
    (rules, grid, co2): (&DeliveryRules, GridPrices, Co2Intensity),
    now: DateTime<Utc>,
) -> Statement {
    let mut totals = StatementTotals::default();
    // Per interval: delivered purchases and sales, to find the grid residual.
    let mut delivered_by_interval: BTreeMap<DateTime<Utc>, (u64, u64)> = BTreeMap::new();
    let mut lines = Vec::with_capacity(trades.len());
    for trade in trades {
        let start = trade.interval_start;
        let delivered = trade.settled.map(|(delivered, _, _)| delivered);
        let state = match delivered {
            Some(_) => DeliveryState::Settled,
            None if rules.check_ended(start, now).is_ok() => DeliveryState::AwaitingMeter,
            None => DeliveryState::Contracted,
        };
        let energy = delivered.unwrap_or_default();
        let energy_value = value(energy, trade.price.ticks());
        let money = trade.settled.map_or(Money::ZERO, |(_, money, _)| money);
        // The fee is the difference between what was paid or received and the energy's value.
        let fee = if trade.settled.is_none() {
            Money::ZERO
        } else if trade.bought {
            money - energy_value
        } else {
            energy_value - money
        };
        let entry = delivered_by_interval.entry(start).or_default();
        if trade.bought {
            entry.0 += energy.wh();
            totals.bought = WattHours::from_wh(totals.bought.wh() + energy.wh());
            totals.paid = totals.paid + money;
        } else {
            entry.1 += energy.wh();
            totals.sold = WattHours::from_wh(totals.sold.wh() + energy.wh());
            totals.received = totals.received + money;
        }
        totals.fees = totals.fees + fee;
        lines.push(StatementLine {
            trade_id: trade.trade_id.clone(),
            interval_start: start,
            role: if trade.bought { Role::Bought } else { Role::Sold },
            counterparty: trade.counterparty.clone(),
            contracted: trade.contracted,
            delivered,
            price: trade.price,
            energy_value,
            fee,
            state,
            revision: trade.settled.map_or(0, |(_, _, revision)| revision),
        });
    }
    let (mut grid_only_import, mut grid_only_export) = (0u64, 0u64);
    for (start, (import, export)) in readings.iter().filter(|(start, _)| (from..to).contains(*start)) {
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
    Statement { from, to, lines, totals }
}

/// The local market's statement of `user` for the intervals starting in `from..to`.
pub(crate) async fn statement(
    pool: &SqlitePool,
    user: &str,
    range: (DateTime<Utc>, DateTime<Utc>),
    market: (&DeliveryRules, GridPrices, Co2Intensity),
    now: DateTime<Utc>,
) -> Result<Statement> {
    let (from, to) = range;
    let rows = sqlx::query(
        "SELECT t.id, t.interval_start, t.buyer_id, ub.username, us.username, t.price_ticks, t.amount_centi_kwh,
                s.revision, s.delivered_wh, s.buyer_pays_micros, s.seller_receives_micros
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
    let trades = rows
        .iter()
        .map(|row| {
            let bought = row.get::<String, _>(2) == user;
            let settled = row.get::<Option<i64>, _>(7).map(|revision| {
                let money = row.get::<i64, _>(if bought { 9 } else { 10 });
                (
                    WattHours::from_wh(row.get::<i64, _>(8) as u64),
                    Money::from_micros(money),
                    revision as u32,
                )
            });
            Ok(StatementTrade {
                trade_id: row.get(0),
                interval_start: parse_timestamp(&row.get::<String, _>(1))?,
                bought,
                counterparty: row.get(if bought { 4 } else { 3 }),
                contracted: Energy::from_centi_kwh(row.get::<i64, _>(6) as u64),
                price: Price::from_ticks(row.get::<i64, _>(5) as u32),
                settled,
            })
        })
        .collect::<Result<Vec<_>>>()?;
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
    Ok(compose(range, &trades, &readings, market, now))
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
