//! The actors of this theatre that peers can reach, by identity: every actor whose
//! address has left the process, every bound or activated actor. An actor leaves
//! the table when it ends.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use stage_runtime::remote::Inbound;
use stage_runtime::{ActorId, DownReason};

use crate::held::Held;
use crate::membership::{Change, Listener};
use crate::sync::lock;

/// A return waiting for its fence.
struct Gate {
    /// The actor's inbound side.
    inbound: Arc<dyn Inbound>,
    /// The holder of the letters addressed to it meanwhile.
    held: Arc<Held>,
    /// What waits for the gate to open: the actor's next move.
    then: Vec<Box<dyn FnOnce() + Send>>,
    /// The theatres the fence is known to cross: the first on its way (where
    /// the forwarder leads) and the last (where the actor came from). If the
    /// connection to either ends, the fence may be lost with it, and the gate
    /// opens without it (see [`Exports::changed`]).
    through: [u64; 2],
}

thread_local! {
    /// The tables this thread holds [`Exports::delivering`] on, by address,
    /// once per hold: only the first hold on each locks.
    static DELIVERING: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A hold on [`Exports::delivering`].
pub(crate) struct Delivering<'a> {
    table: usize,
    _guard: Option<std::sync::RwLockReadGuard<'a, ()>>,
}

impl Drop for Delivering<'_> {
    fn drop(&mut self) {
        DELIVERING.with(|held| {
            let mut held = held.borrow_mut();
            if let Some(at) = held.iter().rposition(|table| *table == self.table) {
                held.swap_remove(at);
            }
        });
    }
}

/// The table of exported actors.
#[derive(Default)]
pub(crate) struct Exports {
    table: Mutex<HashMap<ActorId, Arc<dyn Inbound>>>,
    /// Actors that arrived by a move, counted: a reader that keeps the last
    /// actor it found looks again when this changes (the one it kept may be the
    /// forwarder an arrival replaced).
    arrivals: AtomicU64,
    /// Returns waiting for their fence: by the arrival's alias, the actor's
    /// identity and its new inbound side.
    gates: Mutex<HashMap<ActorId, Gate>>,
    /// Held (shared) by a reader from finding an actor here to handing it the
    /// letters, and (exclusively) by an arrival while it takes its identity
    /// back from a forwarder and sends the fence through it: so that no letter
    /// found the forwarder before the switch and enters it after the fence.
    switching: std::sync::RwLock<()>,
    /// The actors whose end this theatre watches, to drop their entries: one
    /// watch per actor, however often it comes and goes. (A watch follows the
    /// actor when it moves; one per stay would make each move hand on one
    /// more.)
    watched: Mutex<std::collections::HashSet<ActorId>>,
}

impl Exports {
    /// The exported actor `actor`.
    pub(crate) fn get(&self, actor: ActorId) -> Option<Arc<dyn Inbound>> {
        lock(&self.table).get(&actor).cloned()
    }

    /// Makes an actor that has just arrived reachable: under `alias` at once
    /// (what the cell it left forwards comes there), and under its identity.
    /// If a forwarder it left on an earlier stay here held the identity, letters
    /// sent the old way round may still be on their way back: letters to the
    /// identity, and to the aliases of its earlier stays here, are held
    /// ([`Held`]) until [`Exports::open`], and the forwarder gets `fence`, to
    /// send through it (while no reader can hand it a letter). `from` is the
    /// theatre the actor came from.
    ///
    /// Every entry of the actor here leads to it from now on, not to the
    /// forwarder of the stay it was made for: a letter that comes here finds
    /// the actor, or the one forwarder of its last departure. So no letter
    /// goes round a loop of forwarders, each stay's pointing at the next.
    pub(crate) fn settle(
        self: &Arc<Self>,
        inbound: Arc<dyn Inbound>,
        (alias, from): (ActorId, u64),
        fence: impl FnOnce(&Arc<dyn Inbound>),
    ) {
        let _switching = self
            .switching
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.export_as(alias, Arc::clone(&inbound), true);
        let id = inbound.id();
        match self.get(id) {
            Some(forwarder) => {
                let held = Held::new(Arc::clone(&inbound));
                let first = forwarder.moved_to().map_or(from, |(theatre, ..)| theatre);
                let gate = Gate {
                    inbound: Arc::clone(&inbound),
                    held: Arc::clone(&held),
                    then: Vec::new(),
                    through: [first, from],
                };
                lock(&self.gates).insert(alias, gate);
                let held: Arc<dyn Inbound> = held;
                self.lead_to(id, alias, &held, |_| true);
                // Readers that kept the forwarder look again.
                self.arrivals.fetch_add(1, Ordering::AcqRel);
                fence(&forwarder);
            }
            None => {
                self.export(inbound);
                self.arrivals.fetch_add(1, Ordering::AcqRel);
            }
        }
    }

