//! Deadlock detection: the graph of actors waiting for each other's answers.
//!
//! An actor whose handler awaits a reply cannot take another message until that
//! reply comes (one message at a time). So if A waits for B and B waits for A, neither
//! ever answers. When a reply is polled and not ready *inside an actor's turn*, the
//! runtime records an edge "this actor waits for the actor that answers that reply",
//! then looks for a path from that actor back to the waiter. If there is one, the
//! await that would close the cycle fails at once with `Failed(Deadlock(cycle))`,
//! and everyone in the cycle carries on.
//!
//! Only waits that really block are recorded: replies awaited outside any actor, or
//! by the runtime's own tasks (continuations, joins), are not edges; and a handler
//! that *delegates* its answer is not blocked, so a reply whose answer was delegated
//! stops being an edge (cycles through delegations go undetected rather than being
//! reported wrongly). This path is taken only when an await actually has to wait,
//! never per message; but then on every such await (an actor asking another in a
//! loop), so the common case is cheap: a wait on an actor that waits for nobody
//! closes no cycle, which two lookups in maps with a fast hasher show, and only a
//! wait on a waiting actor searches the graph.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};

use foldhash::fast::RandomState;

use crate::id::ActorId;
use crate::speech::Cycle;

/// The waits in progress.
#[derive(Default)]
struct Graph {
    /// Each wait, by the identity of the reply cell it waits on.
    edges: HashMap<usize, Edge, RandomState>,
    /// How many waits each waiting actor has (more than one when a handler awaits
    /// several replies at once). An actor absent here waits for nobody.
    out: HashMap<ActorId, usize, RandomState>,
}

static WAITS: LazyLock<Mutex<Graph>> = LazyLock::new(Mutex::default);

#[derive(Clone, Copy)]
struct Edge {
    waiter: ActorId,
    target: ActorId,
}

fn waits() -> MutexGuard<'static, Graph> {
    WAITS.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Graph {
    fn insert(&mut self, key: usize, edge: Edge) {
        if let Some(old) = self.edges.insert(key, edge) {
            // A cell waited on twice is not a second wait (`Reply` records once).
            self.forget(old);
        }
        *self.out.entry(edge.waiter).or_insert(0) += 1;
    }

    fn remove(&mut self, key: usize) {
        if let Some(edge) = self.edges.remove(&key) {
            self.forget(edge);
        }
    }

    fn forget(&mut self, edge: Edge) {
        if let Some(count) = self.out.get_mut(&edge.waiter) {
            *count -= 1;
            if *count == 0 {
                self.out.remove(&edge.waiter);
            }
        }
    }
}

/// Records that `waiter` waits on the reply cell `key`, answered by `blocker()` (read
/// under the lock, so that a concurrent delegation is seen consistently).
///
/// # Errors
///
/// The cycle, when this wait would close one; nothing is recorded then.
pub(crate) fn wait(
    key: usize,
    waiter: ActorId,
    blocker: impl FnOnce() -> Option<ActorId>,
) -> Result<bool, Cycle> {
    let mut waits = waits();
    let Some(target) = blocker() else {
        return Ok(false);
    };
    // A path back to the waiter must leave the target: none if the target waits for
    // nobody (unless it is the waiter itself).
    let may_close = target == waiter || waits.out.contains_key(&target);
    if let Some(path) = may_close.then(|| path(&waits, target, waiter)).flatten() {
        let mut cycle = vec![waiter];
        cycle.extend(path);
        cycle.pop();
        return Err(Cycle::new(cycle));
    }
    waits.insert(key, Edge { waiter, target });
    Ok(true)
}

/// The wait on `key` is over (answered, given up, or delegated elsewhere).
pub(crate) fn done(key: usize) {
    waits().remove(key);
}

/// Runs `update` under the graph's lock, then forgets the wait on `key`: for a
/// delegation, which changes who answers.
pub(crate) fn delegated(key: usize, update: impl FnOnce()) {
    let mut waits = waits();
    update();
    waits.remove(key);
}

/// A path of actors from `from` to `to` along wait edges, both ends included.
fn path(waits: &Graph, from: ActorId, to: ActorId) -> Option<Vec<ActorId>> {
    let mut came_from: HashMap<ActorId, ActorId> = HashMap::new();
    let mut seen: HashSet<ActorId> = HashSet::from([from]);
    let mut queue = VecDeque::from([from]);
    while let Some(node) = queue.pop_front() {
        if node == to {
            let mut path = vec![node];
            let mut at = node;
            while let Some(&prev) = came_from.get(&at) {
                path.push(prev);
                at = prev;
            }
            path.reverse();
            return Some(path);
        }
        if !waits.out.contains_key(&node) {
            continue;
        }
        for edge in waits.edges.values().filter(|e| e.waiter == node) {
            if seen.insert(edge.target) {
                came_from.insert(edge.target, node);
                queue.push_back(edge.target);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: usize) -> ActorId {
        ActorId::local(n as u64)
    }

    #[test]
    fn a_cycle_is_refused_and_named_in_waiting_order() {
        let base = 1 << 40;
        assert_eq!(
            wait(base + 1, id(base + 1), || Some(id(base + 2))),
            Ok(true)
        );
        assert_eq!(
            wait(base + 2, id(base + 2), || Some(id(base + 3))),
            Ok(true)
        );
        let cycle = wait(base + 3, id(base + 3), || Some(id(base + 1))).expect_err("a cycle");
        assert_eq!(cycle.actors(), [id(base + 3), id(base + 1), id(base + 2)]);
        done(base + 1);
        done(base + 2);
        // With the first wait over, the same wait closes nothing.
        assert_eq!(
            wait(base + 3, id(base + 3), || Some(id(base + 1))),
            Ok(true)
        );
        done(base + 3);
    }

    #[test]
    fn a_chain_is_not_a_cycle() {
        let base = 2 << 40;
        for n in 0..20 {
            assert_eq!(
                wait(base + n, id(base + n), || Some(id(base + n + 1))),
                Ok(true)
            );
        }
        for n in 0..20 {
            done(base + n);
        }
    }

    #[test]
    fn an_actor_awaiting_two_replies_waits_until_both_are_answered() {
        let base = 4 << 40;
        let (a, b, c) = (id(base + 1), id(base + 2), id(base + 3));
        assert_eq!(wait(base + 1, a, || Some(b)), Ok(true));
        assert_eq!(wait(base + 2, a, || Some(c)), Ok(true));
        done(base + 1);
        // `a` still waits for `c`: `c` waiting for `a` closes a cycle.
        let cycle = wait(base + 3, c, || Some(a)).expect_err("a cycle");
        assert_eq!(cycle.actors(), [c, a]);
        delegated(base + 2, || {});
        // `a` waits for nobody now: the same wait is fine, and a second `done` of
        // an answered wait changes nothing.
        assert_eq!(wait(base + 3, c, || Some(a)), Ok(true));
        done(base + 2);
        let cycle = wait(base + 4, a, || Some(c)).expect_err("a cycle");
        assert_eq!(cycle.actors(), [a, c]);
        done(base + 3);
        let graph = waits();
        assert!(!graph.out.contains_key(&a) && !graph.out.contains_key(&c));
    }

    #[test]
    fn waiting_for_oneself_is_a_cycle_of_one() {
        let base = 3 << 40;
        let cycle = wait(base, id(base), || Some(id(base))).expect_err("a cycle");
        assert_eq!(cycle.actors(), [id(base)]);
    }
}
