//! A theatre in another process, for the tests that need one: the test binary
//! starts itself again, running only the test `test`, with `env` set (the test
//! sees it and plays the child); the child prints its locator first.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A process that ends when dropped.
pub(crate) struct Killed(pub(crate) Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// This test binary again, running `test` with `env`; the child and the
/// locator it printed.
pub(crate) fn start_child(test: &str, env: &[(&str, &str)]) -> (Killed, String) {
    let exe = std::env::current_exe().expect("the test binary");
    let mut command = Command::new(exe);
    command
        .args(["--exact", test, "--nocapture"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("the child starts");
    let stdout = child.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines();
    let locator = lines
        .find_map(|line| line.ok().filter(|l| l.starts_with("stage://")))
        .expect("the child prints its locator");
    (Killed(child), locator)
}
