//! The fault suite: theatres in separate processes, each in a network namespace
//! of its own, joined through a bridge in a hub namespace, with links cut and
//! restored, processes killed with SIGKILL, a link slowed by a forwarding proxy,
//! and a member's open files limited to 1,024 (DESIGN 6.1).
//!
//! It needs root (for `ip netns`), so it is not part of `cargo test`: `.ci/run`
//! runs it with `cargo test -p stage-net --test faults`, which says plainly when
//! it is skipped. Every address it uses is inside namespaces it creates
//! (10.77.0.0/24), and it deletes them, and kills its processes, even when a
//! scenario fails.
//!
//! One binary plays every part: run with `STAGE_FAULT_ROLE` set, it is a node
//! (a theatre, a client running a scenario's steps, a proxy, or a joiner);
//! without, it is the orchestrator.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use stage_net::Theatre;
use stage_runtime::prelude::*;

const COOKIE: &str = "fault-suite-cookie-0123456789abcdef";
const PORT: u16 = 7700;
/// The failure detector's time in every node.
const DOWN_AFTER: Duration = Duration::from_secs(1);

// ---------------------------------------------------------------- the actor

#[actor(mobile)]
struct Counter {
    count: u64,
    next: u32,
    in_order: bool,
}

#[behaviour]
impl Counter {
    #[request]
    fn add(&mut self, n: u64) -> u64 {
        self.count += n;
        self.count
    }

    #[query]
    fn count(&self) -> u64 {
        self.count
    }

    /// Events numbered 0, 1, 2, ... from one sender: `in_order` stays true only if
    /// each comes once, after the one before.
    #[on(mark)]
    fn mark(&mut self, seq: u32) {
        self.in_order &= seq == self.next;
        self.next = seq + 1;
    }

    #[query]
    fn marks(&self) -> (u32, bool) {
        (self.next, self.in_order)
    }

    /// Records that request `id` was processed here (see [`PROCESSED`]).
    #[request]
    fn record(&mut self, id: u64) -> u64 {
        lock_processed().push(id);
        id
    }

    /// A slow handler: 50 µs of work for each event.
    #[on(crawl)]
    fn crawl(&mut self, _payload: Vec<u8>) {
        let until = Instant::now() + Duration::from_micros(50);
        while Instant::now() < until {
            std::hint::spin_loop();
        }
        self.count += 1;
    }
}

/// The requests this process's actors processed (`record`), printed when a
/// theatre leaves: the rolling restart checks them against what was answered.
static PROCESSED: Mutex<Vec<u64>> = Mutex::new(Vec::new());

fn lock_processed() -> std::sync::MutexGuard<'static, Vec<u64>> {
    PROCESSED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Says which requests this process processed.
fn say_processed() {
    let ids: Vec<String> = lock_processed().iter().map(u64::to_string).collect();
    say(&format!("PROCESSED {}", ids.join(",")));
}

fn counter(_name: &str) -> Counter {
    Counter {
        count: 0,
        next: 0,
        in_order: true,
    }
}

// ---------------------------------------------------------------- nodes

fn env(key: &str) -> String {
    std::env::var(key).unwrap_or_default()
}

fn theatre_from_env() -> Theatre {
    let mut builder = Theatre::builder()
        .listen(env("LISTEN"))
        .cookie(COOKIE)
        .down_after(DOWN_AFTER)
        .activates::<Counter>(counter);
    if let Ok(window) = env("WINDOW").parse() {
        builder = builder.window(window);
    }
    if let Ok(seconds) = env("REJOIN_SECS").parse() {
        builder = builder.rejoin_for(Duration::from_secs(seconds));
    }
    let join = env("JOIN");
    if !join.is_empty() {
        builder = builder.join(join.split(',').map(str::to_owned));
    }
    builder.start().expect("the node's theatre starts")
}

/// A line to the orchestrator.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Tells the orchestrator the scenario reached `step`, and waits for it to act.
fn step(step: &str) {
    say(&format!("STEP {step}"));
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .expect("the orchestrator answers");
}

