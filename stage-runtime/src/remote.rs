//! Actors on other theatres: what an [`Addr`] needs from a network layer, and how an
//! actor's messages and answers are put on the wire.
//!
//! The runtime knows nothing of sockets. A network layer (`stage-net`) gives it a
//! [`Link`] per peer theatre; an address of a remote actor is a stand-in cell that
//! holds the link and the actor's number there. Its mailbox is closed from the
//! start, so a letter sent to it takes the (out-of-line) refusal path, which encodes
//! it (by code the `#[behaviour]` macro generates, through
//! [`Wire`](crate::actor::Wire)) and hands it to the link: an `Addr` stays one
//! pointer, and the send path of local actors has no test for remote ones. On the other side the network layer finds the actor by number in the
//! table of actors it has exported ([`Inbound`]) and delivers the encoded message,
//! which is decoded into the actor's own message type and queued like any other.
//!
//! Arguments travel as one MessagePack array, each element encoded with rmp-serde;
//! answers as one MessagePack value. Both ends run the same binary: a message names
//! its handler by position, and the actor type by a hash of its name.
//!
//! This module is the interface between the runtime and `stage-net`; users never
//! need it, hence hidden.

use std::fmt;
use std::sync::Arc;

use crate::actor::{Actor, ActorId, Letter};
use crate::addr::Addr;
use crate::reply::{reply_pair, ReplySender};
use crate::scheduler::Shared;
use crate::speech::{Failure, Speaker, SpeechError};
use crate::supervision::{Down, DownReason};

/// A connection to a peer theatre, as the runtime sees it.
pub trait Link: Send + Sync + 'static {
    /// Sends `body` to the actor numbered `actor` (of the type whose tag is
    /// `type_tag`) on the peer.
    ///
    /// # Errors
    ///
    /// `Failed(Unreachable)` when the peer cannot be reached. Either way the body's
    /// answer (if any) is consumed: on failure the link answers it with the error.
    fn send(&self, actor: u64, type_tag: u64, body: Body) -> Result<(), SpeechError>;

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

    /// Runs `then` with the reason when the actor numbered `actor` (of the type
    /// tagged `type_tag`) on the peer ends, or with `DownReason::Unreachable` when
    /// the peer can no longer be reached. The default registers nothing.
    fn watch(&self, actor: u64, type_tag: u64, then: Box<dyn FnOnce(DownReason) + Send>) {
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
}

/// The sending side's end of a remote reply: decodes the answer's bytes into the
/// reply the caller holds.
pub struct Answer(Box<AnswerFn>);

/// What an [`Answer`] runs: decode the bytes into the caller's reply.
type AnswerFn = dyn FnOnce(Result<&[u8], SpeechError>) + Send;

impl Answer {
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

    fn respond(self, result: Result<Vec<u8>, SpeechError>) {
        (self.send)(result)
    }
}

impl fmt::Debug for Respond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Respond")
    }
}

/// A responder with the stage that runs the answering actor (which awaits the answer
/// and sends it back).
#[derive(Debug)]
pub struct Incoming {
    respond: Respond,
    stage: Arc<Shared>,
}

