//! `lumea`: the market from the command line.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lumea::market::FastBook;
use lumea::market::workload::Workload;

#[derive(Parser)]
#[command(version, about = "Luméa Market: a peer-to-peer energy market for households")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Read JSON Lines commands and write the events, then the final book, as JSON Lines.
    Replay {
        /// The commands file; `-` or nothing reads standard input.
        file: Option<PathBuf>,
    },
    /// Write a generated command stream for benchmarks: a resting book, then a mix of commands.
    Generate {
        /// How many mixed commands follow the resting book.
        #[arg(long, default_value_t = 1_000_000)]
        commands: usize,
        /// How many resting orders to place first.
        #[arg(long, default_value_t = 10_000)]
        resting: usize,
        /// Over how many price levels the resting orders spread.
        #[arg(long, default_value_t = 500)]
        levels: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Cmd::Replay { file } => replay(file),
        Cmd::Generate { commands, resting, levels, seed } => generate(commands, resting, levels, seed),
    }
}

fn replay(file: Option<PathBuf>) -> ExitCode {
    let stdout = BufWriter::new(io::stdout().lock());
    let result = match file.filter(|path| path.as_os_str() != "-") {
        None => lumea::replay::run::<FastBook>(io::stdin().lock(), stdout),
        Some(path) => match File::open(&path) {
            Ok(file) => lumea::replay::run::<FastBook>(BufReader::new(file), stdout),
            Err(err) => {
                eprintln!("lumea replay: cannot open {}: {err}", path.display());
                return ExitCode::from(2);
            }
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("lumea replay: {err}");
            ExitCode::from(2)
        }
    }
}

fn generate(commands: usize, resting: usize, levels: u32, seed: u64) -> ExitCode {
    let mut workload = Workload::new(seed);
    let mut out = BufWriter::new(io::stdout().lock());
    let lines = workload.resting_book(resting, levels).into_iter().chain((0..commands).map(|_| workload.next_command()));
    for line in lines {
        if writeln!(out, "{line}").is_err() {
            return ExitCode::FAILURE;
        }
    }
    if out.flush().is_err() { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