fn node(role: &str) {
    match role {
        "server" => {
            let theatre = theatre_from_env();
            if env("BIND") == "1" {
                theatre
                    .bind("counter", &theatre.spawn(counter("counter")))
                    .expect("bind");
            }
            say(&format!("READY {}", theatre.locator()));
            // Until the orchestrator closes stdin (or kills the process).
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            theatre.shutdown();
            // What arrives after the goodbye is refused (its asker is answered).
            say_processed();
        }
        "proxy" => proxy(&env("LISTEN"), &env("TARGET")),
        "joiner" => {
            let times: usize = env("TIMES").parse().expect("TIMES");
            for i in 0..times {
                let theatre = Theatre::builder()
                    .listen(env("LISTEN"))
                    .cookie(COOKIE)
                    .join([env("JOIN")])
                    .start()
                    .unwrap_or_else(|e| panic!("departure {i}: {e}"));
                theatre.shutdown();
            }
            say("DONE");
        }
        "client" => client(&env("SCENARIO")),
        other => panic!("no role {other}"),
    }
}

/// Retries `ask` until it answers `Ok` (the way back after a fault), for at most
/// `within`; the answer and how long it took.
fn until_ok<T>(within: Duration, mut ask: impl FnMut() -> Result<T, SpeechError>) -> (T, Duration) {
    let start = Instant::now();
    loop {
        match ask() {
            Ok(value) => return (value, start.elapsed()),
            Err(error) => assert!(
                start.elapsed() < within,
                "no answer within {within:?}; last: {error:?}"
            ),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The actor bound as "counter", once the directory has it (a minute at most),
/// and how long that took.
fn lookup_counter(theatre: &Theatre) -> (Addr<Counter>, Duration) {
    until_ok(Duration::from_secs(60), || {
        theatre
            .lookup::<Counter>("counter")
            .map_err(|e| SpeechError::Failed(Failure::Wire(e.to_string().into())))
    })
}

fn client(scenario: &str) {
    let theatre = theatre_from_env();
    match scenario {
        "partition" => {
            let (counter, _) = lookup_counter(&theatre);
            assert_eq!(request!(counter, add(1)).wait(), Ok(1));
            step("cut");
            let start = Instant::now();
            let cut = query!(counter, count()).wait();
            let failed_after = start.elapsed();
            assert_eq!(cut, Err(SpeechError::Failed(Failure::Unreachable)));
            say(&format!(
                "RESULT unreachable_ms={}",
                failed_after.as_millis()
            ));
            step("heal");
            // The same address works again once the link is back.
            let (count, back_after) =
                until_ok(Duration::from_secs(30), || query!(counter, count()).wait());
            assert_eq!(count, 1);
            assert_eq!(request!(counter, add(1)).wait(), Ok(2));
            say(&format!("RESULT healed_ms={}", back_after.as_millis()));
        }
        "kill" => {
            let names: Vec<String> = (0..40).map(|i| format!("room-{i}")).collect();
            for name in &names {
                let room = theatre.named::<Counter>(name);
                let (count, _) =
                    until_ok(Duration::from_secs(30), || request!(room, add(1)).wait());
                assert_eq!(count, 1, "{name}");
            }
            let (fixed, _) = lookup_counter(&theatre);
            assert_eq!(request!(fixed, add(1)).wait(), Ok(1));
            step("kill");
            let start = Instant::now();
            let pending = query!(fixed, count()).wait();
            let failed_after = start.elapsed();
            assert_eq!(pending, Err(SpeechError::Failed(Failure::Unreachable)));
            say(&format!(
                "RESULT unreachable_ms={}",
                failed_after.as_millis()
            ));
            // Every name answers again: from its old actor where its theatre
            // lives, from one started afresh elsewhere where it died.
            let start = Instant::now();
            let mut fresh = 0;
            for name in &names {
                let room = theatre.named::<Counter>(name);
                let (count, _) = until_ok(Duration::from_secs(30), || query!(room, count()).wait());
                assert!(count <= 1, "{name}: {count}");
                fresh += usize::from(count == 0);
            }
            assert!(fresh > 0, "no name lived on the killed theatre");
            say(&format!(
                "RESULT rehomed={fresh} of {} rehomed_ms={}",
                names.len(),
                start.elapsed().as_millis()
            ));
        }
        "slow-link" => {
            let (counter, _) = lookup_counter(&theatre);
            let mut rtts: Vec<Duration> = (0..5)
                .map(|_| {
                    let start = Instant::now();
                    assert_eq!(query!(counter, count()).wait(), Ok(0));
                    start.elapsed()
                })
                .collect();
            rtts.sort();
            for seq in 0..10_000u32 {
                while notify!(counter, mark(seq)).err() == Some(SpeechError::Denied(Reason::Busy)) {
                    std::thread::yield_now();
                }
            }
            let (marks, _) = until_ok(Duration::from_secs(60), || {
                match query!(counter, marks()).wait() {
                    Ok((next, _)) if next < 10_000 => Err(SpeechError::Denied(Reason::Busy)),
                    other => other,
                }
            });
            assert_eq!(marks, (10_000, true), "every event once, in order");
            say(&format!("RESULT median_rtt_ms={}", rtts[2].as_millis()));
        }
        "flood" => {
            let (counter, _) = lookup_counter(&theatre);
            let seconds: u64 = env("FLOOD_SECS").parse().unwrap_or(3);
            say("STEP flooding");
            let (mut accepted, mut busy) = (0u64, 0u64);
            let end = Instant::now() + Duration::from_secs(seconds);
            while Instant::now() < end {
                for _ in 0..1000 {
                    match notify!(counter, crawl(vec![7u8; 64])).err() {
                        None => accepted += 1,
                        Some(SpeechError::Denied(Reason::Busy)) => busy += 1,
                        Some(other) => panic!("{other:?}"),
                    }
                }
                if busy > 0 {
                    std::thread::yield_now();
                }
            }
            let peak = proc_count(std::process::id(), "VmHWM:");
            say(&format!(
                "RESULT sender_peak_rss_kib={peak} accepted={accepted} busy={busy}"
            ));
            step("flooded");
        }
        "idle" => {
            let target = env("TARGET");
            let count: usize = env("CONNECTIONS").parse().expect("CONNECTIONS");
            let mut held = Vec::with_capacity(count);
            let mut refused = 0;
            for _ in 0..count {
                match TcpStream::connect_timeout(
                    &target.parse().expect("an address"),
                    Duration::from_secs(5),
                ) {
                    Ok(stream) => held.push(stream),
                    Err(_) => refused += 1,
                }
            }
            say(&format!(
                "RESULT idle_opened={} idle_refused={refused}",
                held.len()
            ));
            step("holding");
            drop(held);
        }
        "rolling" => {
            // Four threads send requests to 20 names until told to stop; each
            // request has an id of its own.
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
            let workers: Vec<_> = (0..4)
                .map(|_| {
                    let (theatre, stop, next) =
                        (theatre.clone(), Arc::clone(&stop), Arc::clone(&next));
                    std::thread::spawn(move || {
                        let (mut acked, mut failed) = (Vec::new(), 0u64);
                        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                            let id = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            let room = theatre.named::<Counter>(&format!("room-{}", id % 20));
                            match request!(room, record(id)).wait_timeout(Duration::from_secs(30)) {
                                Ok(got) => {
                                    assert_eq!(got, id);
                                    acked.push(id);
                                }
                                Err(_) => failed += 1,
                            }
                        }
                        (acked, failed)
                    })
                })
                .collect();
            step("loaded");
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            let (mut acked, mut failed) = (Vec::new(), 0);
            for worker in workers {
                let (a, f) = worker.join().expect("a sender thread");
                acked.extend(a);
                failed += f;
            }
            let ids: Vec<String> = acked.iter().map(u64::to_string).collect();
            say(&format!("ACKED {}", ids.join(",")));
            say(&format!("RESULT acked={} failed={failed}", acked.len()));
            say_processed();
        }
        "join" => {
            let (counter, took) = lookup_counter(&theatre);
            assert!(request!(counter, add(1)).wait().is_ok());
            say(&format!("RESULT joined_ms={}", took.as_millis()));
        }
        other => panic!("no scenario {other}"),
    }
    say("PASS");
    theatre.shutdown();
}

/// Forwards connections from `listen` to `target`, holding each chunk 10 to 90 ms
/// (50 ms ± 40 ms, at random) but never letting one overtake the one before:
/// TCP's order holds, as it does through a slow, jittery path.
fn proxy(listen: &str, target: &str) {
    let listener = TcpListener::bind(listen).expect("the proxy listens");
    say(&format!("READY {listen}"));
    for inbound in listener.incoming() {
        let Ok(inbound) = inbound else { continue };
        let Ok(outbound) = TcpStream::connect(target) else {
            continue;
        };
        let pairs = [
            (inbound.try_clone(), outbound.try_clone()),
            (outbound.try_clone(), inbound.try_clone()),
        ];
        for (from, to) in pairs {
            if let (Ok(from), Ok(to)) = (from, to) {
                std::thread::spawn(move || delayed_copy(from, to));
            }
        }
    }
}

fn delayed_copy(mut from: TcpStream, mut to: TcpStream) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let writer = std::thread::spawn(move || {
        for (at, chunk) in rx {
            let now = Instant::now();
            if at > now {
                std::thread::sleep(at - now);
            }
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Both);
    });
    let mut seed = u64::from(std::process::id()) ^ 0x9e37_79b9_7f4a_7c15;
    let mut last = Instant::now();
    let mut buf = vec![0; 16 << 10];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // xorshift: a delay from 10 to 90 ms.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let at = (Instant::now() + Duration::from_millis(10 + seed % 81)).max(last);
        last = at;
        if tx.send((at, buf[..n].to_vec())).is_err() {
            break;
        }
    }
    drop(tx);
    let _ = writer.join();
}

