//! A local actor as peers reach it: the [`Inbound`] side of an actor that the
//! network layer puts in its table of exported actors. It decodes what arrives
//! (by code the `#[behaviour]` macro generates) into the actor's own letters and
//! queues them like any other; a question's answer is awaited on the actor's
//! stage and encoded back to the asker.

use std::sync::Arc;

use crate::actor::Actor;
use crate::addr::Addr;
use crate::fabric::{Delivery, Inbound, Receipt, Respond};
use crate::id::ActorId;
use crate::letter::Letter;
use crate::reply::{reply_pair, ReplySender};
use crate::scheduler::Scheduler;
use crate::speech::{Speaker, SpeechError};
use crate::supervision::DownReason;
use crate::wire::{type_tag, wire_error, Put};

/// A responder with the stage that runs the answering actor (which awaits the answer
/// and sends it back).
#[derive(Debug)]
pub struct Incoming {
    respond: Respond,
    stage: Arc<Scheduler>,
}

/// The inbound side of a local actor.
struct Exported<A: Actor> {
    addr: Addr<A>,
}

impl<A: Actor> Inbound for Exported<A> {
    fn id(&self) -> ActorId {
        self.addr.id()
    }

    fn type_tag(&self) -> u64 {
        type_tag::<A>()
    }

    fn type_name(&self) -> &'static str {
        std::any::type_name::<A>()
    }

    fn deliver(&self, delivery: Delivery<'_>, receipt: Receipt) -> Result<(), SpeechError> {
        // The actor's own cell (`export` takes only local ones): after a move, its
        // forwarder.
        let cell = self.addr.cell();
        // The stage (which awaits an answer and sends it back) only for an ask.
        let stage = || Arc::clone(cell.stage());
        let letter = match delivery {
            Delivery::Message {
                variant,
                args,
                respond: None,
            } => {
                // An event from a peer: taken like a run of one, past a bound if
                // need be (its sender was told it was accepted). Without a
                // receipt (a sender on this theatre) the bound holds.
                let msg = A::__decode(variant, args, &mut None)?;
                if receipt.is_empty() {
                    return cell
                        .send_from(Letter::Speech(msg), Speaker::Outside)
                        .map_err(|(letter, error)| {
                            letter.refuse(error.clone());
                            error
                        });
                }
                cell.send_all_from(
                    std::iter::once(Letter::Speech(msg)),
                    Speaker::Outside,
                    receipt,
                );
                return Ok(());
            }
            Delivery::Message {
                variant,
                args,
                respond,
            } => {
                let mut incoming = respond.map(|respond| Incoming {
                    respond,
                    stage: stage(),
                });
                let decoded = A::__decode(variant, args, &mut incoming);
                Letter::Speech(answered(decoded, incoming)?)
            }
            Delivery::Stop { respond } => Letter::Stop(respond_with_unit(respond, stage())),
            Delivery::Flush { respond } => Letter::Flush(respond_with_unit(respond, stage())),
            // Passed on in order (this is a forwarder), or dropped by the actor.
            Delivery::Fence { token } => {
                // A fence crosses as a control frame: never refused for room.
                return cell
                    .send_from(Letter::Fence(token), Speaker::Outside)
                    .map_err(|(_, error)| error);
            }
            Delivery::Eval {
                site,
                check,
                captures,
                respond,
            } => {
                let mut incoming = Some(Incoming {
                    respond,
                    stage: stage(),
                });
                let decoded = crate::star::letter::<A>(site, check, captures, &mut incoming);
                answered(decoded, incoming)?
            }
        };
        // A question is refused by a full bounded mailbox, as a local one is (its
        // asker is answered `Denied(Busy)`); the receipt follows it in.
        match cell.send_from(letter, Speaker::Outside) {
            Ok(()) => {
                cell.send_all_from(std::iter::empty(), Speaker::Outside, receipt);
                Ok(())
            }
            Err((letter, error)) => {
                letter.refuse(error.clone());
                Err(error)
            }
        }
    }

    fn deliver_events(
        &self,
        events: &mut dyn Iterator<Item = (u16, &[u8])>,
        receipt: Receipt,
    ) -> Result<(), SpeechError> {
        let cell = self.addr.cell();
        let mut first = Ok(());
        let letters =
            events.filter_map(
                |(variant, args)| match A::__decode(variant, args, &mut None) {
                    Ok(msg) => Some(Letter::Speech(msg)),
                    Err(error) => {
                        if first.is_ok() {
                            first = Err(error);
                        }
                        None
                    }
                },
            );
        cell.send_all_from(letters, Speaker::Outside, receipt);
        first
    }

    fn on_end(&self, then: Box<dyn FnOnce(DownReason) + Send>) {
        self.addr.watch(Box::new(move |down| then(down.reason)));
    }

    fn evacuate(&self, to: &str, then: Box<dyn FnOnce(Result<(), SpeechError>) + Send>) -> bool {
        let mobile = crate::mobility::is_mobile_type(type_tag::<A>());
        if !mobile || !self.addr.is_local() {
            return false;
        }
        let moved = crate::mobility::migrate_any(&self.addr, to.to_owned());
        self.addr
            .cell()
            .stage()
            .spawn_future(async move { then(moved.await) });
        true
    }

    fn moved_to(&self) -> Option<(u64, String, ActorId)> {
        let to = self.addr.cell().moved_to()?;
        let remote = to.remote_actor()?;
        Some((
            remote.link.theatre(),
            remote.link.locator().to_owned(),
            remote.actor,
        ))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `result`, after answering with its error the responder a decoder left in
/// `incoming` (one that failed before taking it).
fn answered<T>(
    result: Result<T, SpeechError>,
    incoming: Option<Incoming>,
) -> Result<T, SpeechError> {
    if let (Err(error), Some(incoming)) = (&result, incoming) {
        incoming.respond.respond(Err(error.clone()));
    }
    result
}

/// The inbound side of `addr`, for a network layer to put in its table of exported
/// actors; `None` when `addr` is itself remote (send its own location instead).
pub fn export<A: Actor>(addr: &Addr<A>) -> Option<Arc<dyn Inbound>> {
    addr.local_cell()?;
    Some(Arc::new(Exported { addr: addr.clone() }))
}

/// The address of the local actor behind `inbound`, if it is an `A`.
pub fn local_addr<A: Actor>(inbound: &dyn Inbound) -> Option<Addr<A>> {
    inbound
        .as_any()
        .downcast_ref::<Exported<A>>()
        .map(|exported| exported.addr.clone())
}

/// The receiving side of a query or request: a reply sender whose answer is encoded
/// and handed to the responder, which is taken from `incoming`. A query sent without
/// a reply is refused.
///
/// # Errors
///
/// `Failed(Wire)` when the message came without a responder.
pub fn respond_with<R: Send + 'static>(
    incoming: &mut Option<Incoming>,
    put: Put<R>,
) -> Result<ReplySender<R>, SpeechError> {
    let Some(Incoming { respond, stage }) = incoming.take() else {
        return Err(wire_error("a query or request arrived without a reply"));
    };
    let (reply, tx) = reply_pair::<R>();
    stage.spawn_future(async move {
        let answer = reply.await.and_then(|value| {
            let mut out = Vec::new();
            put(&value, &mut out).map(|()| out)
        });
        respond.respond(answer);
    });
    Ok(tx)
}

fn respond_with_unit(respond: Respond, stage: Arc<Scheduler>) -> ReplySender<()> {
    let (reply, tx) = reply_pair::<()>();
    stage.spawn_future(async move {
        respond.respond(reply.await.map(|()| Vec::new()));
    });
    tx
}
