//! Any text as a replay: every well-formed line goes through the fast and the
//! reference book, which must agree and keep the market's invariants. Malformed
//! lines are skipped (the replay would stop there with exit 2).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lumea::check::Differential;
use lumea::replay::parse_line;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut markets = Differential::default();
    for line in text.lines().filter_map(|line| parse_line(line).ok()) {
        if let Err(violation) = markets.apply(&line) {
            panic!("{violation}");
        }
    }
    if let Err(violation) = markets.compare_books() {
        panic!("{violation}");
    }
});
