//! The demo neighbourhood of the embedded default: the product guide's Alice,
//! Bob, Charlie and Diana and a few more, around a default home in Austin, TX.

use chrono::{DateTime, Utc};
use sqlx::{Row, SqlitePool};
use uuid::Uuid;

use super::rows::{self, Batch};
use super::{LocalMarket, PlaceRequest, Result};
use lumea_market::energy::Battery;
use lumea_market::geo::Location;
use lumea_market::{Energy, Side};

/// The household's home until it sets its own.
pub const DEFAULT_HOME: (f64, f64) = (30.267, -97.743);

/// A demo member: name, offset from home in 0.001°, battery capacity and level in kWh, rooftop solar.
pub struct Neighbour {
    pub username: &'static str,
    pub offset: (i32, i32),
    pub capacity: &'static str,
    pub level: &'static str,
    pub solar: bool,
}

pub const HOUSEHOLD: Neighbour = Neighbour {
    username: "You",
    offset: (0, 0),
    capacity: "13.5",
    level: "8.5",
    solar: true,
};

pub const NEIGHBOURS: [Neighbour; 8] = [
    Neighbour {
        username: "Alice",
        offset: (4, 3),
        capacity: "13.5",
        level: "12",
        solar: true,
    },
    Neighbour {
        username: "Bob",
        offset: (-6, 2),
        capacity: "20",
        level: "18",
        solar: true,
    },
    Neighbour {
        username: "Charlie",
        offset: (2, -9),
        capacity: "27",
        level: "3",
        solar: false,
    },
    Neighbour {
        username: "Diana",
        offset: (-3, -4),
        capacity: "30",
        level: "2",
        solar: false,
    },
    Neighbour {
        username: "Erin",
        offset: (9, 7),
        capacity: "13.5",
        level: "11",
        solar: true,
    },
    Neighbour {
        username: "Frank",
        offset: (-11, -6),
        capacity: "10",
        level: "6",
        solar: true,
    },
    Neighbour {
        username: "Grace",
        offset: (5, -13),
        capacity: "13.5",
        level: "4",
        solar: false,
    },
    Neighbour {
        username: "Heidi",
        offset: (14, 1),
        capacity: "16",
        level: "14",
        solar: true,
    },
];

/// The opening book: the guide's market clearing example (Charlie's bid trades
/// with Alice and Bob), then a few more offers and bids that do not cross.
const OPENING_ORDERS: [(&str, Side, &str, &str); 8] = [
    ("Alice", Side::Sell, "0.16", "10"),
    ("Bob", Side::Sell, "0.17", "15"),
    ("Charlie", Side::Buy, "0.18", "20"),
    ("Diana", Side::Buy, "0.15", "25"),
    ("Erin", Side::Sell, "0.175", "6"),
    ("Frank", Side::Sell, "0.185", "4"),
    ("Heidi", Side::Sell, "0.19", "8"),
    ("Grace", Side::Buy, "0.14", "5"),
];

fn location(home: Location, offset: (i32, i32)) -> Location {
    let (lat, lng) = home.grid();
    Location::from_grid(i64::from(lat + offset.0), i64::from(lng + offset.1)).expect("demo homes are on the globe")
}

fn battery(neighbour: &Neighbour) -> Battery {
    let kwh = |text| Energy::parse(text).expect("demo batteries are valid");
    Battery::new(kwh(neighbour.capacity), kwh(neighbour.level)).expect("demo batteries hold no more than they can")
}

/// Creates the household in an empty file, and with `neighbours` the demo
/// neighbourhood around it; returns whether the file was empty.
pub(super) async fn seed_if_empty(pool: &SqlitePool, now: DateTime<Utc>, neighbours: bool) -> Result<bool> {
    let members: i64 = sqlx::query("SELECT COUNT(*) FROM users").fetch_one(pool).await?.get(0);
    if members > 0 {
        return Ok(false);
    }
    let mut batch = Batch::new();
    let home = Location::coarse(DEFAULT_HOME.0, DEFAULT_HOME.1).expect("the default home is on the globe");
    let demo = if neighbours { &NEIGHBOURS[..] } else { &[] };
    for (neighbour, household) in std::iter::once((&HOUSEHOLD, true)).chain(demo.iter().map(|n| (n, false))) {
        let id = Uuid::new_v4().to_string();
        let place = location(home, neighbour.offset);
        rows::insert_member(&mut batch, &id, neighbour.username, Some(place), household, battery(neighbour), now);
    }
    batch.commit(pool).await?;
    Ok(true)
}

/// Places the opening book through the market, as the neighbours would: for
/// the delivery interval an hour ahead, so that it stays open a while.
pub(super) async fn place_opening_orders(market: &LocalMarket) -> Result<()> {
    let rules = market.rules().await;
    let interval = (rules.next_open(market.now()) + rules.interval_length() * 4).to_rfc3339();
    for (username, side, price, amount) in OPENING_ORDERS {
        let request = PlaceRequest {
            id: Uuid::new_v4(),
            side,
            price: price.into(),
            amount: amount.into(),
            expires_at: None,
            interval: Some(interval.clone()),
        };
        market.trader(username).await?.place(&request).await?;
    }
    Ok(())
}
