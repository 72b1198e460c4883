//! An actor's identity: unique across every theatre of a cluster, and kept by the
//! actor wherever it runs (an actor that moves between theatres will take it
//! along). [`Addr`](crate::Addr)'s `Eq` and `Hash` use it, so two addresses are
//! equal exactly when they reach the same actor, wherever it is.
//!
//! An identity is the *origin* (a random number drawn once per process, never 0)
//! and a *serial* (counted up in that process). Named addresses, which reach an
//! actor by universal name wherever it is started, have origin 0 and the name's
//! hash as serial.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

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
pub struct ActorId {
    origin: u64,
    serial: NonZeroU64,
}

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

impl ActorId {
    /// A fresh identity of this process. One relaxed atomic increment; spawning is
    /// not the hot path.
    pub(crate) fn fresh() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        ActorId::local(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// The identity with serial `n` born in this process (0 is taken as 1).
    pub(crate) fn local(n: u64) -> Self {
        ActorId {
            origin: this_process(),
            serial: NonZeroU64::new(n).unwrap_or(NonZeroU64::MIN),
        }
    }

    /// The identity of the named addresses of the name whose hash is `hash`.
    #[doc(hidden)]
    pub fn named(hash: u64) -> Self {
        ActorId {
            origin: 0,
            serial: NonZeroU64::new(hash).unwrap_or(NonZeroU64::MIN),
        }
    }

    /// The identity as it crosses the wire: origin, serial. `None` for a serial
    /// of 0, which no identity has.
    #[doc(hidden)]
    pub fn from_wire((origin, serial): (u64, u64)) -> Option<Self> {
        NonZeroU64::new(serial).map(|serial| ActorId { origin, serial })
    }

    /// The identity as it crosses the wire: origin, serial.
    #[doc(hidden)]
    pub fn to_wire(self) -> (u64, u64) {
        (self.origin, self.serial.get())
    }

    /// The serial: the identity as a number, for logs and metrics. Unique among the
    /// actors born in one process; across processes, compare identities.
    pub fn as_u64(self) -> u64 {
        self.serial.get()
    }

    /// Whether the actor was born in this process.
    pub(crate) fn is_from_here(self) -> bool {
        self.origin == this_process()
    }
}

impl fmt::Debug for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ActorId({}@{:x})", self.serial, self.origin)
    }
}

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_from_here() {
            write!(f, "actor#{}", self.serial)
        } else {
            write!(f, "actor#{}@{:x}", self.serial, self.origin)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_fresh_and_cross_the_wire_unchanged() {
        let (a, b) = (ActorId::fresh(), ActorId::fresh());
        assert_ne!(a, b);
        assert!(a.is_from_here());
        assert_eq!(ActorId::from_wire(a.to_wire()), Some(a));
        assert_eq!(ActorId::from_wire((5, 0)), None);
        assert_eq!(a.to_string(), format!("actor#{}", a.as_u64()));
    }

    #[test]
    fn the_same_serial_from_another_process_is_another_actor() {
        let here = ActorId::local(42);
        let (origin, serial) = here.to_wire();
        let there = ActorId::from_wire((origin ^ 1, serial)).unwrap();
        assert_ne!(here, there);
        assert!(!there.is_from_here());
        assert!(there.to_string().contains('@'));
        assert_ne!(ActorId::named(42), here);
    }
}
