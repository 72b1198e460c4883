//! Load balancing (Stage's ProbingLoadBalancer): each theatre that balances
//! probes its own load every period, tells the others (a `Load` frame), and lets
//! a [`Strategy`] decide which of its balanceable actors
//! (`#[actor(mobile, balance)]`) move where. A move is an ordinary migration
//! (as [`Theatre::migrate`](crate::Theatre::migrate) makes): a clique goes together, names follow,
//! nothing is lost.
//!
//! Stage's three parts are here: the *interface* that registers the workers
//! willing to be balanced (the stage's roster, filled by `balance`), the
//! *probes* (each theatre measures its workers' busy time, letters handled per
//! second, letters waiting, and how busy each balanceable actor keeps a worker,
//! by sampling), and the swappable *strategy*. Two strategies come with it:
//!
//! - [`ByLoad`], Stage's naive procedure made steady: from a theatre over
//!   `high` to one under `low`, the busiest actor that has settled, only if the
//!   target stays below where this theatre is, and only after the overload has
//!   lasted `patience` periods.
//! - [`ByTraffic`], where Stage's paper says further work should go (Orleans'
//!   activation repartitioner does the same): it counts the letters between each
//!   balanceable actor and each other theatre, and moves an actor that talks
//!   mostly with one theatre to it, so heavy talkers end up together.
//!
//! Each decides for its own theatre's actors; the peers' loads are what they
//! last reported. Decisions are damped three ways: an actor moves only once it
//! has been in one place for `settle` periods, a theatre moves at most one actor
//! per period under [`ByLoad`], and between two theatres that both want to pull
//! a pair of talkers together, the one with the larger identity moves first (the
//! other waits two periods more), so that the pair does not swap places.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use stage_runtime::remote::{self, Roamer};
use stage_runtime::{ActorId, Stage, StageLoad};

use crate::membership::Membership;
use crate::sync::lock;
pub use crate::traffic::Talk;
use crate::traffic::Traffic;
use crate::wire::frame::{Frame, Gauge};

/// How often a balancing theatre measures its load, tells its peers and
/// decides, unless told otherwise: every second.
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(1);

/// How many times per period each balanceable actor is sampled (busy or not).
const SAMPLES: u32 = 10;

/// A peer's report older than this many periods is not used.
const STALE_AFTER: u32 = 3;

/// A theatre's load over its last period: what its probe measured, and what it
/// tells the other balancing theatres.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    /// The theatre's identity.
    pub theatre: u64,
    /// Where it listens: a [`Move`]'s target.
    pub locator: String,
    /// Its stage's worker threads.
    pub workers: usize,
    /// The share of its workers' time spent busy (not out of work),
    /// from 0 to 1.
    pub busy: f64,
    /// Letters handled per second.
    pub rate: f64,
    /// Letters waiting in mailboxes when it was measured.
    pub waiting: u64,
    /// Actors there that the balancer may move.
    pub balanceable: usize,
    /// The machine's load average over a minute, where the OS tells it.
    pub load_average: Option<f64>,
}

/// A balanceable actor on this theatre, as the strategy sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Its identity (what a [`Move`] names).
    pub actor: ActorId,
    /// The share of the period it had letters to take or was taking one, from 0
    /// to 1: about how much of a worker it keeps busy.
    pub busy: f64,
    /// How long it has run here (since it was born or arrived).
    pub here_for: Duration,
    /// The letters it exchanged with each other theatre over the period (sent
    /// and received), most first; empty unless the strategy
    /// [learns traffic](Strategy::learns_traffic).
    pub talks: Vec<Talk>,
}

/// What a [`Strategy`] decides from: this theatre's load, the loads the other
/// balancing theatres reported, and the actors here it may move.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    /// This theatre.
    pub here: Load,
    /// The other theatres that balance and reported lately: the only targets.
    pub peers: Vec<Load>,
    /// The balanceable actors running here.
    pub candidates: Vec<Candidate>,
    /// The balancer's period.
    pub period: Duration,
}

/// A decision: move `actor` (and its clique) to the theatre at `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// One of the view's candidates.
    pub actor: ActorId,
    /// The locator of one of the view's peers.
    pub to: String,
}

