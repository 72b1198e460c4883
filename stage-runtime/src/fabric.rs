//! The seam the network crate plugs into. The runtime knows nothing of sockets: a
//! network layer (`stage-net`) gives it a [`Fabric`] per theatre (exported actors,
//! links to peers) and a [`Link`] per peer; it gets back, for each local actor
//! peers may speak to, an [`Inbound`]. Letters cross as [`Body`] (out) and
//! [`Delivery`] (in); answers as [`Answer`] (the asker's side) and [`Respond`]
//! (the answerer's side).

use std::fmt;
use std::sync::Arc;

use crate::id::ActorId;
use crate::speech::{MigrationError, SpeechError};
use crate::supervision::DownReason;

/// A connection to a peer theatre, as the runtime sees it.
pub trait Link: Send + Sync + 'static {
    /// Sends `body` to the actor `actor` (of the type whose tag is `type_tag`) on
    /// the peer.
    ///
    /// # Errors
    ///
    /// `Failed(Unreachable)` when the peer cannot be reached. Either way the body's
    /// answer (if any) is consumed: on failure the link answers it with the error.
    fn send(&self, actor: ActorId, type_tag: u64, body: Body) -> Result<(), SpeechError>;

    /// The peer's locator (`stage://host:port`), for `Debug` and for sending the
    /// address on.
    fn locator(&self) -> &str;

    /// The peer theatre's identity, for address equality.
    fn theatre(&self) -> u64;

    /// The universal name, for a link that reaches an actor by name wherever it
    /// runs (activation on demand): such an address travels as its name.
    fn name(&self) -> Option<&str> {
        None
    }

    /// Sends `body`, a letter that this theatre had accepted for an actor that has
    /// moved to the peer, on to it. Unlike [`Link::send`] it is not refused for
    /// lack of room (its sender was told it was accepted); the default sends it
    /// as any other.
    ///
    /// # Errors
    ///
    /// As [`Link::send`].
    fn forward(&self, actor: ActorId, type_tag: u64, body: Body) -> Result<(), SpeechError> {
        self.send(actor, type_tag, body)
    }

    /// Keeps `receipt`, which came with letters for the actor `actor` that this
    /// theatre forwarded to the peer ([`Link::forward`]), until every letter
    /// forwarded before it has gone within the peer's window. So the sender of
    /// forwarded letters is held back by the window of the theatre that takes
    /// them, not only by this one's. The default lets it go at once.
    fn hold(&self, actor: ActorId, receipt: Receipt) {
        let _ = (actor, receipt);
    }

    /// Whether letters forwarded to the peer now would wait (for its window, see
    /// [`Link::hold`]): a theatre that holds letters it accepted for this link
    /// (while it learns where an actor went) takes no more until they can go.
    /// The default says no.
    fn congested(&self) -> bool {
        false
    }

    /// Runs `then` with the reason when the actor `actor` (of the type tagged
    /// `type_tag`) on the peer ends, or with `DownReason::Unreachable` when the
    /// peer can no longer be reached. The default registers nothing.
    fn watch(&self, actor: ActorId, type_tag: u64, then: Box<dyn FnOnce(DownReason) + Send>) {
        let _ = (actor, type_tag, then);
    }
}

/// An encoded letter for an actor on another theatre.
#[derive(Debug)]
pub enum Body {
    /// A speech act: the handler's position, its arguments, and where the answer goes
    /// (for `query!` and `request!`).
    Message {
        /// The handler, by position in the actor's message enum.
        variant: u16,
        /// The arguments: a MessagePack array.
        args: Vec<u8>,
        /// Where the answer goes; `None` for `notify!`.
        answer: Option<Answer>,
    },
    /// `Addr::stop`.
    Stop {
        /// Where the acknowledgement goes.
        answer: Answer,
    },
    /// A Star-form expression: where its code lies in the program, and its captured
    /// values (see the `star` module).
    Eval {
        /// The entry's distance from the anchor function.
        site: i64,
        /// The hash of the site's types, checked by the entry.
        check: u64,
        /// The captured values: one MessagePack value (a tuple).
        captures: Vec<u8>,
        /// Where the answer goes.
        answer: Answer,
    },
    /// A marker sent along the forwarders an actor left behind, after every
    /// letter they have forwarded: it tells the theatre the actor returned to
    /// that nothing sent the old way is still on its way (see `migration.rs` in
    /// `stage-net`).
    Fence {
        /// Which return it ends.
        token: ActorId,
    },
    /// Answered by the actor once it has taken every letter sent before this
    /// one the same way (through every forwarder on the way): a sender that
    /// learnt the actor moved sends it the old way before it sends the new.
    Flush {
        /// Where the acknowledgement goes.
        answer: Answer,
    },
}

