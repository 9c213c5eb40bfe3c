//! `lumea meter import` and `lumea settle` on a real market file: meter files
//! import whole or not at all, and settled figures pass `verify`.

use std::process::{Command, Output};

fn lumea(db: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lumea"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("lumea runs")
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/meter/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn a_csv_and_a_green_button_file_import_and_a_bad_file_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("market.sqlite");
    let bad = lumea(&db, &["meter", "import", &fixture("bad-line.csv")]);
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8(bad.stderr).unwrap();
    assert!(
        stderr.contains("line 3: export_kwh \"-1\"") && stderr.contains("(invalid_meter_file)"),
        "{stderr}"
    );
    let hourly = lumea(&db, &["meter", "import", &fixture("hourly.xml")]);
    assert!(String::from_utf8_lossy(&hourly.stderr).contains("duration 3600 s"), "{hourly:?}");

    // Readings of Alice, Bob and Charlie for two intervals; then the household's own Green Button file.
    assert_eq!(stdout(&lumea(&db, &["meter", "import", &fixture("readings.csv")])), "{\"imported\":6}\n");
    assert_eq!(
        stdout(&lumea(&db, &["meter", "import", &fixture("green-button.xml")])),
        "{\"imported\":4}\n"
    );
    assert_eq!(stdout(&lumea(&db, &["verify"])), "{\"verified\":true}\n");
}

#[test]
fn a_dated_trade_settles_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("market.sqlite");
    // The next interval whose book is open, and a trade in it between the household and Charlie.
    let now = chrono::Utc::now();
    let start = lumea_market::DeliveryRules::default().next_open(now);
    let interval = start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let sold = stdout(&lumea(
        &db,
        &["place", "--side", "sell", "--price", "0.16", "--amount", "2", "--interval", &interval],
    ));
    assert!(sold.contains("\"trades\":[]") && sold.contains("\"status\":\"active\""), "{sold}");
    let bought = stdout(&lumea(
        &db,
        &[
            "--as",
            "Charlie",
            "place",
            "--side",
            "buy",
            "--price",
            "0.2",
            "--amount",
            "2",
            "--interval",
            &interval,
        ],
    ));
    assert!(bought.contains("\"trades\":[{"), "{bought}");
    // Not ended: refused with its code.
    let early = lumea(&db, &["settle", "--interval", &interval]);
    assert!(String::from_utf8_lossy(&early.stderr).contains("(interval_not_ended)"), "{early:?}");
    let early = lumea(&db, &["meter", "record", "--interval", &interval, "--import", "0", "--export", "2"]);
    assert!(String::from_utf8_lossy(&early.stderr).contains("(interval_not_ended)"), "{early:?}");
    assert_eq!(stdout(&lumea(&db, &["settle"])), "", "nothing has ended yet");
    assert_eq!(stdout(&lumea(&db, &["verify"])), "{\"verified\":true}\n");
}
