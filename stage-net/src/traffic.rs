//! Who talks with whom across theatres: the letters between each balanceable
//! actor here and each other theatre, counted as they cross, for the load
//! balancer's strategies that learn from traffic (see `balance.rs`). Counting is
//! off unless such a strategy runs: then each letter sent to a peer from an
//! actor's turn, and each letter delivered from a peer, counts once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::sync::lock;
use crate::wire::frame::WireId;

/// Letters between a balanceable actor and the actors of one other theatre.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Talk {
    /// The other theatre's identity.
    pub theatre: u64,
    /// Letters over the period, both ways.
    pub letters: u64,
}

/// The most (actor, theatre) pairs whose letters are counted in one period; a
/// pair not met yet when the table is full is not counted.
const MAX_PAIRS: usize = 1 << 16;

/// The letters between balanceable actors here and other theatres, counted as
/// they cross (only while a strategy learns traffic).
#[derive(Default)]
pub(crate) struct Traffic {
    on: AtomicBool,
    counts: Mutex<HashMap<(WireId, u64), u64>>,
}

impl Traffic {
    /// Counts letters from now on (`true`), or not.
    pub(crate) fn count_from_now(&self, on: bool) {
        self.on.store(on, Ordering::Relaxed);
    }

    /// Whether letters are counted.
    #[inline]
    pub(crate) fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Counts `letters` between the actor `actor` here and the theatre `theatre`.
    pub(crate) fn count(&self, actor: WireId, theatre: u64, letters: u64) {
        let mut counts = lock(&self.counts);
        let full = counts.len() >= MAX_PAIRS;
        match counts.get_mut(&(actor, theatre)) {
            Some(count) => *count += letters,
            None if !full => {
                counts.insert((actor, theatre), letters);
            }
            None => {}
        }
    }

    /// The counts since the last call, by actor, most first.
    pub(crate) fn take(&self) -> HashMap<WireId, Vec<Talk>> {
        let counts = std::mem::take(&mut *lock(&self.counts));
        let mut talks: HashMap<WireId, Vec<Talk>> = HashMap::new();
        for ((actor, theatre), letters) in counts {
            talks
                .entry(actor)
                .or_default()
                .push(Talk { theatre, letters });
        }
        for list in talks.values_mut() {
            list.sort_by_key(|talk| std::cmp::Reverse(talk.letters));
        }
        talks
    }
}

/// A connection's count of the letters it delivered to each actor, kept
/// without a lock and added to the theatre's [`Traffic`] when the reader has
/// nothing more to read (or holds many actors).
#[derive(Default)]
pub(crate) struct Tally {
    counts: Vec<(WireId, u64)>,
}

impl Tally {
    /// The most actors a tally holds before it is added up.
    const MAX: usize = 32;

    /// Counts `letters` delivered to `actor`; `true` when the tally is full.
    pub(crate) fn count(&mut self, actor: WireId, letters: u64) -> bool {
        match self.counts.iter_mut().find(|(a, _)| *a == actor) {
            Some((_, count)) => *count += letters,
            None => self.counts.push((actor, letters)),
        }
        self.counts.len() >= Self::MAX
    }

    /// Whether nothing is counted.
    pub(crate) fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Adds the tally to `traffic`, as letters from the theatre `theatre`.
    pub(crate) fn add_to(&mut self, traffic: &Traffic, theatre: u64) {
        for (actor, letters) in self.counts.drain(..) {
            traffic.count(actor, theatre, letters);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_traffic_table_counts_only_pairs_it_has() {
        let traffic = Traffic::default();
        for serial in 0..MAX_PAIRS as u64 {
            traffic.count((1, serial + 1), 7, 1);
        }
        traffic.count((1, 1), 7, 5);
        traffic.count((2, 1), 7, 5);
        let talks = traffic.take();
        assert_eq!(talks.len(), MAX_PAIRS);
        assert_eq!(talks[&(1, 1)][0].letters, 6);
        assert!(!talks.contains_key(&(2, 1)));
        assert!(traffic.take().is_empty(), "taken once");
    }
}