/// An encoded letter arriving for a local actor.
#[derive(Debug)]
pub enum Delivery<'a> {
    /// A speech act.
    Message {
        /// The handler, by position.
        variant: u16,
        /// The arguments, as the sender's [`ArgWriter`] wrote them.
        args: &'a [u8],
        /// Where the answer goes, for a query or request.
        respond: Option<Respond>,
    },
    /// `Addr::stop` from afar.
    Stop {
        /// Where the acknowledgement goes.
        respond: Respond,
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

/// A local actor that remote theatres may speak to.
pub trait Inbound: Send + Sync + 'static {
    /// The actor's identity here.
    fn id(&self) -> ActorId;
    /// The tag of its type ([`type_tag`]).
    fn type_tag(&self) -> u64;
    /// The name of its type, for error messages.
    fn type_name(&self) -> &'static str;
    /// Decodes `delivery` and queues it for the actor.
    ///
    /// # Errors
    ///
    /// A decode error (`Failed(Wire)`) or the actor's refusal. The responder, if any,
    /// has been answered with the same error.
    fn deliver(&self, delivery: Delivery<'_>) -> Result<(), SpeechError>;
    /// Decodes a run of events (handler position, arguments) and queues them for
    /// the actor, in order, as one batch. An event that does not decode is left
    /// out, and the first such error returned; the others are queued all the same.
    /// An event the actor refuses is dropped, as one delivered alone would be.
    ///
    /// # Errors
    ///
    /// The first event's decode error.
    fn deliver_events(
        &self,
        events: &mut dyn Iterator<Item = (u16, &[u8])>,
    ) -> Result<(), SpeechError>;
    /// Runs `then` with the reason once the actor has ended (at once if it has
    /// already).
    fn on_end(&self, then: Box<dyn FnOnce(DownReason) + Send>);
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
    /// The exported actor numbered `actor`.
    fn exported(&self, actor: u64) -> Option<Arc<dyn Inbound>>;
    /// The stage of this theatre, for the addresses decoded here.
    fn stage(&self) -> Option<crate::Stage>;
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

/// Makes `stage` part of the theatre behind `fabric`: addresses of its actors sent
/// to other theatres are exported through it. `false` if the stage belongs to an
/// open theatre already (a stage serves one theatre at a time).
pub fn attach(stage: &crate::Stage, fabric: Arc<dyn Fabric>) -> bool {
    let mut slot = stage
        .shared()
        .fabric
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if slot.as_ref().is_some_and(|current| current.is_open()) {
        return false;
    }
    *slot = Some(fabric);
    true
}

/// The open theatre `stage` belongs to.
fn fabric_of(stage: &Shared) -> Option<Arc<dyn Fabric>> {
    let slot = stage
        .fabric
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    slot.as_ref().filter(|fabric| fabric.is_open()).cloned()
}

thread_local! {
    /// The theatre whose peer's bytes this thread is decoding, for addresses inside
    /// them.
    static DECODING: std::cell::RefCell<Option<Arc<dyn Fabric>>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `f` with `fabric` as the theatre that addresses decoded on this thread
/// belong to (a network layer wraps its reading of a peer's frames in this).
pub fn decoding_for<R>(fabric: Arc<dyn Fabric>, f: impl FnOnce() -> R) -> R {
    struct Reset(Option<Arc<dyn Fabric>>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let previous = self.0.take();
            DECODING.with(|d| *d.borrow_mut() = previous);
        }
    }
    let previous = DECODING.with(|d| d.borrow_mut().replace(fabric));
    let _reset = Reset(previous);
    f()
}

/// An address on the wire: the actor's theatre (identity and locator), its number
/// there, and its type's tag; or, for an address by universal name, the name.
#[derive(serde::Serialize, serde::Deserialize)]
struct WireAddr<'a> {
    theatre: u64,
    #[serde(borrow)]
    locator: std::borrow::Cow<'a, str>,
    actor: u64,
    tag: u64,
    #[serde(borrow)]
    name: Option<std::borrow::Cow<'a, str>>,
}

/// An address sent to another theatre: a local actor is exported through its
/// stage's theatre; a remote one is sent as the location it already holds.
impl<A: Actor> serde::Serialize for Addr<A> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let wire = match self.remote_actor() {
            Some(remote) => WireAddr {
                theatre: remote.link.theatre(),
                locator: remote.link.locator().into(),
                actor: remote.actor,
                tag: type_tag::<A>(),
                name: remote.link.name().map(Into::into),
            },
            None => {
                let Some(cell) = self.local_cell() else {
                    return Err(S::Error::custom("an address with no actor"));
                };
                let Some(fabric) = fabric_of(cell.stage()) else {
                    return Err(S::Error::custom(format_args!(
                        "an address of a `{}` cannot leave its process: its stage is not \
                         part of an open theatre",
                        std::any::type_name::<A>()
                    )));
                };
                let actor = cell.id().as_u64();
                if fabric.exported(actor).is_none() {
                    let exported: Arc<dyn Inbound> = Arc::new(Exported { addr: self.clone() });
                    fabric.export(exported);
                }
                WireAddr {
                    theatre: fabric.theatre(),
                    locator: fabric.locator().to_owned().into(),
                    actor,
                    tag: type_tag::<A>(),
                    name: None,
                }
            }
        };
        wire.serialize(serializer)
    }
}

