//! "The household's market": what the app does in whichever market it shows,
//! implemented by the local market and the community market alike.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use lumea_community::CommunityMarket;
use lumea_market::ErrorCode;
use lumea_market::Side;
use lumea_market::energy::GridPrices;
use lumea_market::stats::{MarketStats, TradePrint};
use lumea_store::settlement::ReadingView;
use lumea_store::statement::Statement;
use lumea_store::{
    BookView, EnergyView, GridTransactionView, LocalMarket, MarketEvent, OrderFilter, OrderView, Outcome, Page, PlaceRequest, TradeView,
};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::Result;

#[async_trait]
pub trait HouseholdMarket: Send + Sync {
    /// Its events, each after the change is stored.
    fn subscribe(&self) -> broadcast::Receiver<MarketEvent>;
    async fn book(&self) -> Result<BookView>;
    async fn energy(&self) -> Result<EnergyView>;
    async fn stats(&self, since: DateTime<Utc>) -> Result<MarketStats>;
    async fn price_history(&self, since: DateTime<Utc>) -> Result<Vec<TradePrint>>;
    async fn place(&self, request: &PlaceRequest) -> Result<Outcome>;
    async fn cancel(&self, id: Uuid) -> Result<Outcome>;
    async fn buy_now(&self, order: Uuid, amount: &str) -> Result<Outcome>;
    /// Buys from (`Buy`) or sells to (`Sell`) the grid at `prices`.
    async fn grid_trade(&self, direction: Side, amount: &str, prices: GridPrices) -> Result<GridTransactionView>;
    async fn orders(&self, filter: &OrderFilter, page: Page) -> Result<Vec<OrderView>>;
    async fn trades(&self, page: Page) -> Result<Vec<TradeView>>;
    /// My current meter readings, latest interval first.
    async fn readings(&self, page: Page) -> Result<Vec<ReadingView>>;
    /// Imports a meter file (CSV or Green Button) whole or not at all; returns how many readings it held.
    async fn import_meter_file(&self, contents: &str) -> Result<u32>;
    /// My statement for the delivery intervals starting in `from..to`.
    async fn statement(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Statement>;
}

/// The local market, as its household trades in it.
#[async_trait]
impl HouseholdMarket for LocalMarket {
    fn subscribe(&self) -> broadcast::Receiver<MarketEvent> {
        LocalMarket::subscribe(self)
    }

    async fn book(&self) -> Result<BookView> {
        Ok(LocalMarket::book(self).await?)
    }

    async fn energy(&self) -> Result<EnergyView> {
        Ok(self.household().energy().await?)
    }

    async fn stats(&self, since: DateTime<Utc>) -> Result<MarketStats> {
        Ok(LocalMarket::stats(self, since).await?)
    }

    async fn price_history(&self, since: DateTime<Utc>) -> Result<Vec<TradePrint>> {
        Ok(LocalMarket::price_history(self, since).await?)
    }

    async fn place(&self, request: &PlaceRequest) -> Result<Outcome> {
        Ok(self.household().place(request).await?)
    }

    async fn cancel(&self, id: Uuid) -> Result<Outcome> {
        Ok(self.household().cancel(id).await?)
    }

    async fn buy_now(&self, order: Uuid, amount: &str) -> Result<Outcome> {
        Ok(self.household().buy_now(order, amount).await?)
    }

    /// The local market keeps its own grid prices.
    async fn grid_trade(&self, direction: Side, amount: &str, _prices: GridPrices) -> Result<GridTransactionView> {
        let household = self.household();
        Ok(match direction {
            Side::Buy => household.buy_from_grid(amount).await?,
            Side::Sell => household.sell_to_grid(amount).await?,
        })
    }

    async fn orders(&self, filter: &OrderFilter, page: Page) -> Result<Vec<OrderView>> {
        Ok(self.household().orders(filter, page).await?)
    }

    async fn trades(&self, page: Page) -> Result<Vec<TradeView>> {
        Ok(self.household().trades(page).await?)
    }

    async fn readings(&self, page: Page) -> Result<Vec<ReadingView>> {
        Ok(self.household().readings(page).await?)
    }

    async fn import_meter_file(&self, contents: &str) -> Result<u32> {
        let (imported, _) = self.household().import_meter_file(contents).await?;
        Ok(u32::try_from(imported).unwrap_or(u32::MAX))
    }

    async fn statement(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Statement> {
        Ok(self.household().statement(from, to).await?)
    }
}

#[async_trait]
impl HouseholdMarket for CommunityMarket {
    fn subscribe(&self) -> broadcast::Receiver<MarketEvent> {
        CommunityMarket::subscribe(self)
    }

    async fn book(&self) -> Result<BookView> {
        Ok(CommunityMarket::book(self).await?)
    }

    async fn energy(&self) -> Result<EnergyView> {
        Ok(CommunityMarket::energy(self).await?)
    }

    async fn stats(&self, since: DateTime<Utc>) -> Result<MarketStats> {
        Ok(CommunityMarket::stats(self, since).await?)
    }

    async fn price_history(&self, since: DateTime<Utc>) -> Result<Vec<TradePrint>> {
        Ok(CommunityMarket::price_history(self, since).await?)
    }

    async fn place(&self, request: &PlaceRequest) -> Result<Outcome> {
        Ok(CommunityMarket::place(self, request).await?)
    }

    async fn cancel(&self, id: Uuid) -> Result<Outcome> {
        Ok(CommunityMarket::cancel(self, id).await?)
    }

    async fn buy_now(&self, order: Uuid, amount: &str) -> Result<Outcome> {
        Ok(CommunityMarket::buy_now(self, order, amount).await?)
    }

    async fn grid_trade(&self, direction: Side, amount: &str, prices: GridPrices) -> Result<GridTransactionView> {
        Ok(CommunityMarket::grid_trade(self, direction, amount, prices).await?)
    }

    async fn orders(&self, filter: &OrderFilter, page: Page) -> Result<Vec<OrderView>> {
        Ok(CommunityMarket::orders(self, filter, page).await?)
    }

    async fn trades(&self, page: Page) -> Result<Vec<TradeView>> {
        Ok(CommunityMarket::trades(self, page).await?)
    }

    async fn readings(&self, page: Page) -> Result<Vec<ReadingView>> {
        Ok(CommunityMarket::readings(self, page).await?)
    }

    // A member's readings come from the community's operator (its imports are
    // authoritative); the app does not send files of its own to a community.
    async fn import_meter_file(&self, _contents: &str) -> Result<u32> {
        Err(ErrorCode::NotAvailable.into())
    }

    async fn statement(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Statement> {
        Ok(CommunityMarket::statement(self, from, to).await?)
    }
}
