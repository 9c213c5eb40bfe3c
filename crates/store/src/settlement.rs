//! Meter readings and settlement in the local market: readings are kept with
//! their history, and every interval is settled by the market's one rule
//! ([`lumea_market::delivery::settle`]) into revisions that are never edited.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sqlx::{Row, SqlitePool};

use crate::meter_files::MeterRow;
use crate::rows::Batch;
use crate::{LocalMarket, MarketEvent, Result, Trader, parse_timestamp, timestamp};
use lumea_market::delivery::{self, Contract, DeliveryRules, Figures, Reading, WattHours};
use lumea_market::energy::Co2Intensity;
use lumea_market::ledger::SettlementEvent;
use lumea_market::{Energy, Money, Price, Reason, UserId};

/// Where a reading came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadingSource {
    /// An imported meter file (CSV or Green Button).
    File,
    /// The household's device, through an adapter.
    Device,
    /// The demo's simulated meters.
    Simulator,
}

impl ReadingSource {
    fn as_str(self) -> &'static str {
        match self {
            ReadingSource::File => "file",
            ReadingSource::Device => "device",
            ReadingSource::Simulator => "simulator",
        }
    }
}

/// A household's current reading of one interval, as the Meter card lists it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ReadingView {
    pub interval_start: DateTime<Utc>,
    pub import: WattHours,
    pub export: WattHours,
    /// `file`, `device` or `simulator`.
    pub source: String,
    pub recorded_at: DateTime<Utc>,
    /// How many readings of this interval there are: more than 1 when revised.
    pub revisions: u32,
}

impl Trader<'_> {
    /// My current readings, latest interval first.
    pub async fn readings(&self, page: crate::Page) -> Result<Vec<ReadingView>> {
        let rows = sqlx::query(
            "SELECT interval_start, import_wh, export_wh, source, recorded_at,
                    (SELECT COUNT(*) FROM meter_readings c WHERE c.user_id = m.user_id AND c.interval_start = m.interval_start)
               FROM meter_readings m
              WHERE user_id = ?1 AND id = (SELECT MAX(id) FROM meter_readings l WHERE l.user_id = m.user_id AND l.interval_start = m.interval_start)
              ORDER BY interval_start DESC LIMIT ?2 OFFSET ?3",
        )
        .bind(&self.user)
        .bind(page.limit())
        .bind(i64::from(page.offset))
        .fetch_all(&self.market.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let wh = |i: usize| WattHours::from_wh(row.get::<i64, _>(i) as u64);
                Ok(ReadingView {
                    interval_start: parse_timestamp(&row.get::<String, _>(0))?,
                    import: wh(1),
                    export: wh(2),
                    source: row.get(3),
                    recorded_at: parse_timestamp(&row.get::<String, _>(4))?,
                    revisions: row.get::<i64, _>(5) as u32,
                })
            })
            .collect()
    }

    /// Imports a meter file (CSV or Green Button) whole or not at all; rows
    /// without a household are mine. Returns how many readings it held.
    pub async fn import_meter_file(&self, contents: &str) -> Result<(usize, Vec<SettlementEvent>)> {
        let rules = self.market.rules().await;
        let rows = crate::meter_files::parse(contents, &rules).map_err(|err| crate::Error::MeterFile(err.to_string()))?;
        let events = self.market.record_readings(&self.user, &rows, ReadingSource::File).await?;
        Ok((rows.len(), events))
    }

    /// Records the household's reading of one interval, checked in the rules'
    /// order (`invalid_interval`, `interval_not_ended`, `invalid_reading`);
    /// a settled interval is settled again at once.
    pub async fn record_reading(&self, interval: &str, import: &str, export: &str) -> Result<Vec<SettlementEvent>> {
        let rules = self.market.rules().await;
        let start = rules.parse_interval(interval)?;
        rules.check_ended(start, self.market.now())?;
        let reading = Reading::parse(import, export)?;
        let row = MeterRow {
            household: None,
            interval_start: start,
            import: reading.import,
            export: reading.export,
        };
        self.market.record_readings(&self.user, &[row], ReadingSource::Device).await
    }
}

impl LocalMarket {
    pub async fn rules(&self) -> DeliveryRules {
        *self.state.lock().await.market.rules()
    }

