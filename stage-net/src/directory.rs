//! The name directory (SALSA's universal names, Stage's rendezvous): names bound
//! on this theatre, the part of the cluster's directory this theatre is the home
//! of, and hints from earlier lookups.
//!
//! A name's *home* is chosen among the live members by rendezvous hashing (each
//! member scores `hash(name, member)`, the highest wins), so every theatre with the
//! same view of the cluster picks the same home, and a member joining or leaving
//! moves only the names it wins or held. A theatre that binds a name files it with
//! the name's home; a lookup asks the theatre a hint names, then the home, then
//! every member. When the members change, entries that moved are dropped here and
//! filed again by their theatres with the new home.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;

use stage_runtime::remote::{self, Inbound};
use stage_runtime::ActorId;

use crate::conn::Awaiting;
use crate::error::NetError;
use crate::membership::{Change, Listener, Membership};
use crate::peer::Peer;
use crate::sync::lock;
use crate::wire::frame::{Bound, Filing, Frame};

/// The most hints a theatre keeps; past it they are all dropped (and learnt again).
const MAX_HINTS: usize = 4096;

/// A 64-bit hash of `parts` that every build computes alike: FNV-1a, then
/// splitmix64's finaliser so that close inputs spread.
pub(crate) fn hash(parts: &[&[u8]]) -> u64 {
    let mut h = remote::fnv1a(parts);
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The home of `name` among theatres `me` and `others`: the one with the highest
/// score (ties to the larger identity).
pub(crate) fn home_among(name: &str, me: u64, others: impl IntoIterator<Item = u64>) -> u64 {
    let score = |theatre: u64| (hash(&[name.as_bytes(), &theatre.to_le_bytes()]), theatre);
    others
        .into_iter()
        .chain([me])
        .max_by_key(|theatre| score(*theatre))
        .unwrap_or(me)
}

/// Where a lookup last found a name: a guess, asked of that theatre before use.
#[derive(Clone, Debug)]
struct Hint {
    theatre: u64,
    locator: String,
}

/// A directory entry: where a name is bound.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) theatre: u64,
    pub(crate) locator: String,
    pub(crate) actor: ActorId,
    pub(crate) tag: u64,
    pub(crate) type_name: String,
}

impl Entry {
    pub(crate) fn into_wire(self) -> Filing {
        (
            self.theatre,
            self.locator,
            self.actor.to_wire(),
            self.tag,
            self.type_name,
        )
    }

    /// The entry a `Resolved` frame carries; `None` for one that names no actor.
    pub(crate) fn from_wire((theatre, locator, actor, tag, type_name): Filing) -> Option<Entry> {
        Some(Entry {
            theatre,
            locator,
            actor: ActorId::from_wire(actor)?,
            tag,
            type_name,
        })
    }
}

/// The directory's part on this theatre.
pub(crate) struct Directory {
    members: Arc<Membership>,
    /// Names bound on this theatre, and their actors.
    bound: Mutex<HashMap<String, Arc<dyn Inbound>>>,
    /// The names this theatre is the home of, bound here or on other members.
    filed: Mutex<HashMap<String, Entry>>,
    /// Hints from earlier lookups: the theatre a name was found bound on.
    hints: Mutex<HashMap<String, Hint>>,
    /// Questions this theatre has asked others about names (`Lookup`, `Resolve`).
    questions: AtomicU64,
}

impl Directory {
    pub(crate) fn new(members: Arc<Membership>) -> Self {
        Directory {
            members,
            bound: Mutex::new(HashMap::new()),
            filed: Mutex::new(HashMap::new()),
            hints: Mutex::new(HashMap::new()),
            questions: AtomicU64::new(0),
        }
    }

    /// How many questions about names this theatre has asked others.
    pub(crate) fn questions_asked(&self) -> u64 {
        self.questions.load(Ordering::Relaxed)
    }

