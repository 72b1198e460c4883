//! The floor with the smol family: one `async-executor` task per actor, an unbounded
//! `async-channel` as its mailbox and a one-slot channel per answer. One executor
//! thread per core.

use std::sync::OnceLock;
use std::time::Instant;

use async_executor::Executor;

use crate::common::{self, per, Report, Workload};

type Mailbox<M> = async_channel::Sender<M>;

static EXECUTOR: OnceLock<Executor<'static>> = OnceLock::new();

fn executor() -> &'static Executor<'static> {
    EXECUTOR.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        for _ in 0..cores {
            std::thread::spawn(|| {
                let ex = executor();
                futures_lite::future::block_on(ex.run(futures_lite::future::pending::<()>()))
            });
        }
        Executor::new()
    })
}

fn actor<M: Send + 'static>(mut state: impl FnMut(M) + Send + 'static) -> Mailbox<M> {
    let (tx, rx) = async_channel::unbounded();
    executor()
        .spawn(async move {
            while let Ok(msg) = rx.recv().await {
                state(msg);
            }
        })
        .detach();
    tx
}

mod oneshot {
    pub type Sender<T> = async_channel::Sender<T>;

    pub fn channel<T>() -> (async_channel::Sender<T>, async_channel::Receiver<T>) {
        async_channel::bounded(1)
    }
}

fn echo() -> Mailbox<(u64, oneshot::Sender<u64>)> {
    actor(|(n, reply): (u64, oneshot::Sender<u64>)| {
        let _ = reply.try_send(n);
    })
}

/// Savina's Big: what each neighbour is sent.
enum BigMsg {
    Neighbours(Vec<Mailbox<BigMsg>>),
    Ping(u64),
    Pong,
}

fn neighbour(index: u64, pings: u64, actors: u64) -> Mailbox<BigMsg> {
    let mut peers: Vec<Mailbox<BigMsg>> = Vec::new();
    let mut left = pings;
    let mut rng = common::Rng::new(index);
    actor(move |msg: BigMsg| match msg {
        BigMsg::Neighbours(all) => peers = all,
        BigMsg::Ping(from) => {
            let _ = peers[from as usize].try_send(BigMsg::Pong);
        }
        BigMsg::Pong => {
            if left == 0 {
                common::arrive(actors);
                return;
            }
            left -= 1;
            let to = rng.below(actors) as usize;
            let _ = peers[to].try_send(BigMsg::Ping(index));
        }
    })
}

/// Savina's Chameneos: the meeting place, sent (creature, colour).
fn mall(meetings: u64) -> Mailbox<(Mailbox<u8>, u8)> {
    let mut waiting: Option<(Mailbox<u8>, u8)> = None;
    let mut left = meetings;
    actor(move |(who, colour): (Mailbox<u8>, u8)| {
        if left == 0 {
            return;
        }
        match waiting.take() {
            None => waiting = Some((who, colour)),
            Some((first, theirs)) => {
                left -= 1;
                let _ = first.try_send(colour);
                let _ = who.try_send(theirs);
                if left == 0 {
                    common::finish();
                }
            }
        }
    })
}

/// What a creature is sent to start: no colour.
const GO: u8 = u8::MAX;

/// A chameneos: back to the mall after each meeting, with its new colour.
fn chameneo(mall: Mailbox<(Mailbox<u8>, u8)>, colour: u8) -> Mailbox<u8> {
    let (me, rx) = async_channel::unbounded::<u8>();
    let mine = me.clone();
    executor()
        .spawn(async move {
            let mut colour = colour;
            while let Ok(other) = rx.recv().await {
                if other != GO {
                    colour = common::complement(colour, other);
                }
                let _ = mall.try_send((mine.clone(), colour));
            }
        })
        .detach();
    me
}

