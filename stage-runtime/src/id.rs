//! An actor's identity: unique across every theatre of a cluster, and kept by the
//! actor wherever it runs (an actor that moves between theatres will take it
//! along). [`Addr`](crate::Addr)'s `Eq` and `Hash` use it, so two addresses are
//! equal exactly when they reach the same actor, wherever it is.
//!
//! On the wire an identity is two numbers: the *origin* (drawn at random once per
//! process, never 0) and a *serial* (counted up in that process). In memory it is
//! one word, so that an idle actor and a letter in a mailbox cost what they did
//! with a process-local number: the serial (44 bits) and a *slot* (20 bits) that
//! stands for the origin in this process's table of the origins it has met. Slot 1
//! is this process; slot 0 is "no process", the origin of named addresses (which
//! reach an actor by universal name wherever it is started, and whose serial is
//! a hash of the name).
//!
//! The table only grows, by one slot per process whose actors this one has been
//! told of, up to about a million; an identity from one more is refused where it
//! is decoded (a wire error), never mistaken for another.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

/// Bits of the serial; the slot has the rest.
const SERIAL_BITS: u32 = 44;
const SERIAL_MASK: u64 = (1 << SERIAL_BITS) - 1;
/// Slots in the table of origins.
const SLOTS: usize = 1 << (64 - SERIAL_BITS);
/// The slot of named addresses (origin 0).
const NAMED: u64 = 0;
/// The slot of this process.
const HERE: u64 = 1;
/// Slots per lazily allocated segment of the table.
const SEGMENT: usize = 4096;

/// An actor's identity: unique among all actors of all the processes of a cluster,
/// and the actor's for its whole life.
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
///
/// #[actor]
/// struct Quiet;
///
/// #[behaviour]
/// impl Quiet {}
///
/// let a = spawn(Quiet);
/// let b = spawn(Quiet);
/// assert_ne!(a.id(), b.id());
/// assert_eq!(a.id(), a.clone().id());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ActorId(NonZeroU64);

/// This process's origin: random, drawn once, never 0.
fn this_process() -> u64 {
    static ORIGIN: OnceLock<u64> = OnceLock::new();
    *ORIGIN.get_or_init(|| {
        // `RandomState` is seeded from the operating system's randomness.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(std::process::id().into());
        hasher.finish().max(1)
    })
}

/// The origins this process has met, by slot. Reading a slot takes no lock (the
/// hot path: an identity sent to a peer); meeting a new origin takes one.
struct Origins {
    segments: Box<[OnceLock<Box<[AtomicU64]>>]>,
    slots: Mutex<HashMap<u64, u64>>,
}

fn origins() -> &'static Origins {
    static ORIGINS: OnceLock<Origins> = OnceLock::new();
    ORIGINS.get_or_init(|| Origins {
        segments: (0..SLOTS / SEGMENT).map(|_| OnceLock::new()).collect(),
        slots: Mutex::new(HashMap::new()),
    })
}

impl Origins {
    fn cell(&self, slot: u64) -> &AtomicU64 {
        let slot = slot as usize;
        let segment = self.segments[slot / SEGMENT]
            .get_or_init(|| (0..SEGMENT).map(|_| AtomicU64::new(0)).collect());
        &segment[slot % SEGMENT]
    }

    /// The origin in `slot`.
    fn origin(&self, slot: u64) -> u64 {
        match slot {
            NAMED => 0,
            HERE => this_process(),
            slot => self.cell(slot).load(Ordering::Acquire),
        }
    }

    /// The slot of `origin`, if it has one.
    fn known(&self, origin: u64) -> Option<u64> {
        match origin {
            0 => Some(NAMED),
            origin if origin == this_process() => Some(HERE),
            origin => {
                let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
                slots.get(&origin).copied()
            }
        }
    }

    /// The slot of `origin`, given one if it has none; `None` when the table is
    /// full.
    fn slot(&self, origin: u64) -> Option<u64> {
        if origin == 0 {
            return Some(NAMED);
        }
        if origin == this_process() {
            return Some(HERE);
        }
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(&slot) = slots.get(&origin) {
            return Some(slot);
        }
        let slot = slots.len() as u64 + 2;
        if slot as usize >= SLOTS {
            return None;
        }
        // Published before the slot is handed out: whoever gets the slot reads it.
        self.cell(slot).store(origin, Ordering::Release);
        slots.insert(origin, slot);
        Some(slot)
    }
}

impl ActorId {
    fn pack(slot: u64, serial: u64) -> Option<Self> {
        if serial > SERIAL_MASK {
            return None;
        }
        if serial == 0 {
            return None;
        }
        NonZeroU64::new(slot << SERIAL_BITS | serial).map(ActorId)
    }

    fn slot(self) -> u64 {
        self.0.get() >> SERIAL_BITS
    }

    /// The identity as one word, for an atomic (the reply cell's blocker).
    pub(crate) fn bits(self) -> u64 {
        self.0.get()
    }

