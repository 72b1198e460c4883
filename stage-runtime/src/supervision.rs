//! Supervision (Erlang's lesson): who learns that an actor ended, and what happens to
//! an actor whose handler panics.
//!
//! - [`Ctx::monitor`](crate::Ctx::monitor) and [`Ctx::link`](crate::Ctx::link) deliver a
//!   [`Down`] to the watcher's `#[down]` hook when the watched actor ends.
//! - [`Ctx::supervise`](crate::Ctx::supervise) spawns a child with a [`Policy`] for its
//!   panics: restart it with fresh state from a factory, stop it, or escalate to the
//!   parent; restarts beyond the policy's intensity escalate. A supervised child is
//!   watched by its parent.
//! - An actor spawned without a policy keeps the core's contract: a panic fails only
//!   the message that caused it, and the actor serves its next messages.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use crate::id::ActorId;

/// An actor has ended: what a `#[down]` hook receives.
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
///
/// #[actor]
/// struct Watcher { seen: Vec<Down> }
///
/// #[behaviour]
/// impl Watcher {
///     #[request]
///     fn watch(&mut self, ctx: &mut Ctx<Self>, other: Addr<Watcher>) {
///         ctx.monitor(&other);
///     }
///     #[down]
///     fn gone(&mut self, down: Down) { self.seen.push(down); }
///     #[query]
///     fn seen(&self) -> Vec<Down> { self.seen.clone() }
/// }
///
/// let stage = Stage::new();
/// let watcher = stage.spawn(Watcher { seen: vec![] });
/// let other = stage.spawn(Watcher { seen: vec![] });
/// request!(watcher, watch(other.clone())).wait().unwrap();
/// other.stop().wait().unwrap();
/// stage.wait_quiescent();
/// let seen = query!(watcher, seen()).wait().unwrap();
/// assert_eq!(seen, [Down { actor: other.id(), reason: DownReason::Stopped }]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Down {
    /// The actor that ended.
    pub actor: ActorId,
    /// How it ended.
    pub reason: DownReason,
}

/// How an actor ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DownReason {
    /// It stopped itself (`ctx.stop()`) or was stopped (`Addr::stop`).
    Stopped,
    /// A panic ended it: its birth panicked, or its supervision policy stopped it.
    Panicked,
    /// It panicked more often than its policy allows, or its policy escalates: its
    /// failure was passed to its parent.
    Escalated,
    /// Nothing could reach it any more, so it was dropped.
    Dropped,
    /// Its stage shut down.
    ShutDown,
    /// Its theatre can no longer be reached: the connection to it broke, or it
    /// was declared down. The actor may still run there, cut off.
    Unreachable,
}

impl DownReason {
    fn code(self) -> u8 {
        match self {
            DownReason::Stopped => 1,
            DownReason::Panicked => 2,
            DownReason::Escalated => 3,
            DownReason::Dropped => 4,
            DownReason::ShutDown => 5,
            DownReason::Unreachable => 6,
        }
    }
}

impl fmt::Display for DownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DownReason::Stopped => "stopped",
            DownReason::Panicked => "stopped after a panic",
            DownReason::Escalated => "escalated its failure to its parent",
            DownReason::Dropped => "dropped, being unreachable",
            DownReason::ShutDown => "ended with its stage",
            DownReason::Unreachable => "unreachable: its theatre cannot be reached",
        })
    }
}

/// What a supervised actor's panic leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Strategy {
    /// Replace the state with a fresh one from the factory; `#[birth]` runs again and
    /// the messages still queued are served by the new state.
    Restart,
    /// Stop the actor (`DownReason::Panicked`).
    Stop,
    /// Stop the actor (`DownReason::Escalated`) and fail its parent, whose own policy
    /// then applies.
    Escalate,
}

/// A supervision policy: a [`Strategy`] and, for restarts, an intensity limit like
/// Erlang's (at most `max_restarts` within `within`; one more escalates).
///
/// # Examples
///
/// ```
/// use stage_runtime::Policy;
/// use std::time::Duration;
///
/// let policy = Policy::restart().intensity(5, Duration::from_secs(10));
/// assert_eq!(policy.max_restarts(), 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Policy {
    strategy: Strategy,
    max_restarts: u32,
    within: Duration,
}

impl Policy {
    /// Restart on a panic, at most 3 times within 5 seconds (then escalate).
    pub fn restart() -> Policy {
        Policy {
            strategy: Strategy::Restart,
            max_restarts: 3,
            within: Duration::from_secs(5),
        }
    }

    /// Stop on a panic.
    pub fn stop() -> Policy {
        Policy {
            strategy: Strategy::Stop,
            ..Policy::restart()
        }
    }

    /// Escalate a panic to the parent.
    pub fn escalate() -> Policy {
        Policy {
            strategy: Strategy::Escalate,
            ..Policy::restart()
        }
    }

    /// At most `max_restarts` restarts within `within`; the next panic escalates.
    pub fn intensity(mut self, max_restarts: u32, within: Duration) -> Policy {
        self.max_restarts = max_restarts;
        self.within = within;
        self
    }

    /// The strategy.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// The most restarts allowed within [`Policy::within`].
    pub fn max_restarts(&self) -> u32 {
        self.max_restarts
    }

    /// The window restarts are counted in.
    pub fn within(&self) -> Duration {
        self.within
    }
}

/// Something that can be failed by a child's escalation: a parent's cell.
pub(crate) trait Failable: Send + Sync {
    fn fail_from(self: std::sync::Arc<Self>, child: ActorId);
}

