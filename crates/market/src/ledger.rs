//! The settlement ledger in memory: every dated trade, every meter reading
//! with its history, every settlement with its revisions. The replay and the
//! property tests use it; the local store and the Postgres functions keep the
//! same records in their tables and settle by the same rule
//! ([`delivery::settle`](crate::delivery::settle)).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::delivery::{self, Contract, DeliveryRules, Figures, Reading};
use crate::order::{Trade, UserId};
use crate::rules::Reason;

/// What a settlement run reported, in trade order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SettlementEvent {
    /// A trade settled for the first time, or its figures changed (`revision` > 1).
    Settled {
        trade: String,
        #[serde(flatten)]
        figures: Figures,
        revision: u32,
    },
    /// A trade never settled, still waiting for a reading.
    AwaitingMeter { trade: String },
}

impl SettlementEvent {
    /// What settling `trade` again reports, given its latest settlement and
    /// revision and its `figures` now (`None`: not settleable yet): its next
    /// revision when it is settled for the first time or its figures changed,
    /// waiting for the meter when it was never settled, nothing otherwise.
    pub fn revise(trade: &str, latest: Option<(Figures, u32)>, figures: Option<Figures>) -> Option<SettlementEvent> {
        match (figures, latest) {
            (Some(figures), latest) if latest.map(|(f, _)| f) != Some(figures) => Some(SettlementEvent::Settled {
                trade: trade.to_string(),
                figures,
                revision: latest.map_or(1, |(_, revision)| revision + 1),
            }),
            (None, None) => Some(SettlementEvent::AwaitingMeter { trade: trade.to_string() }),
            _ => None,
        }
    }
}

#[derive(Default)]
pub struct Ledger {
    /// Dated trades by interval, in trade order.
    contracts: BTreeMap<DateTime<Utc>, Vec<Contract>>,
    /// Every reading of a household's interval, latest last.
    readings: HashMap<(UserId, DateTime<Utc>), Vec<Reading>>,
    /// Every revision of a trade's settlement, latest last.
    settlements: HashMap<String, Vec<Figures>>,
}

impl Ledger {
    /// Records a trade as a contract for its interval; an undated trade is not delivered.
    pub fn record(&mut self, trade: &Trade) {
        if let Some(start) = trade.interval {
            self.contracts.entry(start).or_default().push(Contract::of(trade));
        }
    }

    /// Records a meter reading; a later one for the same household and interval revises it.
    pub fn meter(&mut self, rules: &DeliveryRules, now: DateTime<Utc>, user: &str, interval: &str, import: &str, export: &str) -> Result<(), Reason> {
        let start = rules.parse_interval(interval)?;
        rules.check_ended(start, now)?;
        let reading = Reading::parse(import, export)?;
        self.readings.entry((user.into(), start)).or_default().push(reading);
        Ok(())
    }

    /// Puts back a stored reading (the latest restored last is the current one).
    pub fn restore_reading(&mut self, user: &str, start: DateTime<Utc>, reading: Reading) {
        self.readings.entry((user.into(), start)).or_default().push(reading);
    }

    /// Puts back a stored settlement revision (in revision order).
    pub fn restore_settlement(&mut self, trade: &str, figures: Figures) {
        self.settlements.entry(trade.to_string()).or_default().push(figures);
    }

    /// The household's current reading of an interval.
    pub fn reading(&self, user: &UserId, start: DateTime<Utc>) -> Option<Reading> {
        self.readings.get(&(user.clone(), start)).and_then(|history| history.last().copied())
    }

    /// Settles one interval at `now` and reports what changed.
    pub fn settle(&mut self, rules: &DeliveryRules, now: DateTime<Utc>, interval: &str, events: &mut Vec<SettlementEvent>) -> Result<(), Reason> {
        let start = rules.parse_interval(interval)?;
        rules.check_ended(start, now)?;
        let Some(contracts) = self.contracts.get(&start) else {
            return Ok(());
        };
        let past_deadline = now >= rules.settlement_deadline(start);
        let figures = delivery::settle(contracts, |user| self.reading(user, start), past_deadline, rules);
        for (contract, figures) in contracts.iter().zip(figures) {
            let Some(event) = SettlementEvent::revise(&contract.trade, self.settlement(&contract.trade), figures) else {
                continue;
            };
            if let SettlementEvent::Settled { figures, .. } = &event {
                self.settlements.entry(contract.trade.clone()).or_default().push(*figures);
            }
            events.push(event);
        }
        Ok(())
    }

    /// Every interval's contracts, by start.
    pub fn contracts(&self) -> impl Iterator<Item = (DateTime<Utc>, &[Contract])> {
        self.contracts.iter().map(|(start, contracts)| (*start, contracts.as_slice()))
    }

    /// A trade's current settlement and its revision number.
    pub fn settlement(&self, trade: &str) -> Option<(Figures, u32)> {
        let history = self.settlements.get(trade)?;
        Some((*history.last()?, u32::try_from(history.len()).ok()?))
    }
}