    /// The actor bound to `name` on this theatre.
    pub(crate) fn bound_here(&self, name: &str) -> Option<Arc<dyn Inbound>> {
        lock(&self.bound).get(name).cloned()
    }

    /// Binds `name` to `inbound` here and files it with the name's home;
    /// `export` makes the actor reachable from peers first.
    ///
    /// # Errors
    ///
    /// [`NetError::NameTaken`] if `name` is bound here already.
    pub(crate) fn bind(
        &self,
        name: &str,
        inbound: Arc<dyn Inbound>,
        export: impl FnOnce(&Arc<dyn Inbound>),
    ) -> Result<(), NetError> {
        {
            let mut bound = lock(&self.bound);
            if bound.contains_key(name) {
                return Err(NetError::NameTaken(name.to_owned()));
            }
            export(&inbound);
            bound.insert(name.to_owned(), Arc::clone(&inbound));
        }
        self.register(name, &*inbound);
        Ok(())
    }

    /// Removes the binding of `name` here; `true` if there was one. Waits (at most
    /// `down_after`) until the name's home has forgotten it.
    pub(crate) fn unbind(&self, name: &str) -> bool {
        let bound = lock(&self.bound).remove(name).is_some();
        if bound {
            self.unregister(name);
        }
        bound
    }

