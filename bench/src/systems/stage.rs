//! This project, written as a user would: `#[actor]`, `#[behaviour]`, `notify!`,
//! `query!`. Default stage: one worker per core, unbounded mailboxes.

use std::time::Instant;

use stage_net::Theatre;
use stage_runtime::prelude::*;

use crate::common::{self, per, Report, Workload};

#[actor]
struct Player {
    peer: Option<Addr<Player>>,
}

#[behaviour]
impl Player {
    #[request]
    fn meet(&mut self, peer: Addr<Player>) {
        self.peer = Some(peer);
    }

    #[on(ball)]
    fn ball(&mut self, left: u64) {
        match &self.peer {
            Some(peer) if left > 0 => {
                notify!(peer, ball(left - 1));
            }
            _ => common::finish(),
        }
    }
}

#[actor]
struct Node {
    next: Option<Addr<Node>>,
}

#[behaviour]
impl Node {
    #[request]
    fn link(&mut self, next: Addr<Node>) {
        self.next = Some(next);
    }

    #[on(token)]
    fn token(&mut self, left: u64) {
        match &self.next {
            Some(next) if left > 0 => {
                notify!(next, token(left - 1));
            }
            _ => common::finish(),
        }
    }
}

#[actor]
struct Empty;

#[behaviour]
impl Empty {
    #[on(hello)]
    fn hello(&mut self, target: u64) {
        common::arrive(target);
    }
}

#[actor]
struct Sink {
    seen: u64,
    expect: u64,
    sinks: u64,
}

#[behaviour]
impl Sink {
    #[on(item)]
    fn item(&mut self, _n: u64) {
        self.seen += 1;
        if self.seen == self.expect {
            common::arrive(self.sinks);
        }
    }
}

#[actor]
struct Echo {
    asked: u64,
}

#[behaviour]
impl Echo {
    #[query]
    fn echo(&self, n: u64) -> u64 {
        n + self.asked
    }

    #[query]
    fn asked(&self) -> u64 {
        self.asked
    }
}

#[actor]
struct Asker {
    target: Addr<Echo>,
}

#[behaviour]
impl Asker {
    #[request]
    async fn drive(&mut self, asks: u64) -> u64 {
        let mut sum = 0;
        for n in 0..asks {
            sum += query!(self.target, echo(n)).await.unwrap_or(0);
        }
        sum
    }
}

#[actor]
struct Integrator;

#[behaviour]
impl Integrator {
    #[query]
    fn integrate(&self, a: f64, b: f64, n: u64) -> f64 {
        common::trapezoid(a, b, n)
    }
}

/// Savina's Big: pings to random neighbours, each answered with a pong.
#[actor]
struct Neighbour {
    index: u64,
    peers: Vec<Addr<Neighbour>>,
    left: u64,
    rng: common::Rng,
    actors: u64,
}

#[behaviour]
impl Neighbour {
    #[request]
    fn meet(&mut self, peers: Vec<Addr<Neighbour>>) {
        self.peers = peers;
    }

    #[on(ping)]
    fn ping(&mut self, from: u64) {
        notify!(self.peers[from as usize], pong());
    }

    #[on(pong)]
    fn pong(&mut self) {
        if self.left == 0 {
            common::arrive(self.actors);
            return;
        }
        self.left -= 1;
        let to = self.rng.below(self.actors) as usize;
        notify!(self.peers[to], ping(self.index));
    }
}

/// Savina's Chameneos: the meeting place.
#[actor]
struct Mall {
    waiting: Option<(Addr<Chameneo>, u8)>,
    left: u64,
}

#[behaviour]
impl Mall {
    #[on(arrive)]
    fn arrive(&mut self, who: Addr<Chameneo>, colour: u8) {
        if self.left == 0 {
            return;
        }
        match self.waiting.take() {
            None => self.waiting = Some((who, colour)),
            Some((first, theirs)) => {
                self.left -= 1;
                notify!(first, met(colour));
                notify!(who, met(theirs));
                if self.left == 0 {
                    common::finish();
                }
            }
        }
    }
}

/// Savina's Chameneos: a creature, which goes back to the mall after each meeting.
#[actor]
struct Chameneo {
    mall: Addr<Mall>,
    colour: u8,
}

