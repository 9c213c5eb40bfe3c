//! `lumea replay`: the market as a stream of JSON Lines commands in and events out.
//!
//! A line that is not JSON, or lacks a field its command needs, is an input
//! error that stops the replay, and so is a `config` that is out of range or
//! comes after the first `place`. A price, amount, interval or reading that is
//! not a valid value is not an input error: the market rejects it like any
//! other bad value.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use lumea_market::delivery::{DeliveryRules, Fee};
use lumea_market::ledger::{Ledger, SettlementEvent};
use lumea_market::order::Side;
use lumea_market::rules::{BuyNow, Cancel, Place, Reason};
use lumea_market::units::{Energy, Price, parse_decimal};
use lumea_market::{Book, Event, Market};

/// One command line, as it may arrive: every field optional, so that a missing
/// field can be named in the error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine<'a> {
    #[serde(borrow)]
    cmd: Cow<'a, str>,
    at: Option<DateTime<Utc>>,
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user: Option<Cow<'a, str>>,
    side: Option<Side>,
    #[serde(borrow)]
    price: Option<Cow<'a, str>>,
    #[serde(borrow)]
    amount: Option<Cow<'a, str>>,
    expires_at: Option<DateTime<Utc>>,
    #[serde(borrow, rename = "ref")]
    reference: Option<Cow<'a, str>>,
    #[serde(borrow)]
    order: Option<Cow<'a, str>>,
    #[serde(borrow)]
    headroom: Option<Cow<'a, str>>,
    #[serde(borrow)]
    interval: Option<Cow<'a, str>>,
    #[serde(borrow)]
    import: Option<Cow<'a, str>>,
    #[serde(borrow)]
    export: Option<Cow<'a, str>>,
    interval_minutes: Option<u32>,
    open_hours_ahead: Option<u32>,
    gate_closure_minutes: Option<u32>,
    settlement_deadline_hours: Option<u32>,
    #[serde(borrow)]
    buyer_fee: Option<Cow<'a, str>>,
    #[serde(borrow)]
    seller_fee: Option<Cow<'a, str>>,
}

/// A well-formed command line.
#[derive(Clone, Debug, PartialEq)]
pub struct Line<'a> {
    pub at: Option<DateTime<Utc>>,
    pub command: Command<'a>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command<'a> {
    Place {
        id: Cow<'a, str>,
        user: Cow<'a, str>,
        side: Side,
        price: Cow<'a, str>,
        amount: Cow<'a, str>,
        expires_at: Option<DateTime<Utc>>,
        interval: Option<Cow<'a, str>>,
    },
    Cancel {
        id: Cow<'a, str>,
        user: Cow<'a, str>,
    },
    Buy {
        reference: Cow<'a, str>,
        order: Cow<'a, str>,
        user: Cow<'a, str>,
        amount: Cow<'a, str>,
        headroom: Option<Decimal>,
    },
    Expire,
    /// The market's delivery parameters: only before the first `place`.
    Config(DeliveryRules),
    Meter {
        reference: Cow<'a, str>,
        user: Cow<'a, str>,
        interval: Cow<'a, str>,
        import: Cow<'a, str>,
        export: Cow<'a, str>,
    },
    Settle {
        reference: Cow<'a, str>,
        interval: Cow<'a, str>,
    },
}

/// Why a line could not be read as a command.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MalformedLine(String);

