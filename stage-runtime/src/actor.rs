//! What makes a type an actor: the trait `#[actor]` and `#[behaviour]` implement.

use std::future::Future;
use std::pin::Pin;

use crate::ctx::Ctx;
use crate::speech::{SpeechAct, SpeechError, SpeechKind};

/// The work a handler left unfinished: the future of an `async` handler that is
/// waiting. `None` when the handler completed within the call.
pub type Waiting<'a> = Option<Pin<Box<dyn Future<Output = ()> + Send + 'a>>>;

/// A type that `#[actor]` marks as an actor's state.
///
/// Implemented by `#[actor]`; `#[behaviour]` requires it, so that a behaviour on a
/// type that is not an actor is refused with a clear message.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an actor",
    label = "`#[behaviour]` needs an `#[actor]` type",
    note = "add `#[actor]` to the declaration of `{Self}`"
)]
pub trait Declared: Sized + Send + 'static {
    /// The mailbox bound from `#[actor(mailbox = N)]`; `None` for unbounded.
    const MAILBOX: Option<usize>;
    /// `true` for `#[actor(mobile, balance)]`: a theatre's load balancer may move
    /// the actor.
    #[doc(hidden)]
    const BALANCE: bool = false;
    /// [`Mobile`] for `#[actor(mobile)]`, [`Local`] otherwise: whether the actor's
    /// messages and answers must be serialisable.
    #[doc(hidden)]
    type Mobility;

    /// The type's place in a stage's census (`#[actor]` gives each type its
    /// own; a hand-written type is counted with the other types).
    #[doc(hidden)]
    fn __kind() -> &'static crate::census::Kind {
        &crate::census::UNNAMED
    }

    /// The state, serialised for a move (`#[actor(mobile)]` implements it).
    #[doc(hidden)]
    fn __snapshot(&self) -> Result<Vec<u8>, crate::speech::MigrationError> {
        Err(crate::speech::MigrationError::Snapshot(
            "the actor is not `#[actor(mobile)]`".into(),
        ))
    }

    /// The state, rebuilt from a snapshot (`#[actor(mobile)]` implements it).
    #[doc(hidden)]
    fn __restore(_state: &[u8]) -> Result<Self, crate::speech::MigrationError> {
        Err(crate::speech::MigrationError::Refused(
            "the actor is not `#[actor(mobile)]`".into(),
        ))
    }
}

/// An actor that can move between theatres: one declared `#[actor(mobile)]`.
/// [`Ctx::migrate_to`](crate::Ctx::migrate_to) and `Theatre::migrate` ask for it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot move between theatres: it is not mobile",
    label = "not `#[actor(mobile)]`",
    note = "add `mobile` to its declaration: `#[actor(mobile)]`"
)]
pub trait Movable: Actor {}

impl<A: Actor> Movable for A where A::Mobility: MobileKind {}

/// The mobility of an `#[actor(mobile)]` declaration ([`Mobile`]): what
/// [`Movable`] asks of an actor's `Mobility`.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "this actor is not mobile: moving it, and a move's hooks, need `#[actor(mobile)]`",
    label = "not `#[actor(mobile)]`",
    note = "add `mobile` to the actor's declaration: `#[actor(mobile)]`"
)]
pub trait MobileKind {}

impl MobileKind for Mobile {}

/// The mobility of an actor declared `#[actor(mobile)]`: its state, messages and
/// answers are serialisable.
#[doc(hidden)]
#[derive(Debug)]
pub enum Mobile {}

/// The mobility of an actor that never leaves its process.
#[doc(hidden)]
#[derive(Debug)]
pub enum Local {}

/// `K: Wire<T>` holds when an actor of mobility `K` can carry a `T` in a message or
/// an answer: always for [`Local`], when `T` is serialisable for [`Mobile`].
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{T}` cannot cross the wire: a mobile actor's messages and answers must be serialisable",
    label = "not serialisable",
    note = "derive `serde::Serialize` and `serde::Deserialize` for it, or drop `mobile` from `#[actor(..)]`"
)]
pub trait Wire<T> {
    /// Named by `#[behaviour]` once per argument and answer type, spanned at the
    /// type, so that a mobile actor's non-serialisable type is reported there.
    const CARRIES: () = ();