#[behaviour]
impl Chameneo {
    #[on(met)]
    fn met(&mut self, ctx: &mut Ctx<Self>, other: u8) {
        self.colour = common::complement(self.colour, other);
        notify!(self.mall, arrive(ctx.addr(), self.colour));
    }

    #[on(go)]
    fn go(&mut self, ctx: &mut Ctx<Self>) {
        notify!(self.mall, arrive(ctx.addr(), self.colour));
    }
}

/// The receiving end of the network workloads: counts events, echoes questions.
#[actor(mobile)]
struct Far {
    seen: u64,
    expect: u64,
}

#[behaviour]
impl Far {
    #[on(hit)]
    fn hit(&mut self, _n: u64) {
        self.seen += 1;
        if self.seen == self.expect {
            common::finish();
        }
    }

    #[query]
    fn echo(&self, n: u64) -> u64 {
        n
    }
}

/// What the migration workloads move: some state, and a check of the order in
/// which letters arrive.
#[actor(mobile)]
struct Luggage {
    /// The state's bulk (a string: MessagePack carries it as one run of bytes).
    bulk: String,
    next: u64,
    expect: u64,
}

#[behaviour]
impl Luggage {
    #[on(hit)]
    fn hit(&mut self, n: u64) {
        assert_eq!(n, self.next, "a letter lost, repeated or out of order");
        self.next += 1;
        if self.next == self.expect {
            common::finish();
        }
    }
}

fn theatre(seeds: Vec<String>) -> Theatre {
    Theatre::builder()
        .cookie("bench")
        .join(seeds)
        .start()
        .unwrap_or_else(|e| panic!("theatre: {e}"))
}

/// Moves the actor bound to `name` from `from` to `to`; the time it took.
/// An actor just back on `from` stays (`Busy`) until the letters sent to it the
/// old way round have come: the move is asked again, and the wait counts.
fn move_once(name: &str, from: &Theatre, to: &Theatre) -> std::time::Duration {
    let here = from
        .lookup::<Luggage>(name)
        .unwrap_or_else(|e| panic!("lookup: {e}"));
    let start = Instant::now();
    loop {
        match from.migrate(&here, to.locator()).wait() {
            Ok(()) => return start.elapsed(),
            Err(SpeechError::Failed(Failure::Migration(MigrationError::Busy))) => {
                std::thread::yield_now();
            }
            Err(e) => panic!("migrate: {e}"),
        }
    }
}

/// The `q`-quantile of `sorted`, in milliseconds.
fn quantile_ms(sorted: &[std::time::Duration], q: f64) -> f64 {
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index].as_secs_f64() * 1e3
}

/// Moves an actor with `bytes` of state back and forth `moves` times.
fn migrate(moves: u64, bytes: u64) -> Report {
    let a = theatre(Vec::new());
    let b = theatre(vec![a.locator().to_owned()]);
    let luggage = a.spawn(Luggage {
        bulk: "x".repeat(bytes as usize),
        next: 0,
        expect: u64::MAX,
    });
    a.bind("luggage", &luggage)
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let mut times: Vec<_> = (0..moves)
        .map(|i| {
            let (from, to) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
            move_once("luggage", from, to)
        })
        .collect();
    times.sort();
    Report::default()
        .with("ms/move", quantile_ms(&times, 0.5))
        .with("p10 ms", quantile_ms(&times, 0.1))
        .with("p90 ms", quantile_ms(&times, 0.9))
}

/// Streams `messages` events from a third theatre to an actor that moves back
/// and forth between two others until the stream ends.
fn migrate_stream(messages: u64) -> Report {
    let a = theatre(Vec::new());
    let b = theatre(vec![a.locator().to_owned()]);
    let c = theatre(vec![a.locator().to_owned(), b.locator().to_owned()]);
    let luggage = a.spawn(Luggage {
        bulk: String::new(),
        next: 0,
        expect: messages,
    });
    a.bind("luggage", &luggage)
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let target = c
        .lookup::<Luggage>("luggage")
        .unwrap_or_else(|e| panic!("lookup: {e}"));
    let streaming = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let start = Instant::now();
    let sender = {
        let streaming = std::sync::Arc::clone(&streaming);
        std::thread::spawn(move || {
            for n in 0..messages {
                while notify!(target, hit(n)).err() == Some(SpeechError::Denied(Reason::Busy)) {
                    std::thread::yield_now();
                }
            }
            let end = common::finished_blocking();
            streaming.store(false, std::sync::atomic::Ordering::SeqCst);
            end
        })
    };
    let mut moves = 0u64;
    while streaming.load(std::sync::atomic::Ordering::SeqCst) {
        let (from, to) = if moves.is_multiple_of(2) {
            (&a, &b)
        } else {
            (&b, &a)
        };
        move_once("luggage", from, to);
        moves += 1;
    }
    let end = sender
        .join()
        .unwrap_or_else(|_| panic!("the sender failed"));
    Report::throughput(end - start, messages).with("moves", moves as f64)
}