/// An address received from another theatre: one of this theatre's own actors
/// becomes a local address again; any other, an address through the link to its
/// theatre.
impl<'de, A: Actor> serde::Deserialize<'de> for Addr<A> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let wire = WireAddr::deserialize(deserializer)?;
        if wire.tag != type_tag::<A>() {
            return Err(D::Error::custom(format_args!(
                "an address of another actor type where a `{}` was expected",
                std::any::type_name::<A>()
            )));
        }
        let Some(fabric) = DECODING.with(|d| d.borrow().clone()) else {
            return Err(D::Error::custom(
                "an address arrived outside any theatre (nothing to reach it through)",
            ));
        };
        let stage = fabric
            .stage()
            .ok_or_else(|| D::Error::custom("this theatre has shut down"))?;
        if let Some(name) = wire.name {
            let link = fabric.named(&name).map_err(D::Error::custom)?;
            return Ok(remote::<A>(&stage, link, wire.actor));
        }
        if wire.theatre == fabric.theatre() {
            let inbound = fabric.exported(wire.actor).ok_or_else(|| {
                D::Error::custom(format_args!(
                    "actor {} of this theatre is no longer exported",
                    wire.actor
                ))
            })?;
            return local_addr(&*inbound)
                .ok_or_else(|| D::Error::custom("an exported actor of another type"));
        }
        let link = fabric
            .link(wire.theatre, &wire.locator)
            .map_err(D::Error::custom)?;
        Ok(remote::<A>(&stage, link, wire.actor))
    }
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

    fn deliver(&self, delivery: Delivery<'_>) -> Result<(), SpeechError> {
        let Some(cell) = self.addr.local_cell() else {
            return Err(not_portable("a remote address cannot be exported again"));
        };
        // The stage (which awaits an answer and sends it back) only for an ask.
        let stage = || Arc::clone(cell.stage());
        let letter = match delivery {
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
        match cell.send_from(letter, Speaker::Outside) {
            Ok(()) => Ok(()),
            Err((letter, error)) => {
                letter.refuse(error.clone());
                Err(error)
            }
        }
    }

    fn deliver_events(
        &self,
        events: &mut dyn Iterator<Item = (u16, &[u8])>,
    ) -> Result<(), SpeechError> {
        let Some(cell) = self.addr.local_cell() else {
            return Err(not_portable("a remote address cannot be exported again"));
        };
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
        cell.send_all_from(letters, Speaker::Outside);
        first
    }

    fn on_end(&self, then: Box<dyn FnOnce(DownReason) + Send>) {
        self.addr.watch(Box::new(move |down| then(down.reason)));
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

/// An address for the actor numbered `actor` on the theatre behind `link`; `stage`
/// (the theatre's) counts the work of handing letters to the link.
pub fn remote<A: Actor>(stage: &crate::Stage, link: Arc<dyn Link>, actor: u64) -> Addr<A> {
    Addr::from_cell(crate::cell::ActorCell::remote(
        stage.shared(),
        RemoteActor { link, actor },
    ))
}

/// Where a remote address points: the peer's locator and theatre identity, and the
/// actor's number there. `None` for a local address.
pub fn location<A: Actor>(addr: &Addr<A>) -> Option<(&str, u64, u64)> {
    addr.remote_actor()
        .map(|r| (r.link.locator(), r.link.theatre(), r.actor))
}

/// A stable tag for actor type `A`: a 64-bit FNV-1a hash of its type name. Both ends
/// run the same binary, so equal tags mean the same type.
pub fn type_tag<A: Actor>() -> u64 {
    fnv1a(&[std::any::type_name::<A>().as_bytes()])
}

/// 64-bit FNV-1a over `parts`, one after the other: a hash every build computes
/// alike, for tags and names that cross the wire.
pub fn fnv1a(parts: &[&[u8]]) -> u64 {
    parts
        .iter()
        .flat_map(|part| part.iter())
        .fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
            (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
}

/// An actor on another theatre: the link to it and its number there.
pub(crate) struct RemoteActor {
    pub(crate) link: Arc<dyn Link>,
    pub(crate) actor: u64,
}

impl RemoteActor {
    /// Registers `watcher` with the actor's theatre.
    pub(crate) fn watch<A: Actor>(&self, watcher: Box<dyn FnOnce(Down) + Send>) {
        let actor = ActorId::from_raw(self.actor);
        self.link.watch(
            self.actor,
            type_tag::<A>(),
            Box::new(move |reason| watcher(Down { actor, reason })),
        );
    }

    /// Encodes `letter` and hands it to the link.
    pub(crate) fn send<A: Actor>(&self, letter: Letter<A>) -> Result<(), SpeechError> {
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
            Letter::Escalated => return Ok(()),
        };
        self.link.send(self.actor, type_tag::<A>(), body)
    }
}

pub(crate) fn not_portable(why: &str) -> SpeechError {
    SpeechError::Failed(Failure::NotPortable(why.into()))
}

pub(crate) fn wire_error(why: impl fmt::Display) -> SpeechError {
    SpeechError::Failed(Failure::Wire(why.to_string().into()))
}

/// The error `Wire` gives for an actor that is not mobile.
pub(crate) fn not_mobile() -> SpeechError {
    not_portable("the actor is not `#[actor(mobile)]`, so its messages never leave its process")
}

/// Writes a message's arguments: a MessagePack array of a known length. For a
/// query or request it holds the reply until the message is complete; if an
/// argument fails to encode, the writer answers the reply with that error when it
/// is dropped.
pub struct ArgWriter<R = ()> {
    buf: Vec<u8>,
    reply: Option<ReplySender<R>>,
    error: Option<SpeechError>,
}

impl ArgWriter {
    /// A writer for the `count` arguments of an event.
    pub fn new(count: u32) -> Self {
        ArgWriter::with(count, None)
    }

    /// The encoded event, for the handler at position `variant`.
    pub fn tell(mut self, variant: u16) -> Body {
        Body::Message {
            variant,
            args: std::mem::take(&mut self.buf),
            answer: None,
        }
    }
}

impl<R: Send + 'static> ArgWriter<R> {
    /// A writer for the `count` arguments of a query or request answered by `reply`.
    pub fn ask(count: u32, reply: ReplySender<R>) -> Self {
        ArgWriter::with(count, Some(reply))
    }

    /// The encoded query or request, for the handler at position `variant`; its
    /// answer will be decoded by `take`.
    pub fn ask_with(mut self, variant: u16, take: Take<R>) -> Body {
        let answer = self.reply.take().map(|reply| answer_to(reply, take));
        Body::Message {
            variant,
            args: std::mem::take(&mut self.buf),
            answer,
        }
    }
}

impl<R> ArgWriter<R> {
    fn with(count: u32, reply: Option<ReplySender<R>>) -> Self {
        let mut buf = Vec::with_capacity(16);
        // Writing to a `Vec` cannot fail.
        let _ = rmp::encode::write_array_len(&mut buf, count);
        ArgWriter {
            buf,
            reply,
            error: None,
        }
    }

    /// Where the next argument is written.
    pub fn out(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Passes `result` on, remembering its error (if any) to answer the reply with
    /// when the writer is dropped.
    ///
    /// # Errors
    ///
    /// `result`'s error.
    pub fn record<T>(&mut self, result: Result<T, SpeechError>) -> Result<T, SpeechError> {
        if let Err(error) = &result {
            self.error.get_or_insert_with(|| error.clone());
        }
        result
    }
}

impl<R> Drop for ArgWriter<R> {
    fn drop(&mut self) {
        let Some(reply) = self.reply.take() else {
            return;
        };
        let error = self
            .error
            .take()
            .unwrap_or_else(|| wire_error("the message could not be encoded"));
        reply.fail(error);
    }
}

impl<R> fmt::Debug for ArgWriter<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArgWriter")
            .field("len", &self.buf.len())
            .finish_non_exhaustive()
    }
}

