//! Market statistics as a household sees them: the best prices, the spread, the
//! last trade, volume and VWAP over a window, and the depth of each price level.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::book::Book;
use crate::order::Side;
use crate::units::{Energy, Price};

/// A trade as statistics need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct TradePrint {
    pub at: DateTime<Utc>,
    pub price: Price,
    pub amount: Energy,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct LevelDepth {
    pub price: Price,
    /// Energy still open at this price.
    pub amount: Energy,
    pub orders: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct MarketStats {
    pub best_bid: Option<Price>,
    pub best_ask: Option<Price>,
    /// Best ask − best bid, in $/kWh.
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub spread: Option<Decimal>,
    pub last_price: Option<Price>,
    /// Energy traded within the window.
    pub volume: Energy,
    /// Volume-weighted average price within the window, in $/kWh, rounded
    /// half-to-even to the 4 decimal places prices have.
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub vwap: Option<Decimal>,
    pub asks: Vec<LevelDepth>,
    pub bids: Vec<LevelDepth>,
}

impl MarketStats {
    /// Of `interval`'s book; `trades` in time order; the window is `since..=until`.
    pub fn compute(
        book: &impl Book,
        interval: Option<DateTime<Utc>>,
        trades: &[TradePrint],
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> MarketStats {
        let asks = depth(book, Side::Sell, interval);
        let bids = depth(book, Side::Buy, interval);
        let best_ask = asks.first().map(|level| level.price);
        let best_bid = bids.first().map(|level| level.price);
        let window = trades.iter().filter(|t| (since..=until).contains(&t.at));
        let (volume, notional) = window.fold((Energy::ZERO, Decimal::ZERO), |(volume, notional), t| {
            (volume + t.amount, notional + t.price.to_decimal() * t.amount.to_decimal())
        });
        MarketStats {
            best_bid,
            best_ask,
            spread: best_ask.zip(best_bid).map(|(ask, bid)| ask.to_decimal() - bid.to_decimal()),
            last_price: trades.last().map(|t| t.price),
            volume,
            vwap: (volume > Energy::ZERO).then(|| (notional / volume.to_decimal()).round_dp(Price::SCALE).normalize()),
            asks,
            bids,
        }
    }
}

/// Open energy and order count per price level of `interval`'s book, best price first.
pub fn depth(book: &impl Book, side: Side, interval: Option<DateTime<Utc>>) -> Vec<LevelDepth> {
    let mut levels: Vec<LevelDepth> = Vec::new();
    for order in book.open_orders(side, interval) {
        match levels.last_mut() {
            Some(level) if level.price == order.price => {
                level.amount += order.remaining();
                level.orders += 1;
            }
            _ => levels.push(LevelDepth {
                price: order.price,
                amount: order.remaining(),
                orders: 1,
            }),
        }
    }
    levels
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Market;
    use crate::fast::FastBook;
    use crate::rules::Place;
    use chrono::TimeZone;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, hour, 0, 0).unwrap()
    }

    fn print(hour: u32, price: u32, centi_kwh: u64) -> TradePrint {
        TradePrint {
            at: at(hour),
            price: Price::from_ticks(price),
            amount: Energy::from_centi_kwh(centi_kwh),
        }
    }

    fn book() -> Market<FastBook> {
        let mut market = Market::<FastBook>::default();
        let mut events = Vec::new();
        for (id, side, price, amount) in [
            ("a1", Side::Sell, "0.17", "5"),
            ("a2", Side::Sell, "0.17", "2.5"),
            ("a3", Side::Sell, "0.19", "1"),
            ("b1", Side::Buy, "0.15", "25"),
        ] {
            let cmd = Place {
                id,
                user: id,
                side,
                price,
                amount,
                expires_at: None,
                interval: None,
            };
            market.place(at(0), &cmd, &mut events).unwrap();
        }
        market
    }

    #[test]
    fn best_prices_spread_and_depth_per_level() {
        let stats = MarketStats::compute(book().book(), None, &[], at(0), at(1));
        assert_eq!(stats.best_ask, Some(Price::from_ticks(1700)));
        assert_eq!(stats.best_bid, Some(Price::from_ticks(1500)));
        assert_eq!(stats.spread, Some(Decimal::new(2, 2)));
        let asks: Vec<_> = stats.asks.iter().map(|l| (l.price.to_string(), l.amount.to_string(), l.orders)).collect();
        assert_eq!(asks, [("0.17".into(), "7.5".into(), 2), ("0.19".into(), "1".into(), 1)]);
        assert_eq!(stats.bids.len(), 1);
        assert_eq!((stats.last_price, stats.vwap, stats.volume), (None, None, Energy::ZERO));
    }

    #[test]
    fn vwap_and_volume_cover_only_the_window() {
        // The guide's two trades: 10 kWh at 0.16 and 10 kWh at 0.17 → VWAP 0.165.
        let trades = [print(1, 9999, 500), print(2, 1600, 1000), print(3, 1700, 1000), print(5, 1800, 100)];
        let stats = MarketStats::compute(book().book(), None, &trades, at(2), at(4));
        assert_eq!(stats.volume, Energy::from_centi_kwh(2000));
        assert_eq!(stats.vwap, Some(Decimal::new(165, 3)));
        assert_eq!(stats.last_price, Some(Price::from_ticks(1800)));
    }

    #[test]
    fn vwap_rounds_half_to_even_at_four_places() {
        // (0.1001·1 + 0.1002·2) / 3 = 0.100166… → 0.1002
        let trades = [print(1, 1001, 100), print(1, 1002, 200)];
        let stats = MarketStats::compute(book().book(), None, &trades, at(0), at(1));
        assert_eq!(stats.vwap, Some(Decimal::new(1002, 4)));
    }
}