    /// The names bound here to the actor `actor`.
    pub(crate) fn names_of(&self, actor: ActorId) -> Vec<String> {
        lock(&self.bound)
            .iter()
            .filter(|(_, inbound)| inbound.id() == actor)
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Forgets the names bound here to `actor`, which has moved: its new theatre
    /// binds them and files them with their homes.
    pub(crate) fn forget(&self, actor: ActorId) {
        lock(&self.bound).retain(|_, inbound| inbound.id() != actor);
    }

    /// The home of `name` among the live members: `None` when it is this theatre.
    pub(crate) fn home_of(&self, name: &str) -> Option<Arc<Peer>> {
        let peers = self.members.live_peers();
        let home = home_among(name, self.members.id(), peers.iter().map(|p| p.theatre));
        peers.into_iter().find(|peer| peer.theatre == home)
    }

    /// Files `entry` under `name` in this theatre's part of the directory.
    pub(crate) fn file(&self, name: String, entry: Entry) {
        lock(&self.filed).insert(name, entry);
    }

    /// Removes `name` from the directory, if `theatre` had filed it.
    pub(crate) fn unfile(&self, name: &str, theatre: u64) {
        let mut filed = lock(&self.filed);
        if filed.get(name).is_some_and(|e| e.theatre == theatre) {
            filed.remove(name);
        }
    }

    /// The directory's entry for `name`, if this theatre holds one.
    pub(crate) fn filed(&self, name: &str) -> Option<Entry> {
        lock(&self.filed).get(name).cloned()
    }

    /// Files a name bound here with the name's home.
    fn register(&self, name: &str, inbound: &dyn Inbound) {
        let entry = Entry {
            theatre: self.members.id(),
            locator: self.members.locator().to_owned(),
            actor: inbound.id(),
            tag: inbound.type_tag(),
            type_name: inbound.type_name().to_owned(),
        };
        match self.home_of(name) {
            None => self.file(name.to_owned(), entry),
            Some(peer) => {
                if let Some(conn) = peer.live() {
                    // Lost with the connection: the next change of members files it again.
                    let _ = conn.push(Frame::Register {
                        name: name.to_owned(),
                        actor: entry.actor.to_wire(),
                        tag: entry.tag,
                        type_name: entry.type_name,
                    });
                }
            }
        }
    }

    /// Takes a name unbound here out of the directory, and waits (at most
    /// `down_after`) until the home has, so that no lookup after `unbind` returns
    /// finds it.
    fn unregister(&self, name: &str) {
        let Some(home) = self.home_of(name) else {
            return self.unfile(name, self.members.id());
        };
        let Some(conn) = home.live() else { return };
        let (tx, rx) = mpsc::channel();
        let awaiting = Awaiting::Resolve(Box::new(move |_| {
            let _ = tx.send(());
        }));
        let asked = conn.call(awaiting, |call| Frame::Unregister {
            name: name.to_owned(),
            call,
        });
        if asked.is_ok() {
            let _ = rx.recv_timeout(self.members.down_after());
        }
    }

    /// The members changed: entries this theatre is no longer the home of go (their
    /// theatres file them with the new home), and this theatre's own names are
    /// filed with their homes again.
    fn respread(&self) {
        let filed: Vec<String> = lock(&self.filed).keys().cloned().collect();
        let moved: Vec<String> = filed
            .into_iter()
            .filter(|name| self.home_of(name).is_some())
            .collect();
        {
            let mut filed = lock(&self.filed);
            for name in &moved {
                filed.remove(name);
            }
        }
        let names: Vec<(String, Arc<dyn Inbound>)> = lock(&self.bound)
            .iter()
            .map(|(name, inbound)| (name.clone(), Arc::clone(inbound)))
            .collect();
        for (name, inbound) in names {
            self.register(&name, &*inbound);
        }
    }

    /// The directory's entry for `name`, from the name's home (which may be this
    /// theatre). `None` when the home knows none or does not answer in time.
    fn resolve(&self, name: &str) -> Option<Entry> {
        let Some(home) = self.home_of(name) else {
            return self.filed(name);
        };
        let conn = home.live()?;
        self.questions.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel();
        let awaiting = Awaiting::Resolve(Box::new(move |entry| {
            let _ = tx.send(entry);
        }));
        conn.call(awaiting, |call| Frame::Resolve {
            name: name.to_owned(),
            call,
        })
        .ok()?;
        rx.recv_timeout(self.members.down_after())
            .ok()
            .flatten()
            .and_then(Entry::from_wire)
    }

    /// Asks `peers` for `name`; the first that has it bound (or started) answers.
    /// `None` when all say no, or none answers within `down_after`.
    pub(crate) fn ask_peers(
        &self,
        name: &str,
        peers: Vec<Arc<Peer>>,
    ) -> Option<(Arc<Peer>, Bound)> {
        let (tx, rx) = mpsc::channel();
        for peer in peers {
            let Some(conn) = peer.live() else { continue };
            self.questions.fetch_add(1, Ordering::Relaxed);
            let answers = tx.clone();
            let awaiting = Awaiting::Lookup(Box::new(move |found| {
                let _ = answers.send(found.map(|found| (Arc::clone(&peer), found)));
            }));
            // A peer that cannot be asked answers "not here" through `awaiting`.
            let _ = conn.call(awaiting, |call| Frame::Lookup {
                name: name.to_owned(),
                call,
            });
        }
        drop(tx);
        let deadline = Instant::now() + self.members.down_after();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(Some(found)) => return Some(found),
                Ok(None) => continue,
                // Every peer answered "not here", or the time is up.
                Err(_) => return None,
            }
        }
    }

    /// Where `name` is bound, asked of the theatre a hint names: that theatre knows
    /// its own names, so the answer is never stale. `None` (and the hint is
    /// dropped) when there is no hint, that theatre cannot be reached or it has no
    /// such name any more.
    fn ask_hinted(&self, name: &str) -> Option<(Arc<Peer>, Bound)> {
        let hint = lock(&self.hints).get(name).cloned()?;
        let found = self
            .members
            .peer(hint.theatre)
            .filter(|peer| peer.live().is_some() && peer.locator == hint.locator)
            .and_then(|peer| self.ask_peers(name, vec![peer]));
        if found.is_none() {
            lock(&self.hints).remove(name);
        }
        found
    }

    /// Remembers that `name` was found bound on `peer`.
    pub(crate) fn hint(&self, name: &str, peer: &Peer) {
        let mut hints = lock(&self.hints);
        if hints.len() >= MAX_HINTS && !hints.contains_key(name) {
            hints.clear();
        }
        hints.insert(
            name.to_owned(),
            Hint {
                theatre: peer.theatre,
                locator: peer.locator.clone(),
            },
        );
    }

    /// Where on another theatre `name` is bound: asked first of the theatre a hint
    /// names, then of the name's home, then of every member. `None` when no
    /// theatre answers that it has it within the failure detector's time.
    ///
    /// # Errors
    ///
    /// When the theatre the home names cannot be linked to.
    pub(crate) fn find(&self, name: &str) -> Result<Option<(Arc<Peer>, Bound)>, NetError> {
        if let Some(found) = self.ask_hinted(name) {
            return Ok(Some(found));
        }
        // The name's home: one question to one theatre.
        if let Some(entry) = self.resolve(name) {
            // An entry of a theatre this one cannot reach is not trusted: a
            // departed member's entries may outlive it briefly at their home.
            if entry.theatre != self.members.id() && self.members.reaches(entry.theatre) {
                let peer = self.members.link(entry.theatre, &entry.locator)?;
                let bound = (entry.actor.to_wire(), entry.tag, entry.type_name);
                return Ok(Some((peer, bound)));
            }
        }
        // Not filed (started on demand, or the members just changed): every member.
        Ok(self.ask_peers(name, self.members.live_peers()))
    }
}

