//! The floor with tokio: one task per actor, an unbounded `mpsc` as its mailbox and a
//! `oneshot` per answer. Multi-threaded runtime, one worker per core.

use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use crate::common::{self, per, Report, Workload};

type Mailbox<M> = mpsc::UnboundedSender<M>;

fn actor<M: Send + 'static>(mut state: impl FnMut(M) + Send + 'static) -> Mailbox<M> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            state(msg);
        }
    });
    tx
}

fn echo() -> Mailbox<(u64, oneshot::Sender<u64>)> {
    actor(|(n, reply): (u64, oneshot::Sender<u64>)| {
        let _ = reply.send(n);
    })
}

/// A listener on a free loopback port, and its address.
async fn loopback_listener() -> (tokio::net::TcpListener, std::net::SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let address = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("address: {e}"));
    (listener, address)
}

/// Loopback TCP with tokio: `messages` 12-byte frames (length and a number)
/// written through a buffered writer and counted as they are read; the floor for
/// remote notify.
async fn tcp_notify(messages: u64) -> Report {
    use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
    let (listener, address) = loopback_listener().await;
    let reader = tokio::spawn(async move {
        let (stream, _) = listener
            .accept()
            .await
            .unwrap_or_else(|e| panic!("accept: {e}"));
        let mut input = BufReader::with_capacity(64 << 10, stream);
        let mut frame = [0u8; 12];
        for _ in 0..messages {
            if input.read_exact(&mut frame).await.is_err() {
                break;
            }
        }
        common::finish();
    });
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    let _ = stream.set_nodelay(true);
    let mut output = BufWriter::with_capacity(64 << 10, stream);
    let start = Instant::now();
    for n in 0..messages {
        let mut frame = [0u8; 12];
        frame[..4].copy_from_slice(&8u32.to_be_bytes());
        frame[4..].copy_from_slice(&n.to_be_bytes());
        if output.write_all(&frame).await.is_err() {
            break;
        }
    }
    let _ = output.flush().await;
    let end = common::finished().await;
    let _ = reader.await;
    Report::throughput(end - start, messages)
}

/// Loopback TCP ping-pong with tokio: 16 bytes there and back, `asks` times; the
/// floor for a remote ask.
async fn tcp_ask(asks: u64) -> Report {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (listener, address) = loopback_listener().await;
    let echo = tokio::spawn(async move {
        let (mut stream, _) = listener
            .accept()
            .await
            .unwrap_or_else(|e| panic!("accept: {e}"));
        let _ = stream.set_nodelay(true);
        let mut buf = [0u8; 16];
        while stream.read_exact(&mut buf).await.is_ok() {
            if stream.write_all(&buf).await.is_err() {
                return;
            }
        }
    });
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    let _ = stream.set_nodelay(true);
    let mut buf = [7u8; 16];
    let start = Instant::now();
    for _ in 0..asks {
        if stream.write_all(&buf).await.is_err() || stream.read_exact(&mut buf).await.is_err() {
            break;
        }
    }
    let elapsed = start.elapsed();
    drop(stream);
    let _ = echo.await;
    Report::default().with("us/ask", per(elapsed, asks) / 1e3)
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
            let _ = peers[from as usize].send(BigMsg::Pong);
        }
        BigMsg::Pong => {
            if left == 0 {
                common::arrive(actors);
                return;
            }
            left -= 1;
            let to = rng.below(actors) as usize;
            let _ = peers[to].send(BigMsg::Ping(index));
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
                let _ = first.send(colour);
                let _ = who.send(theirs);
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
    let (me, mut rx) = mpsc::unbounded_channel::<u8>();
    let mine = me.clone();
    tokio::spawn(async move {
        let mut colour = colour;
        while let Some(other) = rx.recv().await {
            if other != GO {
                colour = common::complement(colour, other);
            }
            let _ = mall.send((mine.clone(), colour));
        }
    });
    me
}