/// Decides which actors move where (Stage's "strategy actors"). Called once a
/// period, on the balancer's own thread; it may keep state between calls. A
/// `plan` that panics decides nothing that period (logged); the balancer goes on.
///
/// # Examples
///
/// A strategy that sends every settled actor to the least busy peer, when that
/// peer is idle:
///
/// ```
/// use stage_net::balance::{Move, Strategy, View};
///
/// struct ToTheIdle;
///
/// impl Strategy for ToTheIdle {
///     fn plan(&mut self, view: &View) -> Vec<Move> {
///         let Some(idle) = view.peers.iter().find(|peer| peer.busy < 0.05) else {
///             return Vec::new();
///         };
///         view.candidates
///             .iter()
///             .filter(|c| c.here_for > view.period * 5)
///             .map(|c| Move { actor: c.actor, to: idle.locator.clone() })
///             .collect()
///     }
/// }
///
/// let theatre = stage_net::Theatre::builder()
///     .cookie("s3cret-cookie-for-the-docs")
///     .balance(stage_net::Balancer::new(ToTheIdle))
///     .start()?;
/// # theatre.shutdown();
/// # Ok::<(), stage_net::NetError>(())
/// ```
pub trait Strategy: Send + 'static {
    /// The moves to make now. Moves of actors that are not candidates, to
    /// theatres that are not peers, or of an actor still moving, are ignored.
    fn plan(&mut self, view: &View) -> Vec<Move>;

    /// Whether this strategy reads [`Candidate::talks`]. Counting letters costs
    /// a little on every letter to or from another theatre, so it is done only
    /// for a strategy that says yes. Default: no.
    fn learns_traffic(&self) -> bool {
        false
    }
}

/// A theatre's load balancer: a [`Strategy`] and how often it runs. Give one to
/// [`TheatreBuilder::balance`](crate::TheatreBuilder::balance); only actors
/// declared `#[actor(mobile, balance)]` are moved, and only to theatres that
/// balance too (the others send no load, so they are never targets).
///
/// ```
/// use std::time::Duration;
/// use stage_net::{Balancer, Theatre};
///
/// let theatre = Theatre::builder()
///     .cookie("s3cret-cookie-for-the-docs")
///     .balance(Balancer::by_load().period(Duration::from_millis(500)))
///     .start()?;
/// # theatre.shutdown();
/// # Ok::<(), stage_net::NetError>(())
/// ```
pub struct Balancer {
    strategy: Box<dyn Strategy>,
    period: Duration,
}

impl std::fmt::Debug for Balancer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Balancer")
            .field("period", &self.period)
            .finish_non_exhaustive()
    }
}

impl Balancer {
    /// A balancer that runs `strategy` every [`DEFAULT_PERIOD`].
    pub fn new(strategy: impl Strategy) -> Self {
        Balancer {
            strategy: Box::new(strategy),
            period: DEFAULT_PERIOD,
        }
    }

    /// Balances by load, with [`ByLoad`]'s defaults.
    pub fn by_load() -> Self {
        Balancer::new(ByLoad::default())
    }

    /// Brings heavy talkers together, with [`ByTraffic`]'s defaults.
    pub fn by_traffic() -> Self {
        Balancer::new(ByTraffic::default())
    }

    /// How often to measure, report and decide (default 1 s; at least 10 ms).
    #[must_use]
    pub fn period(mut self, period: Duration) -> Self {
        self.period = period.max(Duration::from_millis(10));
        self
    }
}

/// Stage's naive decision procedure, damped: when this theatre has been busier
/// than `high` for `patience` periods and a peer is under `low`, the busiest
/// actor here that has settled (run here for `settle` periods) moves to the
/// least busy such peer, unless the peer would then be about as busy as this
/// theatre is (moving would only swap the roles). One actor per period.
#[derive(Debug, Clone)]
pub struct ByLoad {
    high: f64,
    low: f64,
    patience: u32,
    settle: u32,
    overloaded_for: u32,
}

impl Default for ByLoad {
    /// `high` 0.75, `low` 0.4, `patience` 2, `settle` 5.
    fn default() -> Self {
        ByLoad {
            high: 0.75,
            low: 0.4,
            patience: 2,
            settle: 5,
            overloaded_for: 0,
        }
    }
}

impl ByLoad {
    /// Busy shares (0 to 1) above which a theatre is overloaded and below which
    /// one may take more. The gap between them keeps actors from going to and
    /// fro.
    #[must_use]
    pub fn thresholds(mut self, low: f64, high: f64) -> Self {
        self.low = low.clamp(0.0, 1.0);
        self.high = high.clamp(self.low, 1.0);
        self
    }