pub fn run(workload: Workload) -> Report {
    if let Workload::AskOutside { asks } = workload {
        return ask_outside(asks);
    }
    futures_lite::future::block_on(async move {
        match workload {
            Workload::PingPong { messages } => {
                let (peer_tx, peer_rx) = std::sync::mpsc::channel::<Mailbox<u64>>();
                let pong = {
                    let mut ping: Option<Mailbox<u64>> = None;
                    actor(move |left: u64| {
                        let ping = ping.get_or_insert_with(|| peer_rx.recv().expect("peer"));
                        if left == 0 {
                            common::finish();
                        } else {
                            let _ = ping.try_send(left - 1);
                        }
                    })
                };
                let ping = {
                    let pong = pong.clone();
                    actor(move |left: u64| {
                        if left == 0 {
                            common::finish();
                        } else {
                            let _ = pong.try_send(left - 1);
                        }
                    })
                };
                let _ = peer_tx.send(ping.clone());
                let start = Instant::now();
                let _ = ping.try_send(messages);
                let end = common::finished().await;
                Report::default().with("ns/msg", per(end - start, messages))
            }
            Workload::Ring { actors, hops } => {
                let start = Instant::now();
                let (close_tx, close_rx) = std::sync::mpsc::channel::<Mailbox<u64>>();
                let mut close_rx = Some(close_rx);
                let mut next: Option<Mailbox<u64>> = None;
                let last = {
                    actor(move |left: u64| {
                        let next = next.get_or_insert_with(|| {
                            close_rx
                                .take()
                                .and_then(|rx| rx.recv().ok())
                                .expect("ring closed")
                        });
                        if left == 0 {
                            common::finish();
                        } else {
                            let _ = next.try_send(left - 1);
                        }
                    })
                };
                let mut first = last;
                for _ in 1..actors {
                    let next = first;
                    first = actor(move |left: u64| {
                        if left == 0 {
                            common::finish();
                        } else {
                            let _ = next.try_send(left - 1);
                        }
                    });
                }
                let _ = close_tx.send(first.clone());
                let created = start.elapsed();
                let start = Instant::now();
                let _ = first.try_send(hops);
                let end = common::finished().await;
                Report::ring(created, end - start, hops)
            }
            Workload::Spawn { actors } => {
                let (before, _) = common::rss();
                let start = Instant::now();
                let mut all = Vec::with_capacity(actors as usize);
                for _ in 0..actors {
                    let a = actor(move |()| common::arrive(actors));
                    let _ = a.try_send(());
                    all.push(a);
                }
                let end = common::finished().await;
                Report::spawn(end - start, before, actors)
            }
            Workload::ForkJoin { actors, per_actor } => {
                let sinks: Vec<Mailbox<u64>> = (0..actors)
                    .map(|_| {
                        let mut seen = 0;
                        actor(move |_n: u64| {
                            seen += 1;
                            if seen == per_actor {
                                common::arrive(actors);
                            }
                        })
                    })
                    .collect();
                let start = Instant::now();
                // The one sender is a plain thread, as for every system.
                std::thread::spawn(move || {
                    for n in 0..per_actor {
                        for sink in &sinks {
                            let _ = sink.try_send(n);
                        }
                    }
                });
                let end = common::finished().await;
                Report::throughput(end - start, actors * per_actor)
            }
            Workload::Big { actors, pings } => {
                let all: Vec<Mailbox<BigMsg>> = (0..actors)
                    .map(|index| neighbour(index, pings, actors))
                    .collect();
                for each in &all {
                    let _ = each.try_send(BigMsg::Neighbours(all.clone()));
                }
                let start = Instant::now();
                for each in &all {
                    let _ = each.try_send(BigMsg::Pong);
                }
                let end = common::finished().await;
                common::big_report(end - start, actors, pings)
            }
            Workload::Chameneos {
                creatures,
                meetings,
            } => {
                let mall = mall(meetings);
                let all: Vec<Mailbox<u8>> = (0..creatures)
                    .map(|i| chameneo(mall.clone(), (i % 3) as u8))
                    .collect();
                let start = Instant::now();
                for each in &all {
                    let _ = each.try_send(GO);
                }
                let end = common::finished().await;
                common::chameneos_report(end - start, meetings)
            }
            Workload::AskOutside { .. }
            | Workload::StarForm { .. }
            | Workload::RemoteNotify { .. }
            | Workload::RemoteAsk { .. }
            | Workload::Migrate { .. }
            | Workload::MigrateStream { .. } => Report::default(),
            Workload::AskInside { asks } => {
                let target = echo();
                let (done_tx, done_rx) = oneshot::channel();
                let start = Instant::now();
                executor()
                    .spawn(async move {
                        let mut sum = 0;
                        for n in 0..asks {
                            let (tx, rx) = oneshot::channel();
                            let _ = target.try_send((n, tx));
                            sum += rx.recv().await.unwrap_or(0);
                        }
                        let _ = done_tx.try_send(sum);
                    })
                    .detach();
                let sum = done_rx.recv().await;
                let elapsed = start.elapsed();
                std::hint::black_box(sum.ok());
                Report::default().with("ns/ask", per(elapsed, asks))
            }
            Workload::Trapezoid { workers, points } => {
                let integrators: Vec<_> = (0..workers)
                    .map(|_| {
                        actor(|(a, b, n, reply): (f64, f64, u64, oneshot::Sender<f64>)| {
                            let _ = reply.try_send(common::trapezoid(a, b, n));
                        })
                    })
                    .collect();
                let start = Instant::now();
                let mut parts = Vec::new();
                for (i, w) in integrators.iter().enumerate() {
                    let (a, b, n) = common::share(i as u64, workers, points);
                    let (tx, rx) = oneshot::channel();
                    let _ = w.try_send((a, b, n, tx));
                    parts.push(rx);
                }
                let mut total = 0.0;
                for part in parts {
                    total += part.recv().await.unwrap_or(f64::NAN);
                }
                Report::default()
                    .with("ms", start.elapsed().as_secs_f64() * 1e3)
                    .with("integral", total)
            }
        }
    })
}

/// Asks from a task that is not an actor (see `tokio_raw::ask_outside`).
fn ask_outside(asks: u64) -> Report {
    let target = echo();
    let start = Instant::now();
    let asker = executor().spawn(async move {
        let mut sum = 0;
        for n in 0..asks {
            let (tx, rx) = oneshot::channel();
            let _ = target.try_send((n, tx));
            sum += rx.recv().await.unwrap_or(0);
        }
        sum
    });
    let sum = futures_lite::future::block_on(asker);
    let elapsed = start.elapsed();
    std::hint::black_box(sum);
    Report::default().with("ns/ask", per(elapsed, asks))
}
