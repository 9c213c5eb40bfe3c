//! The demo neighbourhood comes alive in local mode: solar homes store their
//! midday surplus and offer it, evenings bring bids and purchases, homes use
//! their stored energy at night, and stale orders are withdrawn. Decisions are
//! a pure function of the time of day and the neighbours' state; they run
//! through the same market operations as any household's. It never runs in
//! community mode, and the `simulator` setting switches it off.

use std::sync::Arc;

use chrono::{DateTime, Duration, Timelike, Utc};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;
use uuid::Uuid;

use super::demo::NEIGHBOURS;
use super::{LocalMarket, OrderFilter, Page, PlaceRequest, Result};
use lumea_market::geo::Location;
use lumea_market::{Energy, Price, Side};

/// One demo neighbour as the simulator sees it.
#[derive(Clone, Debug)]
pub struct Neighbour {
    pub username: String,
    pub solar: bool,
    pub headroom: Energy,
    pub sellable: Energy,
    /// Open orders: id, side, when placed.
    pub open: Vec<(Uuid, Side, DateTime<Utc>)>,
}

/// The cheapest open ask: id, seller, price, remaining.
pub type BestAsk = (Uuid, String, Price, Energy);

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Generate {
        user: String,
        amount: Energy,
    },
    Consume {
        user: String,
        amount: Energy,
    },
    Place {
        user: String,
        id: Uuid,
        side: Side,
        price: Price,
        amount: Energy,
        expires_at: DateTime<Utc>,
    },
    Cancel {
        user: String,
        id: Uuid,
    },
    BuyNow {
        user: String,
        order: Uuid,
        amount: Energy,
    },
}

pub struct Simulator {
    rng: SmallRng,
}

impl Simulator {
    pub fn new(seed: u64) -> Self {
        Simulator {
            rng: SmallRng::seed_from_u64(seed),
        }
    }

    /// What one neighbour, picked at random, does now.
    pub fn decide(&mut self, now: DateTime<Utc>, home: Location, neighbours: &[Neighbour], best_ask: Option<&BestAsk>) -> Vec<Action> {
        if neighbours.is_empty() {
            return Vec::new();
        }
        let n = &neighbours[self.rng.random_range(0..neighbours.len())];
        let user = n.username.clone();
        let hour = solar_hour(now, home);
        let mut actions = Vec::new();
        let kwh = |rng: &mut SmallRng, from: u64, to: u64| Energy::from_centi_kwh(rng.random_range(from..=to));

        if n.solar && (8.0..17.0).contains(&hour) && n.headroom > Energy::ZERO {
            actions.push(Action::Generate {
                user: user.clone(),
                amount: kwh(&mut self.rng, 20, 150).min(n.headroom),
            });
        }
        if (!(7.0..17.0).contains(&hour)) && n.sellable > Energy::ZERO {
            actions.push(Action::Consume {
                user: user.clone(),
                amount: kwh(&mut self.rng, 20, 100).min(n.sellable),
            });
        }
        let open_of = |side| n.open.iter().filter(|(_, s, _)| *s == side).count();
        let one_kwh = Energy::MIN_ORDER;
        if n.solar && (10.0..16.0).contains(&hour) && n.sellable >= one_kwh && open_of(Side::Sell) < 2 {
            let amount = kwh(&mut self.rng, 100, 600).min(n.sellable);
            let price = Price::from_ticks(self.rng.random_range(240..=360) * 5);
            let expires_at = now + Duration::minutes(self.rng.random_range(180..=480));
            actions.push(Action::Place {
                user: user.clone(),
                id: Uuid::new_v4(),
                side: Side::Sell,
                price,
                amount,
                expires_at,
            });
        }
        if (16.0..22.0).contains(&hour) && n.headroom >= one_kwh && open_of(Side::Buy) < 2 {
            let amount = kwh(&mut self.rng, 100, 600).min(n.headroom);
            let affordable = best_ask.filter(|(_, seller, price, _)| *seller != user && price.ticks() <= 2000);
            match affordable {
                Some((order, _, _, remaining)) if self.rng.random_bool(0.4) => {
                    actions.push(Action::BuyNow {
                        user: user.clone(),
                        order: *order,
                        amount: amount.min(*remaining),
                    });
                }
                _ => {
                    let price = Price::from_ticks(self.rng.random_range(280..=440) * 5);
                    let expires_at = now + Duration::minutes(self.rng.random_range(60..=180));
                    actions.push(Action::Place {
                        user: user.clone(),
                        id: Uuid::new_v4(),
                        side: Side::Buy,
                        price,
                        amount,
                        expires_at,
                    });
                }
            }
        }
        let stale = n
            .open
            .iter()
            .filter(|(_, _, placed)| now - *placed > Duration::hours(2))
            .min_by_key(|(_, _, placed)| *placed);
        if let Some((id, _, _)) = stale.filter(|_| self.rng.random_bool(0.2)) {
            actions.push(Action::Cancel { user, id: *id });
        }
        actions
    }
}

/// Local solar time at `home`, in hours from 0 to 24.
fn solar_hour(now: DateTime<Utc>, home: Location) -> f64 {
    let utc = f64::from(now.hour()) + f64::from(now.minute()) / 60.0;
    (utc + home.solar_offset_hours()).rem_euclid(24.0)
}

