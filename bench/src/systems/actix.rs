//! actix 0.13 as its guide writes it: `Actor` + `Handler<M>`, `do_send` for
//! fire-and-forget (which ignores the mailbox capacity, so the mailbox is in effect
//! unbounded), `send(..).await` for asks. One `System`: actix's single-threaded
//! arbiter, its default; the sender of fork-join is a plain thread.

use std::time::Instant;

use actix::prelude::*;

use crate::common::{self, per, Report, Workload};

#[derive(Message)]
#[rtype(result = "()")]
struct Meet(Addr<Player>);

#[derive(Message)]
#[rtype(result = "()")]
struct Ball(u64);

struct Player {
    peer: Option<Addr<Player>>,
}

impl Actor for Player {
    type Context = Context<Self>;
}

impl Handler<Meet> for Player {
    type Result = ();
    fn handle(&mut self, msg: Meet, _: &mut Context<Self>) {
        self.peer = Some(msg.0);
    }
}

impl Handler<Ball> for Player {
    type Result = ();
    fn handle(&mut self, Ball(left): Ball, _: &mut Context<Self>) {
        match &self.peer {
            Some(peer) if left > 0 => peer.do_send(Ball(left - 1)),
            _ => common::finish(),
        }
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Link(Addr<Node>);

#[derive(Message)]
#[rtype(result = "()")]
struct Token(u64);

struct Node {
    next: Option<Addr<Node>>,
}

impl Actor for Node {
    type Context = Context<Self>;
}

impl Handler<Link> for Node {
    type Result = ();
    fn handle(&mut self, msg: Link, _: &mut Context<Self>) {
        self.next = Some(msg.0);
    }
}

impl Handler<Token> for Node {
    type Result = ();
    fn handle(&mut self, Token(left): Token, _: &mut Context<Self>) {
        match &self.next {
            Some(next) if left > 0 => next.do_send(Token(left - 1)),
            _ => common::finish(),
        }
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Hello(u64);

struct Empty;

impl Actor for Empty {
    type Context = Context<Self>;
}

impl Handler<Hello> for Empty {
    type Result = ();
    fn handle(&mut self, Hello(target): Hello, _: &mut Context<Self>) {
        common::arrive(target);
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Item(#[allow(dead_code)] u64);

struct Sink {
    seen: u64,
    expect: u64,
    sinks: u64,
}

impl Actor for Sink {
    type Context = Context<Self>;
}

impl Handler<Item> for Sink {
    type Result = ();
    fn handle(&mut self, _: Item, _: &mut Context<Self>) {
        self.seen += 1;
        if self.seen == self.expect {
            common::arrive(self.sinks);
        }
    }
}

#[derive(Message)]
#[rtype(result = "u64")]
struct EchoMsg(u64);

struct Echo;

impl Actor for Echo {
    type Context = Context<Self>;
}

impl Handler<EchoMsg> for Echo {
    type Result = u64;
    fn handle(&mut self, EchoMsg(n): EchoMsg, _: &mut Context<Self>) -> u64 {
        n
    }
}

#[derive(Message)]
#[rtype(result = "u64")]
struct Drive(u64);

struct Asker {
    target: Addr<Echo>,
}

impl Actor for Asker {
    type Context = Context<Self>;
}

impl Handler<Drive> for Asker {
    type Result = ResponseFuture<u64>;
    fn handle(&mut self, Drive(asks): Drive, _: &mut Context<Self>) -> Self::Result {
        let target = self.target.clone();
        Box::pin(async move {
            let mut sum = 0;
            for n in 0..asks {
                sum += target.send(EchoMsg(n)).await.unwrap_or(0);
            }
            sum
        })
    }
}

#[derive(Message)]
#[rtype(result = "f64")]
struct Integrate(f64, f64, u64);

struct Integrator;

impl Actor for Integrator {
    type Context = Context<Self>;
}

impl Handler<Integrate> for Integrator {
    type Result = f64;
    fn handle(&mut self, Integrate(a, b, n): Integrate, _: &mut Context<Self>) -> f64 {
        common::trapezoid(a, b, n)
    }
}

// Savina's Big.

#[derive(Message)]
#[rtype(result = "()")]
struct Neighbours(Vec<Addr<Neighbour>>);

#[derive(Message)]
#[rtype(result = "()")]
struct Ping(u64);

#[derive(Message)]
#[rtype(result = "()")]
struct Pong;

struct Neighbour {
    index: u64,
    peers: Vec<Addr<Neighbour>>,
    left: u64,
    rng: common::Rng,
    actors: u64,
}

impl Actor for Neighbour {
    type Context = Context<Self>;
}

impl Handler<Neighbours> for Neighbour {
    type Result = ();
    fn handle(&mut self, Neighbours(peers): Neighbours, _: &mut Context<Self>) {
        self.peers = peers;
    }
}

impl Handler<Ping> for Neighbour {
    type Result = ();
    fn handle(&mut self, Ping(from): Ping, _: &mut Context<Self>) {
        self.peers[from as usize].do_send(Pong);
    }
}

impl Handler<Pong> for Neighbour {
    type Result = ();
    fn handle(&mut self, _: Pong, _: &mut Context<Self>) {
        if self.left == 0 {
            common::arrive(self.actors);
            return;
        }
        self.left -= 1;
        let to = self.rng.below(self.actors) as usize;
        self.peers[to].do_send(Ping(self.index));
    }
}

// Savina's Chameneos.

#[derive(Message)]
#[rtype(result = "()")]
struct Arrive(Addr<Chameneo>, u8);

#[derive(Message)]
#[rtype(result = "()")]
struct Met(u8);

#[derive(Message)]
#[rtype(result = "()")]
struct Go;

struct Mall {
    waiting: Option<(Addr<Chameneo>, u8)>,
    left: u64,
}

impl Actor for Mall {
    type Context = Context<Self>;
}

impl Handler<Arrive> for Mall {
    type Result = ();
    fn handle(&mut self, Arrive(who, colour): Arrive, _: &mut Context<Self>) {
        if self.left == 0 {
            return;
        }
        match self.waiting.take() {
            None => self.waiting = Some((who, colour)),
            Some((first, theirs)) => {
                self.left -= 1;
                first.do_send(Met(colour));
                who.do_send(Met(theirs));
                if self.left == 0 {
                    common::finish();
                }
            }
        }
    }
}

struct Chameneo {
    mall: Addr<Mall>,
    colour: u8,
}

impl Actor for Chameneo {
    type Context = Context<Self>;
}

impl Handler<Met> for Chameneo {
    type Result = ();
    fn handle(&mut self, Met(other): Met, ctx: &mut Context<Self>) {
        self.colour = common::complement(self.colour, other);
        self.mall.do_send(Arrive(ctx.address(), self.colour));
    }
}

impl Handler<Go> for Chameneo {
    type Result = ();
    fn handle(&mut self, _: Go, ctx: &mut Context<Self>) {
        self.mall.do_send(Arrive(ctx.address(), self.colour));
    }
}

pub fn run(workload: Workload) -> Report {
    System::new().block_on(async move {
        match workload {
            Workload::PingPong { messages } => {
                let ping = Player { peer: None }.start();
                let pong = Player { peer: None }.start();
                let _ = ping.send(Meet(pong.clone())).await;
                let _ = pong.send(Meet(ping.clone())).await;
                let start = Instant::now();
                ping.do_send(Ball(messages));
                let end = common::finished().await;
                Report::default().with("ns/msg", per(end - start, messages))
            }
            Workload::Ring { actors, hops } => {
                let start = Instant::now();
                let last = Node { next: None }.start();
                let mut first = last.clone();
                for _ in 1..actors {
                    first = Node { next: Some(first) }.start();
                }
                let _ = last.send(Link(first.clone())).await;
                let created = start.elapsed();
                let start = Instant::now();
                first.do_send(Token(hops));
                let end = common::finished().await;
                Report::ring(created, end - start, hops)
            }
            Workload::Spawn { actors } => {
                let (before, _) = common::rss();
                let start = Instant::now();
                let mut all = Vec::with_capacity(actors as usize);
                for _ in 0..actors {
                    let actor = Empty.start();
                    actor.do_send(Hello(actors));
                    all.push(actor);
                }
                let end = common::finished().await;
                Report::spawn(end - start, before, actors)
            }
            Workload::ForkJoin { actors, per_actor } => {
                let sinks: Vec<_> = (0..actors)
                    .map(|_| {
                        Sink {
                            seen: 0,
                            expect: per_actor,
                            sinks: actors,
                        }
                        .start()
                    })
                    .collect();
                let start = Instant::now();
                std::thread::spawn(move || {
                    for n in 0..per_actor {
                        for sink in &sinks {
                            sink.do_send(Item(n));
                        }
                    }
                });
                let end = common::finished().await;
                Report::throughput(end - start, actors * per_actor)
            }
            Workload::AskOutside { asks } => {
                // The System's thread is the only one: asks from its `block_on` are
                // from outside any actor.
                let echo = Echo.start();
                let start = Instant::now();
                let mut sum = 0;
                for n in 0..asks {
                    sum += echo.send(EchoMsg(n)).await.unwrap_or(0);
                }
                let elapsed = start.elapsed();
                std::hint::black_box(sum);
                Report::default().with("ns/ask", per(elapsed, asks))
            }
            Workload::AskInside { asks } => {
                let target = Echo.start();
                let asker = Asker { target }.start();
                let start = Instant::now();
                let sum = asker.send(Drive(asks)).await;
                let elapsed = start.elapsed();
                std::hint::black_box(sum.ok());
                Report::default().with("ns/ask", per(elapsed, asks))
            }
            Workload::Trapezoid { workers, points } => {
                // actix's default: every actor on the System's one arbiter. Each on an
                // arbiter of its own (a thread) is the way to use more cores.
                let arbiters: Vec<_> = (0..workers).map(|_| Arbiter::new()).collect();
                let integrators: Vec<_> = arbiters
                    .iter()
                    .map(|arbiter| Integrator::start_in_arbiter(&arbiter.handle(), |_| Integrator))
                    .collect();
                let start = Instant::now();
                let parts: Vec<_> = integrators
                    .iter()
                    .enumerate()
                    .map(|(i, w)| {
                        let (a, b, n) = common::share(i as u64, workers, points);
                        w.send(Integrate(a, b, n))
                    })
                    .collect();
                let mut total = 0.0;
                for part in parts {
                    total += part.await.unwrap_or(f64::NAN);
                }
                let elapsed = start.elapsed();
                for arbiter in arbiters {
                    arbiter.stop();
                }
                Report::default()
                    .with("ms", elapsed.as_secs_f64() * 1e3)
                    .with("integral", total)
            }
            Workload::Big { actors, pings } => {
                let all: Vec<Addr<Neighbour>> = (0..actors)
                    .map(|index| {
                        Neighbour {
                            index,
                            peers: Vec::new(),
                            left: pings,
                            rng: common::Rng::new(index),
                            actors,
                        }
                        .start()
                    })
                    .collect();
                for each in &all {
                    let _ = each.send(Neighbours(all.clone())).await;
                }
                let start = Instant::now();
                for each in &all {
                    each.do_send(Pong);
                }
                let end = common::finished().await;
                common::big_report(end - start, actors, pings)
            }
            Workload::Chameneos {
                creatures,
                meetings,
            } => {
                let mall = Mall {
                    waiting: None,
                    left: meetings,
                }
                .start();
                let all: Vec<Addr<Chameneo>> = (0..creatures)
                    .map(|i| {
                        Chameneo {
                            mall: mall.clone(),
                            colour: (i % 3) as u8,
                        }
                        .start()
                    })
                    .collect();
                let start = Instant::now();
                for each in &all {
                    each.do_send(Go);
                }
                let end = common::finished().await;
                common::chameneos_report(end - start, meetings)
            }
            Workload::StarForm { .. }
            | Workload::RemoteNotify { .. }
            | Workload::RemoteAsk { .. }
            | Workload::Migrate { .. }
            | Workload::MigrateStream { .. } => Report::default(),
        }
    })
}