    /// How many periods in a row this theatre must be overloaded before an
    /// actor moves (at least 1).
    #[must_use]
    pub fn patience(mut self, periods: u32) -> Self {
        self.patience = periods.max(1);
        self
    }

    /// How many periods an actor stays where it is before it may move again.
    #[must_use]
    pub fn settle(mut self, periods: u32) -> Self {
        self.settle = periods;
        self
    }
}

impl Strategy for ByLoad {
    fn plan(&mut self, view: &View) -> Vec<Move> {
        let here = &view.here;
        let target = view
            .peers
            .iter()
            .filter(|peer| peer.busy <= self.low)
            .min_by(|a, b| a.busy.total_cmp(&b.busy));
        let (true, Some(target)) = (here.busy >= self.high, target) else {
            self.overloaded_for = 0;
            return Vec::new();
        };
        self.overloaded_for += 1;
        if self.overloaded_for < self.patience {
            return Vec::new();
        }
        let settled = view.period * self.settle;
        let Some(busiest) = view
            .candidates
            .iter()
            .filter(|c| c.here_for >= settled && c.busy > 0.0)
            .max_by(|a, b| a.busy.total_cmp(&b.busy))
        else {
            return Vec::new();
        };
        // What the target would be with it: no better off than here, no move.
        let after = target.busy + busiest.busy / target.workers.max(1) as f64;
        if after >= here.busy - 0.1 {
            return Vec::new();
        }
        self.overloaded_for = 0;
        vec![Move {
            actor: busiest.actor,
            to: target.locator.clone(),
        }]
    }
}

/// Brings actors that talk much together: an actor here that, over a period,
/// exchanged at least `min_rate` letters a second with one other theatre, and
/// `ratio` times as many as with all the other theatres together, moves to that
/// theatre, if it is not overloaded (busier than `ceiling`). Of two theatres
/// that each want to pull a pair of talkers over, the one with the larger
/// identity moves its actor after one such period, the other after three: the
/// pair ends up together rather than swapping places.
#[derive(Debug, Clone)]
pub struct ByTraffic {
    min_rate: f64,
    ratio: f64,
    ceiling: f64,
    settle: u32,
    wanting: HashMap<ActorId, u32>,
}

impl Default for ByTraffic {
    /// `min_rate` 50 letters a second, `ratio` 2, `ceiling` 0.9, `settle` 5.
    fn default() -> Self {
        ByTraffic {
            min_rate: 50.0,
            ratio: 2.0,
            ceiling: 0.9,
            settle: 5,
            wanting: HashMap::new(),
        }
    }
}

impl ByTraffic {
    /// The letters a second with one theatre from which an actor is a heavy
    /// talker.
    #[must_use]
    pub fn min_rate(mut self, letters_per_second: f64) -> Self {
        self.min_rate = letters_per_second.max(0.0);
        self
    }

    /// How many times its other remote traffic the traffic with one theatre
    /// must be (at least 1).
    #[must_use]
    pub fn ratio(mut self, ratio: f64) -> Self {
        self.ratio = ratio.max(1.0);
        self
    }

    /// The busy share (0 to 1) above which a theatre takes no more actors.
    #[must_use]
    pub fn ceiling(mut self, busy: f64) -> Self {
        self.ceiling = busy.clamp(0.0, 1.0);
        self
    }

    /// How many periods an actor stays where it is before it may move again.
    #[must_use]
    pub fn settle(mut self, periods: u32) -> Self {
        self.settle = periods;
        self
    }
}

impl Strategy for ByTraffic {
    fn plan(&mut self, view: &View) -> Vec<Move> {
        let settled = view.period * self.settle;
        let seconds = view.period.as_secs_f64();
        let mut moves = Vec::new();
        let mut wanting = HashMap::new();
        for candidate in view.candidates.iter().filter(|c| c.here_for >= settled) {
            let Some(best) = candidate.talks.first() else {
                continue;
            };
            let others: u64 = candidate.talks[1..].iter().map(|t| t.letters).sum();
            let heavy = best.letters as f64 >= self.min_rate * seconds
                && best.letters as f64 >= self.ratio * others as f64;
            let target = view
                .peers
                .iter()
                .find(|peer| peer.theatre == best.theatre && peer.busy < self.ceiling);
            let (true, Some(target)) = (heavy, target) else {
                continue;
            };
            let periods = self.wanting.get(&candidate.actor).copied().unwrap_or(0) + 1;
            let needed = if view.here.theatre > target.theatre {
                1
            } else {
                3
            };
            if periods >= needed {
                moves.push(Move {
                    actor: candidate.actor,
                    to: target.locator.clone(),
                });
            } else {
                wanting.insert(candidate.actor, periods);
            }
        }
        self.wanting = wanting;
        moves
    }

