//! Letters held for an actor that came back to a theatre where it had left a
//! forwarder: they wait until the fence sent the old way round has come back
//! (see `migration.rs`), so that none overtakes a letter sent earlier the old
//! way.
//!
//! A held letter gives its credit back at once. The fence comes back over a
//! link that carries letters for the actor too, and a gate that kept their
//! room while it waited for its fence could keep the room the fence needs: no
//! budget is safe (one of the window measured 4 runs of 20 stalled beside CPU
//! hogs). What a gate holds is bounded by what its senders send before its
//! fence comes round, which takes a round of the old way; that round waits for
//! no other gate's room.

use std::sync::{Arc, Mutex};

use stage_runtime::remote::{Delivery, Inbound, Receipt, Respond};
use stage_runtime::{ActorId, DownReason, SpeechError};

use crate::sync::lock;

/// An actor that came back to a theatre where it had left a forwarder, while
/// the fence sent the old way round has not come back: letters addressed to it
/// here wait (in order) until every letter sent the old way has arrived, then
/// go in behind them.
pub(crate) struct Held {
    inner: Arc<dyn Inbound>,
    /// The letters waiting, in order (their credit has gone back); `None` once
    /// the gate is open.
    waiting: Mutex<Option<Vec<Waiting>>>,
}

/// A letter held: an owned copy of what arrived.
enum Waiting {
    Message {
        variant: u16,
        args: Vec<u8>,
        respond: Option<Respond>,
    },
    Stop {
        respond: Respond,
    },
    Eval {
        site: i64,
        check: u64,
        captures: Vec<u8>,
        respond: Respond,
    },
    Fence {
        token: ActorId,
    },
    Flush {
        respond: Respond,
    },
    Events(Vec<(u16, Vec<u8>)>),
}

impl Held {
    /// Holds letters for `inner`.
    pub(crate) fn new(inner: Arc<dyn Inbound>) -> Arc<Held> {
        Arc::new(Held {
            inner,
            waiting: Mutex::new(Some(Vec::new())),
        })
    }

    /// The fence came round: what waited goes in, in order, and later letters
    /// go straight on.
    pub(crate) fn release(&self) {
        let mut waiting = lock(&self.waiting);
        for letter in waiting.take().unwrap_or_default() {
            let receipt = Receipt::default();
            let _ = match letter {
                // An event was accepted: it goes in as a run of one, which
                // no bound refuses.
                Waiting::Message {
                    variant,
                    args,
                    respond: None,
                } => self
                    .inner
                    .deliver_events(&mut std::iter::once((variant, &args[..])), receipt),
                Waiting::Message {
                    variant,
                    args,
                    respond,
                } => self.inner.deliver(
                    Delivery::Message {
                        variant,
                        args: &args,
                        respond,
                    },
                    receipt,
                ),
                Waiting::Stop { respond } => {
                    self.inner.deliver(Delivery::Stop { respond }, receipt)
                }
                Waiting::Eval {
                    site,
                    check,
                    captures,
                    respond,
                } => self.inner.deliver(
                    Delivery::Eval {
                        site,
                        check,
                        captures: &captures,
                        respond,
                    },
                    receipt,
                ),
                Waiting::Fence { token } => self.inner.deliver(Delivery::Fence { token }, receipt),
                Waiting::Flush { respond } => {
                    self.inner.deliver(Delivery::Flush { respond }, receipt)
                }
                Waiting::Events(events) => self.inner.deliver_events(
                    &mut events.iter().map(|(variant, args)| (*variant, &args[..])),
                    receipt,
                ),
            };
        }
    }
}

impl Inbound for Held {
    fn id(&self) -> ActorId {
        self.inner.id()
    }

    fn type_tag(&self) -> u64 {
        self.inner.type_tag()
    }

    fn type_name(&self) -> &'static str {
        self.inner.type_name()
    }

    fn deliver(&self, delivery: Delivery<'_>, receipt: Receipt) -> Result<(), SpeechError> {
        let mut waiting = lock(&self.waiting);
        let Some(queue) = waiting.as_mut() else {
            drop(waiting);
            return self.inner.deliver(delivery, receipt);
        };
        let letter = match delivery {
            Delivery::Message {
                variant,
                args,
                respond,
            } => Waiting::Message {
                variant,
                args: args.to_vec(),
                respond,
            },
            Delivery::Stop { respond } => Waiting::Stop { respond },
            Delivery::Eval {
                site,
                check,
                captures,
                respond,
            } => Waiting::Eval {
                site,
                check,
                captures: captures.to_vec(),
                respond,
            },
            Delivery::Fence { token } => Waiting::Fence { token },
            Delivery::Flush { respond } => Waiting::Flush { respond },
        };
        drop(receipt);
        queue.push(letter);
        Ok(())
    }

    fn deliver_events(
        &self,
        events: &mut dyn Iterator<Item = (u16, &[u8])>,
        receipt: Receipt,
    ) -> Result<(), SpeechError> {
        let mut waiting = lock(&self.waiting);
        let Some(queue) = waiting.as_mut() else {
            drop(waiting);
            return self.inner.deliver_events(events, receipt);
        };
        let events = events
            .map(|(variant, args)| (variant, args.to_vec()))
            .collect();
        drop(receipt);
        queue.push(Waiting::Events(events));
        Ok(())
    }

    fn on_end(&self, then: Box<dyn FnOnce(DownReason) + Send>) {
        self.inner.on_end(then);
    }

    fn moved_to(&self) -> Option<(u64, String, ActorId)> {
        self.inner.moved_to()
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self.inner.as_any()
    }
}
