//! A stage's census: how many actors of each type are alive, and which actors
//! have had more letters than one turn takes (the busiest mailboxes). Read by
//! [`Stage::census`](crate::Stage::census); the live console shows it.
//!
//! It costs one relaxed add on the actor type's counter when an actor is born
//! or ends, and, for an actor whose turn ends with letters still waiting (it
//! spent its whole budget), one `try_lock` of the stage's short list of busy
//! actors: nothing per letter.

use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use crate::id::ActorId;
use crate::scheduler::Scheduler;

/// The census of the stage whose workers are `stage`.
#[inline]
pub(crate) fn of(stage: &Scheduler) -> Option<&Counts> {
    stage.beside()
}

/// Actor types told apart in a census; the types after these are counted
/// together, as [`OTHER_TYPES`].
const KINDS: usize = 256;

/// How the census names the actor types past the first 255 a program starts,
/// counted together, and actors of hand-written types.
pub const OTHER_TYPES: &str = "(other types)";

/// How many busy actors a stage keeps track of.
const BUSY_KEPT: usize = 64;

/// A busy actor not seen busy for this long gives its place to a new one.
const BUSY_FORGOTTEN: Duration = Duration::from_secs(30);

/// The names of the actor types, by their place in every census.
static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

/// One actor type's place in every stage's census: `#[actor]` gives each type
/// one (through `Declared::__kind`), and the type is numbered the first time
/// an actor of it is born.
#[doc(hidden)]
#[derive(Debug)]
pub struct Kind {
    /// The name to count under; the type's own name when `None`.
    name: Option<&'static str>,
    index: OnceLock<usize>,
}

impl Kind {
    /// A type counted under its own name (`std::any::type_name`).
    pub const fn new() -> Self {
        Kind {
            name: None,
            index: OnceLock::new(),
        }
    }

    /// A type counted under `name` (a generic type's instances, together).
    pub const fn named(name: &'static str) -> Self {
        Kind {
            name: Some(name),
            index: OnceLock::new(),
        }
    }

    /// The type's place in every census; `type_name` names it if it has no name.
    pub(crate) fn index(&self, type_name: &'static str) -> usize {
        *self
            .index
            .get_or_init(|| register(self.name.unwrap_or(type_name)))
    }
}

impl Default for Kind {
    fn default() -> Self {
        Kind::new()
    }
}

/// The kind of the actors of hand-written types, which do not name their own.
pub(crate) static UNNAMED: Kind = Kind::named(OTHER_TYPES);

/// A place for `name`: its own while there is room, the shared last one after.
fn register(name: &'static str) -> usize {
    let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(index) = names.iter().position(|known| *known == name) {
        return index;
    }
    if names.len() < KINDS - 1 {
        names.push(name);
        names.len() - 1
    } else {
        KINDS - 1
    }
}

/// The name of the type at `index`.
fn name_of(index: usize) -> &'static str {
    let names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    names.get(index).copied().unwrap_or(OTHER_TYPES)
}

/// A stage's counts: live actors by type, and its busiest actors.
pub(crate) struct Counts {
    live: Box<[AtomicIsize]>,
    busy: Mutex<Vec<Busy>>,
}

/// An actor whose turns ended with letters still waiting.
#[derive(Clone, Copy)]
struct Busy {
    actor: ActorId,
    kind: usize,
    turns: u64,
    last: Instant,
}

impl Counts {
    pub(crate) fn new() -> Self {
        Counts {
            live: (0..KINDS).map(|_| AtomicIsize::new(0)).collect(),
            busy: Mutex::new(Vec::new()),
        }
    }

    /// An actor of the type at `kind` was born (or arrived): `+1`; ended (or
    /// left): `-1`.
    #[inline]
    pub(crate) fn count(&self, kind: usize, change: isize) {
        if let Some(live) = self.live.get(kind) {
            live.fetch_add(change, Ordering::Relaxed);
        }
    }