    fn learns_traffic(&self) -> bool {
        true
    }
}

/// The balancing service of a theatre: the loads its peers reported, the
/// letters counted, and (when the theatre balances) the thread that probes and
/// decides.
#[derive(Default)]
pub(crate) struct Balance {
    /// The peers' last reports, by theatre, with when they came.
    reports: Mutex<HashMap<u64, (Load, Instant)>>,
    /// Set when this theatre balances: peers' reports are kept only then.
    running: std::sync::atomic::AtomicBool,
    /// Set when the theatre closes: the thread ends.
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl Balance {
    /// A peer's report (kept only while this theatre balances).
    pub(crate) fn heard(&self, theatre: u64, locator: &str, gauge: &Gauge) {
        if !self.running.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        let load = Load {
            theatre,
            locator: locator.to_owned(),
            workers: gauge.workers as usize,
            busy: f64::from(gauge.busy_permille.min(1000)) / 1000.0,
            rate: gauge.rate as f64,
            waiting: gauge.waiting,
            balanceable: gauge.balanceable as usize,
            load_average: gauge.load_average.map(|l| f64::from(l) / 100.0),
        };
        lock(&self.reports).insert(theatre, (load, Instant::now()));
    }

    /// Ends the balancer's thread (at its next tick).
    pub(crate) fn stop(&self) {
        *lock(&self.stopped) = true;
        self.wake.notify_all();
    }

    /// Waits `for_` unless stopped first: `false` once stopped.
    fn pause(&self, for_: Duration) -> bool {
        let stopped = lock(&self.stopped);
        let (stopped, _) = self
            .wake
            .wait_timeout_while(stopped, for_, |stopped| !*stopped)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        !*stopped
    }

    /// Starts the balancer of the theatre of `members` on a thread of its own.
    ///
    /// # Errors
    ///
    /// The error of starting the thread.
    pub(crate) fn start(
        self: &Arc<Self>,
        members: &Arc<Membership>,
        balancer: Balancer,
    ) -> std::io::Result<()> {
        members
            .traffic
            .count_from_now(balancer.strategy.learns_traffic());
        let weak = Arc::downgrade(members);
        self.running
            .store(true, std::sync::atomic::Ordering::Release);
        let me = Arc::clone(self);
        std::thread::Builder::new()
            .name("stage-net-balance".into())
            .spawn(move || me.run(&weak, balancer))?;
        Ok(())
    }

    /// Probes, reports and decides every period until the theatre closes.
    fn run(&self, members: &Weak<Membership>, mut balancer: Balancer) {
        let period = balancer.period;
        let Some(mut probe) = stage_of(members).as_ref().map(Probe::new) else {
            return;
        };
        let mut moving: HashSet<ActorId> = HashSet::new();
        let (done, finished) = std::sync::mpsc::channel::<ActorId>();
        loop {
            // Sample how busy each balanceable actor keeps a worker.
            let mut samples: HashMap<ActorId, (u32, u32)> = HashMap::new();
            for _ in 0..SAMPLES {
                if !self.pause(period / SAMPLES) {
                    return;
                }
                let Some(stage) = stage_of(members) else {
                    return;
                };
                for roamer in remote::balanceable(&stage) {
                    let seen = samples.entry(roamer.id()).or_insert((0, 0));
                    seen.0 += u32::from(roamer.is_busy());
                    seen.1 += 1;
                }
            }
            let (Some(members), Some(stage)) = (members.upgrade(), stage_of(members)) else {
                return;
            };
            if members.is_closed() {
                return;
            }
            while let Ok(actor) = finished.try_recv() {
                moving.remove(&actor);
            }
            let roamers = remote::balanceable(&stage);
            let here = probe.measure(&members, &stage, roamers.len());
            self.tell_peers(&members, &here);
            let view = View {
                peers: self.peers(&members, period),
                candidates: candidates(&members.traffic, &roamers, &samples),
                here,
                period,
            };
            // A strategy that panics decides nothing this period; the
            // balancer goes on.
            let strategy = &mut balancer.strategy;
            let plan =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| strategy.plan(&view)))
                    .unwrap_or_else(|_| {
                        log::warn!(
                            "stage-net: the balancing strategy panicked; no move this period"
                        );
                        Vec::new()
                    });
            for decided in plan {
                let known = view.peers.iter().any(|peer| peer.locator == decided.to);
                let roamer = roamers.iter().find(|r| r.id() == decided.actor);
                let (true, Some(inbound)) = (known, roamer.and_then(Roamer::inbound)) else {
                    continue;
                };
                if !moving.insert(decided.actor) {
                    continue;
                }
                let done = done.clone();
                let actor = decided.actor;
                let to = decided.to.clone();
                let then = Box::new(move |outcome: Result<(), stage_runtime::SpeechError>| {
                    match outcome {
                        Ok(()) => log::info!("stage-net: balanced {actor} to {to}"),
                        Err(error) => {
                            log::info!("stage-net: {actor} did not move to {to}: {error}")
                        }
                    }
                    let _ = done.send(actor);
                });
                if !inbound.evacuate(&decided.to, then) {
                    moving.remove(&decided.actor);
                }
            }
        }
    }

    /// Sends this theatre's load to every live peer.
    fn tell_peers(&self, members: &Membership, here: &Load) {
        let gauge = Gauge {
            workers: u32::try_from(here.workers).unwrap_or(u32::MAX),
            busy_permille: (here.busy * 1000.0).round().clamp(0.0, 1000.0) as u16,
            rate: here.rate.round().max(0.0) as u64,
            waiting: here.waiting,
            balanceable: u32::try_from(here.balanceable).unwrap_or(u32::MAX),
            load_average: here
                .load_average
                .map(|l| (l * 100.0).round().clamp(0.0, f64::from(u32::MAX)) as u32),
        };
        for peer in members.live_peers() {
            if let Some(conn) = peer.live() {
                let _ = conn.push(Frame::Load(gauge.clone()));
            }
        }
    }

    /// The loads the live peers reported lately.
    fn peers(&self, members: &Membership, period: Duration) -> Vec<Load> {
        let live: HashSet<u64> = members
            .live_peers()
            .iter()
            .map(|peer| peer.theatre)
            .collect();
        let fresh = period * STALE_AFTER;
        let mut reports = lock(&self.reports);
        reports.retain(|theatre, (_, at)| live.contains(theatre) && at.elapsed() <= fresh);
        reports.values().map(|(load, _)| load.clone()).collect()
    }
}