// ---------------------------------------------------------------- orchestrator

/// Runs a command, failing with its output if it fails.
fn sh(args: &[&str]) {
    let output = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The namespaces of one scenario, and its processes; dropping it kills the
/// processes and deletes the namespaces.
struct Net {
    prefix: String,
    namespaces: Vec<String>,
    nodes: Vec<Node>,
}

struct Node {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Net {
    fn new(scenario: &str) -> Net {
        let prefix = format!("sf{}{}", std::process::id() % 100_000, &scenario[..2]);
        let hub = format!("{prefix}h");
        let mut net = Net {
            prefix,
            namespaces: Vec::new(),
            nodes: Vec::new(),
        };
        sh(&["ip", "netns", "add", &hub]);
        net.namespaces.push(hub.clone());
        sh(&["ip", "-n", &hub, "link", "add", "br0", "type", "bridge"]);
        sh(&["ip", "-n", &hub, "link", "set", "br0", "up"]);
        net
    }

    fn hub(&self) -> String {
        format!("{}h", self.prefix)
    }

    /// Adds host `n` (10.77.0.n), on the bridge.
    fn host(&mut self, n: u8) -> String {
        let ns = format!("{}{n}", self.prefix);
        let hub = self.hub();
        sh(&["ip", "netns", "add", &ns]);
        self.namespaces.push(ns.clone());
        let outer = format!("v{n}");
        sh(&[
            "ip", "-n", &ns, "link", "add", "eth0", "type", "veth", "peer", "name", &outer,
            "netns", &hub,
        ]);
        sh(&[
            "ip",
            "-n",
            &ns,
            "addr",
            "add",
            &format!("10.77.0.{n}/24"),
            "dev",
            "eth0",
        ]);
        sh(&["ip", "-n", &ns, "link", "set", "eth0", "up"]);
        sh(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        sh(&["ip", "-n", &hub, "link", "set", &outer, "master", "br0"]);
        sh(&["ip", "-n", &hub, "link", "set", &outer, "up"]);
        ns
    }

    /// Cuts host `n` off the bridge, or restores it.
    fn link(&self, n: u8, up: bool) {
        let state = if up { "up" } else { "down" };
        sh(&[
            "ip",
            "-n",
            &self.hub(),
            "link",
            "set",
            &format!("v{n}"),
            state,
        ]);
    }

    /// Starts this binary as a node of `role` on host `n`, with `vars`; with
    /// `files`, its open files are limited to that many. Returns its index.
    fn start(&mut self, n: u8, role: &str, vars: &[(&str, String)], files: Option<u32>) -> usize {
        let ns = format!("{}{n}", self.prefix);
        let exe = std::env::current_exe().expect("this binary");
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &ns]);
        match files {
            Some(limit) => command.args([
                "sh",
                "-c",
                &format!("ulimit -n {limit} && exec \"$0\""),
                exe.to_str().expect("a UTF-8 path"),
            ]),
            None => command.arg(&exe),
        };
        command
            .env("STAGE_FAULT_ROLE", role)
            .env("LISTEN", format!("10.77.0.{n}:{PORT}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (key, value) in vars {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("a node starts");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped");
        let (tx, lines) = mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                kept.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        self.nodes.push(Node {
            child,
            stdin,
            lines,
            log,
        });
        self.nodes.len() - 1
    }

    /// The next line from node `i` that starts with `prefix` (a minute at most).
    fn expect(&self, i: usize, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.nodes[i].lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(_) => panic!(
                    "node {i} never said {prefix:?}; it said {:?}",
                    self.nodes[i].log.lock().unwrap()
                ),
            }
        }
    }

    fn go(&mut self, i: usize) {
        if let Some(stdin) = self.nodes[i].stdin.as_mut() {
            let _ = writeln!(stdin, "GO");
            let _ = stdin.flush();
        }
    }

    /// Closes node `i`'s standard input: a server then leaves the cluster.
    fn close_stdin(&mut self, i: usize) {
        self.nodes[i].stdin = None;
    }

    fn kill(&mut self, i: usize) {
        let _ = self.nodes[i].child.kill();
        let _ = self.nodes[i].child.wait();
    }

    fn pid(&self, i: usize) -> u32 {
        self.nodes[i].child.id()
    }

    /// The RESULT lines node `i` printed, and whether it passed.
    fn finish(&mut self, i: usize) -> Vec<String> {
        self.expect(i, "PASS");
        let status = self.nodes[i].child.wait().expect("the client ends");
        assert!(status.success(), "the client failed: {status}");
        self.nodes[i]
            .log
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| l.strip_prefix("RESULT ").map(str::to_owned))
            .collect()
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            let _ = node.child.kill();
            let _ = node.child.wait();
        }
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