    /// Encodes `value` for another theatre.
    ///
    /// # Errors
    ///
    /// `Failed(NotPortable)` for an actor that is not mobile; `Failed(Wire)` when the
    /// value refuses to serialise.
    fn put<R>(_value: &T, args: &mut crate::wire::ArgWriter<R>) -> Result<(), SpeechError> {
        args.record(Err(crate::wire::not_mobile()))
    }

    /// Decodes a value that came from another theatre.
    ///
    /// # Errors
    ///
    /// `Failed(NotPortable)` for an actor that is not mobile; `Failed(Wire)` when the
    /// bytes are not a `T`.
    fn take(_input: &mut crate::wire::Decoder<'_>) -> Result<T, SpeechError> {
        Err(crate::wire::not_mobile())
    }

    /// The encoder of an answer, which is encoded later.
    ///
    /// # Errors
    ///
    /// `Failed(NotPortable)` for an actor that is not mobile.
    fn putter() -> Result<crate::wire::Put<T>, SpeechError> {
        Err(crate::wire::not_mobile())
    }

    /// The decoder of an answer, which is decoded later.
    ///
    /// # Errors
    ///
    /// `Failed(NotPortable)` for an actor that is not mobile.
    fn taker() -> Result<crate::wire::Take<T>, SpeechError> {
        Err(crate::wire::not_mobile())
    }
}

impl<T> Wire<T> for Local {}

#[diagnostic::do_not_recommend]
impl<T: Portable> Wire<T> for Mobile {
    fn put<R>(value: &T, args: &mut crate::wire::ArgWriter<R>) -> Result<(), SpeechError> {
        let written = crate::wire::encode_value(value, args.out());
        args.record(written)
    }

    fn take(input: &mut crate::wire::Decoder<'_>) -> Result<T, SpeechError> {
        input.value()
    }

    fn putter() -> Result<crate::wire::Put<T>, SpeechError> {
        Ok(crate::wire::encode_value::<T>)
    }

    fn taker() -> Result<crate::wire::Take<T>, SpeechError> {
        Ok(|input| input.value())
    }
}

/// A type that can cross the wire: serialisable and deserialisable. A mobile actor's
/// fields are (de)serialised through it, so that a field that is not gets one error,
/// at the field, in Stage's words.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot cross the wire: a mobile actor's state, messages and answers must be serialisable",
    label = "not serialisable",
    note = "derive `serde::Serialize` and `serde::Deserialize` for it, mark the field `#[serde(skip)]`, or drop `mobile` from `#[actor(..)]`"
)]
pub trait Portable: Sized {
    /// Serialises `self`.
    fn ser<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error>;
    /// Deserialises a value.
    fn de<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error>;
}

#[diagnostic::do_not_recommend]
impl<T: serde::Serialize + serde::de::DeserializeOwned> Portable for T {
    #[inline]
    fn ser<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.serialize(serializer)
    }

    #[inline]
    fn de<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer)
    }
}

