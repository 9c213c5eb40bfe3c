//! The shared case table (tests/fixtures/rules-cases.json) through the Rust
//! rules. The UI's Vitest runs the same file through ui/src/market/rules.ts,
//! so the inline checks the household sees cannot drift from the core's.

use chrono::{DateTime, Utc};
use lumea_market::energy::{Battery, GridPrices, PurchaseQuote, SaleQuote};
use lumea_market::rules::{self, BuyNow, Place};
use lumea_market::{Energy, Order, Price, Reason, Side, Status};
use serde::Deserialize;

#[derive(Deserialize)]
struct Cases {
    price: Vec<Checked<PriceInput>>,
    order_amount: Vec<Checked<OrderAmountInput>>,
    purchase: Vec<Checked<PurchaseInput>>,
    purchase_quote: Vec<PurchaseQuoteCase>,
    sale_quote: Vec<SaleQuoteCase>,
}

/// An input and what the rules make of it: whole steps, or the reason it is refused.
#[derive(Deserialize)]
struct Checked<I> {
    #[serde(flatten)]
    input: I,
    steps: Option<String>,
    reason: Option<String>,
}

impl<I> Checked<I> {
    fn expected(&self) -> Result<u64, String> {
        match (&self.steps, &self.reason) {
            (Some(steps), None) => Ok(steps.parse().expect("steps are whole numbers")),
            (None, Some(reason)) => Err(reason.clone()),
            _ => panic!("a case has steps or a reason"),
        }
    }
}

#[derive(Deserialize, Debug)]
struct PriceInput {
    input: String,
}

#[derive(Deserialize, Debug)]
struct OrderAmountInput {
    input: String,
    side: Side,
    limit: Option<String>,
}

#[derive(Deserialize, Debug)]
struct PurchaseInput {
    input: String,
    available: String,
    headroom: String,
}

#[derive(Deserialize, Debug)]
struct PurchaseQuoteCase {
    price: String,
    amount: String,
    grid_buy: String,
    total_cost: String,
    savings_vs_grid: String,
}

#[derive(Deserialize, Debug)]
struct SaleQuoteCase {
    price: String,
    amount: String,
    grid_sell: String,
    expected_revenue: String,
    gain_vs_grid: String,
    margin_percent: String,
}

fn cases() -> Cases {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rules-cases.json")).unwrap();
    serde_json::from_str(&text).expect("rules-cases.json has the shared shape")
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000, 0).unwrap()
}

/// A place command as the UI sends what the household typed (trimmed).
fn place(side: Side, price: &str, amount: &str) -> Result<rules::ValidPlace, Reason> {
    let cmd = Place {
        id: "case",
        user: "household",
        side,
        price: price.trim(),
        amount: amount.trim(),
        expires_at: None,
        interval: None,
    };
    rules::check_place(&cmd, None, now(), &lumea_market::DeliveryRules::default())
}

fn code(reason: Reason) -> String {
    reason.code().to_string()
}

fn steps(text: &str) -> Energy {
    Energy::from_centi_kwh(text.parse().expect("energy steps"))
}

fn price(text: &str) -> Price {
    Price::parse(text).expect("a valid price")
}

#[test]
fn prices() {
    for case in cases().price {
        let got = place(Side::Sell, &case.input.input, "1")
            .map(|valid| u64::from(valid.price.ticks()))
            .map_err(code);
        assert_eq!(got, case.expected(), "{:?}", case.input);
    }
}

#[test]
fn order_amounts_within_the_battery() {
    for case in cases().order_amount {
        let OrderAmountInput { input, side, limit } = &case.input;
        let got = place(*side, "0.16", input).map_err(code).and_then(|valid| {
            // The limit is what the battery allows for this side: stored energy to sell, headroom to buy.
            if let Some(limit) = limit {
                let limit = steps(limit);
                let mut battery = match side {
                    Side::Sell => Battery::new(limit, limit),
                    Side::Buy => Battery::new(limit, Energy::ZERO),
                }
                .unwrap();
                battery.reserve(*side, valid.amount).map_err(code)?;
            }
            Ok(valid.amount.centi_kwh())
        });
        assert_eq!(got, case.expected(), "{:?}", case.input);
    }
}

#[test]
fn purchases_of_an_offer() {
    for case in cases().purchase {
        let PurchaseInput { input, available, headroom } = &case.input;
        let offer = Order {
            id: "offer".into(),
            user: "seller".into(),
            side: Side::Sell,
            price: Price::from_ticks(1600),
            amount: steps(available),
            filled: Energy::ZERO,
            status: Status::Active,
            seq: 1,
            expires_at: None,
            interval: None,
            closes_at: None,
        };
        let cmd = BuyNow {
            reference: "purchase",
            order: "offer",
            user: "household",
            amount: input.trim(),
            headroom: Some(steps(headroom).to_decimal()),
        };
        let got = rules::check_buy_now(&cmd, Some(&offer)).map(|amount| amount.centi_kwh()).map_err(code);
        assert_eq!(got, case.expected(), "{:?}", case.input);
    }
}

#[test]
fn purchase_quotes() {
    for case in cases().purchase_quote {
        let grid = GridPrices {
            buy: price(&case.grid_buy),
            ..GridPrices::default()
        };
        let quote = PurchaseQuote::new(price(&case.price), Energy::parse(&case.amount).unwrap(), grid);
        let got = (quote.total_cost.to_decimal().to_string(), quote.savings_vs_grid.to_decimal().to_string());
        assert_eq!(got, (case.total_cost.clone(), case.savings_vs_grid.clone()), "{case:?}");
    }
}

#[test]
fn sale_quotes() {
    for case in cases().sale_quote {
        let grid = GridPrices {
            sell: price(&case.grid_sell),
            ..GridPrices::default()
        };
        let quote = SaleQuote::new(price(&case.price), Energy::parse(&case.amount).unwrap(), grid);
        let got = (
            quote.expected_revenue.to_decimal().to_string(),
            quote.gain_vs_grid.to_decimal().to_string(),
            quote.margin_percent.to_string(),
        );
        assert_eq!(
            got,
            (case.expected_revenue.clone(), case.gain_vs_grid.clone(), case.margin_percent.clone()),
            "{case:?}"
        );
    }
}