fn locator(n: u8) -> String {
    format!("stage://10.77.0.{n}:{PORT}")
}

/// The names of process `pid`'s threads, for a failure's message.
fn thread_names(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|tasks| {
            tasks
                .filter_map(Result::ok)
                .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                .map(|name| name.trim().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn proc_count(pid: u32, what: &str) -> usize {
    match what {
        "files" => std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count),
        field => std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0),
    }
}

/// A link cut for longer than the failure detector fails the pending reply with
/// `Unreachable` within `down_after`; after the heal the same address works.
fn partition_and_heal() -> Vec<String> {
    let mut net = Net::new("partition");
    net.host(1);
    net.host(2);
    let b = net.start(2, "server", &[("BIND", "1".into())], None);
    net.expect(b, "READY");
    let a = net.start(
        1,
        "client",
        &[("SCENARIO", "partition".into()), ("JOIN", locator(2))],
        None,
    );
    net.expect(a, "STEP cut");
    net.link(2, false);
    net.go(a);
    net.expect(a, "STEP heal");
    net.link(2, true);
    net.go(a);
    net.finish(a)
}

/// A theatre killed with SIGKILL: a pending reply fails with `Unreachable`, and
/// the names it held are started again on demand elsewhere.
fn kill_a_theatre() -> Vec<String> {
    let mut net = Net::new("kill");
    for n in 1..=3 {
        net.host(n);
    }
    let b = net.start(2, "server", &[("BIND", "1".into())], None);
    net.expect(b, "READY");
    let c = net.start(3, "server", &[("JOIN", locator(2))], None);
    net.expect(c, "READY");
    let a = net.start(
        1,
        "client",
        &[
            ("SCENARIO", "kill".into()),
            ("JOIN", format!("{},{}", locator(2), locator(3))),
        ],
        None,
    );
    net.expect(a, "STEP kill");
    net.kill(b);
    net.go(a);
    net.finish(a)
}

/// 10,000 events over a path that holds each chunk 10 to 90 ms arrive once each,
/// in order.
fn slow_link() -> Vec<String> {
    let mut net = Net::new("slow");
    for n in 1..=3 {
        net.host(n);
    }
    let b = net.start(2, "server", &[("BIND", "1".into())], None);
    net.expect(b, "READY");
    let p = net.start(3, "proxy", &[("TARGET", format!("10.77.0.2:{PORT}"))], None);
    net.expect(p, "READY");
    let a = net.start(
        1,
        "client",
        &[("SCENARIO", "slow-link".into()), ("JOIN", locator(3))],
        None,
    );
    net.finish(a)
}

/// 1,100 theatres join one whose open files are limited to 1,024, and leave: its
/// files and threads come back to where they were, and a new peer still joins.
fn eleven_hundred_departures() -> Vec<String> {
    let mut net = Net::new("departures");
    net.host(1);
    net.host(2);
    // A departure whose goodbye was lost (the machine is busy, and a goodbye is
    // waited for half a second) looks like a broken link: the theatre waits
    // `rejoin_for` for it to come back, with a thread and no socket. Ten seconds
    // here, so that the wait below covers it.
    let b = net.start(
        2,
        "server",
        &[("BIND", "1".into()), ("REJOIN_SECS", "10".into())],
        Some(1024),
    );
    net.expect(b, "READY");
    let pid = net.pid(b);
    let before = (proc_count(pid, "files"), proc_count(pid, "Threads:"));
    let started = Instant::now();
    let j = net.start(
        1,
        "joiner",
        &[
            ("TIMES", "1100".into()),
            ("JOIN", locator(2)),
            ("LISTEN", "10.77.0.1:0".into()),
        ],
        None,
    );
    net.expect(j, "DONE");
    let took = started.elapsed();
    // Departures said goodbye; the last connections close as their readers end.
    let deadline = Instant::now() + Duration::from_secs(60);
    let after = loop {
        let now = (proc_count(pid, "files"), proc_count(pid, "Threads:"));
        if now.0 <= before.0 && now.1 <= before.1 || Instant::now() > deadline {
            break now;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        after.0 <= before.0 && after.1 <= before.1,
        "files and threads before {before:?}, after {after:?}; threads: {:?}; files: {}",
        thread_names(pid),
        String::from_utf8_lossy(
            &Command::new("ls")
                .args(["-l", &format!("/proc/{pid}/fd")])
                .output()
                .map(|o| o.stdout)
                .unwrap_or_default()
        )
    );
    let rss = proc_count(pid, "VmRSS:");
    let a = net.start(
        1,
        "client",
        &[("SCENARIO", "join".into()), ("JOIN", locator(2))],
        None,
    );
    let mut results = net.finish(a);
    results.push(format!(
        "files_before={} files_after={} threads_before={} threads_after={} rss_kib={rss} departures_s={}",
        before.0,
        after.0,
        before.1,
        after.1,
        took.as_secs()
    ));
    results
}

/// A sender floods a slow actor for `FLOOD_SECS` (3 by default): with the
/// default window both theatres stay small, and a new peer joins during the
/// flood. With `WINDOW` set to a very large number, it is the flood without
/// backpressure, for comparison (`STAGE_FAULT_UNBOUNDED=1`).
fn flood() -> Vec<String> {
    let mut net = Net::new("flood");
    for n in 1..=3 {
        net.host(n);
    }
    let unbounded = std::env::var("STAGE_FAULT_UNBOUNDED").as_deref() == Ok("1");
    let window: Vec<(&str, String)> = if unbounded {
        vec![("WINDOW", u64::MAX.to_string())]
    } else {
        Vec::new()
    };
    let mut server_vars = vec![("BIND", "1".to_owned())];
    server_vars.extend(window.iter().cloned());
    let b = net.start(2, "server", &server_vars, None);
    net.expect(b, "READY");
    let mut client_vars = vec![
        ("SCENARIO", "flood".to_owned()),
        ("JOIN", locator(2)),
        (
            "FLOOD_SECS",
            std::env::var("FLOOD_SECS").unwrap_or_else(|_| "3".into()),
        ),
    ];
    client_vars.extend(window.iter().cloned());
    let a = net.start(1, "client", &client_vars, None);
    net.expect(a, "STEP flooding");
    // A newcomer joins while the flood goes on.
    let c = net.start(
        3,
        "client",
        &[("SCENARIO", "join".into()), ("JOIN", locator(2))],
        None,
    );
    let mut results = net.finish(c);
    net.expect(a, "STEP flooded");
    results.push(format!(
        "receiver_peak_rss_kib={} unbounded={unbounded}",
        proc_count(net.pid(b), "VmHWM:")
    ));
    net.go(a);
    results.extend(net.finish(a));
    results
}

/// 10,000 connections that never shake hands: what they cost the theatre, and
/// whether a member still joins meanwhile.
fn idle_connections() -> Vec<String> {
    let mut net = Net::new("idle");
    for n in 1..=3 {
        net.host(n);
    }
    let b = net.start(2, "server", &[("BIND", "1".into())], None);
    net.expect(b, "READY");
    let pid = net.pid(b);
    let before = (
        proc_count(pid, "files"),
        proc_count(pid, "Threads:"),
        proc_count(pid, "VmRSS:"),
    );
    let a = net.start(
        1,
        "client",
        &[
            ("SCENARIO", "idle".into()),
            ("TARGET", format!("10.77.0.2:{PORT}")),
            ("CONNECTIONS", "10000".into()),
        ],
        Some(20_000),
    );
    net.expect(a, "STEP holding");
    let during = (
        proc_count(pid, "files"),
        proc_count(pid, "Threads:"),
        proc_count(pid, "VmRSS:"),
    );
    let c = net.start(
        3,
        "client",
        &[("SCENARIO", "join".into()), ("JOIN", locator(2))],
        None,
    );
    let mut results = net.finish(c);
    net.go(a);
    results.extend(net.finish(a));
    results.push(format!(
        "before files={} threads={} rss_kib={}; holding files={} threads={} rss_kib={}",
        before.0, before.1, before.2, during.0, during.1, during.2
    ));
    results
}

/// The ids after `prefix` on the line node `i` said that starts with it.
fn ids(net: &Net, i: usize, prefix: &str) -> Vec<u64> {
    let line = net.expect(i, prefix);
    line[prefix.len()..]
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().expect("an id"))
        .collect()
}

/// Three theatres restarted one after the other (each says goodbye, and a new
/// one starts at its address) while four threads send requests to 20 names
/// activated on demand: every request answered `Ok` was processed exactly once,
/// and none was processed twice (one answered with an error may or may not
/// have been: its theatre may have left before the answer went).
fn rolling_restart() -> Vec<String> {
    let mut net = Net::new("rolling");
    for n in 1..=4 {
        net.host(n);
    }
    let mut servers = std::collections::HashMap::new();
    for (n, join) in [(2u8, None), (3, Some(2u8)), (4, Some(2))] {
        let vars: Vec<(&str, String)> = join.map(|j| ("JOIN", locator(j))).into_iter().collect();
        let i = net.start(n, "server", &vars, None);
        net.expect(i, "READY");
        servers.insert(n, i);
    }
    let joins = format!("{},{},{}", locator(2), locator(3), locator(4));
    let a = net.start(
        1,
        "client",
        &[("SCENARIO", "rolling".into()), ("JOIN", joins)],
        None,
    );
    net.expect(a, "STEP loaded");
    let mut processed = Vec::new();
    for (n, rejoin) in [(2u8, 3u8), (3, 4), (4, 2)] {
        // Some load first, then a graceful restart of theatre `n`.
        std::thread::sleep(Duration::from_millis(500));
        let old = servers[&n];
        net.close_stdin(old);
        processed.extend(ids(&net, old, "PROCESSED "));
        let _ = net.nodes[old].child.wait();
        let fresh = net.start(n, "server", &[("JOIN", locator(rejoin))], None);
        net.expect(fresh, "READY");
        servers.insert(n, fresh);
    }
    std::thread::sleep(Duration::from_millis(500));
    net.go(a);
    let acked = ids(&net, a, "ACKED ");
    let results = net.finish(a);
    processed.extend(
        net.nodes[a]
            .log
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| l.strip_prefix("PROCESSED "))
            .flat_map(|l| l.split(',').filter_map(|s| s.trim().parse::<u64>().ok()))
            .collect::<Vec<_>>(),
    );
    for (_, i) in servers {
        net.close_stdin(i);
        processed.extend(ids(&net, i, "PROCESSED "));
    }
    let mut times = std::collections::HashMap::new();
    for id in &processed {
        *times.entry(*id).or_insert(0u32) += 1;
    }
    let twice = times.values().filter(|n| **n > 1).count();
    assert_eq!(twice, 0, "{twice} requests processed twice");
    let lost = acked.iter().filter(|id| !times.contains_key(id)).count();
    assert_eq!(lost, 0, "{lost} acknowledged requests never processed");
    assert!(!acked.is_empty(), "no request was answered");
    let mut results = results;
    results.push(format!("processed={}", processed.len()));
    results
}