/// Two theatres on loopback; the address, on the second, of a `Far` on the first.
fn two_theatres(expect: u64) -> (Theatre, Theatre, Addr<Far>) {
    let start = |seeds: Vec<String>| {
        Theatre::builder()
            .cookie("bench")
            .join(seeds)
            .start()
            .unwrap_or_else(|e| panic!("theatre: {e}"))
    };
    let here = start(Vec::new());
    let there = start(vec![here.locator().to_owned()]);
    let far = here.spawn(Far { seen: 0, expect });
    here.bind("far", &far)
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let far = there
        .lookup::<Far>("far")
        .unwrap_or_else(|e| panic!("lookup: {e}"));
    (here, there, far)
}

pub fn run(workload: Workload) -> Report {
    let stage = Stage::new();
    match workload {
        Workload::RemoteNotify { messages } => {
            let (_here, _there, far) = two_theatres(messages);
            let start = Instant::now();
            for n in 0..messages {
                // A full window (the receiver is behind) refuses with
                // `Denied(Busy)`: wait for it to catch up, and send again.
                while notify!(far, hit(n)).err() == Some(SpeechError::Denied(Reason::Busy)) {
                    std::thread::yield_now();
                }
            }
            let end = common::finished_blocking();
            Report::throughput(end - start, messages)
        }
        Workload::Migrate { moves, bytes } => migrate(moves, bytes),
        Workload::Big { actors, pings } => {
            let all: Vec<Addr<Neighbour>> = (0..actors)
                .map(|index| {
                    stage.spawn(Neighbour {
                        index,
                        peers: Vec::new(),
                        left: pings,
                        rng: common::Rng::new(index),
                        actors,
                    })
                })
                .collect();
            for each in &all {
                let _ = request!(each, meet(all.clone())).wait();
            }
            let start = Instant::now();
            for each in &all {
                notify!(each, pong());
            }
            let end = common::finished_blocking();
            common::big_report(end - start, actors, pings)
        }
        Workload::Chameneos {
            creatures,
            meetings,
        } => {
            let mall = stage.spawn(Mall {
                waiting: None,
                left: meetings,
            });
            let all: Vec<Addr<Chameneo>> = (0..creatures)
                .map(|i| {
                    stage.spawn(Chameneo {
                        mall: mall.clone(),
                        colour: (i % 3) as u8,
                    })
                })
                .collect();
            let start = Instant::now();
            for each in &all {
                notify!(each, go());
            }
            let end = common::finished_blocking();
            common::chameneos_report(end - start, meetings)
        }
        Workload::MigrateStream { messages } => migrate_stream(messages),
        Workload::RemoteAsk { asks } => {
            let (_here, _there, far) = two_theatres(u64::MAX);
            let start = Instant::now();
            let mut sum = 0;
            for n in 0..asks {
                sum += query!(far, echo(n)).wait().unwrap_or(0);
            }
            let elapsed = start.elapsed();
            std::hint::black_box(sum);
            Report::default().with("us/ask", per(elapsed, asks) / 1e3)
        }
        Workload::PingPong { messages } => {
            let ping = stage.spawn(Player { peer: None });
            let pong = stage.spawn(Player { peer: None });
            let _ = request!(ping, meet(pong.clone())).wait();
            let _ = request!(pong, meet(ping.clone())).wait();
            let start = Instant::now();
            notify!(ping, ball(messages));
            let end = common::finished_blocking();
            Report::default().with("ns/msg", per(end - start, messages))
        }
        Workload::Ring { actors, hops } => {
            let start = Instant::now();
            let last = stage.spawn(Node { next: None });
            let mut first = last.clone();
            for _ in 1..actors {
                first = stage.spawn(Node { next: Some(first) });
            }
            let _ = request!(last, link(first.clone())).wait();
            let created = start.elapsed();
            let start = Instant::now();
            notify!(first, token(hops));
            let end = common::finished_blocking();
            Report::ring(created, end - start, hops)
        }
        Workload::Spawn { actors } => {
            let (before, _) = common::rss();
            let start = Instant::now();
            let mut all = Vec::with_capacity(actors as usize);
            for _ in 0..actors {
                let actor = stage.spawn(Empty);
                notify!(actor, hello(actors));
                all.push(actor);
            }
            let end = common::finished_blocking();
            let report = Report::spawn(end - start, before, actors);
            drop(all);
            report
        }
        Workload::ForkJoin { actors, per_actor } => {
            let sinks: Vec<_> = (0..actors)
                .map(|_| {
                    stage.spawn(Sink {
                        seen: 0,
                        expect: per_actor,
                        sinks: actors,
                    })
                })
                .collect();
            let start = Instant::now();
            for n in 0..per_actor {
                for sink in &sinks {
                    notify!(sink, item(n));
                }
            }
            let end = common::finished_blocking();
            Report::throughput(end - start, actors * per_actor)
        }
        Workload::AskOutside { asks } => {
            let echo = stage.spawn(Echo { asked: 0 });
            // From a task on the stage that is not an actor, as the tokio-based
            // systems ask from a spawned task; and from the main thread blocking in
            // `wait()`, each answer waking it.
            let start = Instant::now();
            let asker = echo.clone();
            let sum = stage.spawn_task(async move {
                let mut sum = 0;
                for n in 0..asks {
                    sum += query!(asker, echo(n)).await.unwrap_or(0);
                }
                sum
            });
            std::hint::black_box(sum.wait().ok());
            let in_task = start.elapsed();
            let start = Instant::now();
            let mut sum = 0;
            for n in 0..asks {
                sum += query!(echo, echo(n)).wait().unwrap_or(0);
            }
            let blocking = start.elapsed();
            std::hint::black_box(sum);
            Report::default()
                .with("ns/ask", per(in_task, asks))
                .with("blocking ns/ask", per(blocking, asks))
        }
        Workload::AskInside { asks } => {
            let target = stage.spawn(Echo { asked: 0 });
            let asker = stage.spawn(Asker { target });
            let start = Instant::now();
            let sum = request!(asker, drive(asks)).wait();
            let elapsed = start.elapsed();
            std::hint::black_box(sum.ok());
            Report::default().with("ns/ask", per(elapsed, asks))
        }
        Workload::Trapezoid { workers, points } => {
            let integrators: Vec<_> = (0..workers).map(|_| stage.spawn(Integrator)).collect();
            let start = Instant::now();
            let parts: Vec<_> = integrators
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    let (a, b, n) = common::share(i as u64, workers, points);
                    query!(w, integrate(a, b, n))
                })
                .collect();
            let total: f64 = parts
                .into_iter()
                .map(|p| p.wait().unwrap_or(f64::NAN))
                .sum();
            let elapsed = start.elapsed();
            Report::default()
                .with("ms", elapsed.as_secs_f64() * 1e3)
                .with("integral", total)
        }
        Workload::StarForm { asks } => {
            let echo = stage.spawn(Echo { asked: 1 });
            let measure = |star: bool| {
                let start = Instant::now();
                let (sum, allocations) = common::count_allocations(|| {
                    let mut sum = 0;
                    for _ in 0..asks {
                        sum += if star {
                            query!(echo 's asked with asked()).wait()
                        } else {
                            query!(echo, asked()).wait()
                        }
                        .unwrap_or(0);
                    }
                    sum
                });
                std::hint::black_box(sum);
                (per(start.elapsed(), asks), allocations as f64 / asks as f64)
            };
            let (short_ns, short_allocs) = measure(false);
            let (star_ns, star_allocs) = measure(true);
            Report::default()
                .with("short ns/ask", short_ns)
                .with("star ns/ask", star_ns)
                .with("short allocs/ask", short_allocs)
                .with("star allocs/ask", star_allocs)
        }
    }
}