/// The sending side's end of a remote reply: decodes the answer's bytes into the
/// reply the caller holds.
pub struct Answer(Box<AnswerFn>);

/// What an [`Answer`] runs: decode the bytes into the caller's reply.
type AnswerFn = dyn FnOnce(Result<&[u8], SpeechError>) + Send;

impl Answer {
    /// An answer that runs `answer` with the encoded answer, or the error.
    pub fn new(answer: impl FnOnce(Result<&[u8], SpeechError>) + Send + 'static) -> Self {
        Answer(Box::new(answer))
    }

    /// Answers the caller with the encoded answer, or with an error.
    pub fn answer(self, result: Result<&[u8], SpeechError>) {
        (self.0)(result)
    }

    /// Answers the caller with `error`.
    pub fn fail(self, error: SpeechError) {
        (self.0)(Err(error))
    }
}

impl fmt::Debug for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Answer")
    }
}

/// The receiving side's end of a remote reply: takes the encoded answer back to the
/// caller's theatre.
pub struct Respond {
    send: Box<dyn FnOnce(Result<Vec<u8>, SpeechError>) + Send>,
}

impl Respond {
    /// A responder that hands the encoded answer (or the error) to `send`.
    pub fn new(send: impl FnOnce(Result<Vec<u8>, SpeechError>) + Send + 'static) -> Self {
        Respond {
            send: Box::new(send),
        }
    }

    pub(crate) fn respond(self, result: Result<Vec<u8>, SpeechError>) {
        (self.send)(result)
    }
}

impl fmt::Debug for Respond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Respond")
    }
}

/// An encoded letter arriving for a local actor.
#[derive(Debug)]
pub enum Delivery<'a> {
    /// A speech act.
    Message {
        /// The handler, by position.
        variant: u16,
        /// The arguments, as the sender's [`ArgWriter`](crate::remote::ArgWriter) wrote them.
        args: &'a [u8],
        /// Where the answer goes, for a query or request.
        respond: Option<Respond>,
    },
    /// `Addr::stop` from afar.
    Stop {
        /// Where the acknowledgement goes.
        respond: Respond,
    },
    /// A [`Body::Flush`].
    Flush {
        /// Where the acknowledgement goes.
        respond: Respond,
    },
    /// A [`Body::Fence`] to pass on (it reached a forwarder).
    Fence {
        /// Which return it ends.
        token: ActorId,
    },
    /// A Star-form expression ([`Body::Eval`]).
    Eval {
        /// The entry's distance from the anchor function.
        site: i64,
        /// The hash of the site's types.
        check: u64,
        /// The encoded captured values.
        captures: &'a [u8],
        /// Where the answer goes.
        respond: Respond,
    },
}

/// A token handed in with letters delivered from a peer: it runs its closure
/// when dropped, which happens once the actor has taken every letter delivered
/// with it from its mailbox (or the letters were refused, or the actor ended).
/// A network layer uses it to bound the letters from one peer that a theatre
/// holds at once: it grants the peer more only as receipts come back.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use stage_runtime::remote::Receipt;
///
/// let back = Arc::new(AtomicBool::new(false));
/// let receipt = Receipt::new({
///     let back = Arc::clone(&back);
///     move || back.store(true, Ordering::SeqCst)
/// });
/// drop(receipt);
/// assert!(back.load(Ordering::SeqCst));
/// ```
#[derive(Default)]
pub struct Receipt(Option<Box<dyn Back>>);

