//! One contract for "the household's market": the same scenarios through
//! `HouseholdMarket` on the local market (a SQLite file with the demo
//! neighbourhood) and on the community market (an app core against the
//! community test backend: PostgreSQL, @supabase/lite and the realtime test
//! server). Whatever the household does must come out the same in both.

#[path = "support/stand.rs"]
mod stand;

use std::sync::Arc;

use lumea_core::{EnergyView, ErrorCode, HouseholdMarket, OrderFilter, OrderView, Page, PlaceRequest, Role, Side};
use lumea_market::{Energy, Status};
use lumea_store::clock::SystemClock;
use lumea_store::{LocalMarket, OpenOptions};
use stand::{Stand, until};
use uuid::Uuid;

/// A household's market and a neighbour's ask it can buy from.
struct Fixture {
    household: Arc<dyn HouseholdMarket>,
    /// 5 kWh at $0.21/kWh, above every bid, resting in the household's book.
    neighbour_ask: Uuid,
    /// Keeps the local market's file or the community backend alive.
    _keep: Box<dyn std::any::Any>,
}

fn order(side: Side, price: &str, amount: &str) -> PlaceRequest {
    PlaceRequest {
        id: Uuid::new_v4(),
        side,
        price: price.into(),
        amount: amount.into(),
        expires_at: None,
        interval: None,
    }
}

fn kwh(text: &str) -> Energy {
    Energy::parse(text).unwrap()
}

async fn local() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let market = Arc::new(
        LocalMarket::open(&dir.path().join("market.sqlite"), Arc::new(SystemClock), OpenOptions::default())
            .await
            .unwrap(),
    );
    let heidi = market.trader("Heidi").await.unwrap();
    let ask = order(Side::Sell, "0.21", "5");
    heidi.place(&ask).await.unwrap();
    Fixture {
        household: market.clone(),
        neighbour_ask: ask.id,
        _keep: Box::new((dir, market)),
    }
}

async fn community() -> Fixture {
    let stand = Stand::start().await;
    let household = stand.household("Household", stand.sign_up("Household", "contract").await).await;
    let neighbour = stand.household("Neighbour", stand.sign_up("Neighbour", "contract").await).await;
    let ask = order(Side::Sell, "0.21", "5");
    neighbour.place(&ask).await.unwrap();
    let shown = household.clone();
    until("the neighbour's ask reaches the household's book", || {
        let shown = shown.clone();
        async move { shown.book().await.unwrap().asks.iter().any(|o| o.id == ask.id.to_string()) }
    })
    .await;
    Fixture {
        household,
        neighbour_ask: ask.id,
        _keep: Box::new((stand, neighbour)),
    }
}

async fn my_orders(market: &dyn HouseholdMarket) -> Vec<OrderView> {
    market.orders(&OrderFilter::default(), Page { limit: 500, offset: 0 }).await.unwrap()
}

async fn state(market: &dyn HouseholdMarket) -> (EnergyView, Vec<OrderView>, usize) {
    let trades = market.trades(Page { limit: 500, offset: 0 }).await.unwrap().len();
    (market.energy().await.unwrap(), my_orders(market).await, trades)
}

/// Each refusal carries its code and leaves the battery, the orders and the trades as they were.
async fn refusals_change_nothing(fixture: Fixture) {
    let market = fixture.household.as_ref();
    let before = state(market).await;
    let sellable = before.0.sellable;
    let refused = [
        (market.place(&order(Side::Sell, "0.0499", "2")).await, ErrorCode::InvalidPrice),
        (market.place(&order(Side::Sell, "0.16", "0.5")).await, ErrorCode::InvalidAmount),
        (
            market.place(&order(Side::Sell, "0.16", &(sellable + kwh("1")).to_string())).await,
            ErrorCode::InsufficientEnergy,
        ),
        (
            market.place(&order(Side::Buy, "0.16", &(before.0.headroom + kwh("1")).to_string())).await,
            ErrorCode::ExceedsBattery,
        ),
        (market.cancel(Uuid::new_v4()).await, ErrorCode::UnknownOrder),
        (market.buy_now(fixture.neighbour_ask, "0").await, ErrorCode::InvalidAmount),
        (market.buy_now(fixture.neighbour_ask, "5.01").await, ErrorCode::ExceedsAvailable),
    ];
    for (result, code) in refused {
        assert_eq!(result.map(drop).map_err(|err| err.code), Err(code));
    }
    assert_eq!(state(market).await, before);
}