/// A supervised actor's policy, factory and restart history. Lives in the turn's
/// bookkeeping: only the worker holding the turn touches it.
pub(crate) struct Supervisor<A> {
    pub(crate) factory: Box<dyn Fn() -> A + Send + Sync>,
    policy: Policy,
    restarts: VecDeque<Instant>,
    parent: Option<Weak<dyn Failable>>,
}

/// What to do about a panic.
pub(crate) enum Decision {
    Restart,
    Stop,
    Escalate,
}

impl<A> Supervisor<A> {
    pub(crate) fn new(
        factory: Box<dyn Fn() -> A + Send + Sync>,
        policy: Policy,
        parent: Option<Weak<dyn Failable>>,
    ) -> Self {
        Supervisor {
            factory,
            policy,
            restarts: VecDeque::new(),
            parent,
        }
    }

    pub(crate) fn decide(&mut self, now: Instant) -> Decision {
        match self.policy.strategy {
            Strategy::Stop => Decision::Stop,
            Strategy::Escalate => Decision::Escalate,
            Strategy::Restart => {
                while self
                    .restarts
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > self.policy.within)
                {
                    self.restarts.pop_front();
                }
                if self.restarts.len() >= self.policy.max_restarts as usize {
                    Decision::Escalate
                } else {
                    self.restarts.push_back(now);
                    Decision::Restart
                }
            }
        }
    }

    /// Passes the failure of `child` to the parent, if it is still there.
    pub(crate) fn escalate(&self, child: ActorId) {
        if let Some(parent) = self.parent.as_ref().and_then(Weak::upgrade) {
            parent.fail_from(child);
        }
    }
}

type Watcher = Box<dyn FnOnce(Down) + Send>;

/// Who is told when an actor ends, and whether it has. Allocated on first use: most
/// actors are never watched.
#[derive(Default)]
pub(crate) struct Watchers {
    /// 0 while the actor lives; then the code of its `DownReason`.
    ended: AtomicU8,
    list: OnceLock<Box<Mutex<WatchList>>>,
}

#[derive(Default)]
struct WatchList {
    watchers: Vec<Watcher>,
    /// The actor moved to another theatre, and its watchers with it.
    handed_over: bool,
}

impl Watchers {
    fn list(&self) -> &Mutex<WatchList> {
        self.list.get_or_init(Box::default)
    }

    /// Tells `watcher` when the actor `id` ends, or at once if it has.
    ///
    /// # Errors
    ///
    /// The watcher, handed back, once the actor has moved (see
    /// [`Watchers::hand_over`]): its new place watches it.
    pub(crate) fn add(&self, id: ActorId, watcher: Watcher) -> Result<(), Watcher> {
        let mut list = self.list().lock().unwrap_or_else(PoisonError::into_inner);
        if list.handed_over {
            return Err(watcher);
        }
        match decode(self.ended.load(Ordering::SeqCst)) {
            Some(reason) => {
                drop(list);
                watcher(Down { actor: id, reason });
            }
            None => list.watchers.push(watcher),
        }
        Ok(())
    }

    /// The actor has moved: its watchers, taken out; later ones are handed back
    /// by [`Watchers::add`].
    pub(crate) fn hand_over(&self) -> Vec<Watcher> {
        let mut list = self.list().lock().unwrap_or_else(PoisonError::into_inner);
        list.handed_over = true;
        std::mem::take(&mut list.watchers)
    }

    /// The actor `id` has ended: tells every watcher, once. `false` if it had ended
    /// already.
    pub(crate) fn end(&self, id: ActorId, reason: DownReason) -> bool {
        if self
            .ended
            .compare_exchange(0, reason.code(), Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return false;
        }
        let Some(list) = self.list.get() else {
            return true;
        };
        let watchers =
            std::mem::take(&mut list.lock().unwrap_or_else(PoisonError::into_inner).watchers);
        for watcher in watchers {
            watcher(Down { actor: id, reason });
        }
        true
    }
}

fn decode(code: u8) -> Option<DownReason> {
    Some(match code {
        1 => DownReason::Stopped,
        2 => DownReason::Panicked,
        3 => DownReason::Escalated,
        4 => DownReason::Dropped,
        5 => DownReason::ShutDown,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_beyond_the_intensity_escalate_and_old_ones_expire() {
        let mut sup: Supervisor<()> = Supervisor::new(
            Box::new(|| ()),
            Policy::restart().intensity(2, Duration::from_secs(10)),
            None,
        );
        let t0 = Instant::now();
        assert!(matches!(sup.decide(t0), Decision::Restart));
        assert!(matches!(sup.decide(t0), Decision::Restart));
        assert!(matches!(sup.decide(t0), Decision::Escalate));
        // Eleven seconds later the window has emptied.
        assert!(matches!(
            sup.decide(t0 + Duration::from_secs(11)),
            Decision::Restart
        ));
    }

    #[test]
    fn a_watcher_added_after_the_end_is_told_at_once() {
        let watchers = Watchers::default();
        let id = ActorId::local(7);
        watchers.end(id, DownReason::Stopped);
        let (tx, rx) = std::sync::mpsc::channel();
        let _ = watchers.add(id, Box::new(move |down| tx.send(down).unwrap_or(())));
        assert_eq!(rx.try_recv().map(|d| d.reason), Ok(DownReason::Stopped));
        // A second end changes nothing.
        watchers.end(id, DownReason::Dropped);
    }
}
