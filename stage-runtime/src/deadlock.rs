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
//! never per message.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};

use crate::actor::ActorId;
use crate::speech::Cycle;

/// Waits in progress, by the identity of the reply cell each waits on.
static WAITS: LazyLock<Mutex<HashMap<usize, Edge>>> = LazyLock::new(Mutex::default);

#[derive(Clone, Copy)]
struct Edge {
    waiter: ActorId,
    target: ActorId,
}

fn waits() -> MutexGuard<'static, HashMap<usize, Edge>> {
    WAITS.lock().unwrap_or_else(PoisonError::into_inner)
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
    if let Some(path) = path(&waits, target, waiter) {
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
    waits().remove(&key);
}

/// Runs `update` under the graph's lock, then forgets the wait on `key`: for a
/// delegation, which changes who answers.
pub(crate) fn delegated(key: usize, update: impl FnOnce()) {
    let mut waits = waits();
    update();
    waits.remove(&key);
}

/// A path of actors from `from` to `to` along wait edges, both ends included.
fn path(waits: &HashMap<usize, Edge>, from: ActorId, to: ActorId) -> Option<Vec<ActorId>> {
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
        for edge in waits.values().filter(|e| e.waiter == node) {
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
        ActorId::from_raw(n as u64)
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
    fn waiting_for_oneself_is_a_cycle_of_one() {
        let base = 3 << 40;
        let cycle = wait(base, id(base), || Some(id(base))).expect_err("a cycle");
        assert_eq!(cycle.actors(), [id(base)]);
    }
}
