//! The demo neighbourhood comes alive in local mode: solar homes offer their
//! midday surplus for the coming delivery intervals, evenings bring bids and
//! purchases, and stale orders are withdrawn. After each interval the
//! simulator plays the physics of every home, the household's included: solar
//! by solar time, a load profile, and the battery exporting what its home sold
//! and importing what it bought where it can (a dark or empty battery falls
//! short); each home's meter reading then settles the interval. Decisions are
//! a pure function of the time of day and the neighbours' state; they run
//! through the same market operations as any household's. It never runs in
//! community mode, and the `simulator` setting switches it off.

use std::sync::Arc;

use chrono::{DateTime, Duration, Timelike, Utc};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;
use uuid::Uuid;

use super::demo::{HOUSEHOLD, NEIGHBOURS};
use super::device::DeviceFlows;
use super::{LocalMarket, OrderFilter, Page, PlaceRequest, Result};
use lumea_market::delivery::DeliveryRules;
use lumea_market::energy::Battery;
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

/// The cheapest open ask: id, seller, price, remaining, interval.
pub type BestAsk = (Uuid, String, Price, Energy, DateTime<Utc>);

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Place {
        user: String,
        id: Uuid,
        side: Side,
        price: Price,
        amount: Energy,
        /// The start of the delivery interval it is for.
        interval: DateTime<Utc>,
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
    /// An interval's physics for one home, and its meter reading.
    Deliver {
        user: String,
        interval: DateTime<Utc>,
        #[serde(flatten)]
        flows: DeviceFlows,
    },
}

pub struct Simulator {
    rng: SmallRng,
    /// The start of the last interval whose physics was played.
    delivered: Option<DateTime<Utc>>,
}

impl Simulator {
    pub fn new(seed: u64) -> Self {
        Simulator {
            rng: SmallRng::seed_from_u64(seed),
            delivered: None,
        }
    }

