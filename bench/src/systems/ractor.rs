//! ractor 0.16 as its guide writes it: `Actor` with `pre_start`/`handle`, a message
//! enum, `cast` (`send_message`) for fire-and-forget and `call` for asks. Its
//! mailboxes are unbounded; the tokio multi-threaded runtime, one worker per core.

use std::time::Instant;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use crate::common::{self, per, Report, Workload};

type Failure = ActorProcessingErr;

enum PlayerMsg {
    Meet(ActorRef<PlayerMsg>),
    Ball(u64),
}

struct Player;

impl Actor for Player {
    type Msg = PlayerMsg;
    type State = Option<ActorRef<PlayerMsg>>;
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<PlayerMsg>, _: ()) -> Result<Self::State, Failure> {
        Ok(None)
    }

    async fn handle(
        &self,
        _: ActorRef<PlayerMsg>,
        msg: PlayerMsg,
        peer: &mut Self::State,
    ) -> Result<(), Failure> {
        match msg {
            PlayerMsg::Meet(other) => *peer = Some(other),
            PlayerMsg::Ball(left) => match peer {
                Some(peer) if left > 0 => {
                    let _ = peer.cast(PlayerMsg::Ball(left - 1));
                }
                _ => common::finish(),
            },
        }
        Ok(())
    }
}

enum NodeMsg {
    Link(ActorRef<NodeMsg>),
    Token(u64),
}

struct Node;

impl Actor for Node {
    type Msg = NodeMsg;
    type State = Option<ActorRef<NodeMsg>>;
    type Arguments = Option<ActorRef<NodeMsg>>;

    async fn pre_start(
        &self,
        _: ActorRef<NodeMsg>,
        next: Self::Arguments,
    ) -> Result<Self::State, Failure> {
        Ok(next)
    }

    async fn handle(
        &self,
        _: ActorRef<NodeMsg>,
        msg: NodeMsg,
        next: &mut Self::State,
    ) -> Result<(), Failure> {
        match msg {
            NodeMsg::Link(to) => *next = Some(to),
            NodeMsg::Token(left) => match next {
                Some(next) if left > 0 => {
                    let _ = next.cast(NodeMsg::Token(left - 1));
                }
                _ => common::finish(),
            },
        }
        Ok(())
    }
}

struct Empty;

impl Actor for Empty {
    type Msg = u64;
    type State = ();
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<u64>, _: ()) -> Result<(), Failure> {
        Ok(())
    }

    async fn handle(&self, _: ActorRef<u64>, target: u64, _: &mut ()) -> Result<(), Failure> {
        common::arrive(target);
        Ok(())
    }
}

struct Sink;

impl Actor for Sink {
    type Msg = u64;
    /// (seen, expected, sinks)
    type State = (u64, u64, u64);
    type Arguments = (u64, u64);

    async fn pre_start(
        &self,
        _: ActorRef<u64>,
        (expect, sinks): (u64, u64),
    ) -> Result<Self::State, Failure> {
        Ok((0, expect, sinks))
    }

    async fn handle(
        &self,
        _: ActorRef<u64>,
        _n: u64,
        (seen, expect, sinks): &mut Self::State,
    ) -> Result<(), Failure> {
        *seen += 1;
        if seen == expect {
            common::arrive(*sinks);
        }
        Ok(())
    }
}

enum EchoMsg {
    Echo(u64, RpcReplyPort<u64>),
}

struct Echo;

impl Actor for Echo {
    type Msg = EchoMsg;
    type State = ();
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<EchoMsg>, _: ()) -> Result<(), Failure> {
        Ok(())
    }

    async fn handle(&self, _: ActorRef<EchoMsg>, msg: EchoMsg, _: &mut ()) -> Result<(), Failure> {
        let EchoMsg::Echo(n, reply) = msg;
        let _ = reply.send(n);
        Ok(())
    }
}

async fn ask(echo: &ActorRef<EchoMsg>, n: u64) -> u64 {
    match echo.call(|reply| EchoMsg::Echo(n, reply), None).await {
        Ok(ractor::rpc::CallResult::Success(answer)) => answer,
        _ => 0,
    }
}

enum AskerMsg {
    Drive(u64, RpcReplyPort<u64>),
}

struct Asker;

impl Actor for Asker {
    type Msg = AskerMsg;
    type State = ActorRef<EchoMsg>;
    type Arguments = ActorRef<EchoMsg>;

    async fn pre_start(
        &self,
        _: ActorRef<AskerMsg>,
        target: ActorRef<EchoMsg>,
    ) -> Result<Self::State, Failure> {
        Ok(target)
    }

