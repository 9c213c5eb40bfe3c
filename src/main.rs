//! `lumea`: the market from the command line.

mod operator;

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use lumea::workload::Workload;
use lumea_market::FastBook;
use lumea_store::clock::{Clock, ManualClock, SystemClock};
use lumea_store::simulator::{self, Simulator};
use lumea_store::{Durability, LocalMarket, OpenOptions, OrderFilter, Page, PlaceRequest, Trader};
use serde::Serialize;
use uuid::Uuid;

#[derive(Parser)]
#[command(version, about = "Luméa Market: a peer-to-peer energy market for households")]
struct Cli {
    /// The local market file (SQLite); created with the demo neighbourhood if new.
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    /// How hard each commit waits for the disk.
    #[arg(long, global = true, value_enum, default_value_t = DurabilityArg::Full)]
    durability: DurabilityArg,
    /// Act as this neighbour instead of the household.
    #[arg(long = "as", global = true, value_name = "USERNAME")]
    acting_as: Option<String>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum DurabilityArg {
    Full,
    Normal,
}

#[derive(Clone, Copy, ValueEnum)]
enum SideArg {
    Buy,
    Sell,
}

#[derive(Subcommand)]
enum MeterCmd {
    /// Import readings from a CSV (household,interval_start,import_kwh,export_kwh) or
    /// Green Button (ESPI XML) file: all of them or, on any problem, none.
    Import { file: PathBuf },
    /// Record one reading of my meter for an ended interval.
    Record {
        #[arg(long)]
        interval: String,
        /// kWh drawn from the grid connection in the interval.
        #[arg(long)]
        import: String,
        /// kWh fed into it.
        #[arg(long)]
        export: String,
    },
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
    /// Place a limit order (needs --db).
    Place {
        #[arg(long, value_enum)]
        side: SideArg,
        /// $/kWh, e.g. 0.16
        #[arg(long)]
        price: String,
        /// kWh, e.g. 10
        #[arg(long)]
        amount: String,
        /// Expire the order after this many minutes.
        #[arg(long)]
        expires_in: Option<i64>,
        /// The order's id (a new UUID if not given).
        #[arg(long)]
        id: Option<Uuid>,
        /// The start of its delivery interval (RFC 3339, e.g. 2026-06-01T12:15:00Z); undated if not given.
        #[arg(long)]
        interval: Option<String>,
    },
    /// Meter readings (needs --db).
    Meter {
        #[command(subcommand)]
        action: MeterCmd,
    },
    /// Settle one ended delivery interval, or every ended interval with unsettled trades (needs --db).
    Settle {
        /// The interval's start (RFC 3339); every due interval if not given.
        #[arg(long)]
        interval: Option<String>,
    },
    /// Cancel one of my open orders (needs --db).
    Cancel { id: Uuid },
    /// Buy kWh from a listed sell order at its price (needs --db).
    Buy { order: Uuid, amount: String },
    /// Buy kWh from the grid at its fixed price (needs --db).
    GridBuy { amount: String },
    /// Sell kWh to the grid at its feed-in price (needs --db).
    GridSell { amount: String },
    /// The open book (needs --db).
    Book,
    /// My orders, newest first (needs --db).
    Orders {
        #[arg(long, conflicts_with = "closed")]
        open: bool,
        #[arg(long)]
        closed: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// My trades, newest first (needs --db).
    Trades {
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// My battery and CO2 tokens (needs --db).
    Energy,
    /// Market statistics over the last hours (needs --db).
    Stats {
        #[arg(long, default_value_t = 24)]
        hours: i64,
    },
    /// Change a setting: grid_buy_price, grid_sell_price, co2_kg_per_kwh, simulator (needs --db).
    Set { key: String, value: String },
    /// Check every invariant of the market file (needs --db).
    Verify,
    /// A community market's operator: bootstrap a community on a Supabase project's database.
    Community {
        #[command(subcommand)]
        action: CommunityCmd,
    },
    /// Run the demo neighbourhood on a simulated clock, printing each action it commits (needs --db).
    Simulate {
        #[arg(long, default_value_t = 288)]
        steps: u64,
        #[arg(long, default_value_t = 5)]
        minutes_per_step: i64,
        /// Simulated start time (RFC 3339); now if not given.
        #[arg(long)]
        start: Option<DateTime<Utc>>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Subcommand)]
enum CommunityCmd {
    /// Create a community and print its first admin's single-use invitation (link and code, valid 7 days).
    Create {
        #[command(flatten)]
        project: ProjectArgs,
        /// The community's id (letters, digits, - and _); made from the name if not given.
        #[arg(long)]
        id: Option<String>,
        /// The community's name, as members see it.
        name: String,
    },
    /// Print a household invitation (link and code) for a community.
    Invite {
        #[command(flatten)]
        project: ProjectArgs,
        community: String,
        /// How many households may join with it.
        #[arg(long, default_value_t = 1)]
        uses: u32,
        /// Days until it expires (at most 90).
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// Members who join with it are active at once, without an admin's approval.
        #[arg(long)]
        pre_approved: bool,
    },
    /// Approve a pending member, by the name it joined with.
    Approve {
        #[arg(long, env = "LUMEA_DB_URL")]
        db_url: String,
        community: String,
        name: String,
    },
    /// Print a new single-use admin invitation for an existing community.
    InviteAdmin {
        #[command(flatten)]
        project: ProjectArgs,
        community: String,
    },
}

#[derive(clap::Args)]
struct ProjectArgs {
    /// The project's database, as the service (Supabase dashboard: Connect, the connection string).
    #[arg(long, env = "LUMEA_DB_URL")]
    db_url: String,
    /// The project's URL, for the invitation link (https://<ref>.supabase.co).
    #[arg(long)]
    project_url: String,
    /// The project's public (anon or publishable) key, for the invitation link.
    #[arg(long)]
    anon_key: String,
}

fn community(action: CommunityCmd) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let project = |args: &ProjectArgs| operator::Project {
        url: args.project_url.clone(),
        anon_key: args.anon_key.clone(),
    };
    let made = runtime.block_on(async {
        let invitation = match &action {
            CommunityCmd::Create { project: args, id, name } => operator::create(&args.db_url, &project(args), id.clone(), name).await,
            CommunityCmd::InviteAdmin { project: args, community } => operator::invite_admin(&args.db_url, &project(args), community).await,
            CommunityCmd::Invite {
                project: args,
                community,
                uses,
                days,
                pre_approved,
            } => operator::invite(&args.db_url, &project(args), community, *uses, *days, *pre_approved).await,
            CommunityCmd::Approve { db_url, community, name } => {
                return operator::approve(db_url, community, name)
                    .await
                    .map(|name| serde_json::json!({ "approved": name }));
            }
        };
        invitation.map(|invitation| serde_json::to_value(invitation).expect("invitations serialise"))
    });
    match made {
        Ok(answer) => {
            print(&answer);
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("lumea: {err}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Replay { file } => replay(file),
        Cmd::Generate {
            commands,
            resting,
            levels,
            seed,
        } => generate(commands, resting, levels, seed),
        Cmd::Community { action } => community(action),
        command => {
            let Some(db) = cli.db else {
                eprintln!("lumea: this command needs --db FILE, the local market file");
                return ExitCode::from(2);
            };
            let durability = match cli.durability {
                DurabilityArg::Full => Durability::Full,
                DurabilityArg::Normal => Durability::Normal,
            };
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            runtime.block_on(with_market(db, durability, cli.acting_as, command))
        }
    }
}

async fn with_market(db: PathBuf, durability: Durability, acting_as: Option<String>, command: Cmd) -> ExitCode {
    let simulated = match &command {
        Cmd::Simulate { start, .. } => Some(ManualClock::new(start.unwrap_or_else(Utc::now))),
        _ => None,
    };
    let clock: Arc<dyn Clock> = match &simulated {
        Some(clock) => Arc::new(clock.clone()),
        None => Arc::new(SystemClock),
    };
    let options = OpenOptions { durability, seed_demo: true };
    let result = async {
        let market = LocalMarket::open(&db, clock, options).await?;
        let trader = match &acting_as {
            Some(name) => market.trader(name).await?,
            None => market.household(),
        };
        run(&market, &trader, command, simulated).await
    };
    match result.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("lumea: {err} ({})", err.code());
            ExitCode::FAILURE
        }
    }
}

fn print(value: &impl Serialize) {
    let mut out = io::stdout().lock();
    // Flushed at once: `simulate` acknowledges each action as it commits.
    let written = serde_json::to_writer(&mut out, value)
        .map_err(io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush());
    if written.is_err() {
        // The reader has gone (a closed pipe): there is no one left to tell.
        std::process::exit(0);
    }
}

async fn run(market: &LocalMarket, me: &Trader<'_>, command: Cmd, simulated: Option<ManualClock>) -> lumea_store::Result<()> {
    match command {
        Cmd::Place {
            side,
            price,
            amount,
            expires_in,
            id,
            interval,
        } => {
            let side = match side {
                SideArg::Buy => lumea_market::Side::Buy,
                SideArg::Sell => lumea_market::Side::Sell,
            };
            let expires_at = expires_in.map(|minutes| market.now() + Duration::minutes(minutes));
            let request = PlaceRequest {
                id: id.unwrap_or_else(Uuid::new_v4),
                side,
                price,
                amount,
                expires_at,
                interval,
            };
            print(&me.place(&request).await?);
        }
        Cmd::Cancel { id } => print(&me.cancel(id).await?),
        Cmd::Meter {
            action: MeterCmd::Import { file },
        } => {
            let text = std::fs::read_to_string(&file).map_err(|err| lumea_store::Error::MeterFile(format!("{}: {err}", file.display())))?;
            let (imported, events) = me.import_meter_file(&text).await?;
            print(&serde_json::json!({ "imported": imported }));
            events.iter().for_each(print);
        }
        Cmd::Meter {
            action: MeterCmd::Record { interval, import, export },
        } => me.record_reading(&interval, &import, &export).await?.iter().for_each(print),
        Cmd::Settle { interval } => {
            let events = match interval {
                Some(interval) => market.settle(&interval).await?,
                None => market.settle_due().await?,
            };
            events.iter().for_each(print);
        }
        Cmd::Buy { order, amount } => print(&me.buy_now(order, &amount).await?),
        Cmd::GridBuy { amount } => print(&me.buy_from_grid(&amount).await?),
        Cmd::GridSell { amount } => print(&me.sell_to_grid(&amount).await?),
        Cmd::Book => print(&market.book().await?),
        Cmd::Orders { open, closed, limit, offset } => {
            let filter = OrderFilter {
                open: (open || closed).then_some(open),
                side: None,
            };
            print(&me.orders(&filter, Page { limit, offset }).await?);
        }
        Cmd::Trades { limit, offset } => print(&me.trades(Page { limit, offset }).await?),
        Cmd::Energy => print(&me.energy().await?),
        Cmd::Stats { hours } => print(&market.stats(market.now() - Duration::hours(hours)).await?),
        Cmd::Set { key, value } => market.set_setting(&key, &value).await?,
        Cmd::Verify => match market.verify().await {
            Ok(()) => print(&serde_json::json!({ "verified": true })),
            Err(problem) => {
                print(&serde_json::json!({ "verified": false, "problem": problem }));
                std::process::exit(1);
            }
        },
        Cmd::Simulate {
            steps,
            minutes_per_step,
            seed,
            ..
        } => {
            let clock = simulated.expect("simulate runs on a simulated clock");
            let mut simulator = Simulator::new(seed);
            for _ in 0..steps {
                clock.advance(Duration::minutes(minutes_per_step));
                for action in simulator::step(market, &mut simulator).await? {
                    print(&action);
                }
            }
        }
        Cmd::Replay { .. } | Cmd::Generate { .. } | Cmd::Community { .. } => unreachable!("handled without a market file"),
    }
    Ok(())
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
    let lines = workload
        .resting_book(resting, levels)
        .into_iter()
        .chain((0..commands).map(|_| workload.next_command()));
    for line in lines {
        if writeln!(out, "{line}").is_err() {
            return ExitCode::FAILURE;
        }
    }
    if out.flush().is_err() { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