pub fn parse_line(text: &str) -> Result<Line<'_>, MalformedLine> {
    let raw: RawLine = serde_json::from_str(text).map_err(|e| MalformedLine(format!("not a valid command: {e}")))?;
    let cmd = raw.cmd.as_ref();
    let command = match cmd {
        "place" => Command::Place {
            id: required(raw.id, cmd, "id")?,
            user: required(raw.user, cmd, "user")?,
            side: required(raw.side, cmd, "side")?,
            price: required(raw.price, cmd, "price")?,
            amount: required(raw.amount, cmd, "amount")?,
            expires_at: raw.expires_at,
            interval: raw.interval,
        },
        "cancel" => Command::Cancel {
            id: required(raw.id, cmd, "id")?,
            user: required(raw.user, cmd, "user")?,
        },
        "buy" => Command::Buy {
            reference: required(raw.reference, cmd, "ref")?,
            order: required(raw.order, cmd, "order")?,
            user: required(raw.user, cmd, "user")?,
            amount: required(raw.amount, cmd, "amount")?,
            headroom: match raw.headroom {
                None => None,
                Some(text) => Some(parse_decimal(&text).ok_or_else(|| MalformedLine(format!("\"headroom\" is not a decimal number: {text:?}")))?),
            },
        },
        "expire" => Command::Expire,
        "config" => Command::Config(config(&raw)?),
        "meter" => Command::Meter {
            reference: required(raw.reference, cmd, "ref")?,
            user: required(raw.user, cmd, "user")?,
            interval: required(raw.interval, cmd, "interval")?,
            import: required(raw.import, cmd, "import")?,
            export: required(raw.export, cmd, "export")?,
        },
        "settle" => Command::Settle {
            reference: required(raw.reference, cmd, "ref")?,
            interval: required(raw.interval, cmd, "interval")?,
        },
        other => {
            return Err(MalformedLine(format!(
                "unknown command {other:?} (expected place, cancel, buy, expire, config, meter or settle)"
            )));
        }
    };
    Ok(Line { at: raw.at, command })
}

/// The default delivery parameters with the line's fields in their place.
fn config(raw: &RawLine) -> Result<DeliveryRules, MalformedLine> {
    let defaults = DeliveryRules::default();
    let fee = |field: &str, text: &Option<Cow<str>>, default: Fee| match text {
        None => Ok(default),
        Some(text) => Fee::parse(text).ok_or_else(|| MalformedLine(format!("\"{field}\" is not a fee of $0 to $0.05 per kWh: {text:?}"))),
    };
    let rules = DeliveryRules {
        interval_minutes: raw.interval_minutes.unwrap_or(defaults.interval_minutes),
        open_hours_ahead: raw.open_hours_ahead.unwrap_or(defaults.open_hours_ahead),
        gate_closure_minutes: raw.gate_closure_minutes.unwrap_or(defaults.gate_closure_minutes),
        settlement_deadline_hours: raw.settlement_deadline_hours.unwrap_or(defaults.settlement_deadline_hours),
        buyer_fee: fee("buyer_fee", &raw.buyer_fee, defaults.buyer_fee)?,
        seller_fee: fee("seller_fee", &raw.seller_fee, defaults.seller_fee)?,
    };
    if !rules.is_valid() {
        return Err(MalformedLine(
            "\"config\" is out of range: interval_minutes must divide a day, open_hours_ahead 1-168, gate_closure_minutes 0-1440, settlement_deadline_hours 1-720".into(),
        ));
    }
    Ok(rules)
}

fn required<T>(value: Option<T>, cmd: &str, field: &str) -> Result<T, MalformedLine> {
    value.ok_or_else(|| MalformedLine(format!("command \"{cmd}\" needs the field \"{field}\"")))
}

/// What a command produced: market events, or its rejection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Output {
    Event(Event),
    Settlement(SettlementEvent),
    Rejected(Rejection),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename = "rejected")]
pub struct Rejection {
    /// The order id for place and cancel, the command's ref otherwise.
    #[serde(rename = "ref")]
    pub reference: String,
    pub reason: Reason,
}

/// An open order as the closing `book` line lists it.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Resting<'a> {
    pub order: &'a str,
    pub user: &'a str,
    pub price: Price,
    pub remaining: Energy,
}

#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Sides<'a> {
    pub asks: Vec<Resting<'a>>,
    pub bids: Vec<Resting<'a>>,
}

impl<'a> Sides<'a> {
    fn of(book: &'a impl Book, interval: Option<DateTime<Utc>>) -> Self {
        let side = |side| {
            book.open_orders(side, interval)
                .map(|o| Resting {
                    order: o.id.as_str(),
                    user: o.user.as_str(),
                    price: o.price,
                    remaining: o.remaining(),
                })
                .collect()
        };
        Sides {
            asks: side(Side::Sell),
            bids: side(Side::Buy),
        }
    }
}