    async fn handle(
        &self,
        _: ActorRef<AskerMsg>,
        msg: AskerMsg,
        target: &mut Self::State,
    ) -> Result<(), Failure> {
        let AskerMsg::Drive(asks, reply) = msg;
        let mut sum = 0;
        for n in 0..asks {
            sum += ask(target, n).await;
        }
        let _ = reply.send(sum);
        Ok(())
    }
}

enum IntegrateMsg {
    Integrate(f64, f64, u64, RpcReplyPort<f64>),
}

struct Integrator;

impl Actor for Integrator {
    type Msg = IntegrateMsg;
    type State = ();
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<IntegrateMsg>, _: ()) -> Result<(), Failure> {
        Ok(())
    }

    async fn handle(
        &self,
        _: ActorRef<IntegrateMsg>,
        msg: IntegrateMsg,
        _: &mut (),
    ) -> Result<(), Failure> {
        let IntegrateMsg::Integrate(a, b, n, reply) = msg;
        let _ = reply.send(common::trapezoid(a, b, n));
        Ok(())
    }
}

async fn start<A: Actor>(actor: A, args: A::Arguments) -> ActorRef<A::Msg> {
    match Actor::spawn(None, actor, args).await {
        Ok((actor, _)) => actor,
        Err(e) => panic!("ractor spawn: {e}"),
    }
}

// Savina's Big.

enum BigMsg {
    Neighbours(Vec<ActorRef<BigMsg>>),
    Ping(u64),
    Pong,
}

struct Neighbour;

/// (index, peers, pings left, generator, actors)
struct NeighbourState {
    index: u64,
    peers: Vec<ActorRef<BigMsg>>,
    left: u64,
    rng: common::Rng,
    actors: u64,
}

impl Actor for Neighbour {
    type Msg = BigMsg;
    type State = NeighbourState;
    /// (index, pings, actors)
    type Arguments = (u64, u64, u64);

    async fn pre_start(
        &self,
        _: ActorRef<BigMsg>,
        (index, pings, actors): Self::Arguments,
    ) -> Result<Self::State, Failure> {
        Ok(NeighbourState {
            index,
            peers: Vec::new(),
            left: pings,
            rng: common::Rng::new(index),
            actors,
        })
    }

    async fn handle(
        &self,
        _: ActorRef<BigMsg>,
        msg: BigMsg,
        state: &mut Self::State,
    ) -> Result<(), Failure> {
        match msg {
            BigMsg::Neighbours(peers) => state.peers = peers,
            BigMsg::Ping(from) => {
                let _ = state.peers[from as usize].cast(BigMsg::Pong);
            }
            BigMsg::Pong => {
                if state.left == 0 {
                    common::arrive(state.actors);
                } else {
                    state.left -= 1;
                    let to = state.rng.below(state.actors) as usize;
                    let _ = state.peers[to].cast(BigMsg::Ping(state.index));
                }
            }
        }
        Ok(())
    }
}

// Savina's Chameneos.

struct Mall;

impl Actor for Mall {
    /// (creature, its colour)
    type Msg = (ActorRef<u8>, u8);
    /// (the creature waiting, meetings left)
    type State = (Option<(ActorRef<u8>, u8)>, u64);
    type Arguments = u64;

    async fn pre_start(
        &self,
        _: ActorRef<Self::Msg>,
        meetings: u64,
    ) -> Result<Self::State, Failure> {
        Ok((None, meetings))
    }

    async fn handle(
        &self,
        _: ActorRef<Self::Msg>,
        (who, colour): Self::Msg,
        (waiting, left): &mut Self::State,
    ) -> Result<(), Failure> {
        if *left == 0 {
            return Ok(());
        }
        match waiting.take() {
            None => *waiting = Some((who, colour)),
            Some((first, theirs)) => {
                *left -= 1;
                let _ = first.cast(colour);
                let _ = who.cast(theirs);
                if *left == 0 {
                    common::finish();
                }
            }
        }
        Ok(())
    }
}

/// What a creature is sent to start: no colour.
const GO: u8 = u8::MAX;

struct Chameneo;

impl Actor for Chameneo {
    /// The colour of the creature met, or `GO`.
    type Msg = u8;
    /// (the mall, its colour)
    type State = (ActorRef<(ActorRef<u8>, u8)>, u8);
    type Arguments = (ActorRef<(ActorRef<u8>, u8)>, u8);

    async fn pre_start(
        &self,
        _: ActorRef<u8>,
        args: Self::Arguments,
    ) -> Result<Self::State, Failure> {
        Ok(args)
    }

    async fn handle(
        &self,
        me: ActorRef<u8>,
        other: u8,
        (mall, colour): &mut Self::State,
    ) -> Result<(), Failure> {
        if other != GO {
            *colour = common::complement(*colour, other);
        }
        let _ = mall.cast((me, *colour));
        Ok(())
    }
}

