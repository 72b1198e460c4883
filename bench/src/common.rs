//! What every system's cell shares: the workloads, the completion signal, memory
//! figures, the allocation counter and the seed's integrand.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// One measurement to make in a fresh process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Workload {
    /// One-way messages between two actors, one in flight.
    PingPong { messages: u64 },
    /// A token passed `hops` times round a ring of `actors`.
    Ring { actors: u64, hops: u64 },
    /// `actors` actors with empty state, each sent one message at creation.
    Spawn { actors: u64 },
    /// One sender, `actors` receivers, `per_actor` fire-and-forget messages each.
    ForkJoin { actors: u64, per_actor: u64 },
    /// Sequential asks from outside any actor.
    AskOutside { asks: u64 },
    /// Sequential asks from inside one actor to another.
    AskInside { asks: u64 },
    /// The seed's trapezoid integration split over `workers` actors.
    Trapezoid { workers: u64, points: u64 },
    /// The same query in the short form and in Star's form (this project only).
    StarForm { asks: u64 },
    /// Fire-and-forget messages from one theatre to an actor on another, over
    /// loopback TCP, counted on arrival (this project, and raw TCP with tokio).
    RemoteNotify { messages: u64 },
    /// Sequential asks to an actor on another theatre over loopback TCP (this
    /// project, and a raw TCP ping-pong with tokio).
    RemoteAsk { asks: u64 },
    /// An actor with `bytes` of state moved `moves` times between two theatres
    /// on loopback (this project only: no peer crate moves a live actor).
    Migrate { moves: u64, bytes: u64 },
    /// `messages` events streamed from a third theatre to an actor that moves
    /// back and forth between two others all the while; each checked in order
    /// and counted once (this project only).
    MigrateStream { messages: u64 },
    /// Savina's *Big*: `actors` actors, each sending `pings` pings, one at a
    /// time, to neighbours chosen at random, each answered with a pong to the
    /// sender: all-to-all traffic with replies.
    Big { actors: u64, pings: u64 },
    /// Savina's *Chameneos*: `creatures` creatures meet at one meeting place
    /// `meetings` times; the place pairs each two that arrive, tells both, and
    /// they come back: fan-in to one actor, with replies.
    Chameneos { creatures: u64, meetings: u64 },
}

impl Workload {
    /// The workload's name in tables and on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Workload::PingPong { .. } => "ping-pong",
            Workload::Ring { .. } => "ring",
            Workload::Spawn { .. } => "spawn",
            Workload::ForkJoin { .. } => "fork-join",
            Workload::AskOutside { .. } => "ask-outside",
            Workload::AskInside { .. } => "ask-inside",
            Workload::Trapezoid { .. } => "trapezoid",
            Workload::StarForm { .. } => "star-form",
            Workload::RemoteNotify { .. } => "remote-notify",
            Workload::RemoteAsk { .. } => "remote-ask",
            Workload::Migrate { .. } => "migrate",
            Workload::MigrateStream { .. } => "migrate-stream",
            Workload::Big { .. } => "big",
            Workload::Chameneos { .. } => "chameneos",
        }
    }

    /// The systems the workload applies to, when not all.
    pub fn only_on(&self) -> Option<&'static [&'static str]> {
        match self {
            Workload::StarForm { .. }
            | Workload::Migrate { .. }
            | Workload::MigrateStream { .. } => Some(&["stage"]),
            Workload::RemoteNotify { .. } | Workload::RemoteAsk { .. } => Some(&["stage", "tokio"]),
            _ => None,
        }
    }

    /// Whether `system` runs this workload.
    pub fn applies_to(&self, system: &str) -> bool {
        self.only_on()
            .is_none_or(|systems| systems.contains(&system))
    }

    /// The sizes, as written on the child's command line.
    pub fn params(&self) -> Vec<u64> {
        match *self {
            Workload::PingPong { messages } => vec![messages],
            Workload::Ring { actors, hops } => vec![actors, hops],
            Workload::Spawn { actors } => vec![actors],
            Workload::ForkJoin { actors, per_actor } => vec![actors, per_actor],
            Workload::AskOutside { asks }
            | Workload::AskInside { asks }
            | Workload::StarForm { asks }
            | Workload::RemoteAsk { asks } => vec![asks],
            Workload::RemoteNotify { messages } | Workload::MigrateStream { messages } => {
                vec![messages]
            }
            Workload::Migrate { moves, bytes } => vec![moves, bytes],
            Workload::Trapezoid { workers, points } => vec![workers, points],
            Workload::Big { actors, pings } => vec![actors, pings],
            Workload::Chameneos {
                creatures,
                meetings,
            } => vec![creatures, meetings],
        }
    }

    /// Parses what [`Workload::name`] and [`Workload::params`] wrote.
    pub fn parse(name: &str, params: &[u64]) -> Option<Workload> {
        Some(match (name, params) {
            ("ping-pong", &[messages]) => Workload::PingPong { messages },
            ("ring", &[actors, hops]) => Workload::Ring { actors, hops },
            ("spawn", &[actors]) => Workload::Spawn { actors },
            ("fork-join", &[actors, per_actor]) => Workload::ForkJoin { actors, per_actor },
            ("ask-outside", &[asks]) => Workload::AskOutside { asks },
            ("ask-inside", &[asks]) => Workload::AskInside { asks },
            ("trapezoid", &[workers, points]) => Workload::Trapezoid { workers, points },
            ("star-form", &[asks]) => Workload::StarForm { asks },
            ("remote-notify", &[messages]) => Workload::RemoteNotify { messages },
            ("remote-ask", &[asks]) => Workload::RemoteAsk { asks },
            ("migrate", &[moves, bytes]) => Workload::Migrate { moves, bytes },
            ("migrate-stream", &[messages]) => Workload::MigrateStream { messages },
            ("big", &[actors, pings]) => Workload::Big { actors, pings },
            ("chameneos", &[creatures, meetings]) => Workload::Chameneos {
                creatures,
                meetings,
            },
            _ => return None,
        })
    }
}