/// The closing line: the undated book, then each interval's book with open orders.
#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename = "book")]
pub struct BookLine<'a> {
    #[serde(flatten)]
    pub undated: Sides<'a>,
    /// By start, in RFC 3339 UTC with a `Z`.
    pub intervals: BTreeMap<String, Sides<'a>>,
}

impl<'a> BookLine<'a> {
    pub fn of(book: &'a impl Book) -> Self {
        let intervals = book
            .intervals()
            .into_iter()
            .flatten()
            .map(|start| (start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), Sides::of(book, Some(start))))
            .collect();
        BookLine {
            undated: Sides::of(book, None),
            intervals,
        }
    }
}

/// A market driven by command lines. Before any `at`, the clock stands at the Unix epoch.
pub struct Replay<B> {
    pub market: Market<B>,
    pub ledger: Ledger,
    events: Vec<Event>,
    settlements: Vec<SettlementEvent>,
    placed: bool,
}

impl<B: Book + Default> Default for Replay<B> {
    fn default() -> Self {
        Replay {
            market: Market::default(),
            ledger: Ledger::default(),
            events: Vec::new(),
            settlements: Vec::new(),
            placed: false,
        }
    }
}

/// A `config` after the first `place`: the book's rules cannot change under its orders.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("\"config\" may only come before the first \"place\"")]
pub struct LateConfig;