    /// Points every entry of the actor `id` (but `alias`) that `which` picks
    /// at `to`.
    fn lead_to(
        &self,
        id: ActorId,
        alias: ActorId,
        to: &Arc<dyn Inbound>,
        which: impl Fn(&Arc<dyn Inbound>) -> bool,
    ) {
        let mut table = lock(&self.table);
        for (key, entry) in table.iter_mut() {
            if *key != alias && entry.id() == id && which(entry) {
                *entry = Arc::clone(to);
            }
        }
    }

    /// Held while letters found here are handed to their actor (see
    /// `switching`). Taken once per thread: a letter handed to a forwarder may
    /// be routed back here ([`crate::routes`]) on the same thread, and a
    /// second shared hold would wait behind an arrival waiting for the first.
    pub(crate) fn delivering(&self) -> Delivering<'_> {
        let table = std::ptr::from_ref(self) as usize;
        let nested = DELIVERING.with(|held| {
            let mut held = held.borrow_mut();
            let nested = held.contains(&table);
            held.push(table);
            nested
        });
        let guard = (!nested).then(|| {
            self.switching
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        });
        Delivering {
            table,
            _guard: guard,
        }
    }

    /// The fence of the return under `alias` has come round: the actor takes
    /// its identity back from the forwarder. `false` if no return waited for it.
    pub(crate) fn open(&self, alias: ActorId) -> bool {
        let (inbound, held) = {
            let gates = lock(&self.gates);
            let Some(gate) = gates.get(&alias) else {
                return false;
            };
            (Arc::clone(&gate.inbound), Arc::clone(&gate.held))
        };
        // Released first, then replaced: a reader that still holds the held
        // side delivers straight through once it is released. Only then does
        // the gate go: until it has, the actor does not leave (see
        // [`Exports::gated`]), so what waited goes into its mailbox here, not
        // after it into a forwarder.
        held.release();
        let ours: Arc<dyn Inbound> = held;
        self.lead_to(inbound.id(), alias, &inbound, |entry| {
            Arc::ptr_eq(entry, &ours)
        });
        let then = lock(&self.gates)
            .remove(&alias)
            .map(|gate| gate.then)
            .unwrap_or_default();
        self.arrivals.fetch_add(1, Ordering::AcqRel);
        for then in then {
            then();
        }
        true
    }

    /// Opens, without their fence, the gates whose fence may have been lost
    /// with the connection to `theatre`, which has ended: the letters the fence
    /// came behind on that connection have been lost with it too, so nothing
    /// is left for the held letters to wait for. Left shut, the gates would
    /// hold their letters, and their actors, forever.
    fn open_through(&self, theatre: u64) {
        let lost: Vec<ActorId> = lock(&self.gates)
            .iter()
            .filter(|(_, gate)| gate.through.contains(&theatre))
            .map(|(alias, _)| *alias)
            .collect();
        for alias in lost {
            if self.open(alias) {
                log::warn!(
                    "stage-net: opened the gate of {alias}: its fence went by theatre \
                     {theatre:x}, whose connection ended"
                );
            }
        }
    }

    /// Whether the return of `actor` here still waits for its fence.
    ///
    /// An actor leaves a theatre only through an open gate. One that left
    /// while its fence was out would send the next arrival's fence into
    /// letters that wait for this one, and this one may wait behind that
    /// arrival's gate: two gates, each holding the other's fence, would never
    /// open. Nor can the move wait for the fence: the actor, parked for its
    /// move, would keep the credit of the letters the fence comes behind.
    pub(crate) fn gated(&self, actor: ActorId) -> bool {
        lock(&self.gates)
            .values()
            .any(|gate| gate.inbound.id() == actor)
    }

    /// Runs `then` once the return of `actor` here is no longer waiting for
    /// its fence: now, if it is not.
    pub(crate) fn when_open(&self, actor: ActorId, then: Box<dyn FnOnce() + Send>) {
        let mut gates = lock(&self.gates);
        match gates.values_mut().find(|gate| gate.inbound.id() == actor) {
            Some(gate) => gate.then.push(then),
            None => {
                drop(gates);
                then();
            }
        }
    }

    /// Every actor exported here that still runs here, once each.
    pub(crate) fn everyone(&self) -> Vec<Arc<dyn Inbound>> {
        let table = lock(&self.table);
        let mut seen = std::collections::HashSet::new();
        table
            .values()
            .filter(|inbound| inbound.moved_to().is_none() && seen.insert(inbound.id()))
            .cloned()
            .collect()
    }

    /// The actors that have left this theatre and are still exported here (by
    /// their forwarders), each with every identity it is exported under: its
    /// own, and the aliases it arrived under when it came by a move.
    pub(crate) fn forwarders(&self) -> Vec<(Vec<ActorId>, Arc<dyn Inbound>)> {
        let table = lock(&self.table);
        let mut gone: std::collections::HashMap<ActorId, (Vec<ActorId>, Arc<dyn Inbound>)> =
            std::collections::HashMap::new();
        for (key, inbound) in table.iter() {
            if inbound.moved_to().is_some() {
                gone.entry(inbound.id())
                    .or_insert_with(|| (Vec::new(), Arc::clone(inbound)))
                    .0
                    .push(*key);
            }
        }
        gone.into_values().collect()
    }

    /// How many actors have arrived by a move so far.
    pub(crate) fn arrivals(&self) -> u64 {
        self.arrivals.load(Ordering::Acquire)
    }

    /// Makes a local actor reachable by number from peers until it ends.
    /// Exporting one twice keeps the first.
    pub(crate) fn export(self: &Arc<Self>, inbound: Arc<dyn Inbound>) {
        self.export_as(inbound.id(), inbound, false);
    }

    /// Makes `inbound` reachable under `actor` until it ends; `replace` takes
    /// the place of an entry already there. The first entry of an actor starts
    /// the watch that drops all of them when it ends.
    fn export_as(self: &Arc<Self>, actor: ActorId, inbound: Arc<dyn Inbound>, replace: bool) {
        {
            let mut table = lock(&self.table);
            if table.contains_key(&actor) && !replace {
                return;
            }
            table.insert(actor, Arc::clone(&inbound));
        }
        self.watch_end(&inbound);
    }

    /// Watches the end of `inbound`'s actor, once per actor: then every entry
    /// of it here goes (its identity, and the aliases it arrived under).
    fn watch_end(self: &Arc<Self>, inbound: &Arc<dyn Inbound>) {
        let id = inbound.id();
        if !lock(&self.watched).insert(id) {
            return;
        }
        let exports: Weak<Exports> = Arc::downgrade(self);
        inbound.on_end(Box::new(move |reason| {
            let Some(exports) = exports.upgrade() else {
                return;
            };
            let mut table = lock(&exports.table);
            if reason == DownReason::Unreachable {
                // The watch was lost on its way (a theatre it passed through
                // is gone), not the actor: only the entries that point away
                // go, and one still here is watched again.
                table.retain(|_, entry| entry.id() != id || entry.moved_to().is_none());
                let here = table.values().find(|entry| entry.id() == id).cloned();
                drop(table);
                lock(&exports.watched).remove(&id);
                if let Some(here) = here {
                    exports.watch_end(&here);
                }
            } else {
                table.retain(|_, entry| entry.id() != id);
                drop(table);
                lock(&exports.watched).remove(&id);
            }
        }));
    }
}

impl Listener for Exports {
    /// A connection to a theatre has ended: the gates whose fence went by it
    /// open (see [`Exports::open_through`]).
    fn changed(&self, change: Change) {
        if let Change::Ended(theatre) = change {
            self.open_through(theatre);
        }
    }
}