/// A resting sell order reserves its energy; cancelling it gives the energy back.
async fn sell_then_cancel(fixture: Fixture) {
    let market = fixture.household.as_ref();
    let before = market.energy().await.unwrap();
    let ask = order(Side::Sell, "0.30", "2");
    let placed = market.place(&ask).await.unwrap();
    assert!(placed.trades.is_empty(), "nobody bids $0.30: {placed:?}");
    let mine = my_orders(market)
        .await
        .into_iter()
        .find(|o| o.id == ask.id.to_string())
        .expect("the new order is mine");
    assert_eq!((mine.status, mine.remaining, mine.side), (Status::Active, kwh("2"), Side::Sell));
    assert!(
        market.book().await.unwrap().asks.iter().any(|o| o.id == ask.id.to_string()),
        "the ask is in the book"
    );
    assert_eq!(market.energy().await.unwrap().reserved_for_asks, before.reserved_for_asks + kwh("2"));

    let cancelled = market.cancel(ask.id).await.unwrap();
    assert_eq!(
        cancelled.orders.iter().map(|o| (o.id.clone(), o.status)).collect::<Vec<_>>(),
        [(ask.id.to_string(), Status::Cancelled)]
    );
    assert_eq!(market.energy().await.unwrap(), before);
    assert!(
        !market.book().await.unwrap().asks.iter().any(|o| o.id == ask.id.to_string()),
        "the ask left the book"
    );
    assert_eq!(market.cancel(ask.id).await.map(drop).map_err(|err| err.code), Err(ErrorCode::NotOpen));
}

/// Buying part of a neighbour's ask: one trade at its price, the energy in the battery, the rest still offered.
async fn buy_part_of_an_offer(fixture: Fixture) {
    let market = fixture.household.as_ref();
    let before = market.energy().await.unwrap();
    let bought = market.buy_now(fixture.neighbour_ask, "2").await.unwrap();
    let [trade] = bought.trades.as_slice() else {
        panic!("one trade: {bought:?}")
    };
    assert_eq!(
        (trade.role, trade.amount, trade.price.to_string()),
        (Role::Bought, kwh("2"), "0.21".to_string())
    );
    assert_eq!(trade.total.to_string(), "0.42");
    assert_eq!(market.energy().await.unwrap().level, before.level + kwh("2"));
    let trades = market.trades(Page { limit: 500, offset: 0 }).await.unwrap();
    assert!(
        trades.iter().any(|t| t.id == trade.id && t.role == Role::Bought),
        "the trade is in the household's history"
    );
    // The community's book follows the server's change feed, so the rest shows once it has arrived.
    let ask = fixture.neighbour_ask.to_string();
    until("the rest of the offer is shown", || async {
        let book = market.book().await.unwrap();
        book.asks
            .iter()
            .any(|o| o.id == ask && (o.remaining, o.status) == (kwh("3"), Status::Partial))
    })
    .await;
    assert_eq!(
        market.buy_now(fixture.neighbour_ask, "3.01").await.map(drop).map_err(|err| err.code),
        Err(ErrorCode::ExceedsAvailable)
    );
}

macro_rules! contract {
    ($($scenario:ident),* $(,)?) => {
        mod local_market {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $scenario() {
                super::$scenario(super::local().await).await
            })*
        }

        mod community_market {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $scenario() {
                super::$scenario(super::community().await).await
            })*
        }
    };
}

contract!(refusals_change_nothing, sell_then_cancel, buy_part_of_an_offer);
