//! Delivering what arrives from a peer to this theatre's exported actors: events
//! that come in a row for one actor are queued for it together (one push of the
//! whole run), questions carry a responder that sends the answer back over the
//! connection they came on.

use std::sync::Arc;

use stage_runtime::remote::{Delivery, Inbound, Respond};
use stage_runtime::{ActorId, DownReason, Failure, SpeechError};

use crate::conn::Conn;
use crate::exports::Exports;
use crate::wire::frame::{self, Frame, TellRef, WireError, WireId};

/// The most events read in a row that are queued together.
const MAX_RUN: usize = 256;

/// What one connection delivers: the actor its last letter went to, and the run
/// of events not yet delivered.
#[derive(Default)]
pub(crate) struct Arrivals {
    recent: Recent,
    run: EventRun,
}

impl Arrivals {
    /// Takes an event. It joins the run if it is for the same actor; otherwise the
    /// run goes first. An error closes the connection.
    pub(crate) fn event(&mut self, exports: &Exports, event: TellRef<'_>) -> Result<(), String> {
        let mut delivered = Ok(());
        if !self.run.takes(&event) {
            delivered = self.flush(exports);
        }
        self.run.add(event);
        if self.run.events.len() >= MAX_RUN {
            delivered = delivered.and(self.flush(exports));
        }
        delivered
    }

    /// Queues the run of events for its actor. An error closes the connection.
    pub(crate) fn flush(&mut self, exports: &Exports) -> Result<(), String> {
        self.run.deliver(exports, &mut self.recent)
    }

    /// Delivers a question (`Ask`, `Eval`, `Stop`) for the actor numbered `to`,
    /// answered over `conn` under `call`; `what` names the frame's kind. An error
    /// closes the connection.
    pub(crate) fn question<'a>(
        &mut self,
        exports: &Exports,
        conn: &Arc<Conn>,
        (to, tag, call): (WireId, u64, u64),
        what: &str,
        delivery: impl FnOnce(Respond) -> Delivery<'a>,
    ) -> Result<(), String> {
        match self.recent.addressed(exports, to, tag, what)? {
            None => respond_now(conn, call, &SpeechError::Failed(Failure::Dead)),
            // A refusal (a decode error, a site this program does not have) has
            // answered the responder already: it is the asker's error, not the
            // connection's.
            Some(inbound) => {
                let _ = inbound.deliver(delivery(responder(conn, call)));
            }
        }
        Ok(())
    }

    /// Registers a watch on the actor numbered `to`: `Ended` goes back over `conn`
    /// under `call` when it ends (at once if it is not exported here).
    pub(crate) fn watch(
        &mut self,
        exports: &Exports,
        conn: &Arc<Conn>,
        (to, tag, call): (WireId, u64, u64),
    ) -> Result<(), String> {
        match self.recent.addressed(exports, to, tag, "a watch")? {
            None => {
                let reason = frame::down_code(DownReason::Stopped);
                conn.push(Frame::Ended { call, reason })
                    .map_err(|e| e.to_string())?;
            }
            Some(inbound) => {
                let conn = Arc::downgrade(conn);
                inbound.on_end(Box::new(move |reason| {
                    if let Some(conn) = conn.upgrade() {
                        let reason = frame::down_code(reason);
                        let _ = conn.push(Frame::Ended { call, reason });
                    }
                }));
            }
        }
        Ok(())
    }
}

/// The actor the last letter on a connection went to: the next one usually goes
/// to it too, and skips the table of exported actors.
#[derive(Default)]
struct Recent(Option<(WireId, Arc<dyn Inbound>)>);

impl Recent {
    /// The exported actor `to`. One that has ended since is still found here,
    /// and refuses the letter as `Dead`, as the table would have.
    fn exported(&mut self, exports: &Exports, to: WireId) -> Option<Arc<dyn Inbound>> {
        match &self.0 {
            Some((actor, inbound)) if *actor == to => Some(Arc::clone(inbound)),
            _ => {
                let inbound = exports.get(ActorId::from_wire(to)?)?;
                self.0 = Some((to, Arc::clone(&inbound)));
                Some(inbound)
            }
        }
    }

    /// The exported actor a frame of kind `what` addresses, checked against the
    /// type tag the frame names.
    ///
    /// # Errors
    ///
    /// The reason to close the connection when the tags differ: the peer runs
    /// other code, or is confused.
    fn addressed(
        &mut self,
        exports: &Exports,
        to: WireId,
        tag: u64,
        what: &str,
    ) -> Result<Option<Arc<dyn Inbound>>, String> {
        match self.exported(exports, to) {
            Some(inbound) if inbound.type_tag() != tag => {
                Err(format!("{what} for actor {to:?} names another type"))
            }
            found => Ok(found),
        }
    }
}

/// Events read in a row for one actor, not yet delivered: their handlers, and
/// their arguments one after the other.
#[derive(Default)]
struct EventRun {
    to: WireId,
    tag: u64,
    events: Vec<(u16, std::ops::Range<usize>)>,
    args: Vec<u8>,
}

impl EventRun {
    fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Whether `event` can join the run: it is empty, or for the same actor.
    fn takes(&self, event: &TellRef<'_>) -> bool {
        self.is_empty() || (self.to, self.tag) == (event.to, event.tag)
    }

    fn add(&mut self, event: TellRef<'_>) {
        self.to = event.to;
        self.tag = event.tag;
        let start = self.args.len();
        self.args.extend_from_slice(event.args);
        self.events.push((event.variant, start..self.args.len()));
    }

    /// Queues the run for its actor and empties it; a refusal is logged (an event
    /// has no one to answer). An error closes the connection.
    fn deliver(&mut self, exports: &Exports, recent: &mut Recent) -> Result<(), String> {
        if self.is_empty() {
            return Ok(());
        }
        let found = recent.addressed(exports, self.to, self.tag, "an event");
        let (events, args) = (&self.events, &self.args);
        let delivered = match found {
            Err(reason) => Err(reason),
            Ok(None) => {
                log::debug!(
                    "stage-net: events for actor {:?}, which is not exported here",
                    self.to
                );
                Ok(())
            }
            Ok(Some(inbound)) => {
                let refused = match events.as_slice() {
                    // One event alone, the common case when traffic is light: no batch.
                    [(variant, range)] => inbound.deliver(Delivery::Message {
                        variant: *variant,
                        args: &args[range.clone()],
                        respond: None,
                    }),
                    events => inbound.deliver_events(
                        &mut events
                            .iter()
                            .map(|(variant, range)| (*variant, &args[range.clone()])),
                    ),
                };
                if let Err(error) = refused {
                    log::debug!(
                        "stage-net: an event for actor {:?} was refused: {error}",
                        self.to
                    );
                }
                Ok(())
            }
        };
        self.events.clear();
        self.args.clear();
        delivered
    }
}

/// Sends the answer to `call` back over `conn` when the actor gives it.
fn responder(conn: &Arc<Conn>, call: u64) -> Respond {
    let conn = Arc::downgrade(conn);
    Respond::new(move |result| {
        if let Some(conn) = conn.upgrade() {
            let result = result
                .map(serde_bytes::ByteBuf::from)
                .map_err(|e| WireError::from(&e));
            // A closed connection has failed the caller's side already.
            let _ = conn.push(Frame::Answer { call, result });
        }
    })
}

fn respond_now(conn: &Conn, call: u64, error: &SpeechError) {
    let _ = conn.push(Frame::Answer {
        call,
        result: Err(WireError::from(error)),
    });
}