/// The demo neighbours' state, read through the market.
async fn neighbours(market: &LocalMarket) -> Result<Vec<Neighbour>> {
    let mut neighbours = Vec::new();
    for demo in &NEIGHBOURS {
        let Ok(trader) = market.trader(demo.username).await else { continue };
        let energy = trader.energy().await?;
        let open = trader
            .orders(
                &OrderFilter {
                    open: Some(true),
                    side: None,
                },
                Page::first(Page::MAX_LIMIT),
            )
            .await?;
        neighbours.push(Neighbour {
            username: demo.username.to_string(),
            solar: demo.solar,
            headroom: energy.headroom,
            sellable: energy.sellable,
            open: open.iter().filter_map(|o| Some((o.id.parse().ok()?, o.side, o.created_at))).collect(),
        });
    }
    Ok(neighbours)
}

/// One step: decide, then act through the market. Returns the actions that
/// were committed; refused ones (an offer bought out meanwhile) are skipped.
pub async fn step(market: &LocalMarket, simulator: &mut Simulator) -> Result<Vec<Action>> {
    let neighbours = neighbours(market).await?;
    let book = market.book().await?;
    let best_ask = book
        .asks
        .first()
        .and_then(|o| Some((o.id.parse().ok()?, o.username.clone(), o.price, o.remaining)));
    let home = market
        .home()
        .await
        .unwrap_or_else(|| Location::coarse(0.0, 0.0).expect("the origin is on the globe"));
    let mut done = Vec::new();
    for action in simulator.decide(market.now(), home, &neighbours, best_ask.as_ref()) {
        let result = match &action {
            Action::Generate { user, amount } => market.trader(user).await?.record_generation(&amount.to_string()).await,
            Action::Consume { user, amount } => market.trader(user).await?.record_consumption(&amount.to_string()).await,
            Action::Place {
                user,
                id,
                side,
                price,
                amount,
                expires_at,
            } => {
                let request = PlaceRequest {
                    id: *id,
                    side: *side,
                    price: price.to_string(),
                    amount: amount.to_string(),
                    expires_at: Some(*expires_at),
                    interval: None,
                };
                market.trader(user).await?.place(&request).await.map(drop)
            }
            Action::Cancel { user, id } => market.trader(user).await?.cancel(*id).await.map(drop),
            Action::BuyNow { user, order, amount } => market.trader(user).await?.buy_now(*order, &amount.to_string()).await.map(drop),
        };
        match result {
            Ok(()) => done.push(action),
            Err(super::Error::Rejected(_)) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(done)
}

/// Runs the simulator every `every` while the market is open and the setting allows.
pub async fn run(market: Arc<LocalMarket>, every: std::time::Duration, seed: u64) {
    let mut simulator = Simulator::new(seed);
    let mut ticker = tokio::time::interval(every);
    loop {
        ticker.tick().await;
        if market.simulator_enabled().await
            && let Err(err) = step(&market, &mut simulator).await
        {
            log::warn!("demo neighbourhood: {err}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn home() -> Location {
        // Longitude 0: solar time is UTC.
        Location::coarse(51.5, 0.0).unwrap()
    }

    fn neighbour(solar: bool, headroom: u64, sellable: u64) -> Neighbour {
        Neighbour {
            username: "Alice".into(),
            solar,
            headroom: Energy::from_centi_kwh(headroom),
            sellable: Energy::from_centi_kwh(sellable),
            open: Vec::new(),
        }
    }

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, hour, 0, 0).unwrap()
    }

    #[test]
    fn solar_time_follows_longitude() {
        let austin = Location::coarse(30.267, -97.743).unwrap();
        let hour = solar_hour(at(18), austin);
        assert!((hour - 11.48).abs() < 0.01, "{hour}");
    }

    #[test]
    fn at_midday_a_solar_home_stores_and_offers_its_surplus() {
        let mut simulator = Simulator::new(1);
        let actions = simulator.decide(at(12), home(), &[neighbour(true, 500, 900)], None);
        assert!(matches!(actions[0], Action::Generate { .. }), "{actions:?}");
        let Some(Action::Place {
            side: Side::Sell,
            amount,
            price,
            ..
        }) = actions.get(1)
        else {
            panic!("{actions:?}")
        };
        assert!(*amount >= Energy::MIN_ORDER && *amount <= Energy::from_centi_kwh(900));
        assert!((1200..=1800).contains(&price.ticks()));
    }

    #[test]
    fn in_the_evening_homes_bid_or_buy_and_use_their_energy() {
        let mut simulator = Simulator::new(2);
        let best = (Uuid::new_v4(), "Bob".to_string(), Price::from_ticks(1600), Energy::from_centi_kwh(300));
        let (mut bids, mut buys) = (0, 0);
        for _ in 0..50 {
            let actions = simulator.decide(at(19), home(), &[neighbour(false, 800, 200)], Some(&best));
            assert!(matches!(actions[0], Action::Consume { .. }), "{actions:?}");
            match &actions[1] {
                Action::Place { side: Side::Buy, .. } => bids += 1,
                Action::BuyNow { amount, .. } => {
                    assert!(*amount <= Energy::from_centi_kwh(300));
                    buys += 1
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(bids > 0 && buys > 0, "bids {bids}, buys {buys}");
    }

    #[test]
    fn nobody_offers_energy_they_do_not_have_or_bids_beyond_their_room() {
        let mut simulator = Simulator::new(3);
        for hour in 0..24 {
            for action in simulator.decide(at(hour), home(), &[neighbour(true, 50, 50)], None) {
                assert!(!matches!(action, Action::Place { .. }), "{action:?} at {hour}h");
            }
        }
    }
}