/// The balanceable actors here, with how busy they were and whom they talked
/// with.
fn candidates(
    traffic: &Traffic,
    roamers: &[Roamer],
    samples: &HashMap<ActorId, (u32, u32)>,
) -> Vec<Candidate> {
    let mut talks = if traffic.is_on() {
        traffic.take()
    } else {
        HashMap::new()
    };
    roamers
        .iter()
        .map(|roamer| {
            let actor = roamer.id();
            let (busy, seen) = samples.get(&actor).copied().unwrap_or((0, 0));
            Candidate {
                actor,
                busy: if seen == 0 {
                    0.0
                } else {
                    f64::from(busy) / f64::from(seen)
                },
                here_for: roamer.since().elapsed(),
                talks: talks.remove(&actor.to_wire()).unwrap_or_default(),
            }
        })
        .collect()
}

/// The stage of the theatre of `members`, while it runs.
fn stage_of(members: &Weak<Membership>) -> Option<Stage> {
    members.upgrade()?.stage()
}

/// A theatre's probe: its stage's counts at the last measure.
struct Probe {
    last: StageLoad,
    at: Instant,
}

impl Probe {
    fn new(stage: &Stage) -> Self {
        Probe {
            last: stage.load(),
            at: Instant::now(),
        }
    }

    /// The load since the last measure.
    fn measure(&mut self, members: &Membership, stage: &Stage, balanceable: usize) -> Load {
        let now = stage.load();
        let at = Instant::now();
        let elapsed = at.duration_since(self.at).as_secs_f64().max(1e-6);
        let idle = now.idle.saturating_sub(self.last.idle).as_secs_f64();
        let workers = now.workers.max(1) as f64;
        let busy = (1.0 - idle / (elapsed * workers)).clamp(0.0, 1.0);
        let rate = now.done.saturating_sub(self.last.done) as f64 / elapsed;
        self.last = now;
        self.at = at;
        Load {
            theatre: members.id(),
            locator: members.locator().to_owned(),
            workers: now.workers,
            busy,
            rate,
            waiting: now.waiting,
            balanceable,
            load_average: stage_runtime::drivers::load_average().map(|[one, _, _]| one),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(theatre: u64, busy: f64) -> Load {
        Load {
            theatre,
            locator: format!("stage://127.0.0.1:{theatre}"),
            workers: 2,
            busy,
            rate: 0.0,
            waiting: 0,
            balanceable: 0,
            load_average: None,
        }
    }

    fn candidate(serial: u64, busy: f64, talks: Vec<Talk>) -> Candidate {
        Candidate {
            actor: ActorId::from_wire((0, serial)).expect("an identity"),
            busy,
            here_for: Duration::from_secs(60),
            talks,
        }
    }

    fn view(here: Load, peers: Vec<Load>, candidates: Vec<Candidate>) -> View {
        View {
            here,
            peers,
            candidates,
            period: Duration::from_secs(1),
        }
    }

    #[test]
    fn by_load_waits_for_patience_then_moves_the_busiest_to_the_least_busy() {
        let mut strategy = ByLoad::default();
        let v = view(
            load(1, 1.0),
            vec![load(2, 0.3), load(3, 0.0)],
            vec![candidate(1, 0.2, vec![]), candidate(2, 0.9, vec![])],
        );
        assert!(strategy.plan(&v).is_empty(), "one period is not enough");
        let moves = strategy.plan(&v);
        assert_eq!(
            moves,
            vec![Move {
                actor: v.candidates[1].actor,
                to: "stage://127.0.0.1:3".into()
            }]
        );
        assert!(strategy.plan(&v).is_empty(), "patience starts again");
    }

    #[test]
    fn by_load_does_not_swap_roles() {
        let mut strategy = ByLoad::default().patience(1);
        // One actor that keeps a whole worker busy on a one-worker theatre:
        // moving it only makes the other theatre the busy one.
        let mut here = load(1, 1.0);
        here.workers = 1;
        let mut there = load(2, 0.0);
        there.workers = 1;
        let v = view(here, vec![there], vec![candidate(1, 1.0, vec![])]);
        assert!(strategy.plan(&v).is_empty());
    }

    #[test]
    fn by_load_leaves_settling_and_idle_actors_alone() {
        let mut strategy = ByLoad::default().patience(1);
        let mut fresh = candidate(1, 0.9, vec![]);
        fresh.here_for = Duration::from_secs(1);
        let idle = candidate(2, 0.0, vec![]);
        let v = view(load(1, 1.0), vec![load(2, 0.0)], vec![fresh, idle]);
        assert!(strategy.plan(&v).is_empty());
    }

    #[test]
    fn by_traffic_pulls_a_heavy_talker_and_the_smaller_theatre_waits() {
        let talks = vec![
            Talk {
                theatre: 2,
                letters: 1000,
            },
            Talk {
                theatre: 3,
                letters: 10,
            },
        ];
        // Theatre 5 is larger than 2: it moves its actor after one period.
        let mut strategy = ByTraffic::default();
        let v = view(
            load(5, 0.5),
            vec![load(2, 0.1), load(3, 0.1)],
            vec![candidate(1, 0.5, talks.clone())],
        );
        assert_eq!(strategy.plan(&v).len(), 1);
        // Theatre 1 is smaller than 2: it waits three periods.
        let mut strategy = ByTraffic::default();
        let v = view(
            load(1, 0.5),
            vec![load(2, 0.1), load(3, 0.1)],
            vec![candidate(1, 0.5, talks)],
        );
        assert!(strategy.plan(&v).is_empty());
        assert!(strategy.plan(&v).is_empty());
        assert_eq!(strategy.plan(&v).len(), 1);
    }

    #[test]
    fn by_traffic_ignores_spread_or_light_traffic_and_busy_targets() {
        let mut strategy = ByTraffic::default();
        let spread = vec![
            Talk {
                theatre: 2,
                letters: 600,
            },
            Talk {
                theatre: 3,
                letters: 500,
            },
        ];
        let light = vec![Talk {
            theatre: 2,
            letters: 10,
        }];
        let heavy = vec![Talk {
            theatre: 4,
            letters: 10_000,
        }];
        let v = view(
            load(9, 0.5),
            vec![load(2, 0.1), load(3, 0.1), load(4, 0.95)],
            vec![
                candidate(1, 0.5, spread),
                candidate(2, 0.5, light),
                candidate(3, 0.5, heavy),
            ],
        );
        for _ in 0..5 {
            assert!(strategy.plan(&v).is_empty());
        }
    }
}