    /// The identity [`ActorId::bits`] gave; `None` for 0.
    pub(crate) fn from_bits(bits: u64) -> Option<Self> {
        NonZeroU64::new(bits).map(ActorId)
    }

    /// A fresh identity of this process. One relaxed atomic increment; spawning is
    /// not the hot path. (After 2^44 actors the serials start again at 1: an actor
    /// would have to outlive seventeen trillion younger ones to share its
    /// identity.)
    pub(crate) fn fresh() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        ActorId::local((n - 1) % SERIAL_MASK + 1)
    }

    /// The identity with serial `n` born in this process (taken into range, 0 as 1).
    pub(crate) fn local(n: u64) -> Self {
        let serial = (n & SERIAL_MASK).max(1);
        ActorId::pack(HERE, serial).unwrap_or(ActorId(NonZeroU64::MIN))
    }

    /// The identity of the named addresses of the name whose hash is `hash`.
    #[doc(hidden)]
    pub fn named(hash: u64) -> Self {
        let serial = (hash & SERIAL_MASK).max(1);
        ActorId::pack(NAMED, serial).unwrap_or(ActorId(NonZeroU64::MIN))
    }

    /// The identity as it crosses the wire: origin, serial. `None` for a serial of
    /// 0 (or past 2^44), which no identity has, or an origin beyond the million
    /// this process can tell apart.
    #[doc(hidden)]
    pub fn from_wire((origin, serial): (u64, u64)) -> Option<Self> {
        if serial == 0 || serial > SERIAL_MASK {
            return None;
        }
        ActorId::pack(origins().slot(origin)?, serial)
    }

    /// [`ActorId::from_wire`] for an identity that can only be one this process
    /// has met already (the addressee of a frame): an origin never met gives `None`
    /// and takes no slot.
    #[doc(hidden)]
    pub fn known((origin, serial): (u64, u64)) -> Option<Self> {
        if serial == 0 || serial > SERIAL_MASK {
            return None;
        }
        ActorId::pack(origins().known(origin)?, serial)
    }

    /// The identity as it crosses the wire: origin, serial.
    #[doc(hidden)]
    pub fn to_wire(self) -> (u64, u64) {
        (origins().origin(self.slot()), self.as_u64())
    }

    /// The serial: the identity as a number, for logs and metrics. Unique among the
    /// actors born in one process; across processes, compare identities.
    pub fn as_u64(self) -> u64 {
        self.0.get() & SERIAL_MASK
    }

    /// Whether the actor was born in this process.
    pub(crate) fn is_from_here(self) -> bool {
        self.slot() == HERE
    }
}

impl fmt::Debug for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (origin, serial) = self.to_wire();
        write!(f, "ActorId({serial}@{origin:x})")
    }
}

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_from_here() {
            write!(f, "actor#{}", self.as_u64())
        } else {
            let (origin, serial) = self.to_wire();
            write!(f, "actor#{serial}@{origin:x}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_is_one_word() {
        assert_eq!(size_of::<ActorId>(), 8);
        assert_eq!(size_of::<Option<ActorId>>(), 8);
    }

    #[test]
    fn identities_are_fresh_and_cross_the_wire_unchanged() {
        let (a, b) = (ActorId::fresh(), ActorId::fresh());
        assert_ne!(a, b);
        assert!(a.is_from_here());
        assert_eq!(a.to_wire().0, this_process());
        assert_eq!(ActorId::from_wire(a.to_wire()), Some(a));
        assert_eq!(ActorId::from_wire((5, 0)), None);
        assert_eq!(ActorId::from_wire((5, 1 << 44)), None);
        assert_eq!(a.to_string(), format!("actor#{}", a.as_u64()));
    }

    #[test]
    fn the_same_serial_from_another_process_is_another_actor() {
        let here = ActorId::local(42);
        let (origin, serial) = here.to_wire();
        let there = ActorId::from_wire((origin ^ 1, serial)).unwrap();
        assert_ne!(here, there);
        assert!(!there.is_from_here());
        assert_eq!(there.to_wire(), (origin ^ 1, serial));
        assert!(there.to_string().contains('@'));
        // Met again, the same origin has the same slot: the same identity.
        assert_eq!(ActorId::from_wire((origin ^ 1, serial)), Some(there));
        assert_eq!(ActorId::known((origin ^ 1, serial)), Some(there));
        assert_eq!(
            ActorId::known((origin ^ 2, serial)),
            None,
            "never met, not taken"
        );
        assert_eq!(ActorId::known((origin, serial)), Some(here));
        assert_ne!(ActorId::named(42), here);
        assert_eq!(
            ActorId::from_wire(ActorId::named(42).to_wire()),
            Some(ActorId::named(42))
        );
    }

    #[test]
    fn many_origins_each_keep_their_own_slot() {
        let ids: Vec<ActorId> = (0..10_000u64)
            .map(|i| ActorId::from_wire((0xabc0_0000_0000 + i, 7)).unwrap())
            .collect();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(id.to_wire(), (0xabc0_0000_0000 + i as u64, 7));
        }
    }
}
