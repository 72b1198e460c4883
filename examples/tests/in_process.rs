//! The seed programs' properties, checked many times in one process with their output
//! captured.

use stage_examples::{chatty, stop_go, storage_cell, Captured};
use stage_runtime::prelude::*;

#[test]
fn chatty_talks_for_thousands_of_rounds_without_growing_the_stack() {
    // Star's notify waits for the partner's rules, so this conversation overflows its
    // stack; here each rule runs in its own turn. One worker, 2 x 3,000 answers.
    let stage = Stage::builder().workers(1).build();
    let captured = Captured::default();
    let out = stage.spawn(Stdout::to_writer(captured.clone()));
    stage
        .block_on(chatty::run(out, 3_000))
        .expect("conversation started");
    stage.wait_quiescent();
    let text = captured.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2 * 3_000 + 1);
    assert_eq!(lines[0], "ping heard: hello");
    assert!(lines[1].starts_with("pong heard: Did you hear [hello]"));
    let last = lines[lines.len() - 1];
    assert_eq!(last.matches("Did you hear [").count(), 6_000);
}

#[test]
fn the_storage_cell_serialises_concurrent_writes_and_reads() {
    let stage = Stage::builder().workers(2).build();
    let out = stage.spawn(Stdout::to_writer(std::io::sink()));
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let read = stage
            .block_on(storage_cell::run(&stage, out.clone()))
            .expect("answered");
        assert!([5, 7, 9].contains(&read), "read {read}");
        seen.insert(read);
    }
    assert!(!seen.is_empty());
}

#[test]
fn stop_go_halts_every_time() {
    for _ in 0..50 {
        let stage = Stage::builder().workers(2).build();
        let captured = Captured::default();
        let print = stage.spawn(Stdout::to_writer(captured.clone()));
        stage.block_on(stop_go::run(print)).expect("started");
        stage.wait_quiescent();
        let text = captured.text();
        assert!(text.starts_with("count: "), "{text:?}");
        assert_eq!(text.lines().count(), 1);
    }
}