/// The figures one run produced, the headline first.
#[derive(Debug, Default)]
pub struct Report(pub Vec<(&'static str, f64)>);

impl Report {
    /// A ring's figures: ns per hop, and the time it took to build the ring.
    pub fn ring(created: Duration, hopping: Duration, hops: u64) -> Report {
        Report::default()
            .with("ns/hop", per(hopping, hops))
            .with("create ms", created.as_secs_f64() * 1e3)
    }

    /// Spawn's figures: the time, and the peak RSS now over `rss_before` per actor.
    pub fn spawn(elapsed: Duration, rss_before: u64, actors: u64) -> Report {
        let (_, peak) = rss();
        Report::default()
            .with("ms", elapsed.as_secs_f64() * 1e3)
            .with(
                "B/actor",
                peak.saturating_sub(rss_before) as f64 / actors as f64,
            )
    }

    /// Millions of messages per second.
    pub fn throughput(elapsed: Duration, messages: u64) -> Report {
        Report::default().with("M msg/s", messages as f64 / elapsed.as_secs_f64() / 1e6)
    }

    /// Adds a figure.
    pub fn with(mut self, name: &'static str, value: f64) -> Report {
        self.0.push((name, value));
        self
    }
}

/// A small, fast random number generator (xorshift64*), one per actor: Big's
/// choice of neighbour, the same sequence on every system.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for actor `index`.
    pub fn new(index: u64) -> Rng {
        Rng(index.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) % n
    }
}

/// Big's figures: messages (pings and pongs) per second.
pub fn big_report(elapsed: Duration, actors: u64, pings: u64) -> Report {
    Report::throughput(elapsed, 2 * actors * pings)
}

/// Chameneos's figures: meetings per second, and messages (two arrivals and
/// two answers a meeting) per second.
pub fn chameneos_report(elapsed: Duration, meetings: u64) -> Report {
    Report::default()
        .with(
            "k meetings/s",
            meetings as f64 / elapsed.as_secs_f64() / 1e3,
        )
        .with(
            "M msg/s",
            4.0 * meetings as f64 / elapsed.as_secs_f64() / 1e6,
        )
}

/// The colour a chameneos takes after meeting one of colour `other` (Savina's
/// complement over three colours).
pub fn complement(mine: u8, other: u8) -> u8 {
    if mine == other {
        mine
    } else {
        3 - mine - other
    }
}

/// Nanoseconds per item.
pub fn per(elapsed: Duration, items: u64) -> f64 {
    elapsed.as_nanos() as f64 / items.max(1) as f64
}

/// Completion: the actor that finishes a workload calls [`arrive`]; the main
/// thread (or task) waits on [`finished`]. One per process, as a cell is one process.
static ARRIVED: AtomicU64 = AtomicU64::new(0);
static DONE: OnceLock<(
    async_channel::Sender<Instant>,
    async_channel::Receiver<Instant>,
)> = OnceLock::new();

fn done() -> &'static (
    async_channel::Sender<Instant>,
    async_channel::Receiver<Instant>,
) {
    DONE.get_or_init(async_channel::unbounded)
}

/// Counts one arrival; the `target`-th signals the end.
pub fn arrive(target: u64) {
    if ARRIVED.fetch_add(1, Ordering::AcqRel) + 1 == target {
        finish();
    }
}

/// Signals the end now.
pub fn finish() {
    let _ = done().0.try_send(Instant::now());
}

/// Waits for the end, blocking the thread.
pub fn finished_blocking() -> Instant {
    done().1.recv_blocking().unwrap_or_else(|_| Instant::now())
}

/// Waits for the end in an async context.
pub async fn finished() -> Instant {
    done().1.recv().await.unwrap_or_else(|_| Instant::now())
}

/// The process's resident set now and at its peak, in bytes (Linux).
pub fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The seed's integrand (Stage section 5.1):
/// `f(x) = sin(x^3 - 1) / (x + 1) * sqrt(1 + e^sqrt(2x))`.
pub fn f(x: f64) -> f64 {
    (x * x * x - 1.0).sin() / (x + 1.0) * (1.0 + (2.0 * x).sqrt().exp()).sqrt()
}

/// The trapezoid rule for `f` over `[a, b]` with `n` trapezoids.
pub fn trapezoid(a: f64, b: f64, n: u64) -> f64 {
    let h = (b - a) / n as f64;
    let mut sum = (f(a) + f(b)) / 2.0;
    for i in 1..n {
        sum += f(a + i as f64 * h);
    }
    sum * h
}

/// The interval integrated.
pub const INTERVAL: (f64, f64) = (0.0, 10.0);

/// Worker `i` of `workers`' share: `(a, b, n)`.
pub fn share(i: u64, workers: u64, points: u64) -> (f64, f64, u64) {
    let (a, b) = INTERVAL;
    let width = (b - a) / workers as f64;
    (
        a + i as f64 * width,
        a + (i + 1) as f64 * width,
        points / workers,
    )
}

/// Counts allocations while switched on; one relaxed load per allocation otherwise.
pub struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` counting the allocations made meanwhile (on every thread).
pub fn count_allocations<R>(f: impl FnOnce() -> R) -> (R, u64) {
    ALLOCATIONS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    let result = f();
    COUNTING.store(false, Ordering::SeqCst);
    (result, ALLOCATIONS.load(Ordering::SeqCst))
}
