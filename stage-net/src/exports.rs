//! The actors of this theatre that peers can reach, by identity: every actor whose
//! address has left the process, every bound or activated actor. An actor leaves
//! the table when it ends.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use stage_runtime::remote::Inbound;
use stage_runtime::ActorId;

use crate::sync::lock;

/// The table of exported actors.
#[derive(Default)]
pub(crate) struct Exports {
    table: Mutex<HashMap<ActorId, Arc<dyn Inbound>>>,
    /// Actors that arrived by a move, counted: a reader that keeps the last
    /// actor it found looks again when this changes (the one it kept may be the
    /// forwarder an arrival replaced).
    arrivals: AtomicU64,
}

impl Exports {
    /// The exported actor `actor`.
    pub(crate) fn get(&self, actor: ActorId) -> Option<Arc<dyn Inbound>> {
        lock(&self.table).get(&actor).cloned()
    }

    /// Makes an actor that has just arrived reachable by number: it takes the
    /// place of a forwarder left by an earlier stay here.
    pub(crate) fn settle(self: &Arc<Self>, inbound: Arc<dyn Inbound>) {
        lock(&self.table).remove(&inbound.id());
        self.export(inbound);
        self.arrivals.fetch_add(1, Ordering::AcqRel);
    }

    /// How many actors have arrived by a move so far.
    pub(crate) fn arrivals(&self) -> u64 {
        self.arrivals.load(Ordering::Acquire)
    }

    /// Makes a local actor reachable by number from peers until it ends.
    /// Exporting one twice keeps the first.
    pub(crate) fn export(self: &Arc<Self>, inbound: Arc<dyn Inbound>) {
        let actor = inbound.id();
        {
            let mut table = lock(&self.table);
            if table.contains_key(&actor) {
                return;
            }
            table.insert(actor, Arc::clone(&inbound));
        }
        let exports: Weak<Exports> = Arc::downgrade(self);
        let entry = Arc::downgrade(&inbound);
        inbound.on_end(Box::new(move |_| {
            if let Some(exports) = exports.upgrade() {
                let mut table = lock(&exports.table);
                // Only this entry: another may have taken its place since.
                if table
                    .get(&actor)
                    .is_some_and(|current| std::ptr::addr_eq(Arc::as_ptr(current), entry.as_ptr()))
                {
                    table.remove(&actor);
                }
            }
        }));
    }
}
