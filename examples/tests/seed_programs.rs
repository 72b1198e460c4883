//! Every seed program runs to completion as a process (its `main` exits once the
//! program is quiescent) and prints what the seed says it should.

use std::process::Command;

fn run(bin: &str, args: &[&str]) -> String {
    let output = Command::new(bin)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    assert!(
        output.status.success(),
        "{bin} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

#[test]
fn salsa_hello_world_prints_in_order() {
    assert_eq!(run(env!("CARGO_BIN_EXE_hello"), &[]), "Hello World!\n");
}

#[test]
fn star_chatty_converses_for_the_rounds_asked() {
    let out = run(env!("CARGO_BIN_EXE_chatty"), &["2"]);
    assert_eq!(
        out,
        "ping heard: hello\n\
         pong heard: Did you hear [hello]?\n\
         ping heard: Did you hear [Did you hear [hello]?]?\n\
         pong heard: Did you hear [Did you hear [Did you hear [hello]?]?]?\n\
         ping heard: Did you hear [Did you hear [Did you hear [Did you hear [hello]?]?]?]?\n"
    );
}

#[test]
fn stage_cart_total_sees_all_three_items() {
    assert_eq!(
        run(env!("CARGO_BIN_EXE_cart"), &[]),
        "total: 3 items, £3.09\n"
    );
}

#[test]
fn star_stocker_answers_the_export_selection_query() {
    // Trades at 11, 20 and 33 fall in [10, 34): average 14.666.. times volume 3.
    assert_eq!(
        run(env!("CARGO_BIN_EXE_stocker"), &[]),
        "average(10, 34) * volume(10, 34) = 44\n\
         after clear(0, 15): average(10, 34) = 16\n"
    );
}

#[test]
fn hewitt_storage_cell_reads_one_of_the_written_values() {
    let out = run(env!("CARGO_BIN_EXE_storage_cell"), &[]);
    assert!(
        ["x.read[] = 5\n", "x.read[] = 7\n", "x.read[] = 9\n"].contains(&out.as_str()),
        "{out}"
    );
}

#[test]
fn stop_go_always_halts_and_prints_a_count() {
    for _ in 0..5 {
        let out = run(env!("CARGO_BIN_EXE_stop_go"), &[]);
        let count = out
            .strip_prefix("count: ")
            .and_then(|n| n.trim_end().parse::<u64>().ok());
        assert!(count.is_some(), "unexpected output {out:?}");
    }
}

#[test]
fn salsa_fibonacci_prints_fib_20() {
    assert_eq!(
        run(env!("CARGO_BIN_EXE_fibonacci"), &["20"]),
        "fib(20) = 6765\n"
    );
}

#[test]
fn salsa_multicast_runs_the_three_protocols() {
    let out = run(env!("CARGO_BIN_EXE_multicast"), &["4"]);
    assert!(out.contains("basic: sent m to 4 members\n"), "{out}");
    assert!(
        out.contains("acknowledged: 4 members processed m\n"),
        "{out}"
    );
    assert!(
        out.contains("group knowledge: 4 members know everybody got m\n"),
        "{out}"
    );
}

#[test]
fn the_sieve_prints_the_thousandth_prime() {
    let out = run(env!("CARGO_BIN_EXE_sieve"), &["1000"]);
    assert!(
        out.starts_with("the first 1000 primes end with 7919\n"),
        "{out}"
    );
}

#[test]
fn stage_trains_prints_the_fastest() {
    assert_eq!(
        run(env!("CARGO_BIN_EXE_trains"), &[]),
        "the express is running at 300 km/h\n"
    );
}

#[test]
fn channels_show_sync_and_async_puts() {
    assert_eq!(
        run(env!("CARGO_BIN_EXE_channels"), &[]),
        "async: put acknowledged before any get\n\
         async: get -> hello\n\
         sync: put waiting, acknowledged: false\n\
         sync: get -> hello, then the put was acknowledged\n"
    );
}

#[test]
fn the_chat_binary_ends_when_its_input_ends() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_chat"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("chat started");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"hi john\n")
        .expect("typed");
    let output = child.wait_with_output().expect("chat ended");
    assert!(output.status.success());
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(out.contains("[john] > susan: hi john"), "{out}");
    assert!(
        out.contains("[susan] > john: hello, is anybody there?"),
        "{out}"
    );
}
