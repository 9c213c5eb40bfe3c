//! What a household's devices report for one delivery interval: the battery's
//! energy in (solar, the grid connection) and out (the house, the grid
//! connection). The battery is what the devices say; the meter's reading of
//! the grid connection is recorded with it and settles the interval.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use crate::meter_files::MeterRow;
use crate::settlement::ReadingSource;
use crate::{LocalMarket, Result, Trader, timestamp};
use lumea_market::ledger::SettlementEvent;
use lumea_market::{Energy, Reason, WattHours};

/// One interval of a home's energy, in the battery's 0.01 kWh steps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DeviceFlows {
    /// Solar energy stored.
    pub generation: Energy,
    /// Stored energy the house used.
    pub consumption: Energy,
    /// Drawn from the grid connection (the meter's import).
    pub import: Energy,
    /// Fed into the grid connection (the meter's export).
    pub export: Energy,
}

impl Trader<'_> {
    /// Moves the battery by what its devices did in the interval starting at
    /// `start`, as one transaction: refused (`exceeds_battery`,
    /// `insufficient_energy`) if it would leave the battery out of bounds.
    pub async fn report_flows(&self, start: DateTime<Utc>, flows: &DeviceFlows) -> Result<()> {
        let reference = format!("device:{}", timestamp(start));
        self.market
            .transact(Some(&self.user), |_, changes, _| {
                let (inward, outward) = (flows.generation + flows.import, flows.consumption + flows.export);
                let battery = changes.get(&self.user);
                if inward >= outward {
                    battery.receive(inward - outward)?;
                } else {
                    battery.deliver(outward - inward)?;
                }
                for (kind, energy, sign) in [
                    ("generation", flows.generation, 1),
                    ("consumption", flows.consumption, -1),
                    ("grid_in", flows.import, 1),
                    ("grid_out", flows.export, -1),
                ] {
                    if energy > Energy::ZERO {
                        changes.moved(&self.user, kind, sign * energy.centi_kwh() as i64, &reference);
                    }
                }
                Ok(())
            })
            .await
            .map(drop)
    }
}

impl LocalMarket {
    /// Each household's contracted sales and purchases in the interval starting at `start`, by user id.
    pub async fn contracted(&self, start: DateTime<Utc>) -> Result<HashMap<String, (Energy, Energy)>> {
        let rows = sqlx::query("SELECT buyer_id, seller_id, amount_centi_kwh FROM trades WHERE interval_start = ?")
            .bind(timestamp(start))
            .fetch_all(&self.pool)
            .await?;
        let mut contracted: HashMap<String, (Energy, Energy)> = HashMap::new();
        for row in rows {
            let amount = Energy::from_centi_kwh(row.get::<i64, _>(2) as u64);
            contracted.entry(row.get(1)).or_default().0 += amount;
            contracted.entry(row.get(0)).or_default().1 += amount;
        }
        Ok(contracted)
    }

    /// Each home's device report and meter reading of one ended interval, by
    /// user id: the batteries move first, then the readings are recorded and
    /// the interval settled. A report that would break a battery's bounds is refused.
    pub async fn deliver_interval(&self, start: DateTime<Utc>, homes: &[(String, DeviceFlows)]) -> Result<Vec<SettlementEvent>> {
        for (user, flows) in homes {
            self.trader_by_id(user).report_flows(start, flows).await?;
        }
        let names = self.usernames().await;
        let readings = homes
            .iter()
            .map(|(user, flows)| {
                Ok(MeterRow {
                    household: Some(names.get(user).cloned().ok_or(Reason::UnknownUser)?),
                    interval_start: start,
                    import: WattHours::from(flows.import),
                    export: WattHours::from(flows.export),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        self.record_readings(&self.household, &readings, ReadingSource::Simulator).await
    }

    async fn usernames(&self) -> HashMap<String, String> {
        let state = self.state.lock().await;
        state.members.iter().map(|(id, member)| (id.clone(), member.username.clone())).collect()
    }
}