pub fn run(workload: Workload) -> Report {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
    if let Workload::AskOutside { asks } = workload {
        let echo = rt.block_on(start(Echo, ()));
        let start = Instant::now();
        // From a task that is not an actor (see `tokio_raw::ask_outside`).
        let sum = rt.block_on(async {
            let asker = tokio::spawn(async move {
                let mut sum = 0;
                for n in 0..asks {
                    sum += ask(&echo, n).await;
                }
                sum
            });
            asker.await.unwrap_or(0)
        });
        let elapsed = start.elapsed();
        std::hint::black_box(sum);
        return Report::default().with("ns/ask", per(elapsed, asks));
    }
    rt.block_on(async move {
        match workload {
            Workload::PingPong { messages } => {
                let ping = start(Player, ()).await;
                let pong = start(Player, ()).await;
                let _ = ping.cast(PlayerMsg::Meet(pong.clone()));
                let _ = pong.cast(PlayerMsg::Meet(ping.clone()));
                let start = Instant::now();
                let _ = ping.cast(PlayerMsg::Ball(messages));
                let end = common::finished().await;
                Report::default().with("ns/msg", per(end - start, messages))
            }
            Workload::Ring { actors, hops } => {
                let begin = Instant::now();
                let last = start(Node, None).await;
                let mut first = last.clone();
                for _ in 1..actors {
                    first = start(Node, Some(first)).await;
                }
                let _ = last.cast(NodeMsg::Link(first.clone()));
                let created = begin.elapsed();
                let begin = Instant::now();
                let _ = first.cast(NodeMsg::Token(hops));
                let end = common::finished().await;
                Report::ring(created, end - begin, hops)
            }
            Workload::Spawn { actors } => {
                let (before, _) = common::rss();
                let begin = Instant::now();
                let mut all = Vec::with_capacity(actors as usize);
                for _ in 0..actors {
                    let actor = start(Empty, ()).await;
                    let _ = actor.cast(actors);
                    all.push(actor);
                }
                let end = common::finished().await;
                Report::spawn(end - begin, before, actors)
            }
            Workload::ForkJoin { actors, per_actor } => {
                let mut sinks = Vec::new();
                for _ in 0..actors {
                    sinks.push(start(Sink, (per_actor, actors)).await);
                }
                let begin = Instant::now();
                std::thread::spawn(move || {
                    for n in 0..per_actor {
                        for sink in &sinks {
                            let _ = sink.cast(n);
                        }
                    }
                });
                let end = common::finished().await;
                Report::throughput(end - begin, actors * per_actor)
            }
            Workload::AskInside { asks } => {
                let target = start(Echo, ()).await;
                let asker = start(Asker, target).await;
                let begin = Instant::now();
                let sum = asker.call(|reply| AskerMsg::Drive(asks, reply), None).await;
                let elapsed = begin.elapsed();
                std::hint::black_box(sum.is_ok());
                Report::default().with("ns/ask", per(elapsed, asks))
            }
            Workload::Trapezoid { workers, points } => {
                let mut integrators = Vec::new();
                for _ in 0..workers {
                    integrators.push(start(Integrator, ()).await);
                }
                let begin = Instant::now();
                // Every share is sent before any answer is awaited (`call` sends
                // only when first polled).
                let parts: Vec<_> = integrators
                    .iter()
                    .enumerate()
                    .map(|(i, w)| {
                        let (a, b, n) = common::share(i as u64, workers, points);
                        let (tx, rx) = ractor::concurrency::oneshot();
                        let _ = w.cast(IntegrateMsg::Integrate(a, b, n, tx.into()));
                        rx
                    })
                    .collect();
                let mut total = 0.0;
                for part in parts {
                    total += part.await.unwrap_or(f64::NAN);
                }
                Report::default()
                    .with("ms", begin.elapsed().as_secs_f64() * 1e3)
                    .with("integral", total)
            }
            Workload::Big { actors, pings } => {
                let mut all = Vec::new();
                for index in 0..actors {
                    all.push(start(Neighbour, (index, pings, actors)).await);
                }
                for each in &all {
                    let _ = each.cast(BigMsg::Neighbours(all.clone()));
                }
                let begin = Instant::now();
                for each in &all {
                    let _ = each.cast(BigMsg::Pong);
                }
                let end = common::finished().await;
                common::big_report(end - begin, actors, pings)
            }
            Workload::Chameneos {
                creatures,
                meetings,
            } => {
                let mall = start(Mall, meetings).await;
                let mut all = Vec::new();
                for i in 0..creatures {
                    all.push(start(Chameneo, (mall.clone(), (i % 3) as u8)).await);
                }
                let begin = Instant::now();
                for each in &all {
                    let _ = each.cast(GO);
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