// A receipt is two words, as before it could say it was forwarded: a letter
// in a mailbox carries one, and a larger one made every letter larger.
const _: () = assert!(std::mem::size_of::<Receipt>() == 2 * std::mem::size_of::<usize>());

/// What a [`Receipt`] runs when dropped, and whether its letters were
/// forwarded (one box: a receipt stays two words, as a letter in a mailbox
/// carries one).
trait Back: Send {
    fn run(self: Box<Self>);
    fn forwarded(&self) -> bool;
}

/// A closure as a [`Back`].
struct Closure<F> {
    back: F,
    forwarded: bool,
}

impl<F: FnOnce() + Send> Back for Closure<F> {
    fn run(self: Box<Self>) {
        (self.back)();
    }

    fn forwarded(&self) -> bool {
        self.forwarded
    }
}

impl Receipt {
    /// A receipt that runs `back` when dropped.
    pub fn new(back: impl FnOnce() + Send + 'static) -> Self {
        Receipt(Some(Box::new(Closure {
            back,
            forwarded: false,
        })))
    }

    /// A receipt, as [`Receipt::new`], for letters that a peer forwarded (they
    /// were sent to an actor that had moved on from it): a network layer keeps
    /// the receipt of letters sent to it directly while it forwards them, and
    /// lets the receipt of letters that were forwarded to it go once they are
    /// on their way again.
    ///
    /// ```
    /// use stage_runtime::remote::Receipt;
    ///
    /// assert!(Receipt::forwarded(|| {}).is_forwarded());
    /// assert!(!Receipt::new(|| {}).is_forwarded());
    /// ```
    pub fn forwarded(back: impl FnOnce() + Send + 'static) -> Self {
        Receipt(Some(Box::new(Closure {
            back,
            forwarded: true,
        })))
    }

    /// Whether it came with letters a peer forwarded ([`Receipt::forwarded`]).
    pub fn is_forwarded(&self) -> bool {
        self.0.as_ref().is_some_and(|back| back.forwarded())
    }

    /// Whether dropping it does anything.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }
}

impl Drop for Receipt {
    fn drop(&mut self) {
        if let Some(back) = self.0.take() {
            back.run();
        }
    }
}

impl fmt::Debug for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Receipt")
    }
}

/// A local actor that remote theatres may speak to (see `inbound.rs` for the one
/// implementation).
pub trait Inbound: Send + Sync + 'static {
    /// The actor's identity.
    fn id(&self) -> ActorId;
    /// The tag of its type ([`type_tag`](crate::remote::type_tag)).
    fn type_tag(&self) -> u64;
    /// The name of its type, for error messages.
    fn type_name(&self) -> &'static str;
    /// Decodes `delivery` and queues it for the actor.
    ///
    /// # Errors
    ///
    /// A decode error (`Failed(Wire)`) or the actor's refusal. The responder, if any,
    /// has been answered with the same error.
    ///
    /// `receipt` is dropped once the letter has been taken from the mailbox by the
    /// actor, or refused: a network layer counts what it has delivered and not yet
    /// seen taken (see [`Receipt`]).
    fn deliver(&self, delivery: Delivery<'_>, receipt: Receipt) -> Result<(), SpeechError>;
    /// Decodes a run of events (handler position, arguments) and queues them for
    /// the actor, in order, as one batch. An event that does not decode is left
    /// out, and the first such error returned; the others are queued all the same.
    /// An event the actor refuses is dropped, as one delivered alone would be.
    /// The events are queued even past a bounded mailbox's capacity: their sender
    /// was told they were accepted, and the network layer bounds how many it hands
    /// over before their `receipt` (dropped once the actor has taken them all) comes
    /// back.
    ///
    /// # Errors
    ///
    /// The first event's decode error.
    fn deliver_events(
        &self,
        events: &mut dyn Iterator<Item = (u16, &[u8])>,
        receipt: Receipt,
    ) -> Result<(), SpeechError>;
    /// Runs `then` with the reason once the actor has ended (at once if it has
    /// already).
    fn on_end(&self, then: Box<dyn FnOnce(DownReason) + Send>);
    /// Where the actor went, once it has left this theatre: the identity of the
    /// theatre it went to, that theatre's locator, and the alias it has there.
    /// The default: it never moves.
    fn moved_to(&self) -> Option<(u64, String, ActorId)> {
        None
    }
    /// Moves the actor to the theatre at `to`, if it is a mobile actor that runs
    /// here (a theatre that leaves moves its actors away): `then` hears the
    /// outcome once it runs there, or why not. `false` (and `then` dropped) for
    /// an actor that does not move.
    fn evacuate(&self, to: &str, then: Box<dyn FnOnce(Result<(), SpeechError>) + Send>) -> bool {
        let _ = (to, then);
        false
    }
    /// The exported actor, for turning it back into a typed address.
    fn as_any(&self) -> &dyn std::any::Any;
}