/// Encodes one value with rmp-serde (structs as arrays, the crate's default).
pub(crate) fn encode_value<T: crate::actor::Portable>(
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), SpeechError> {
    value
        .ser(&mut rmp_serde::Serializer::new(out))
        .map_err(wire_error)
}

/// Encodes one value that is only known to be `Serialize` (a Star-form expression's
/// captures and answer).
pub(crate) fn put_serial<T: serde::Serialize>(
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), SpeechError> {
    value
        .serialize(&mut rmp_serde::Serializer::new(out))
        .map_err(wire_error)
}

/// Decodes one value that is only known to be `Deserialize<'static>`: the decoder
/// reads from a buffer it never lends out, so a borrowed value fails to decode.
pub(crate) fn take_serial<T: serde::Deserialize<'static>>(
    input: &mut Decoder<'_>,
) -> Result<T, SpeechError> {
    T::deserialize(&mut input.de).map_err(wire_error)
}

/// Reads a message's arguments, as an [`ArgWriter`] wrote them.
pub struct ArgReader<'a> {
    decoder: Decoder<'a>,
}

impl<'a> ArgReader<'a> {
    /// A reader of `bytes`, which must hold exactly `count` arguments.
    ///
    /// # Errors
    ///
    /// `Failed(Wire)` when `bytes` does not start with an array of `count` elements.
    pub fn new(mut bytes: &'a [u8], count: u32) -> Result<Self, SpeechError> {
        let found = rmp::decode::read_array_len(&mut bytes).map_err(wire_error)?;
        if found != count {
            return Err(wire_error(format_args!(
                "the handler takes {count} arguments, the message carries {found}"
            )));
        }
        Ok(ArgReader {
            decoder: Decoder::new(bytes),
        })
    }