    /// What one neighbour, picked at random, does now: a solar home offers
    /// its midday surplus for an interval in the next eight hours, an evening
    /// home bids for one in the next two hours or buys an offer now.
    pub fn decide(
        &mut self,
        now: DateTime<Utc>,
        rules: &DeliveryRules,
        home: Location,
        neighbours: &[Neighbour],
        best_ask: Option<&BestAsk>,
    ) -> Vec<Action> {
        if neighbours.is_empty() {
            return Vec::new();
        }
        let n = &neighbours[self.rng.random_range(0..neighbours.len())];
        let user = n.username.clone();
        let hour = solar_hour(now, home);
        let mut actions = Vec::new();
        let kwh = |rng: &mut SmallRng, from: u64, to: u64| Energy::from_centi_kwh(rng.random_range(from..=to));
        let ahead = |rng: &mut SmallRng, hours: i32| {
            let intervals = hours * 60 / i32::try_from(rules.interval_minutes).unwrap_or(i32::MAX);
            rules.next_open(now) + rules.interval_length() * rng.random_range(0..intervals.max(1))
        };
        let open_of = |side| n.open.iter().filter(|(_, s, _)| *s == side).count();
        let one_kwh = Energy::MIN_ORDER;
        if n.solar && (10.0..16.0).contains(&hour) && n.sellable >= one_kwh && open_of(Side::Sell) < 2 {
            let amount = kwh(&mut self.rng, 100, 300).min(n.sellable);
            let price = Price::from_ticks(self.rng.random_range(240..=360) * 5);
            actions.push(Action::Place {
                user: user.clone(),
                id: Uuid::new_v4(),
                side: Side::Sell,
                price,
                amount,
                interval: ahead(&mut self.rng, 8),
            });
        }
        if (16.0..22.0).contains(&hour) && n.headroom >= one_kwh && open_of(Side::Buy) < 2 {
            let amount = kwh(&mut self.rng, 100, 300).min(n.headroom);
            let affordable = best_ask.filter(|(_, seller, price, _, _)| *seller != user && price.ticks() <= 2000);
            // A bid for the interval on offer when there is one, else for one of the next two hours.
            let interval = match affordable {
                Some((_, _, _, _, interval)) => *interval,
                None => ahead(&mut self.rng, 2),
            };
            match affordable {
                Some((order, _, _, remaining, _)) if self.rng.random_bool(0.4) => {
                    actions.push(Action::BuyNow {
                        user: user.clone(),
                        order: *order,
                        amount: amount.min(*remaining),
                    });
                }
                _ => {
                    let price = Price::from_ticks(self.rng.random_range(280..=440) * 5);
                    actions.push(Action::Place {
                        user: user.clone(),
                        id: Uuid::new_v4(),
                        side: Side::Buy,
                        price,
                        amount,
                        interval,
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

/// Solar output per kWp by solar hour on a clear day, in watts.
const SOLAR_W_PER_KWP: [u64; 24] = [
    0, 0, 0, 0, 0, 0, 50, 150, 320, 500, 650, 750, 800, 750, 650, 500, 320, 150, 50, 0, 0, 0, 0, 0,
];
/// A home's load by solar hour, in watts: a night base, a morning and a larger evening peak.
const LOAD_W: [u64; 24] = [
    300, 300, 300, 300, 300, 350, 600, 900, 800, 500, 400, 400, 450, 400, 400, 450, 700, 1100, 1300, 1300, 1100, 800, 500, 350,
];
/// The rooftop array of every solar home in the demo, in kWp.
const DEMO_KWP: u64 = 5;

/// A home as one interval's physics sees it.
#[derive(Clone, Debug)]
pub struct Home {
    pub kwp: u64,
    /// After the interval's own reservations were released: what is still reserved is for later intervals.
    pub battery: Battery,
    /// Contracted sales and purchases in the interval.
    pub sold: Energy,
    pub bought: Energy,
}

/// One interval's physics for one home, in the battery's 0.01 kWh steps: the
/// sun (`sun_percent` of a clear day) charges, the house draws (`load_percent`
/// of its profile), the battery exports what was sold as far as it holds energy
/// beyond what later contracts need, takes in what was bought as far as it has
/// room (a battery the sun filled falls short), the home imports any deficit,
/// and a full battery feeds its surplus in.
pub fn physics(home: &Home, solar_hour: usize, minutes: u32, sun_percent: u32, load_percent: u32) -> DeviceFlows {
    let steps = |watts: u64, percent: u32| watts * u64::from(minutes) * u64::from(percent) / (60 * 100 * 10);
    let generation = steps(SOLAR_W_PER_KWP[solar_hour] * home.kwp, sun_percent);
    let consumption = steps(LOAD_W[solar_hour], load_percent);
    let battery = home.battery;
    let floor = battery.reserved_for_asks.centi_kwh();
    let ceiling = (battery.capacity - battery.reserved_for_bids).centi_kwh();
    // Signed: the house may draw more than the battery and the sun hold.
    let mut level = (battery.level.centi_kwh() + generation) as i64 - consumption as i64;
    let sold = (home.sold.centi_kwh() as i64).min((level - floor as i64).max(0));
    level -= sold;
    let mut import = (home.bought.centi_kwh() as i64).min((ceiling as i64 - level).max(0));
    level += import;
    if level < floor as i64 {
        import += floor as i64 - level;
        level = floor as i64;
    }
    let surplus = (level - ceiling as i64).max(0);
    let energy = |steps: i64| Energy::from_centi_kwh(steps as u64);
    DeviceFlows {
        generation: Energy::from_centi_kwh(generation),
        consumption: Energy::from_centi_kwh(consumption),
        import: energy(import),
        export: energy(sold + surplus),
    }
}

/// Plays every interval that ended since the last step, for every home, and
/// records their meter readings (which settles each interval). The first step
/// only notes where it starts; after a jump of the clock, at most a day is played.
async fn deliver_ended(market: &LocalMarket, simulator: &mut Simulator, home: Location) -> Result<Vec<Action>> {
    let rules = market.rules().await;
    let length = rules.interval_length();
    let now = market.now();
    let seconds = i64::from(rules.interval_minutes) * 60;
    let current = DateTime::from_timestamp(now.timestamp().div_euclid(seconds) * seconds, 0).expect("now is a time");
    let last_ended = current - length;
    let Some(delivered) = simulator.delivered.replace(last_ended) else {
        return Ok(Vec::new());
    };
    let mut homes = vec![(market.household().user_id().to_string(), HOUSEHOLD.solar)];
    for demo in &NEIGHBOURS {
        if let Ok(trader) = market.trader(demo.username).await {
            homes.push((trader.user_id().to_string(), demo.solar));
        }
    }
    let mut done = Vec::new();
    let mut start = (delivered + length).max(last_ended - length * 95);
    while start <= last_ended {
        let contracted = market.contracted(start).await?;
        let hour = (solar_hour(start + length / 2, home) as usize).min(23);
        let sun = simulator.rng.random_range(40..=100);
        let mut reports = Vec::new();
        for (user, solar) in &homes {
            let trader = market.trader_by_id(user);
            let energy = trader.energy().await?;
            // Now and then a home's inverter is offline for an interval: its contracts fall short.
            let online = simulator.rng.random_bool(0.9);
            let (sold, bought) = contracted.get(user).copied().filter(|_| online).unwrap_or_default();
            let state = Home {
                kwp: if *solar { DEMO_KWP } else { 0 },
                battery: Battery {
                    capacity: energy.capacity,
                    level: energy.level,
                    reserved_for_bids: energy.reserved_for_bids,
                    reserved_for_asks: energy.reserved_for_asks,
                },
                sold,
                bought,
            };
            let flows = physics(&state, hour, rules.interval_minutes, sun, simulator.rng.random_range(80..=120));
            reports.push((user.clone(), flows));
        }
        market.deliver_interval(start, &reports).await?;
        done.extend(reports.into_iter().map(|(user, flows)| Action::Deliver {
            user,
            interval: start,
            flows,
        }));
        start += length;
    }
    Ok(done)
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
    // The clock first: due orders expire and ended intervals release their reservations.
    market.expire_due().await?;
    let home = market
        .home()
        .await
        .unwrap_or_else(|| Location::coarse(0.0, 0.0).expect("the origin is on the globe"));
    let mut done = deliver_ended(market, simulator, home).await?;
    let neighbours = neighbours(market).await?;
    let rules = market.rules().await;
    let book = market.book().await?;
    // The cheapest offer for any coming interval.
    let best_ask = book
        .asks
        .iter()
        .filter(|o| o.interval.is_some())
        .min_by_key(|o| o.price)
        .and_then(|o| Some((o.id.parse().ok()?, o.username.clone(), o.price, o.remaining, o.interval?)));
    // Three neighbours a step: a neighbourhood of eight keeps its book moving.
    let mut actions = Vec::new();
    for _ in 0..3 {
        actions.extend(simulator.decide(market.now(), &rules, home, &neighbours, best_ask.as_ref()));
    }
    for action in actions {
        let result = match &action {
            Action::Place {
                user,
                id,
                side,
                price,
                amount,
                interval,
            } => {
                let request = PlaceRequest {
                    id: *id,
                    side: *side,
                    price: price.to_string(),
                    amount: amount.to_string(),
                    expires_at: None,
                    interval: Some(interval.to_rfc3339()),
                };
                market.trader(user).await?.place(&request).await.map(drop)
            }
            Action::Cancel { user, id } => market.trader(user).await?.cancel(*id).await.map(drop),
            Action::BuyNow { user, order, amount } => market.trader(user).await?.buy_now(*order, &amount.to_string()).await.map(drop),
            Action::Deliver { .. } => unreachable!("deliveries are played before the decisions"),
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
    fn at_midday_a_solar_home_offers_its_surplus_for_a_coming_interval() {
        let mut simulator = Simulator::new(1);
        let actions = simulator.decide(at(12), &DeliveryRules::default(), home(), &[neighbour(true, 500, 900)], None);
        let Some(Action::Place {
            side: Side::Sell,
            amount,
            price,
            interval,
            ..
        }) = actions.first()
        else {
            panic!("{actions:?}")
        };
        assert!(*amount >= Energy::MIN_ORDER && *amount <= Energy::from_centi_kwh(900));
        assert!((1200..=1800).contains(&price.ticks()));
        // For an interval still open in the next eight hours: 12:15 is the first at 12:00.
        let first = Utc.with_ymd_and_hms(2026, 6, 1, 12, 15, 0).unwrap();
        assert!((0..32).any(|k| *interval == first + Duration::minutes(15 * k)), "{interval}");
    }

    #[test]
    fn in_the_evening_homes_bid_or_buy() {
        let mut simulator = Simulator::new(2);
        let best = (
            Uuid::new_v4(),
            "Bob".to_string(),
            Price::from_ticks(1600),
            Energy::from_centi_kwh(300),
            at(20),
        );
        let (mut bids, mut buys) = (0, 0);
        for _ in 0..50 {
            let actions = simulator.decide(at(19), &DeliveryRules::default(), home(), &[neighbour(false, 800, 200)], Some(&best));
            match &actions[0] {
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

    fn battery(capacity: u64, level: u64, bids: u64, asks: u64) -> Battery {
        Battery {
            capacity: Energy::from_centi_kwh(capacity),
            level: Energy::from_centi_kwh(level),
            reserved_for_bids: Energy::from_centi_kwh(bids),
            reserved_for_asks: Energy::from_centi_kwh(asks),
        }
    }

    fn flows(generation: u64, consumption: u64, import: u64, export: u64) -> DeviceFlows {
        DeviceFlows {
            generation: Energy::from_centi_kwh(generation),
            consumption: Energy::from_centi_kwh(consumption),
            import: Energy::from_centi_kwh(import),
            export: Energy::from_centi_kwh(export),
        }
    }

    #[test]
    fn physics_honours_contracts_where_the_battery_can_and_falls_short_where_it_cannot() {
        let sold = |level, sold| Home {
            kwp: 5,
            battery: battery(1350, level, 0, 0),
            sold: Energy::from_centi_kwh(sold),
            bought: Energy::ZERO,
        };
        // Noon, a clear day, 15 minutes: 5 kWp × 800 W = 1 kWh of sun, 450 W × ¼ h = 0.1125 kWh of load.
        assert_eq!(physics(&sold(500, 200), 12, 15, 100, 100), flows(100, 11, 0, 200));
        // Night, an almost empty battery: it exports what it has and the house imports what it lacks.
        assert_eq!(physics(&sold(50, 200), 0, 15, 100, 100), flows(0, 7, 0, 43));
        assert_eq!(physics(&sold(0, 0), 0, 15, 100, 100), flows(0, 7, 7, 0));
        // A full battery feeds its surplus in; energy kept for later contracts is never exported now.
        let full = Home {
            battery: battery(1000, 1000, 0, 900),
            ..sold(0, 500)
        };
        assert_eq!(physics(&full, 12, 15, 100, 100), flows(100, 11, 0, 189));
    }

    #[test]
    fn physics_imports_what_was_bought_as_far_as_the_battery_has_room() {
        let home = Home {
            kwp: 0,
            battery: battery(1350, 1300, 40, 0),
            sold: Energy::ZERO,
            bought: Energy::from_centi_kwh(300),
        };
        // Room for 1350 − 40 − (1300 − 32) = 42 of the 300 steps bought: the rest falls short.
        assert_eq!(physics(&home, 18, 15, 100, 100), flows(0, 32, 42, 0));
        let empty = Home {
            battery: battery(1350, 100, 40, 0),
            ..home
        };
        assert_eq!(physics(&empty, 18, 15, 100, 100), flows(0, 32, 300, 0));
    }

    #[test]
    fn nobody_offers_energy_they_do_not_have_or_bids_beyond_their_room() {
        let mut simulator = Simulator::new(3);
        for hour in 0..24 {
            for action in simulator.decide(at(hour), &DeliveryRules::default(), home(), &[neighbour(true, 50, 50)], None) {
                assert!(!matches!(action, Action::Place { .. }), "{action:?} at {hour}h");
            }
        }
    }
}