    /// Records readings all together or not at all: each row's household is
    /// its username (or `default_user`), its interval must have ended. Every
    /// interval they touch that has trades is settled again in the same commit.
    pub async fn record_readings(&self, default_user: &str, readings: &[MeterRow], source: ReadingSource) -> Result<Vec<SettlementEvent>> {
        let state = self.state.lock().await;
        let now = self.clock.now();
        let (rules, co2) = (*state.market.rules(), state.settings.co2);
        let mut batch = Batch::new();
        // The new readings count as current when their intervals are settled, before the commit.
        let mut pending: HashMap<(String, DateTime<Utc>), Reading> = HashMap::new();
        for reading in readings {
            rules.check_aligned(reading.interval_start)?;
            rules.check_ended(reading.interval_start, now)?;
            let user = match &reading.household {
                None => default_user.to_string(),
                Some(name) => state
                    .members
                    .iter()
                    .find(|(_, member)| member.username == *name)
                    .map(|(id, _)| id.clone())
                    .ok_or(Reason::UnknownUser)?,
            };
            batch.push(
                "INSERT INTO meter_readings (user_id, interval_start, import_wh, export_wh, source, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    user.as_str().into(),
                    timestamp(reading.interval_start).into(),
                    (reading.import.wh() as i64).into(),
                    (reading.export.wh() as i64).into(),
                    source.as_str().into(),
                    timestamp(now).into(),
                ],
            );
            let reading_now = Reading {
                import: reading.import,
                export: reading.export,
            };
            pending.insert((user, reading.interval_start), reading_now);
        }
        // Settled with the new readings in the same commit.
        let mut events = Vec::new();
        let intervals: BTreeSet<DateTime<Utc>> = pending.keys().map(|(_, start)| *start).collect();
        for start in intervals {
            settle_into(&self.pool, &mut batch, (&rules, co2), start, now, &pending, &mut events).await?;
        }
        batch.commit(&self.pool).await?;
        let _ = self.events.send(MarketEvent::Settled);
        Ok(events)
    }

    /// Settles one interval now (it must have ended; again at any later time).
    pub async fn settle(&self, interval: &str) -> Result<Vec<SettlementEvent>> {
        let state = self.state.lock().await;
        let (rules, co2) = (*state.market.rules(), state.settings.co2);
        let now = self.clock.now();
        let start = rules.parse_interval(interval)?;
        rules.check_ended(start, now)?;
        let mut batch = Batch::new();
        let mut events = Vec::new();
        settle_into(&self.pool, &mut batch, (&rules, co2), start, now, &HashMap::new(), &mut events).await?;
        batch.commit(&self.pool).await?;
        self.announce_settled(&events);
        Ok(events)
    }

    /// Settles every ended interval with a trade not settled yet (a revised
    /// reading settles its interval when it is recorded).
    pub async fn settle_due(&self) -> Result<Vec<SettlementEvent>> {
        let state = self.state.lock().await;
        let (rules, co2) = (*state.market.rules(), state.settings.co2);
        let now = self.clock.now();
        let starts: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT t.interval_start FROM trades t
              WHERE t.interval_start IS NOT NULL AND NOT EXISTS (SELECT 1 FROM settlements s WHERE s.trade_id = t.id)
              ORDER BY 1",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut batch = Batch::new();
        let mut events = Vec::new();
        for start in starts {
            let start = parse_timestamp(&start)?;
            if rules.check_ended(start, now).is_ok() {
                settle_into(&self.pool, &mut batch, (&rules, co2), start, now, &HashMap::new(), &mut events).await?;
            }
        }
        batch.commit(&self.pool).await?;
        self.announce_settled(&events);
        Ok(events)
    }

    /// Nobody listening is fine; nothing settled is nothing to say.
    fn announce_settled(&self, events: &[SettlementEvent]) {
        if events.iter().any(|e| matches!(e, SettlementEvent::Settled { .. })) {
            let _ = self.events.send(MarketEvent::Settled);
        }
    }
}

