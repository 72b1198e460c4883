//! Seeds given by a DNS name: a name with several addresses joins a theatre to
//! the theatre at each of them; an address that is the theatre itself is
//! skipped; and a theatre left alone resolves its seeds again while it rejoins.
//!
//! The test needs a name that resolves to several loopback addresses, and makes
//! one without touching the machine: it runs itself again in a mount namespace
//! of its own (`unshare --mount`, which needs root) with a hosts file of its own
//! bound over `/etc/hosts` there. One theatre runs in a child process, so that
//! it can be killed as a crashed machine is. Skipped, with a message, without
//! root or `unshare`.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, ToSocketAddrs};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use stage_net::Theatre;

const COOKIE: &str = "dns-seeds-test-cookie-0123456789";
const NAME: &str = "seeds.stage.test";
const TEST: &str = "a_seed_name_joins_every_address_skips_itself_and_is_resolved_again_when_alone";
/// Set in the process that runs inside the mount namespace.
const INSIDE: &str = "STAGE_DNS_SEEDS_INSIDE";
/// Set in the child that plays the theatre at 127.0.0.1: its port.
const KILLABLE: &str = "STAGE_DNS_SEEDS_KILLABLE";

#[test]
fn a_seed_name_joins_every_address_skips_itself_and_is_resolved_again_when_alone() {
    if let Ok(port) = std::env::var(KILLABLE) {
        return killable(&port);
    }
    if std::env::var_os(INSIDE).is_some() {
        return inside();
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let unshare = Command::new("unshare").arg("--version").output().is_ok();
    if !root || !unshare {
        eprintln!("SKIPPED: the DNS seeds test needs root and `unshare` (util-linux)");
        return;
    }
    let hosts = std::env::temp_dir().join(format!("stage-dns-seeds-hosts-{}", std::process::id()));
    let lines: String = (1..=4).map(|i| format!("127.0.0.{i} {NAME}\n")).collect();
    std::fs::write(&hosts, lines).expect("the hosts file is written");
    let exe = std::env::current_exe().expect("the test binary");
    let status = Command::new("unshare")
        .args(["--mount", "sh", "-c"])
        .arg("mount --bind \"$0\" /etc/hosts && exec \"$1\" --exact \"$2\" --nocapture")
        .arg(&hosts)
        .arg(&exe)
        .arg(TEST)
        .env(INSIDE, "1")
        .status()
        .expect("unshare runs");
    let _ = std::fs::remove_file(&hosts);
    assert!(status.success(), "the scenario failed inside the namespace");
}

/// The theatre at 127.0.0.1 (a process of its own): says "ready" and waits to
/// be killed.
fn killable(port: &str) {
    let theatre = Theatre::builder()
        .listen(format!("127.0.0.1:{port}"))
        .cookie(COOKIE)
        .start()
        .expect("the killable theatre starts");
    println!("ready {}", theatre.locator());
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

/// Kills the child when dropped, so that a failing scenario leaves nothing.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port free on 127.0.0.1 to 127.0.0.4 alike.
fn free_port() -> u16 {
    for _ in 0..50 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        if (1..=4).all(|i| TcpListener::bind(format!("127.0.0.{i}:{port}")).is_ok()) {
            return port;
        }
    }
    panic!("no port free on all four loopback addresses");
}

fn theatre(listen: String, seeds: &[String]) -> Theatre {
    Theatre::builder()
        .listen(listen)
        .cookie(COOKIE)
        .join(seeds.iter().cloned())
        .start()
        .expect("a theatre starts")
}

fn wait_for(what: &str, ok: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sorted(mut peers: Vec<String>) -> Vec<String> {
    peers.sort();
    peers
}

/// The scenario, inside the mount namespace where `NAME` has four addresses.
fn inside() {
    let port = free_port();
    let resolved: Vec<_> = (NAME, port)
        .to_socket_addrs()
        .expect("the name resolves")
        .collect();
    assert_eq!(
        resolved.len(),
        4,
        "the hosts file is not in place: {resolved:?}"
    );
    let at = |i: u8| format!("127.0.0.{i}:{port}");
    let locator = |i: u8| format!("stage://{}", at(i));
    let seed = vec![format!("stage://{NAME}:{port}")];

    // A (a process of its own) at .1 and B at .2; nothing at .3 or .4 yet.
    let mut child = Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", TEST, "--nocapture"])
        .env(KILLABLE, port.to_string())
        .env_remove(INSIDE)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the killable theatre's process starts");
    let stdout = child.stdout.take().expect("its output");
    let a = Killed(child);
    let ready = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find(|line| line.starts_with("ready "));
    assert_eq!(ready, Some(format!("ready {}", locator(1))));
    let b = theatre(at(2), &[]);

    // D joins by the name: it meets A and B, which did not know each other;
    // the addresses where nothing listens do not fail its start.
    let d = theatre("127.0.0.5:0".into(), &seed);
    wait_for("d meets a and b", || {
        sorted(d.peers()) == [locator(1), locator(2)]
    });

    // E listens at .4, one of the name's addresses: it skips itself and joins
    // the others.
    let e = theatre(at(4), &seed);
    wait_for("e meets a, b and d", || e.peers().len() == 3);
    assert!(!e.peers().contains(&locator(4)), "e is not its own peer");
    assert!(!d.peers().is_empty());

    // D alone but for A; then A crashes. Meanwhile a new theatre, F, came up
    // at .3, which D never met: D, alone, resolves the name again and finds it.
    b.shutdown();
    e.shutdown();
    wait_for("d is left with a only", || d.peers() == [locator(1)]);
    let f = theatre(at(3), &[]);
    drop(a);
    wait_for("d finds f through the name", || d.peers() == [locator(3)]);
    wait_for("f knows d", || f.peers() == [d.locator().to_owned()]);
    println!(
        "dns seeds: {NAME} resolved to {} addresses; d joined a and b by it, e skipped itself, \
         d found f through it when a crashed",
        resolved.len()
    );
    d.shutdown();
    f.shutdown();
}
