//! `lumea replay` as integrators run it: the real binary, files and pipes.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn lumea(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lumea"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lumea runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn assert_replays_to(input: &str, expected: &str) {
    let path = format!("{}/tests/fixtures/{input}", env!("CARGO_MANIFEST_DIR"));
    let output = lumea(&["replay", &path], "");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), fixture(expected));
}

#[test]
fn the_guide_market_clearing_example_ends_with_its_final_book() {
    assert_replays_to("guide-example.jsonl", "guide-example.expected.jsonl");
}

#[test]
fn the_guide_testing_checklist_for_the_engine() {
    // Invalid price and amount, duplicate id, purchases beyond battery, beyond
    // the order and of one's own offer, full and partial purchases, cancel by a
    // stranger, by the owner and twice, a past expiry, and expiry over time.
    assert_replays_to("checklist.jsonl", "checklist.expected.jsonl");
}

#[test]
fn standard_input_is_read_for_a_dash_or_no_file() {
    let input = fixture("guide-example.jsonl");
    for args in [&["replay", "-"][..], &["replay"][..]] {
        let output = lumea(args, &input);
        assert!(output.status.success());
        assert_eq!(String::from_utf8(output.stdout).unwrap(), fixture("guide-example.expected.jsonl"));
    }
}

#[test]
fn a_malformed_line_stops_with_exit_2_and_names_the_line() {
    let input = format!("{}{{\"cmd\":\"cancel\",\"id\":\"alice-1\"}}\n", fixture("guide-example.jsonl"));
    let output = lumea(&["replay"], &input);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("line 5: command \"cancel\" needs the field \"user\""), "{stderr}");
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let output = lumea(&["replay", "/nonexistent/commands.jsonl"], "");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("cannot open /nonexistent/commands.jsonl")
    );
}

#[test]
fn a_generated_stream_replays_to_the_end() {
    let generated = lumea(&["generate", "--commands", "2000", "--resting", "500", "--seed", "3"], "");
    assert!(generated.status.success());
    let stream = String::from_utf8(generated.stdout).unwrap();
    assert_eq!(stream.lines().count(), 2500);
    let output = lumea(&["replay"], &stream);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let events = String::from_utf8(output.stdout).unwrap();
    assert!(events.lines().last().unwrap().starts_with(r#"{"event":"book","asks":[{"#));
    assert!(events.contains(r#""event":"trade""#) && events.contains(r#""event":"rejected""#));
}

#[test]
fn delivery_intervals_meter_readings_and_settlement_with_fees() {
    // The guide's example for one interval with fees; Alice exports 8 of her
    // 10 kWh, Bob's reading arrives late, Charlie's is revised; a second
    // interval settles past its deadline with a reading missing.
    assert_replays_to("delivery.jsonl", "delivery.expected.jsonl");
}

#[test]
fn a_config_after_the_first_place_stops_with_exit_2() {
    let input = format!("{}{{\"cmd\":\"config\",\"interval_minutes\":30}}\n", fixture("guide-example.jsonl"));
    let output = lumea(&["replay"], &input);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("line 5: \"config\" may only come before the first \"place\""), "{stderr}");
}
