//! `lumea replay`: the market as a stream of JSON Lines commands in and events out.
//!
//! A line that is not JSON, or lacks a field its command needs, is an input
//! error that stops the replay. A price or amount that is not a decimal number
//! is not an input error: the market rejects it like any other bad value.

use std::borrow::Cow;
use std::io::{BufRead, Write};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

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
        other => {
            return Err(MalformedLine(format!(
                "unknown command {other:?} (expected place, cancel, buy or expire)"
            )));
        }
    };
    Ok(Line { at: raw.at, command })
}

fn required<T>(value: Option<T>, cmd: &str, field: &str) -> Result<T, MalformedLine> {
    value.ok_or_else(|| MalformedLine(format!("command \"{cmd}\" needs the field \"{field}\"")))
}

/// What a command produced: market events, or its rejection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Output {
    Event(Event),
    Rejected(Rejection),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename = "rejected")]
pub struct Rejection {
    /// The order id for place and cancel, the purchase's ref for buy.
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
#[serde(tag = "event", rename = "book")]
pub struct BookLine<'a> {
    pub asks: Vec<Resting<'a>>,
    pub bids: Vec<Resting<'a>>,
}

impl<'a> BookLine<'a> {
    pub fn of(book: &'a impl Book) -> Self {
        let side = |side| {
            book.open_orders(side)
                .map(|o| Resting {
                    order: o.id.as_str(),
                    user: o.user.as_str(),
                    price: o.price,
                    remaining: o.remaining(),
                })
                .collect()
        };
        BookLine {
            asks: side(Side::Sell),
            bids: side(Side::Buy),
        }
    }
}

/// A market driven by command lines. Before any `at`, the clock stands at the Unix epoch.
pub struct Replay<B> {
    pub market: Market<B>,
    events: Vec<Event>,
}

impl<B: Book + Default> Default for Replay<B> {
    fn default() -> Self {
        Replay {
            market: Market::default(),
            events: Vec::new(),
        }
    }
}

impl<B: Book> Replay<B> {
    /// Applies one command and appends what it produced to `out`.
    pub fn apply(&mut self, line: &Line, out: &mut Vec<Output>) {
        let now = line.at.unwrap_or(self.market.now());
        let events = &mut self.events;
        let result = match &line.command {
            Command::Place {
                id,
                user,
                side,
                price,
                amount,
                expires_at,
            } => {
                let cmd = Place {
                    id,
                    user,
                    side: *side,
                    price,
                    amount,
                    expires_at: *expires_at,
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
        };
        out.extend(events.drain(..).map(Output::Event));
        if let Err((reference, reason)) = result {
            out.push(Output::Rejected(Rejection {
                reference: reference.to_string(),
                reason,
            }));
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("line {line}: {error}")]
    Malformed { line: usize, error: MalformedLine },
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
        replay.apply(&line, &mut out);
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
{"event":"book","asks":[],"bids":[]}
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
