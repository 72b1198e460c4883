//! Letters held for an actor that came back to a theatre where it had left a
//! forwarder: they wait until the fence sent the old way round has come back
//! (see `migration.rs`), so that none overtakes a letter sent earlier the old
//! way.
//!
//! A held letter gives its credit back at once, up to a budget (the theatre's
//! window): the fence comes back over a link that carries letters for the
//! actor too, and a gate that kept their room while it waited for its fence
//! could keep the room the fence needs. Past the budget, letters keep their
//! receipts, so that a flood meeting a gate is slowed as anywhere else.

use std::sync::{Arc, Mutex};

use stage_runtime::remote::{Delivery, Inbound, Receipt, Respond};
use stage_runtime::{ActorId, DownReason, SpeechError};

use crate::sync::lock;
use crate::wire::frame;

/// An actor that came back to a theatre where it had left a forwarder, while
/// the fence sent the old way round has not come back: letters addressed to it
/// here wait (in order) until every letter sent the old way has arrived, then
/// go in behind them.
pub(crate) struct Held {
    inner: Arc<dyn Inbound>,
    /// The letters waiting; `None` once the gate is open.
    waiting: Mutex<Option<Queue>>,
}

/// The letters waiting, in order, each with its receipt (an empty one once its
/// credit has gone back), and the bytes whose credit went back.
#[derive(Default)]
struct Queue {
    letters: Vec<(Waiting, Receipt)>,
    freed: u64,
    budget: u64,
}

impl Queue {
    /// Holds `letter`: its credit goes back now if the budget has room for
    /// `cost` bytes more.
    fn hold(&mut self, letter: Waiting, receipt: Receipt, cost: u64) {
        let receipt = if self.freed + cost <= self.budget {
            self.freed += cost;
            drop(receipt);
            Receipt::default()
        } else {
            receipt
        };
        self.letters.push((letter, receipt));
    }
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
    /// Holds letters for `inner`, giving back the credit of up to `budget`
    /// bytes of them at once.
    pub(crate) fn new(inner: Arc<dyn Inbound>, budget: u64) -> Arc<Held> {
        Arc::new(Held {
            inner,
            waiting: Mutex::new(Some(Queue {
                budget,
                ..Queue::default()
            })),
        })
    }

    /// The fence came round: what waited goes in, in order, and later letters
    /// go straight on.
    pub(crate) fn release(&self) {
        let mut waiting = lock(&self.waiting);
        let letters = waiting.take().map(|queue| queue.letters);
        for (letter, receipt) in letters.unwrap_or_default() {
            let _ = match letter {
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
        let cost = letter_cost(&delivery);
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
        queue.hold(letter, receipt, cost);
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
        let events: Vec<(u16, Vec<u8>)> = events
            .map(|(variant, args)| (variant, args.to_vec()))
            .collect();
        let cost = events
            .iter()
            .map(|(_, args)| frame::letter_cost(args.len()))
            .sum();
        queue.hold(Waiting::Events(events), receipt, cost);
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

/// What `delivery` counts for against the budget, as a letter does against a
/// window.
fn letter_cost(delivery: &Delivery<'_>) -> u64 {
    frame::letter_cost(match delivery {
        Delivery::Message { args, .. } => args.len(),
        Delivery::Eval { captures, .. } => captures.len(),
        _ => 0,
    })
}