    /// Where the next argument is read from (by `Wire::take`).
    pub fn decoder(&mut self) -> &mut Decoder<'a> {
        &mut self.decoder
    }

    /// Checks that nothing follows the last argument.
    ///
    /// # Errors
    ///
    /// `Failed(Wire)` when bytes are left over.
    pub fn finish(self) -> Result<(), SpeechError> {
        self.decoder.finish()
    }
}

impl fmt::Debug for ArgReader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ArgReader")
    }
}

/// A MessagePack decoder over a byte slice, for `Wire::take`.
pub struct Decoder<'a> {
    de: rmp_serde::Deserializer<rmp_serde::decode::ReadReader<&'a [u8]>>,
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Decoder {
            de: rmp_serde::Deserializer::new(bytes),
        }
    }

    /// Decodes one value with rmp-serde.
    pub(crate) fn value<T: crate::actor::Portable>(&mut self) -> Result<T, SpeechError> {
        T::de(&mut self.de).map_err(wire_error)
    }

    fn finish(self) -> Result<(), SpeechError> {
        match self.de.get_ref().len() {
            0 => Ok(()),
            left => Err(wire_error(format_args!(
                "{left} bytes follow the last value"
            ))),
        }
    }
}

impl fmt::Debug for Decoder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Decoder")
    }
}

