//! Differential checking: one command stream through the fast book and the
//! naive reference book, demanding identical events (settlements included)
//! and the market's invariants after every command. Property tests and the
//! fuzz target use it.

use crate::replay::{BookLine, Line, Output, Replay};
use lumea_market::audit::Audit;
use lumea_market::reference::ReferenceBook;
use lumea_market::{Book, Event, FastBook, Order};

/// One market under test, with its audit.
struct Audited<B> {
    replay: Replay<B>,
    audit: Audit,
}

impl<B: Book + Default> Audited<B> {
    fn new() -> Self {
        Audited {
            replay: Replay::default(),
            audit: Audit::default(),
        }
    }

    /// Applies one command: first its clock (whose expiries happen whatever the
    /// command), then the command itself, which must change nothing if rejected.
    fn apply(&mut self, line: &Line) -> Result<Vec<Output>, String> {
        let mut outputs: Vec<Output> = Vec::new();
        if let Some(at) = line.at {
            let mut expiries = Vec::new();
            self.replay.market.advance(at, &mut expiries);
            outputs.extend(expiries.into_iter().map(Output::Event));
        }
        let before: Vec<Order> = self.replay.market.book().orders().cloned().collect();
        let mut out = Vec::new();
        self.replay.apply(line, &mut out).map_err(|e| e.to_string())?;
        if out.iter().any(|o| matches!(o, Output::Rejected(_))) {
            if out.len() != 1 {
                return Err(format!("a rejected command produced events: {out:?}"));
            }
            if !self.replay.market.book().orders().eq(before.iter()) {
                return Err(format!("a rejected command changed the book: {line:?}"));
            }
        }
        outputs.extend(out);
        let events: Vec<Event> = outputs
            .iter()
            .filter_map(|o| if let Output::Event(e) = o { Some(e.clone()) } else { None })
            .collect();
        let book = self.replay.market.book();
        self.audit.record(&events, book)?;
        self.audit.check(book)?;
        Ok(outputs)
    }
}

pub struct Differential {
    fast: Audited<FastBook>,
    reference: Audited<ReferenceBook>,
}

impl Default for Differential {
    fn default() -> Self {
        Differential {
            fast: Audited::new(),
            reference: Audited::new(),
        }
    }
}

impl Differential {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.fast.replay.market.now()
    }

    /// Applies `line` to both books; their outputs must be identical.
    pub fn apply(&mut self, line: &Line) -> Result<Vec<Output>, String> {
        let fast = self.fast.apply(line)?;
        let reference = self.reference.apply(line)?;
        if fast != reference {
            return Err(format!("events differ at {line:?}\n fast:      {fast:?}\n reference: {reference:?}"));
        }
        Ok(fast)
    }

    /// The settlement ledger's invariants (conservation of energy and money).
    pub fn check_settlements(&self) -> Result<(), String> {
        let replay = &self.fast.replay;
        lumea_market::audit::check_settlements(&replay.ledger, replay.market.rules())
    }

    /// Both books must hold the same orders in the same order.
    pub fn compare_books(&self) -> Result<(), String> {
        let (fast, reference) = (self.fast.replay.market.book(), self.reference.replay.market.book());
        if BookLine::of(fast) != BookLine::of(reference) {
            return Err("the open books differ".into());
        }
        if !fast.orders().eq(reference.orders()) {
            return Err("the order histories differ".into());
        }
        Ok(())
    }
}
