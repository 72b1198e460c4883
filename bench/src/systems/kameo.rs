//! kameo 0.22 as its guide writes it: `#[derive(Actor)]`, `impl Message<M>`, `tell`
//! for fire-and-forget and `ask` for questions. Spawned with
//! `spawn_with_mailbox(.., mailbox::unbounded())` (its default is bounded to 64); the
//! tokio multi-threaded runtime, one worker per core.

use std::time::Instant;

use kameo::actor::{ActorRef, Spawn};
use kameo::mailbox;
use kameo::message::{Context, Message};
use kameo::Actor;

use crate::common::{self, per, Report, Workload};

fn start<A: Actor<Args = A>>(actor: A) -> ActorRef<A> {
    A::spawn_with_mailbox(actor, mailbox::unbounded())
}

#[derive(Actor)]
struct Player {
    peer: Option<ActorRef<Player>>,
}

struct Meet(ActorRef<Player>);
struct Ball(u64);

impl Message<Meet> for Player {
    type Reply = ();
    async fn handle(&mut self, Meet(peer): Meet, _: &mut Context<Self, ()>) {
        self.peer = Some(peer);
    }
}

impl Message<Ball> for Player {
    type Reply = ();
    async fn handle(&mut self, Ball(left): Ball, _: &mut Context<Self, ()>) {
        match &self.peer {
            Some(peer) if left > 0 => {
                let _ = peer.tell(Ball(left - 1)).try_send();
            }
            _ => common::finish(),
        }
    }
}

#[derive(Actor)]
struct Node {
    next: Option<ActorRef<Node>>,
}

struct Link(ActorRef<Node>);
struct Token(u64);

impl Message<Link> for Node {
    type Reply = ();
    async fn handle(&mut self, Link(next): Link, _: &mut Context<Self, ()>) {
        self.next = Some(next);
    }
}

impl Message<Token> for Node {
    type Reply = ();
    async fn handle(&mut self, Token(left): Token, _: &mut Context<Self, ()>) {
        match &self.next {
            Some(next) if left > 0 => {
                let _ = next.tell(Token(left - 1)).try_send();
            }
            _ => common::finish(),
        }
    }
}

#[derive(Actor)]
struct Empty;

struct Hello(u64);

impl Message<Hello> for Empty {
    type Reply = ();
    async fn handle(&mut self, Hello(target): Hello, _: &mut Context<Self, ()>) {
        common::arrive(target);
    }
}

#[derive(Actor)]
struct Sink {
    seen: u64,
    expect: u64,
    sinks: u64,
}