/// Decodes one value (`take`: the actor's `Wire::take` for its type) from the
/// serialiser's output.
pub type Take<R> = fn(&mut Decoder<'_>) -> Result<R, SpeechError>;

/// Encodes one value (`put`: the actor's `Wire::put` for its type).
pub type Put<R> = fn(&R, &mut Vec<u8>) -> Result<(), SpeechError>;

/// Decodes a whole answer (or a Star-form expression's captures) with `take`.
pub(crate) fn decode_whole<R>(bytes: &[u8], take: Take<R>) -> Result<R, SpeechError> {
    let mut decoder = Decoder::new(bytes);
    let value = take(&mut decoder)?;
    decoder.finish()?;
    Ok(value)
}

/// The sending side's answer for `reply`: decodes an `R` into it with `take`.
pub(crate) fn answer_to<R: Send + 'static>(reply: ReplySender<R>, take: Take<R>) -> Answer {
    Answer(Box::new(move |result| {
        reply.complete(result.and_then(|bytes| decode_whole(bytes, take)))
    }))
}

fn answer_to_unit(reply: ReplySender<()>) -> Answer {
    Answer(Box::new(move |result| reply.complete(result.map(drop))))
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
    let (tx, reply) = reply_pair::<R>();
    stage.spawn_future(async move {
        let answer = reply.await.and_then(|value| {
            let mut out = Vec::new();
            put(&value, &mut out).map(|()| out)
        });
        respond.respond(answer);
    });
    Ok(tx)
}

fn respond_with_unit(respond: Respond, stage: Arc<Shared>) -> ReplySender<()> {
    let (tx, reply) = reply_pair::<()>();
    stage.spawn_future(async move {
        respond.respond(reply.await.map(|()| Vec::new()));
    });
    tx
}

/// The error for a message naming a handler the actor does not have.
pub fn unknown_variant(variant: u16) -> SpeechError {
    wire_error(format_args!(
        "no handler numbered {variant}: the theatres run different code"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::{Local, Mobile, Wire};

    #[test]
    fn arguments_round_trip_and_lengths_are_checked() {
        let mut w = ArgWriter::new(2);
        <Mobile as Wire<String>>::put(&"hi".to_owned(), &mut w).unwrap();
        <Mobile as Wire<(u8, i64)>>::put(&(7, -3), &mut w).unwrap();
        let Body::Message { args: bytes, .. } = w.tell(0) else {
            unreachable!()
        };
        let mut r = ArgReader::new(&bytes, 2).unwrap();
        assert_eq!(<Mobile as Wire<String>>::take(r.decoder()).unwrap(), "hi");
        assert_eq!(
            <Mobile as Wire<(u8, i64)>>::take(r.decoder()).unwrap(),
            (7, -3)
        );
        r.finish().unwrap();
        assert!(ArgReader::new(&bytes, 3).is_err());
        let mut r = ArgReader::new(&bytes, 2).unwrap();
        assert!(<Mobile as Wire<u64>>::take(r.decoder()).is_err());
    }

    #[test]
    fn local_actors_refuse_the_wire() {
        let mut w = ArgWriter::new(1);
        let error = <Local as Wire<u8>>::put(&1, &mut w).unwrap_err();
        assert!(matches!(
            error,
            SpeechError::Failed(Failure::NotPortable(_))
        ));
    }

    #[test]
    fn a_writer_dropped_on_an_error_answers_the_reply_with_it() {
        let (tx, reply) = reply_pair::<u8>();
        let mut w = ArgWriter::ask(1, tx);
        assert!(<Local as Wire<u8>>::put(&1, &mut w).is_err());
        drop(w);
        assert!(matches!(
            reply.wait(),
            Err(SpeechError::Failed(Failure::NotPortable(_)))
        ));
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let mut bytes = Vec::new();
        encode_value(&5u32, &mut bytes).unwrap();
        let take = <Mobile as Wire<u32>>::taker().unwrap();
        assert_eq!(decode_whole(&bytes, take), Ok(5));
        bytes.push(0);
        assert!(decode_whole(&bytes, take).is_err());
    }
}