    /// `actor` spent a whole turn's budget and has letters waiting. Skipped
    /// when another worker is recording one at the same moment: the list is a
    /// sample, not a ledger.
    pub(crate) fn busy(&self, actor: ActorId, kind: usize) {
        let Ok(mut busy) = self.busy.try_lock() else {
            return;
        };
        let now = Instant::now();
        if let Some(known) = busy.iter_mut().find(|b| b.actor == actor) {
            known.turns += 1;
            known.last = now;
            return;
        }
        let entry = Busy {
            actor,
            kind,
            turns: 1,
            last: now,
        };
        if busy.len() < BUSY_KEPT {
            busy.push(entry);
        } else if let Some(stale) = busy
            .iter_mut()
            .filter(|b| now.duration_since(b.last) > BUSY_FORGOTTEN)
            .min_by_key(|b| b.last)
        {
            *stale = entry;
        }
    }

    /// The counts now.
    pub(crate) fn read(&self) -> Census {
        let mut types: Vec<TypeCount> = self
            .live
            .iter()
            .enumerate()
            .filter_map(|(index, live)| {
                let live = usize::try_from(live.load(Ordering::Relaxed)).ok()?;
                (live > 0).then(|| TypeCount {
                    name: name_of(index).to_owned(),
                    live,
                })
            })
            .collect();
        types.sort_by(|a, b| b.live.cmp(&a.live).then_with(|| a.name.cmp(&b.name)));
        let now = Instant::now();
        let mut busiest: Vec<BusyActor> = self
            .busy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|b| BusyActor {
                actor: b.actor,
                type_name: name_of(b.kind).to_owned(),
                full_turns: b.turns,
                last_seen: now.duration_since(b.last),
            })
            .collect();
        busiest.sort_by(|a, b| {
            a.last_seen
                .cmp(&b.last_seen)
                .then_with(|| b.full_turns.cmp(&a.full_turns))
        });
        Census { types, busiest }
    }
}

/// A stage's census, read at one moment by [`Stage::census`](crate::Stage::census).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Census {
    /// Live actors by type, most first. Types past the first 255 a program
    /// starts are counted together as [`OTHER_TYPES`]; the instances of
    /// the generic `Topic` are counted together.
    pub types: Vec<TypeCount>,
    /// Actors whose turns ended with letters still waiting (each turn takes
    /// at most a budget of letters, then lets other actors run), most lately
    /// seen so first. A stage keeps up to 64; one not seen busy for 30 seconds
    /// gives its place to the next.
    pub busiest: Vec<BusyActor>,
}

/// How many actors of one type are alive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeCount {
    /// The type's name, with its module path.
    pub name: String,
    /// Actors born (or arrived) and not yet ended (or gone).
    pub live: usize,
}

/// An actor that had more letters than one turn takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusyActor {
    /// Who.
    pub actor: ActorId,
    /// Its type's name.
    pub type_name: String,
    /// Turns it ended with letters still waiting, since it was first seen so:
    /// read twice, the difference over the time between is how often its
    /// mailbox ran ahead of it.
    pub full_turns: u64,
    /// How long ago it last did.
    pub last_seen: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    static COUNTED: Kind = Kind::named("census::tests::Counted");

    #[test]
    fn types_are_counted_apart_and_the_busy_are_listed_once_each() {
        let counts = Counts::new();
        let kind = COUNTED.index("ignored: the kind has a name");
        counts.count(kind, 1);
        counts.count(kind, 1);
        counts.count(kind, -1);
        let actor = ActorId::fresh();
        counts.busy(actor, kind);
        counts.busy(actor, kind);
        let census = counts.read();
        assert_eq!(
            census.types,
            vec![TypeCount {
                name: "census::tests::Counted".into(),
                live: 1
            }]
        );
        assert_eq!(census.busiest.len(), 1);
        assert_eq!(census.busiest[0].actor, actor);
        assert_eq!(census.busiest[0].full_turns, 2);
    }

    #[test]
    fn the_busy_list_is_bounded() {
        let counts = Counts::new();
        let kind = COUNTED.index("");
        for _ in 0..BUSY_KEPT * 4 {
            counts.busy(ActorId::fresh(), kind);
        }
        assert_eq!(counts.read().busiest.len(), BUSY_KEPT);
    }

    #[test]
    fn a_type_past_the_last_place_shares_it() {
        assert_eq!(register(OTHER_TYPES), register(OTHER_TYPES));
        assert!(register("census::tests::Another") < KINDS);
    }
}