struct Item(#[allow(dead_code)] u64);

impl Message<Item> for Sink {
    type Reply = ();
    async fn handle(&mut self, _: Item, _: &mut Context<Self, ()>) {
        self.seen += 1;
        if self.seen == self.expect {
            common::arrive(self.sinks);
        }
    }
}

#[derive(Actor)]
struct Echo;

struct EchoMsg(u64);

impl Message<EchoMsg> for Echo {
    type Reply = u64;
    async fn handle(&mut self, EchoMsg(n): EchoMsg, _: &mut Context<Self, u64>) -> u64 {
        n
    }
}

#[derive(Actor)]
struct Asker {
    target: ActorRef<Echo>,
}

struct Drive(u64);

impl Message<Drive> for Asker {
    type Reply = u64;
    async fn handle(&mut self, Drive(asks): Drive, _: &mut Context<Self, u64>) -> u64 {
        let mut sum = 0;
        for n in 0..asks {
            sum += self.target.ask(EchoMsg(n)).await.unwrap_or(0);
        }
        sum
    }
}

#[derive(Actor)]
struct Integrator;

struct Integrate(f64, f64, u64);

impl Message<Integrate> for Integrator {
    type Reply = f64;
    async fn handle(&mut self, Integrate(a, b, n): Integrate, _: &mut Context<Self, f64>) -> f64 {
        common::trapezoid(a, b, n)
    }
}

// Savina's Big.

#[derive(Actor)]
struct Neighbour {
    index: u64,
    peers: Vec<ActorRef<Neighbour>>,
    left: u64,
    rng: common::Rng,
    actors: u64,
}

struct Neighbours(Vec<ActorRef<Neighbour>>);
struct Ping(u64);
struct Pong;

impl Message<Neighbours> for Neighbour {
    type Reply = ();
    async fn handle(&mut self, Neighbours(peers): Neighbours, _: &mut Context<Self, ()>) {
        self.peers = peers;
    }
}

impl Message<Ping> for Neighbour {
    type Reply = ();
    async fn handle(&mut self, Ping(from): Ping, _: &mut Context<Self, ()>) {
        let _ = self.peers[from as usize].tell(Pong).try_send();
    }
}

impl Message<Pong> for Neighbour {
    type Reply = ();
    async fn handle(&mut self, _: Pong, _: &mut Context<Self, ()>) {
        if self.left == 0 {
            common::arrive(self.actors);
            return;
        }
        self.left -= 1;
        let to = self.rng.below(self.actors) as usize;
        let _ = self.peers[to].tell(Ping(self.index)).try_send();
    }
}

// Savina's Chameneos.

#[derive(Actor)]
struct Mall {
    waiting: Option<(ActorRef<Chameneo>, u8)>,
    left: u64,
}

#[derive(Actor)]
struct Chameneo {
    mall: ActorRef<Mall>,
    colour: u8,
}

struct Arrive(ActorRef<Chameneo>, u8);
struct Met(u8);
struct Go;

impl Message<Arrive> for Mall {
    type Reply = ();
    async fn handle(&mut self, Arrive(who, colour): Arrive, _: &mut Context<Self, ()>) {
        if self.left == 0 {
            return;
        }
        match self.waiting.take() {
            None => self.waiting = Some((who, colour)),
            Some((first, theirs)) => {
                self.left -= 1;
                let _ = first.tell(Met(colour)).try_send();
                let _ = who.tell(Met(theirs)).try_send();
                if self.left == 0 {
                    common::finish();
                }
            }
        }
    }
}

impl Message<Met> for Chameneo {
    type Reply = ();
    async fn handle(&mut self, Met(other): Met, ctx: &mut Context<Self, ()>) {
        self.colour = common::complement(self.colour, other);
        let me = ctx.actor_ref().clone();
        let _ = self.mall.tell(Arrive(me, self.colour)).try_send();
    }
}

impl Message<Go> for Chameneo {
    type Reply = ();
    async fn handle(&mut self, _: Go, ctx: &mut Context<Self, ()>) {
        let me = ctx.actor_ref().clone();
        let _ = self.mall.tell(Arrive(me, self.colour)).try_send();
    }
}

pub fn run(workload: Workload) -> Report {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
    if let Workload::AskOutside { asks } = workload {
        let echo = rt.block_on(async { start(Echo) });
        let begin = Instant::now();
        // From a task that is not an actor (see `tokio_raw::ask_outside`).
        let sum = rt.block_on(async {
            let asker = tokio::spawn(async move {
                let mut sum = 0;
                for n in 0..asks {
                    sum += echo.ask(EchoMsg(n)).await.unwrap_or(0);
                }
                sum
            });
            asker.await.unwrap_or(0)
        });
        let elapsed = begin.elapsed();
        std::hint::black_box(sum);
        return Report::default().with("ns/ask", per(elapsed, asks));
    }
    rt.block_on(async move {
        match workload {
            Workload::PingPong { messages } => {
                let ping = start(Player { peer: None });
                let pong = start(Player { peer: None });
                let _ = ping.ask(Meet(pong.clone())).await;
                let _ = pong.ask(Meet(ping.clone())).await;
                let begin = Instant::now();
                let _ = ping.tell(Ball(messages)).try_send();
                let end = common::finished().await;
                Report::default().with("ns/msg", per(end - begin, messages))
            }
            Workload::Ring { actors, hops } => {
                let begin = Instant::now();
                let last = start(Node { next: None });
                let mut first = last.clone();
                for _ in 1..actors {
                    first = start(Node { next: Some(first) });
                }
                let _ = last.ask(Link(first.clone())).await;
                let created = begin.elapsed();
                let begin = Instant::now();
                let _ = first.tell(Token(hops)).try_send();
                let end = common::finished().await;
                Report::ring(created, end - begin, hops)
            }
            Workload::Spawn { actors } => {
                let (before, _) = common::rss();
                let begin = Instant::now();
                let mut all = Vec::with_capacity(actors as usize);
                for _ in 0..actors {
                    let actor = start(Empty);
                    let _ = actor.tell(Hello(actors)).try_send();
                    all.push(actor);
                }
                let end = common::finished().await;
                Report::spawn(end - begin, before, actors)
            }
            Workload::ForkJoin { actors, per_actor } => {
                let sinks: Vec<_> = (0..actors)
                    .map(|_| {
                        start(Sink {
                            seen: 0,
                            expect: per_actor,
                            sinks: actors,
                        })
                    })
                    .collect();
                let begin = Instant::now();
                std::thread::spawn(move || {
                    for n in 0..per_actor {
                        for sink in &sinks {
                            let _ = sink.tell(Item(n)).try_send();
                        }
                    }
                });
                let end = common::finished().await;
                Report::throughput(end - begin, actors * per_actor)
            }
            Workload::AskInside { asks } => {
                let target = start(Echo);
                let asker = start(Asker { target });
                let begin = Instant::now();
                let sum = asker.ask(Drive(asks)).await;
                let elapsed = begin.elapsed();
                std::hint::black_box(sum.is_ok());
                Report::default().with("ns/ask", per(elapsed, asks))
            }
            Workload::Trapezoid { workers, points } => {
                let integrators: Vec<_> = (0..workers).map(|_| start(Integrator)).collect();
                let begin = Instant::now();
                // Every share is asked before any answer is awaited (`ask` sends only
                // when polled, hence a task per ask).
                let parts: Vec<_> = integrators
                    .into_iter()
                    .enumerate()
                    .map(|(i, w)| {
                        let (a, b, n) = common::share(i as u64, workers, points);
                        tokio::spawn(async move { w.ask(Integrate(a, b, n)).await })
                    })
                    .collect();
                let mut total = 0.0;
                for part in parts {
                    total += match part.await {
                        Ok(Ok(x)) => x,
                        _ => f64::NAN,
                    };
                }
                Report::default()
                    .with("ms", begin.elapsed().as_secs_f64() * 1e3)
                    .with("integral", total)
            }
            Workload::Big { actors, pings } => {
                let all: Vec<ActorRef<Neighbour>> = (0..actors)
                    .map(|index| {
                        start(Neighbour {
                            index,
                            peers: Vec::new(),
                            left: pings,
                            rng: common::Rng::new(index),
                            actors,
                        })
                    })
                    .collect();
                for each in &all {
                    let _ = each.ask(Neighbours(all.clone())).await;
                }
                let begin = Instant::now();
                for each in &all {
                    let _ = each.tell(Pong).try_send();
                }
                let end = common::finished().await;
                common::big_report(end - begin, actors, pings)
            }
            Workload::Chameneos {
                creatures,
                meetings,
            } => {
                let mall = start(Mall {
                    waiting: None,
                    left: meetings,
                });
                let all: Vec<ActorRef<Chameneo>> = (0..creatures)
                    .map(|i| {
                        start(Chameneo {
                            mall: mall.clone(),
                            colour: (i % 3) as u8,
                        })
                    })
                    .collect();
                let begin = Instant::now();
                for each in &all {
                    let _ = each.tell(Go).try_send();
                }
                let end = common::finished().await;
                common::chameneos_report(end - begin, meetings)
            }
            Workload::AskOutside { .. }
            | Workload::StarForm { .. }
            | Workload::RemoteNotify { .. }
            | Workload::RemoteAsk { .. }
            | Workload::Migrate { .. }
            | Workload::MigrateStream { .. } => Report::default(),
        }
    })
}
