//! A member theatre as the runtime's addresses see it: a [`Link`] that lasts while
//! this theatre knows the peer, over whichever connection is current.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use stage_runtime::remote::{self, Body, Link, Receipt};
use stage_runtime::{ActorId, DownReason, SpeechError};

use crate::conn::{unreachable, Awaiting, Conn};
use crate::routes::{Routed, Routes};
use crate::sync::{read, write};
use crate::traffic::Traffic;
use crate::wire::frame::Frame;

/// A peer theatre.
pub(crate) struct Peer {
    /// Its identity (random, fresh at each start).
    pub(crate) theatre: u64,
    /// Where it listens.
    pub(crate) locator: String,
    /// The current connection, replaced when the peer is met again.
    pub(crate) conn: RwLock<Option<Arc<Conn>>>,
    /// The peer said goodbye: it will not come back under this identity.
    left: AtomicBool,
    /// Where letters for actors that moved go (this theatre's, shared by its
    /// peers).
    routes: Arc<Routes>,
    /// Counts the letters balanceable actors here send to the peer (see
    /// `balance.rs`).
    traffic: Arc<Traffic>,
    /// Which actors of this theatre have sent letters to the peer (see
    /// [`Speakers`]).
    speakers: Speakers,
}

/// The actors that have sent letters over a link, as a filter of 1,024 bits
/// (one per bucket of actors): a move asks the peers its actors may have sent
/// to for a barrier (see `migration.rs`), and no others. A set bit is never
/// cleared, so an actor may be thought a sender when another of its bucket
/// was (one barrier more), never the other way round. Setting a bit costs a
/// load when it is set already, as it is after an actor's first letter.
#[derive(Default)]
pub(crate) struct Speakers([AtomicU64; 16]);

impl Speakers {
    fn bucket(actor: ActorId) -> (usize, u64) {
        // Fibonacci hashing of the serial: serials are consecutive.
        let hash = actor.as_u64().wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 54;
        ((hash / 64) as usize, 1 << (hash % 64))
    }

    /// `actor` sends a letter over the link.
    #[inline]
    fn note(&self, actor: ActorId) {
        let (word, bit) = Self::bucket(actor);
        let word = &self.0[word];
        if word.load(Ordering::Relaxed) & bit == 0 {
            word.fetch_or(bit, Ordering::Relaxed);
        }
    }

    /// Whether `actor` may have sent letters over the link.
    pub(crate) fn may_have(&self, actor: ActorId) -> bool {
        let (word, bit) = Self::bucket(actor);
        self.0[word].load(Ordering::Relaxed) & bit != 0
    }
}

impl Peer {
    pub(crate) fn new(
        theatre: u64,
        locator: String,
        routes: Arc<Routes>,
        traffic: Arc<Traffic>,
    ) -> Self {
        Peer {
            theatre,
            locator,
            conn: RwLock::new(None),
            left: AtomicBool::new(false),
            routes,
            traffic,
            speakers: Speakers::default(),
        }
    }

    /// Which actors of this theatre have sent letters to the peer.
    pub(crate) fn speakers(&self) -> &Speakers {
        &self.speakers
    }

    /// Records that the peer said goodbye.
    pub(crate) fn leave(&self) {
        self.left.store(true, Ordering::SeqCst);
    }

    /// Whether the peer said goodbye.
    pub(crate) fn has_left(&self) -> bool {
        self.left.load(Ordering::SeqCst)
    }

    /// Lets go of a connection that has closed, and with it its socket.
    pub(crate) fn release_closed(&self) {
        let mut conn = write(&self.conn);
        if conn.as_ref().is_some_and(|c| !c.is_alive()) {
            *conn = None;
        }
    }

    /// The current connection, if it is alive.
    pub(crate) fn live(&self) -> Option<Arc<Conn>> {
        read(&self.conn).as_ref().filter(|c| c.is_alive()).cloned()
    }
}

pub(crate) use crate::conn::fail_body;

impl Peer {
    /// Sends a letter: a forwarded one ([`Link::forward`]) is never refused for
    /// lack of room.
    fn letter(
        &self,
        actor: ActorId,
        tag: u64,
        body: Body,
        forwarded: bool,
    ) -> Result<(), SpeechError> {
        // An actor that moved, and whose new place this theatre has learnt.
        let body = match self.routes.route(actor, tag, body, forwarded) {
            Routed::Here(body) => body,
            Routed::Done(result) => return result,
        };
        if let Some(speaker) = remote::current_actor() {
            self.speakers.note(speaker);
            if self.traffic.is_on() {
                self.traffic.count(speaker.to_wire(), self.theatre, 1);
            }
        }
        let actor = actor.to_wire();
        let Some(conn) = self.live() else {
            fail_body(body, unreachable());
            return Err(unreachable());
        };
        match body {
            Body::Message {
                variant,
                args,
                answer: None,
            } => conn.push_tell(forwarded, actor, tag, (variant, &args)),
            Body::Message {
                variant,
                args,
                answer: Some(answer),
            } => conn.ask_as(forwarded, Awaiting::Answer(answer), |call| Frame::Ask {
                to: actor,
                tag,
                variant,
                args,
                call,
            }),
            Body::Flush { answer } => {
                conn.call_behind(Awaiting::Answer(answer), |call| Frame::Flush {
                    to: actor,
                    tag,
                    call,
                })
            }
            Body::Fence { token } => conn.push_behind(Frame::Fence {
                to: actor,
                tag,
                token: token.to_wire(),
            }),
            Body::Stop { answer } => {
                conn.call_behind(Awaiting::Answer(answer), |call| Frame::Stop {
                    to: actor,
                    tag,
                    call,
                })
            }
            Body::Eval {
                site,
                check,
                captures,
                answer,
            } => conn.ask_as(forwarded, Awaiting::Answer(answer), |call| Frame::Eval {
                to: actor,
                tag,
                site,
                check,
                captures,
                call,
            }),
        }
    }
}

impl Link for Peer {
    fn send(&self, actor: ActorId, tag: u64, body: Body) -> Result<(), SpeechError> {
        self.letter(actor, tag, body, false)
    }

    fn hold(&self, actor: ActorId, receipt: Receipt) {
        // Only the receipt of letters sent here directly waits (see
        // `Conn::hold`).
        if receipt.is_forwarded() {
            return;
        }
        // Behind the letters it came with, wherever they went.
        let Some(receipt) = self.routes.hold(actor, receipt) else {
            return;
        };
        if let Some(conn) = self.live() {
            conn.hold(receipt);
        }
    }

    fn congested(&self) -> bool {
        self.live().is_some_and(|conn| conn.congested())
    }

    fn forward(&self, actor: ActorId, tag: u64, body: Body) -> Result<(), SpeechError> {
        self.letter(actor, tag, body, true)
    }

    fn locator(&self) -> &str {
        &self.locator
    }

    fn theatre(&self) -> u64 {
        self.theatre
    }

    fn watch(&self, actor: ActorId, tag: u64, then: Box<dyn FnOnce(DownReason) + Send>) {
        let actor = actor.to_wire();
        match self.live() {
            // A failed call runs `then` with `Unreachable`.
            Some(conn) => {
                let _ = conn.call(Awaiting::Watch(then), |call| Frame::Watch {
                    to: actor,
                    tag,
                    call,
                });
            }
            None => then(DownReason::Unreachable),
        }
    }
}
