//! The current speaker: which actor's turn this thread is taking, so that a letter
//! sent from inside a handler carries its sender ([`Speaker`]) for the
//! permission policy, deadlock detection and per-sender order.

use std::cell::Cell;

use crate::id::ActorId;
use crate::speech::Speaker;

thread_local! {
    /// The actor whose turn this thread is taking.
    static SPEAKER: Cell<Option<ActorId>> = const { Cell::new(None) };
}

/// Who is speaking on this thread right now.
pub(crate) fn current_speaker() -> Speaker {
    SPEAKER
        .with(Cell::get)
        .map_or(Speaker::Outside, Speaker::Actor)
}

/// Runs `turn` with `actor` as the speaker on this thread, then restores the one
/// before (a turn may run inside another's, as a blocking wait does).
pub(crate) fn speaking_as<R>(actor: ActorId, turn: impl FnOnce() -> R) -> R {
    let previous = SPEAKER.with(|s| s.replace(Some(actor)));
    let result = turn();
    SPEAKER.with(|s| s.set(previous));
    result
}

/// The actor whose turn this thread is taking, if any (a network layer counts
/// who talks to whom with it).
pub fn current_actor() -> Option<ActorId> {
    SPEAKER.with(Cell::get)
}