pub fn run(workload: Workload) -> Report {
    if let Workload::AskOutside { asks } = workload {
        return ask_outside(asks);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
    rt.block_on(async move {
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
                            let _ = ping.send(left - 1);
                        }
                    })
                };
                let ping = {
                    let pong = pong.clone();
                    actor(move |left: u64| {
                        if left == 0 {
                            common::finish();
                        } else {
                            let _ = pong.send(left - 1);
                        }
                    })
                };
                let _ = peer_tx.send(ping.clone());
                let start = Instant::now();
                let _ = ping.send(messages);
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
                            let _ = next.send(left - 1);
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
                            let _ = next.send(left - 1);
                        }
                    });
                }
                let _ = close_tx.send(first.clone());
                let created = start.elapsed();
                let start = Instant::now();
                let _ = first.send(hops);
                let end = common::finished().await;
                Report::ring(created, end - start, hops)
            }
            Workload::Spawn { actors } => {
                let (before, _) = common::rss();
                let start = Instant::now();
                let mut all = Vec::with_capacity(actors as usize);
                for _ in 0..actors {
                    let a = actor(move |()| common::arrive(actors));
                    let _ = a.send(());
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
                            let _ = sink.send(n);
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
                    let _ = each.send(BigMsg::Neighbours(all.clone()));
                }
                let start = Instant::now();
                for each in &all {
                    let _ = each.send(BigMsg::Pong);
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
                    let _ = each.send(GO);
                }
                let end = common::finished().await;
                common::chameneos_report(end - start, meetings)
            }
            Workload::AskOutside { .. }
            | Workload::StarForm { .. }
            | Workload::Migrate { .. }
            | Workload::MigrateStream { .. } => Report::default(),
            Workload::RemoteNotify { messages } => tcp_notify(messages).await,
            Workload::RemoteAsk { asks } => tcp_ask(asks).await,
            Workload::AskInside { asks } => {
                let target = echo();
                let (done_tx, done_rx) = oneshot::channel();
                let start = Instant::now();
                tokio::spawn(async move {
                    let mut sum = 0;
                    for n in 0..asks {
                        let (tx, rx) = oneshot::channel();
                        let _ = target.send((n, tx));
                        sum += rx.await.unwrap_or(0);
                    }
                    let _ = done_tx.send(sum);
                });
                let sum = done_rx.await;
                let elapsed = start.elapsed();
                std::hint::black_box(sum.ok());
                Report::default().with("ns/ask", per(elapsed, asks))
            }
            Workload::Trapezoid { workers, points } => {
                let integrators: Vec<_> = (0..workers)
                    .map(|_| {
                        actor(|(a, b, n, reply): (f64, f64, u64, oneshot::Sender<f64>)| {
                            let _ = reply.send(common::trapezoid(a, b, n));
                        })
                    })
                    .collect();
                let start = Instant::now();
                let mut parts = Vec::new();
                for (i, w) in integrators.iter().enumerate() {
                    let (a, b, n) = common::share(i as u64, workers, points);
                    let (tx, rx) = oneshot::channel();
                    let _ = w.send((a, b, n, tx));
                    parts.push(rx);
                }
                let mut total = 0.0;
                for part in parts {
                    total += part.await.unwrap_or(f64::NAN);
                }
                Report::default()
                    .with("ms", start.elapsed().as_secs_f64() * 1e3)
                    .with("integral", total)
            }
        }
    })
}

/// Asks from a task that is not an actor. (From the main thread's `block_on` every
/// answer has to wake that thread: 30-55 us per ask on a 2-core VM, for every
/// tokio-based system; a spawned task is their best case.)
fn ask_outside(asks: u64) -> Report {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
    let target = rt.block_on(async { echo() });
    let start = Instant::now();
    let sum = rt.block_on(async move {
        let asker = tokio::spawn(async move {
            let mut sum = 0;
            for n in 0..asks {
                let (tx, rx) = oneshot::channel();
                let _ = target.send((n, tx));
                sum += rx.await.unwrap_or(0);
            }
            sum
        });
        asker.await.unwrap_or(0)
    });
    let elapsed = start.elapsed();
    std::hint::black_box(sum);
    Report::default().with("ns/ask", per(elapsed, asks))
}
