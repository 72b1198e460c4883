//! The actors of this theatre that peers can reach, by identity: every actor whose
//! address has left the process, every bound or activated actor. An actor leaves
//! the table when it ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use stage_runtime::remote::Inbound;
use stage_runtime::ActorId;

use crate::sync::lock;

/// The table of exported actors.
#[derive(Default)]
pub(crate) struct Exports {
    table: Mutex<HashMap<ActorId, Arc<dyn Inbound>>>,
}

impl Exports {
    /// The exported actor `actor`.
    pub(crate) fn get(&self, actor: ActorId) -> Option<Arc<dyn Inbound>> {
        lock(&self.table).get(&actor).cloned()
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
        inbound.on_end(Box::new(move |_| {
            if let Some(exports) = exports.upgrade() {
                lock(&exports.table).remove(&actor);
            }
        }));
    }
}