/// Settles the interval starting at `start` into `batch`, with `pending`
/// readings (not yet committed) counting as the current ones; each new
/// revision adjusts the buyer's CO2 tokens by what it changed in delivered energy.
async fn settle_into(
    pool: &SqlitePool,
    batch: &mut Batch,
    (rules, co2): (&DeliveryRules, Co2Intensity),
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    pending: &HashMap<(String, DateTime<Utc>), Reading>,
    events: &mut Vec<SettlementEvent>,
) -> Result<()> {
    let at = timestamp(start);
    let contracts: Vec<Contract> =
        sqlx::query("SELECT id, buyer_id, seller_id, price_ticks, amount_centi_kwh FROM trades WHERE interval_start = ? ORDER BY seq")
            .bind(&at)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|row| Contract {
                trade: row.get(0),
                buyer: row.get::<String, _>(1).as_str().into(),
                seller: row.get::<String, _>(2).as_str().into(),
                price: Price::from_ticks(row.get::<i64, _>(3) as u32),
                amount: Energy::from_centi_kwh(row.get::<i64, _>(4) as u64).into(),
            })
            .collect();
    if contracts.is_empty() {
        return Ok(());
    }
    let mut readings = current_readings(pool, &at).await?;
    for ((user, interval), reading) in pending {
        if *interval == start {
            readings.insert(user.as_str().into(), *reading);
        }
    }
    let latest = latest_settlements(pool, &at).await?;
    let past_deadline = now >= rules.settlement_deadline(start);
    let figures = delivery::settle(&contracts, |user| readings.get(user).copied(), past_deadline, rules);
    for (contract, figures) in contracts.iter().zip(figures) {
        let previous = latest.get(&contract.trade).copied();
        let Some(event) = SettlementEvent::revise(&contract.trade, previous, figures) else {
            continue;
        };
        if let SettlementEvent::Settled { figures, revision, .. } = &event {
            batch.push(
                "INSERT INTO settlements (trade_id, revision, delivered_wh, buyer_pays_micros, seller_receives_micros, settled_at)
                 VALUES (?, ?, ?, ?, ?, ?)",
                [
                    contract.trade.as_str().into(),
                    i64::from(*revision).into(),
                    (figures.delivered.wh() as i64).into(),
                    figures.buyer_pays.micros().into(),
                    figures.seller_receives.micros().into(),
                    timestamp(now).into(),
                ],
            );
            let before = previous.map_or(0, |(f, _)| f.delivered.wh() as i64);
            let delta = figures.delivered.wh() as i64 - before;
            if delta != 0 {
                let grams = i64::from(co2.grams_per_kwh());
                batch.push(
                    "INSERT INTO co2_adjustments (user_id, trade_id, revision, delivered_wh_delta, grams_per_kwh, tokens_mg_delta, created_at)
                     VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        contract.buyer.as_str().into(),
                        contract.trade.as_str().into(),
                        i64::from(*revision).into(),
                        delta.into(),
                        grams.into(),
                        (delta * grams).into(),
                        timestamp(now).into(),
                    ],
                );
            }
        }
        events.push(event);
    }
    Ok(())
}

/// Each household's current reading of the interval stored as `at`: its latest.
pub(crate) async fn current_readings(pool: &SqlitePool, at: &str) -> Result<HashMap<UserId, Reading>> {
    let rows = sqlx::query(
        "SELECT user_id, import_wh, export_wh FROM meter_readings m
          WHERE interval_start = ?1
            AND id = (SELECT MAX(id) FROM meter_readings l WHERE l.user_id = m.user_id AND l.interval_start = ?1)",
    )
    .bind(at)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| {
            let wh = |i: usize| WattHours::from_wh(row.get::<i64, _>(i) as u64);
            (
                row.get::<String, _>(0).as_str().into(),
                Reading {
                    import: wh(1),
                    export: wh(2),
                },
            )
        })
        .collect())
}

/// Each settled trade of the interval stored as `at`: its latest figures and revision.
pub(crate) async fn latest_settlements(pool: &SqlitePool, at: &str) -> Result<HashMap<String, (Figures, u32)>> {
    let rows = sqlx::query(
        "SELECT s.trade_id, s.revision, s.delivered_wh, s.buyer_pays_micros, s.seller_receives_micros
           FROM settlements s JOIN trades t ON t.id = s.trade_id
          WHERE t.interval_start = ? AND s.revision = (SELECT MAX(revision) FROM settlements l WHERE l.trade_id = s.trade_id)",
    )
    .bind(at)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| {
            let figures = Figures {
                delivered: WattHours::from_wh(row.get::<i64, _>(2) as u64),
                buyer_pays: Money::from_micros(row.get(3)),
                seller_receives: Money::from_micros(row.get(4)),
            };
            (row.get(0), (figures, row.get::<i64, _>(1) as u32))
        })
        .collect())
}
