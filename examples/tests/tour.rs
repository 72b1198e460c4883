//! The README's first command runs the tour: it must end well and show each step.

use std::process::Command;

#[test]
fn the_tour_runs_every_step_and_ends_well() {
    let output = Command::new(env!("CARGO_BIN_EXE_tour"))
        .output()
        .expect("the tour starts");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}; said:\n{said}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    for step in [
        "== spawn:",
        "== query! and request!",
        "== supervision:",
        "== deadlock detection:",
        "== drivers:",
        "== theatres:",
        "== migration:",
        "== quiescence:",
    ] {
        assert!(said.contains(step), "no step `{step}`; said:\n{said}");
    }
    assert!(said.contains("Deadlock(Cycle("), "said:\n{said}");
    assert!(
        said.contains(r#"read())  -> Ok(["actors everywhere"])"#),
        "said:\n{said}"
    );
    assert!(
        said.contains("the reader woke, tick Ok(1)"),
        "said:\n{said}"
    );
    assert!(!said.contains("could not run here"), "said:\n{said}");
    assert!(!said.contains("'s thread panicked"), "said:\n{said}");
}