/// A scenario: its name, and what runs it (its results, or a panic).
type Scenario = (&'static str, fn() -> Vec<String>);

fn can_make_namespaces() -> Result<(), String> {
    let probe = format!("sfprobe{}", std::process::id() % 100_000);
    let made = Command::new("ip")
        .args(["netns", "add", &probe])
        .output()
        .map_err(|e| format!("no `ip` command: {e}"))?;
    if !made.status.success() {
        return Err(String::from_utf8_lossy(&made.stderr).trim().to_owned());
    }
    let _ = Command::new("ip").args(["netns", "del", &probe]).output();
    Ok(())
}

fn main() {
    if let Ok(role) = std::env::var("STAGE_FAULT_ROLE") {
        node(&role);
        return;
    }
    if std::env::var("STAGE_FAULTS").as_deref() != Ok("1") {
        println!(
            "fault suite SKIPPED: set STAGE_FAULTS=1 to run it (it needs root; `.ci/run` does)"
        );
        return;
    }
    if let Err(why) = can_make_namespaces() {
        println!("fault suite SKIPPED: it needs root and `ip netns` ({why})");
        return;
    }
    let only = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    let scenarios: [Scenario; 7] = [
        ("partition and heal", partition_and_heal),
        ("a theatre killed with SIGKILL", kill_a_theatre),
        ("10,000 events over a slow, jittery link", slow_link),
        (
            "1,100 departures with 1,024 open files",
            eleven_hundred_departures,
        ),
        ("a flood of a slow actor", flood),
        ("10,000 idle connections", idle_connections),
        (
            "a rolling restart of three theatres under load",
            rolling_restart,
        ),
    ];
    let mut failed = 0;
    for (name, run) in scenarios {
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let started = Instant::now();
        match std::panic::catch_unwind(run) {
            Ok(results) => println!(
                "fault suite: {name}: ok in {:.1} s; {}",
                started.elapsed().as_secs_f64(),
                results.join("; ")
            ),
            Err(_) => {
                failed += 1;
                println!("fault suite: {name}: FAILED");
            }
        }
    }
    if failed > 0 {
        println!("fault suite: {failed} scenario(s) failed");
        std::process::exit(1);
    }
}