/// An actor: state declared with `#[actor]` plus handlers declared with
/// `#[behaviour]`.
///
/// Users never implement this trait by hand: the macros do, and the items it has are
/// the generated code's interface to the runtime (hence hidden). What a user sees of
/// it is the bound `A: Actor` on [`Addr`](crate::Addr), [`Ctx`] and
/// [`spawn`](crate::spawn).
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
///
/// #[actor]
/// struct Greeter { greeting: String }
///
/// #[behaviour]
/// impl Greeter {
///     #[query]
///     fn greet(&self, name: String) -> String { format!("{}, {name}!", self.greeting) }
/// }
///
/// fn greet_all<A: Actor>(_who: &Addr<A>) {}
/// let greeter = spawn(Greeter { greeting: "Hello".into() });
/// greet_all(&greeter);
/// assert_eq!(query!(greeter, greet("Ada".into())).wait().as_deref(), Ok("Hello, Ada!"));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no behaviour",
    label = "`{Self}` needs a `#[behaviour]` impl block",
    note = "write `#[behaviour] impl {Self} {{ .. }}` with its handlers"
)]
pub trait Actor: Declared {
    #[doc(hidden)]
    type __Message: Send + 'static;
    #[doc(hidden)]
    type __Notify<'a>;
    #[doc(hidden)]
    type __Events<'a>;
    #[doc(hidden)]
    type __Query<'a>;
    #[doc(hidden)]
    type __Request<'a>;
    /// A struct with a field per handler name (channels, queries, requests):
    /// a speech macro names the field in code that never runs, so that a
    /// misspelt name gets rustc's "a field with a similar name exists".
    #[doc(hidden)]
    type __Names;
    #[doc(hidden)]
    const __HAS_PERMIT: bool = false;
    /// Whether the actor has a `#[down]` hook (else nobody registers to tell it).
    #[doc(hidden)]
    const __HAS_DOWN: bool = false;
    /// The checks that a mobile actor's messages and answers are serialisable (see
    /// [`Wire`]); type-checked, never evaluated.
    #[doc(hidden)]
    const __WIRE: () = ();

    #[doc(hidden)]
    fn __notify(addr: &crate::Addr<Self>) -> Self::__Notify<'_>;
    #[doc(hidden)]
    fn __events(addr: &crate::Addr<Self>) -> Self::__Events<'_>;
    #[doc(hidden)]
    fn __query(addr: &crate::Addr<Self>) -> Self::__Query<'_>;
    #[doc(hidden)]
    fn __request(addr: &crate::Addr<Self>) -> Self::__Request<'_>;

    /// Runs the handlers for one message.
    #[doc(hidden)]
    fn __dispatch<'a>(&'a mut self, ctx: &'a mut Ctx<Self>, msg: Self::__Message) -> Waiting<'a>;

    /// Which speech action a message is, for the permission policy.
    #[doc(hidden)]
    fn __describe(msg: &Self::__Message) -> (SpeechKind, &'static str);

    /// Answers a message's reply (if it has one) with `error` without running it.
    #[doc(hidden)]
    fn __refuse(msg: Self::__Message, error: SpeechError);

    /// Encodes a message for the actor's theatre, when that is another one. On
    /// failure the message's reply (if any) has been answered with the error.
    #[doc(hidden)]
    fn __encode(msg: Self::__Message) -> Result<crate::fabric::Body, SpeechError> {
        let error = crate::wire::not_mobile();
        Self::__refuse(msg, error.clone());
        Err(error)
    }

    /// Decodes a message that came from another theatre. The responder is taken
    /// only once the arguments have decoded, so that on an error the caller still
    /// holds it and can answer it.
    #[doc(hidden)]
    fn __decode(
        _variant: u16,
        _args: &[u8],
        _respond: &mut Option<crate::inbound::Incoming>,
    ) -> Result<Self::__Message, SpeechError> {
        Err(crate::wire::not_mobile())
    }

    /// The `#[permit]` policy; everything is permitted without one.
    #[doc(hidden)]
    fn __permit(&self, _act: &SpeechAct) -> bool {
        true
    }

    /// The `#[birth]` hook.
    #[doc(hidden)]
    fn __birth<'a>(&'a mut self, _ctx: &'a mut Ctx<Self>) -> Waiting<'a> {
        None
    }

    /// The `#[stopping]` hook.
    #[doc(hidden)]
    fn __stopping(&mut self, _ctx: &mut Ctx<Self>) {}

    /// `#[arrived]`: runs on the new theatre after a move, before any letter.
    #[doc(hidden)]
    fn __arrived<'a>(&'a mut self, _ctx: &'a mut Ctx<Self>) -> Waiting<'a> {
        None
    }

    /// `#[migration_failed]`: a move this actor asked for did not happen; it
    /// carries on here.
    #[doc(hidden)]
    fn __migration_failed(&mut self, _ctx: &mut Ctx<Self>, _error: crate::speech::MigrationError) {}

    /// The `#[down]` hook: an actor this one watches has ended.
    #[doc(hidden)]
    fn __down(&mut self, _ctx: &mut Ctx<Self>, _down: crate::supervision::Down) {}
}