impl<B: Book + Default> Replay<B> {
    /// Applies one command and appends what it produced to `out`.
    pub fn apply(&mut self, line: &Line, out: &mut Vec<Output>) -> Result<(), LateConfig> {
        let now = line.at.unwrap_or(self.market.now());
        let events = &mut self.events;
        let rules = *self.market.rules();
        let result = match &line.command {
            Command::Config(rules) => {
                if self.placed {
                    return Err(LateConfig);
                }
                self.market = Market::restore([], self.market.now().max(now), *rules);
                Ok(())
            }
            Command::Place {
                id,
                user,
                side,
                price,
                amount,
                expires_at,
                interval,
            } => {
                self.placed = true;
                let cmd = Place {
                    id,
                    user,
                    side: *side,
                    price,
                    amount,
                    expires_at: *expires_at,
                    interval: interval.as_deref(),
                };
                self.market.place(now, &cmd, events).map_err(|reason| (id, reason))
            }
            Command::Cancel { id, user } => self.market.cancel(now, &Cancel { id, user }, events).map_err(|reason| (id, reason)),
            Command::Buy {
                reference,
                order,
                user,
                amount,
                headroom,
            } => {
                let cmd = BuyNow {
                    reference,
                    order,
                    user,
                    amount,
                    headroom: *headroom,
                };
                self.market.buy_now(now, &cmd, events).map_err(|reason| (reference, reason))
            }
            Command::Expire => {
                self.market.advance(now, events);
                Ok(())
            }
            Command::Meter {
                reference,
                user,
                interval,
                import,
                export,
            } => {
                self.market.advance(now, events);
                let now = self.market.now();
                self.ledger
                    .meter(&rules, now, user, interval, import, export)
                    .map_err(|reason| (reference, reason))
            }
            Command::Settle { reference, interval } => {
                self.market.advance(now, events);
                let now = self.market.now();
                self.ledger
                    .settle(&rules, now, interval, &mut self.settlements)
                    .map_err(|reason| (reference, reason))
            }
        };
        for event in events.drain(..) {
            if let Event::Trade(trade) = &event {
                self.ledger.record(trade);
            }
            out.push(Output::Event(event));
        }
        out.extend(self.settlements.drain(..).map(Output::Settlement));
        if let Err((reference, reason)) = result {
            out.push(Output::Rejected(Rejection {
                reference: reference.to_string(),
                reason,
            }));
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("line {line}: {error}")]
    Malformed { line: usize, error: MalformedLine },
    #[error("line {line}: {error}")]
    LateConfig { line: usize, error: LateConfig },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Replays every line of `input` and writes the events, then the closing book, to `output`.
pub fn run<B: Book + Default>(input: impl BufRead, mut output: impl Write) -> Result<(), ReplayError> {
    let mut replay = Replay::<B>::default();
    let mut out = Vec::new();
    for (number, text) in input.lines().enumerate() {
        let text = text?;
        if text.trim().is_empty() {
            continue;
        }
        let line = parse_line(&text).map_err(|error| ReplayError::Malformed { line: number + 1, error })?;
        replay
            .apply(&line, &mut out)
            .map_err(|error| ReplayError::LateConfig { line: number + 1, error })?;
        for output_line in out.drain(..) {
            serde_json::to_writer(&mut output, &output_line).map_err(std::io::Error::from)?;
            output.write_all(b"\n")?;
        }
    }
    serde_json::to_writer(&mut output, &BookLine::of(replay.market.book())).map_err(std::io::Error::from)?;
    output.write_all(b"\n")?;
    output.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lumea_market::FastBook;

    fn replay(input: &str) -> Result<String, ReplayError> {
        let mut output = Vec::new();
        run::<FastBook>(input.as_bytes(), &mut output)?;
        Ok(String::from_utf8(output).unwrap())
    }

    #[test]
    fn not_a_number_is_a_rejection_not_a_malformed_line() {
        let out = replay(
            r#"{"cmd":"place","id":"a","user":"alice","side":"sell","price":"abc","amount":"10"}
{"cmd":"place","id":"b","user":"alice","side":"sell","price":"0.16","amount":"-"}
{"cmd":"buy","ref":"r1","order":"nope","user":"bob","amount":""}"#,
        )
        .unwrap();
        assert_eq!(
            out,
            r#"{"event":"rejected","ref":"a","reason":"invalid_price"}
{"event":"rejected","ref":"b","reason":"invalid_amount"}
{"event":"rejected","ref":"r1","reason":"unknown_order"}
{"event":"book","asks":[],"bids":[],"intervals":{}}
"#
        );
    }

    #[test]
    fn malformed_lines_name_their_line_number_and_the_problem() {
        let cases = [
            ("{\"cmd\":\"expire\"}\nnot json", "line 2: not a valid command"),
            (
                r#"{"cmd":"place","id":"a","user":"u","price":"0.1","amount":"1"}"#,
                "line 1: command \"place\" needs the field \"side\"",
            ),
            (r#"{"cmd":"cancel","id":"a"}"#, "line 1: command \"cancel\" needs the field \"user\""),
            (r#"{"cmd":"buy","order":"a","user":"u","amount":"1"}"#, "needs the field \"ref\""),
            (r#"{"cmd":"sell"}"#, "unknown command \"sell\""),
            (
                r#"{"cmd":"place","id":"a","user":"u","side":"both","price":"0.1","amount":"1"}"#,
                "unknown variant `both`",
            ),
            (
                r#"{"cmd":"place","id":"a","user":"u","side":"buy","price":0.16,"amount":"1"}"#,
                "floating point `0.16`, expected a string",
            ),
            (r#"{"cmd":"expire","at":"yesterday"}"#, "line 1: not a valid command"),
            (
                r#"{"cmd":"buy","ref":"r","order":"a","user":"u","amount":"1","headroom":"lots"}"#,
                "\"headroom\" is not a decimal",
            ),
            (r#"{"cmd":"expire","colour":"red"}"#, "unknown field `colour`"),
            (
                r#"{"cmd":"meter","ref":"m","user":"u","interval":"x","import":"0"}"#,
                "needs the field \"export\"",
            ),
            (r#"{"cmd":"settle","ref":"s"}"#, "needs the field \"interval\""),
            (r#"{"cmd":"config","interval_minutes":7}"#, "\"config\" is out of range"),
            (r#"{"cmd":"config","buyer_fee":"0.06"}"#, "\"buyer_fee\" is not a fee"),
            (
                "{\"cmd\":\"place\",\"id\":\"a\",\"user\":\"u\",\"side\":\"buy\",\"price\":\"x\",\"amount\":\"1\"}\n{\"cmd\":\"config\"}",
                "line 2: \"config\" may only come before the first \"place\"",
            ),
        ];
        for (input, expected) in cases {
            let err = replay(input).unwrap_err().to_string();
            assert!(err.contains(expected), "{input}: {err}");
        }
    }

    #[test]
    fn blank_lines_are_skipped_and_still_counted() {
        let err = replay("\n\n{").unwrap_err().to_string();
        assert!(err.starts_with("line 3:"), "{err}");
    }
}
