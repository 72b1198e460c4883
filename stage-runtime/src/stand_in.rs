//! Stand-ins: what an [`Addr`] points to when the actor is not here. An address is
//! one pointer to a cell; for an actor elsewhere the cell has no actor of its own
//! and a [`StandIn`] says where its letters go: a promise (an address made from a
//! `Reply<Addr<A>>`, whose letters wait for the reply), or an actor on another
//! theatre (whose letters are encoded and handed to the link).
//!
//! Why a cell and not an enum `Addr`: an `Addr` that was an enum of local and
//! remote measured 12 ns slower per ping-pong message, since every local send then
//! tested for the remote case. A stand-in's mailbox is closed from the start, so
//! its letters take the send path's out-of-line refusal branch, and the local path
//! carries no test for them.

use std::sync::{Arc, OnceLock};

use crate::actor::Actor;
use crate::addr::Addr;
use crate::fabric::{Body, Link};
use crate::id::ActorId;
use crate::letter::Letter;
use crate::speech::SpeechError;
use crate::supervision::Down;
use crate::wire::{answer_to_unit, not_portable, type_tag};

/// A cell that stands for an actor elsewhere.
pub(crate) enum StandIn<A: Actor> {
    /// A promise (an address made from a `Reply<Addr<A>>`).
    Promise {
        /// The actor the reply resolved to, to which every letter is forwarded in
        /// order.
        forward: OnceLock<Addr<A>>,
        /// Why letters are refused once the reply has failed: that reply's error.
        refusal: OnceLock<SpeechError>,
    },
    /// An actor on another theatre. The cell's mailbox is closed from the start, so
    /// a letter to it takes the refusal path of `send_from`, which encodes it for
    /// the link instead: the send path of local actors carries no test for remote
    /// ones.
    Remote(RemoteActor),
    // The third kind, a forwarder (the place an actor left, pointing to where it
    // went), is the actor's own cell after a move: see `Moved` in `cell.rs`.
}

/// An address for the actor `actor` on the theatre behind `link`; `stage` (the
/// theatre's) counts the work of handing letters to the link.
pub fn remote<A: Actor>(stage: &crate::Stage, link: Arc<dyn Link>, actor: ActorId) -> Addr<A> {
    Addr::from_cell(crate::cell::ActorCell::remote(
        stage.shared(),
        RemoteActor { link, actor },
    ))
}

/// Where a remote address points: the peer's locator and theatre identity, and the
/// actor's identity. `None` for a local address.
pub fn location<A: Actor>(addr: &Addr<A>) -> Option<(&str, u64, ActorId)> {
    addr.remote_actor()
        .map(|r| (r.link.locator(), r.link.theatre(), r.actor))
}

/// An actor on another theatre: the link to it and its identity.
pub(crate) struct RemoteActor {
    pub(crate) link: Arc<dyn Link>,
    pub(crate) actor: ActorId,
}

impl RemoteActor {
    /// Registers `watcher` with the actor's theatre.
    pub(crate) fn watch<A: Actor>(&self, watcher: Box<dyn FnOnce(Down) + Send>) {
        let actor = self.actor;
        self.link.watch(
            actor,
            type_tag::<A>(),
            Box::new(move |reason| watcher(Down { actor, reason })),
        );
    }

    /// Encodes `letter` and hands it to the link.
    pub(crate) fn send<A: Actor>(&self, letter: Letter<A>) -> Result<(), SpeechError> {
        let Some(body) = Self::body(letter)? else {
            return Ok(());
        };
        self.link.send(self.actor, type_tag::<A>(), body)
    }

    /// Encodes `letter`, which the actor's old place had accepted, and hands it to
    /// the link as a forwarded letter ([`Link::forward`]).
    /// A receipt that came with the letters is held by the link until they
    /// have gone ([`Link::hold`]).
    pub(crate) fn forward<A: Actor>(&self, letter: Letter<A>) -> Result<(), SpeechError> {
        let letter = match letter {
            Letter::Receipt(receipt) => {
                self.link.hold(self.actor, receipt);
                return Ok(());
            }
            letter => letter,
        };
        let Some(body) = Self::body(letter)? else {
            return Ok(());
        };
        self.link.forward(self.actor, type_tag::<A>(), body)
    }

    /// The body `letter` crosses the wire as; `None` for a letter that does not
    /// cross (a receipt, a marker).
    fn body<A: Actor>(letter: Letter<A>) -> Result<Option<Body>, SpeechError> {
        let body = match letter {
            Letter::Speech(msg) => A::__encode(msg)?,
            Letter::Stop(reply) => Body::Stop {
                answer: answer_to_unit(reply),
            },
            Letter::Star(call) => call.portable()?,
            Letter::Own(call) => {
                let error = not_portable("an actor's own continuation never leaves its theatre");
                call.refuse(error.clone());
                return Err(error);
            }
            Letter::Fence(token) => Body::Fence { token },
            Letter::Flush(reply) => Body::Flush {
                answer: answer_to_unit(reply),
            },
            Letter::Escalated | Letter::Answered | Letter::Receipt(_) => return Ok(None),
        };
        Ok(Some(body))
    }
}
