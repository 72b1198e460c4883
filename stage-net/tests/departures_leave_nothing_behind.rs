//! Peers that leave take nothing with them: after hundreds of theatres joined one
//! and shut down, its open files and threads are back where they were, it tries to
//! rejoin none of them, and a new peer still joins (DESIGN 6.1: strangers cost
//! nothing, and neither do departed members).
//!
//! Alone in its file: it counts the process's open files and threads.

#![cfg(target_os = "linux")]

use std::time::{Duration, Instant};

use stage_net::Theatre;

const COOKIE: &str = "departures";

fn open_files() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Waits (at most a minute) until `done` holds; panics with `what` otherwise.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn three_hundred_departures_leave_no_socket_thread_or_peer_behind() {
    let home = Theatre::builder()
        .cookie(COOKIE)
        .start()
        .expect("the home theatre starts");
    // One peer met and gone first, so that every lazily made thing is made.
    let warm = Theatre::builder()
        .cookie(COOKIE)
        .join([home.locator()])
        .start()
        .expect("a peer joins");
    warm.shutdown();
    drop(warm);
    wait_until("the first peer is gone", || home.peers().is_empty());
    let (files, threads_before) = (open_files(), threads());
    for _ in 0..300 {
        let peer = Theatre::builder()
            .cookie(COOKIE)
            .join([home.locator()])
            .start()
            .expect("a peer joins");
        assert_eq!(peer.peers(), vec![home.locator().to_owned()]);
        peer.shutdown();
    }
    wait_until("every departed peer is forgotten", || {
        home.peers().is_empty()
    });
    // A few files and threads of slack: a handshake or a reader may be finishing.
    wait_until("the open files are back where they were", || {
        open_files() <= files + 4
    });
    wait_until(
        "the threads are back where they were (no rejoin threads)",
        || threads() <= threads_before + 4,
    );
    let newcomer = Theatre::builder()
        .cookie(COOKIE)
        .join([home.locator()])
        .start()
        .expect("a new peer still joins");
    wait_until("the home sees the newcomer", || home.peers().len() == 1);
    newcomer.shutdown();
}
