//! Throughput and latency of the engine over the generated workload: 10,000
//! resting orders over 500 levels, then a mix of places (some crossing),
//! cancels, direct purchases and clock ticks with expiries.
//!
//! `cargo bench --bench throughput` runs 1,000,000 commands and prints the
//! figures; under `cargo test` it runs a small smoke workload.

use std::hint::black_box;
use std::io::Write;
use std::time::Instant;

use hdrhistogram::Histogram;
use lumea::replay::{Line, Output, Replay, parse_line};
use lumea::workload::Workload;
use lumea_market::FastBook;

fn main() {
    let benching = std::env::args().any(|arg| arg == "--bench");
    let commands = if benching { 1_000_000 } else { 10_000 };

    let mut workload = Workload::new(1);
    let resting_text = workload.resting_book(10_000, 500);
    let mix: Vec<String> = (0..commands).map(|_| workload.next_command()).collect();
    let resting: Vec<Line> = resting_text.iter().map(|l| parse_line(l).unwrap()).collect();
    let parsed: Vec<Line> = mix.iter().map(|l| parse_line(l).unwrap()).collect();

    let fresh = || {
        let mut replay = Replay::<FastBook>::default();
        let mut out = Vec::new();
        resting.iter().for_each(|line| replay.apply(line, &mut out).expect("no config"));
        replay
    };

    // Throughput: parsed commands through the engine, no clock reads in the loop.
    // The median of three passes, each on a fresh book, tames a shared machine's noise.
    let mut out: Vec<Output> = Vec::new();
    let (mut trades, mut rejected) = (0usize, 0usize);
    let mut passes: Vec<f64> = (0..3)
        .map(|_| {
            let mut replay = fresh();
            (trades, rejected) = (0, 0);
            let start = Instant::now();
            for line in &parsed {
                replay.apply(line, &mut out).expect("no config");
                for output in out.drain(..) {
                    match output {
                        Output::Event(lumea_market::Event::Trade(_)) => trades += 1,
                        Output::Rejected(_) => rejected += 1,
                        Output::Event(_) | Output::Settlement(_) => {}
                    }
                }
            }
            let secs = start.elapsed().as_secs_f64();
            drop(replay);
            secs
        })
        .collect();
    passes.sort_by(f64::total_cmp);
    let engine_secs = passes[1];

    // Latency: the same stream on a fresh book, every command timed alone.
    let mut replay = fresh();
    let mut latency = Histogram::<u64>::new(3).unwrap();
    for line in &parsed {
        let start = Instant::now();
        replay.apply(line, &mut out).expect("no config");
        let took = start.elapsed().as_nanos() as u64;
        out.clear();
        latency.record(took.max(1)).unwrap();
    }

    // The whole replay path: parse each text line, apply, and write the events as JSON.
    let text: String = resting_text.iter().chain(&mix).flat_map(|line| [line.as_str(), "\n"]).collect();
    let mut sink = std::io::sink();
    let start = Instant::now();
    lumea::replay::run::<FastBook>(text.as_bytes(), &mut sink).unwrap();
    let replay_secs = start.elapsed().as_secs_f64();
    black_box(&mut sink);

    let mut report = std::io::stdout().lock();
    writeln!(report, "workload: 10,000 resting orders over 500 levels, then {commands} mixed commands").unwrap();
    writeln!(report, "  {trades} trades, {rejected} rejections").unwrap();
    writeln!(
        report,
        "engine throughput:  {:>12.0} commands/s (one core; median of 3 passes, slowest {:.0})",
        commands as f64 / engine_secs,
        commands as f64 / passes[2]
    )
    .unwrap();
    writeln!(
        report,
        "engine latency:     p50 {} ns, p99 {} ns, p99.9 {} ns, max {} ns",
        latency.value_at_quantile(0.50),
        latency.value_at_quantile(0.99),
        latency.value_at_quantile(0.999),
        latency.max()
    )
    .unwrap();
    writeln!(
        report,
        "replay (parse + engine + JSON out): {:>12.0} lines/s",
        (commands + 10_000) as f64 / replay_secs
    )
    .unwrap();
}