/// What a network layer offers the runtime so that addresses can travel inside
/// messages: a theatre's table of exported actors and its links to peers.
pub trait Fabric: Send + Sync + 'static {
    /// This theatre's identity.
    fn theatre(&self) -> u64;
    /// `false` once the theatre has shut down (its stage may then join another).
    fn is_open(&self) -> bool;
    /// This theatre's locator (`stage://host:port`).
    fn locator(&self) -> &str;
    /// Makes a local actor reachable from peers; exporting one twice keeps the first.
    fn export(&self, inbound: Arc<dyn Inbound>);
    /// The exported actor `actor`.
    fn exported(&self, actor: ActorId) -> Option<Arc<dyn Inbound>>;
    /// A link to the theatre `theatre`, which listens at `locator`.
    ///
    /// # Errors
    ///
    /// Why no link can be made (for the decoding error).
    fn link(&self, theatre: u64, locator: &str) -> Result<Arc<dyn Link>, FabricError>;
    /// A link to the actor by universal name `name` (activation on demand).
    ///
    /// # Errors
    ///
    /// Why no link can be made (for the decoding error).
    fn named(&self, name: &str) -> Result<Arc<dyn Link>, FabricError>;
    /// Carries `emigrants` (one actor, or a clique) to the theatre at `to`, which
    /// starts them under their identities; `then` runs with the link to it once
    /// it has acknowledged, or with why not. All of them arrive, or none.
    /// The default carries nothing.
    fn migrate(&self, to: &str, emigrants: Vec<Emigrant>, then: Box<dyn FnOnce(Landing) + Send>) {
        let _ = (to, emigrants);
        then(Err(MigrationError::Unreachable(
            "this theatre does not carry actors".into(),
        )));
    }
}

/// Why a [`Fabric`] cannot give a link.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FabricError {
    /// The theatre has shut down.
    Closed,
    /// No link to that theatre can be made; the text says why.
    NoLink(String),
}

impl fmt::Display for FabricError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FabricError::Closed => f.write_str("this theatre has shut down"),
            FabricError::NoLink(why) => write!(f, "no link to that theatre: {why}"),
        }
    }
}

impl std::error::Error for FabricError {}

/// One actor on its way to another theatre: its identity, its type, its state.
#[derive(Debug, Clone)]
pub struct Emigrant {
    /// The actor's identity, kept on the target.
    pub actor: ActorId,
    /// Its type's tag ([`type_tag`](crate::remote::type_tag)).
    pub type_tag: u64,
    /// Its type's name, for error messages.
    pub type_name: &'static str,
    /// Its state, serialised (MessagePack).
    pub state: Vec<u8>,
}

/// Where a move took its actors: the link to the theatre that runs them now,
/// and the alias it gave each (letters the cells left behind forward go to the
/// alias; see `migration.rs` in `stage-net`).
#[derive(Clone)]
pub struct Arrival {
    /// The link to the target.
    pub link: Arc<dyn Link>,
    /// Each actor's identity, and its alias on the target.
    pub aliases: Vec<(ActorId, ActorId)>,
}

impl fmt::Debug for Arrival {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Arrival")
            .field("at", &self.link.locator())
            .field("aliases", &self.aliases)
            .finish()
    }
}

/// What the network layer reports when a move ends: where the actors run now,
/// or why they did not move.
pub type Landing = Result<Arrival, MigrationError>;