impl Listener for Directory {
    fn changed(&self, change: Change) {
        match change {
            Change::Joined(theatre) => {
                log::debug!("stage-net: theatre {theatre:x} joined: names move to their homes");
            }
            Change::Left(theatre) => {
                // The names it filed here are gone (reported as not found, never as
                // a dead address).
                lock(&self.filed).retain(|_, entry| entry.theatre != theatre);
                lock(&self.hints).retain(|_, hint| hint.theatre != theatre);
            }
            Change::Ended(_) => return,
        }
        self.respread();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_theatre_with_the_same_members_picks_the_same_home() {
        let theatres = [11u64, 22, 33, 44];
        for name in ["chat/room", "a", "b", "counter-7"] {
            let homes: Vec<u64> = theatres
                .iter()
                .map(|&me| {
                    let others = theatres.iter().copied().filter(|&t| t != me);
                    home_among(name, me, others)
                })
                .collect();
            assert!(homes.windows(2).all(|w| w[0] == w[1]), "{name}: {homes:?}");
            assert!(theatres.contains(&homes[0]));
        }
    }

    #[test]
    fn a_member_leaving_moves_only_the_names_it_was_home_of() {
        let all = [1u64, 2, 3, 4, 5];
        let names: Vec<String> = (0..200).map(|i| format!("name-{i}")).collect();
        let before: Vec<u64> = names
            .iter()
            .map(|n| home_among(n, 1, all[1..].iter().copied()))
            .collect();
        let after: Vec<u64> = names
            .iter()
            .map(|n| home_among(n, 1, [2u64, 3, 5]))
            .collect();
        for ((name, b), a) in names.iter().zip(&before).zip(&after) {
            if *b != 4 {
                assert_eq!(a, b, "{name} moved though its home stayed");
            } else {
                assert_ne!(*a, 4, "{name} still homed on the departed member");
            }
        }
        // The names spread over the members at all.
        assert!(all.iter().all(|t| before.contains(t)));
    }

    #[test]
    fn alone_a_theatre_is_the_home_of_every_name() {
        assert_eq!(home_among("x", 9, []), 9);
    }

    #[test]
    fn the_hash_is_stable_across_builds() {
        // Pinned: theatres of different builds must agree on homes.
        assert_eq!(hash(&[b"chat/room"]), 0x20ab2221c755305f);
        assert_eq!(hash(&[b"chat/room"]), hash(&[b"chat/", b"room"]));
        assert_ne!(hash(&[b"a"]), hash(&[b"b"]));
    }
}
