//! Everything the store promises, checked against the file itself: the engine
//! and the batteries in memory agree with the file, the market's invariants hold over the stored
//! trades, every battery is within bounds, its level is the sum of its
//! movements and its reservations are exactly its open orders and undelivered contracts, community
//! energy is conserved, every trade earned its buyer the right tokens, and
//! every settlement conserves energy (never more delivered than contracted or
//! metered) and money (buyers pay what sellers receive plus the fees).

use std::collections::HashMap;

use sqlx::{Row, SqlitePool};

use super::rows;
use crate::parse_timestamp;
use lumea_market::audit::Audit;
use lumea_market::energy::Battery;
use lumea_market::ledger::Ledger;
use lumea_market::{Book, Energy, Event, FastBook, Figures, Market, Money, Order, Price, Reading, Trade, WattHours};

pub(super) async fn verify(pool: &SqlitePool, market: &Market<FastBook>, batteries: &HashMap<String, Battery>) -> Result<(), String> {
    let db = |e: sqlx::Error| format!("reading the file: {e}");
    if *batteries != rows::all_batteries(pool).await.map_err(|e| e.to_string())? {
        return Err("the batteries in memory disagree with the file".into());
    }
    let stored = rows::all_orders(pool).await.map_err(|e| e.to_string())?;
    if !market.book().orders().eq(stored.iter()) {
        let engine: Vec<&Order> = market.book().orders().collect();
        let first = engine.iter().zip(&stored).position(|(a, b)| *a != b);
        return Err(format!(
            "the engine ({} orders) disagrees with the file ({}) at {first:?}",
            engine.len(),
            stored.len()
        ));
    }

    let trades = sqlx::query(
        "SELECT buy_order_id, sell_order_id, buyer_id, seller_id, price_ticks, amount_centi_kwh, id, interval_start FROM trades ORDER BY seq",
    )
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let events: Vec<Event> = trades
        .iter()
        .map(|row| {
            Event::Trade(Trade {
                id: row.get::<String, _>(6).as_str().into(),
                buy_order: row.get::<Option<String>, _>(0).map(|id| id.as_str().into()),
                sell_order: row.get::<String, _>(1).as_str().into(),
                buyer: row.get::<String, _>(2).as_str().into(),
                seller: row.get::<String, _>(3).as_str().into(),
                price: Price::from_ticks(row.get::<i64, _>(4) as u32),
                amount: Energy::from_centi_kwh(row.get::<i64, _>(5) as u64),
                interval: row.get::<Option<String>, _>(7).as_deref().map(parse_timestamp).transpose().ok().flatten(),
            })
        })
        .collect();
    let mut audit = Audit::default();
    audit.record(&events, market.book())?;
    audit.check(market.book())?;
    let mut ledger = Ledger::default();
    events.iter().for_each(|event| {
        if let Event::Trade(trade) = event {
            ledger.record(trade);
        }
    });
    for row in sqlx::query("SELECT user_id, interval_start, import_wh, export_wh FROM meter_readings ORDER BY id")
        .fetch_all(pool)
        .await
        .map_err(db)?
    {
        let start = parse_timestamp(&row.get::<String, _>(1)).map_err(|e| e.to_string())?;
        let wh = |i: usize| WattHours::from_wh(row.get::<i64, _>(i) as u64);
        ledger.restore_reading(
            &row.get::<String, _>(0),
            start,
            Reading {
                import: wh(2),
                export: wh(3),
            },
        );
    }
    for row in sqlx::query("SELECT trade_id, delivered_wh, buyer_pays_micros, seller_receives_micros FROM settlements ORDER BY trade_id, revision")
        .fetch_all(pool)
        .await
        .map_err(db)?
    {
        let figures = Figures {
            delivered: WattHours::from_wh(row.get::<i64, _>(1) as u64),
            buyer_pays: Money::from_micros(row.get(2)),
            seller_receives: Money::from_micros(row.get(3)),
        };
        ledger.restore_settlement(&row.get::<String, _>(0), figures);
    }
    lumea_market::audit::check_settlements(&ledger, market.rules())?;

    let accounts = sqlx::query(
        "SELECT a.user_id, a.capacity_centi_kwh, a.level_centi_kwh, a.reserved_bids_centi_kwh, a.reserved_asks_centi_kwh,
                (SELECT COALESCE(SUM(delta_centi_kwh), 0) FROM energy_movements m WHERE m.user_id = a.user_id),
                (SELECT COALESCE(SUM(amount_centi_kwh - filled_centi_kwh), 0) FROM orders o
                   WHERE o.user_id = a.user_id AND o.side = 'buy' AND o.status IN ('active', 'partial'))
                + (SELECT COALESCE(SUM(amount_centi_kwh), 0) FROM trades t WHERE t.buyer_id = a.user_id AND t.interval_start IS NOT NULL AND t.released = 0),
                (SELECT COALESCE(SUM(amount_centi_kwh - filled_centi_kwh), 0) FROM orders o
                   WHERE o.user_id = a.user_id AND o.side = 'sell' AND o.status IN ('active', 'partial'))
                + (SELECT COALESCE(SUM(amount_centi_kwh), 0) FROM trades t WHERE t.seller_id = a.user_id AND t.interval_start IS NOT NULL AND t.released = 0)
         FROM energy_accounts a",
    )
    .fetch_all(pool)
    .await
    .map_err(db)?;
    for row in &accounts {
        let [capacity, level, bids, asks, moved, open_bids, open_asks]: [i64; 7] = std::array::from_fn(|i| row.get(i + 1));
        let user: String = row.get(0);
        if level < 0 || level + bids > capacity || asks > level {
            return Err(format!(
                "battery of {user} out of bounds: level {level}, capacity {capacity}, reserved {bids}/{asks}"
            ));
        }
        if level != moved {
            return Err(format!("battery of {user} holds {level} but its movements add up to {moved}"));
        }
        if (bids, asks) != (open_bids, open_asks) {
            return Err(format!(
                "battery of {user} reserves {bids}/{asks} but its open orders and undelivered contracts need {open_bids}/{open_asks}"
            ));
        }
    }

    let unbalanced: i64 = sqlx::query("SELECT COALESCE(SUM(delta_centi_kwh), 0) FROM energy_movements WHERE kind IN ('trade_in', 'trade_out')")
        .fetch_one(pool)
        .await
        .map_err(db)?
        .get(0);
    if unbalanced != 0 {
        return Err(format!("community trades created or destroyed {unbalanced} centi-kWh"));
    }
    let untokened: i64 = sqlx::query(
        "SELECT COUNT(*) FROM trades t LEFT JOIN co2_ledger c ON c.trade_id = t.id
         WHERE t.interval_start IS NULL AND (c.id IS NULL OR c.user_id <> t.buyer_id OR c.amount_centi_kwh <> t.amount_centi_kwh)",
    )
    .fetch_one(pool)
    .await
    .map_err(db)?
    .get(0);
    if untokened != 0 {
        return Err(format!("{untokened} trades without the buyer's CO2 tokens"));
    }
    // A settled dated trade's tokens add up to its latest delivered energy, all its buyer's.
    let mistokened: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM trades t
          WHERE t.interval_start IS NOT NULL
            AND COALESCE((SELECT delivered_wh FROM settlements s WHERE s.trade_id = t.id ORDER BY revision DESC LIMIT 1), 0)
                <> COALESCE((SELECT SUM(delivered_wh_delta) FROM co2_adjustments c WHERE c.trade_id = t.id AND c.user_id = t.buyer_id), 0)
             OR EXISTS (SELECT 1 FROM co2_adjustments c WHERE c.trade_id = t.id AND c.user_id <> t.buyer_id)",
    )
    .fetch_one(pool)
    .await
    .map_err(db)?;
    if mistokened != 0 {
        return Err(format!("{mistokened} settled trades whose CO2 tokens are not their delivered energy"));
    }
    Ok(())
}
