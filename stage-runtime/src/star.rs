//! Star-form expressions that cross the wire.
//!
//! `query!(acct 's balance with balance() * rate)` runs its expression inside the
//! actor. The macro hands the runtime the captured values (`rate`) as one tuple and
//! the expression as a closure that captures nothing else (see `stage-macros`'
//! `expand/captures.rs`). For a local actor the two are boxed into a letter and run,
//! as before. For a remote one the tuple is encoded, and the expression's code is
//! named by where it lies in the program: the distance from an anchor function
//! (in `star/sites.rs`, the site registry) to the *entry* instantiated for this
//! site ([`star_entry`]), which
//! decodes the tuple and builds the letter. Both theatres run the same binary, so
//! the distance is the same on both, wherever the loader put the program.
//!
//! The receiver never jumps to a distance a peer sent without checking it: it
//! accepts only distances at which its own symbol table has an instantiation of
//! [`star_entry`] (read once, lazily, from the program's file). Every entry then
//! checks that the site is the one the sender compiled (a hash of the actor, capture
//! and expression types) and that the letter is for its actor type, before decoding
//! anything. A peer can thus make a theatre run only the Star-form expressions its
//! own program contains, on values that decode as their captures: what a short-form
//! message can do too.
//!
//! A program whose symbol table was stripped (`strip = "symbols"` or `strip = true`
//! in its Cargo profile) cannot receive Star-form expressions; it says so in the
//! error.

mod sites;

use std::any::{Any, TypeId};

use crate::actor::{Actor, Declared, Wire};
use crate::addr::Addr;
use crate::ctx::Ctx;
use crate::fabric::Body;
use crate::inbound::{self, Incoming};
use crate::letter::{Letter, StarCall};
use crate::reply::{Reply, ReplySender};
use crate::speech::{SpeechError, SpeechKind};
use crate::wire::{self, Put, Take};
use sites::{distance, entry_at, SiteReceiver};

/// A Star-form expression, run inside actor `A` with the captured values `C`.
#[doc(hidden)]
pub trait Expression<A: Actor, C>: Send + 'static {
    /// The answer.
    type Out: Send + 'static;
    /// `Query` or `Request`.
    const KIND: SpeechKind;
    /// Runs the expression.
    fn eval(self, captures: C, actor: &mut A, ctx: &mut Ctx<A>) -> Self::Out;
}

/// A query's expression: it sees the actor through `&`.
#[doc(hidden)]
#[derive(Debug)]
pub struct AsQuery<F>(F);

/// A request's expression: it may change the actor.
#[doc(hidden)]
#[derive(Debug)]
pub struct AsRequest<F>(F);

impl<A, C, R, F> Expression<A, C> for AsQuery<F>
where
    A: Actor,
    F: FnOnce(C, &A, &mut Ctx<A>) -> R + Send + 'static,
    R: Send + 'static,
{
    type Out = R;
    const KIND: SpeechKind = SpeechKind::Query;
    #[inline]
    fn eval(self, captures: C, actor: &mut A, ctx: &mut Ctx<A>) -> R {
        (self.0)(captures, actor, ctx)
    }
}

impl<A, C, R, F> Expression<A, C> for AsRequest<F>
where
    A: Actor,
    F: FnOnce(C, &mut A, &mut Ctx<A>) -> R + Send + 'static,
    R: Send + 'static,
{
    type Out = R;
    const KIND: SpeechKind = SpeechKind::Request;
    #[inline]
    fn eval(self, captures: C, actor: &mut A, ctx: &mut Ctx<A>) -> R {
        (self.0)(captures, actor, ctx)
    }
}

/// A Star-form speech action about to be sent: the body of `query!(x 's .. with ..)`
/// and `request!(x 's .. to ..)`.
#[doc(hidden)]
#[must_use = "a Star-form speech action is sent by `send_star`"]
pub struct Star<'a, A: Actor, C, E> {
    to: &'a Addr<A>,
    captures: C,
    expr: E,
}

impl<A: Actor, C, E> std::fmt::Debug for Star<'_, A, C, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Star")
            .field("to", self.to)
            .finish_non_exhaustive()
    }
}

/// `query!(to 's .. with expr)`: `expr` sees the actor and the `captures`.
#[doc(hidden)]
#[inline]
pub fn star_query<A, C, R, F>(to: &Addr<A>, captures: C, f: F) -> Star<'_, A, C, AsQuery<F>>
where
    A: Actor,
    F: FnOnce(C, &A, &mut Ctx<A>) -> R + Send + 'static,
{
    Star {
        to,
        captures,
        expr: AsQuery(f),
    }
}

/// `request!(to 's .. to expr)`: `expr` may change the actor.
#[doc(hidden)]
#[inline]
pub fn star_request<A, C, R, F>(to: &Addr<A>, captures: C, f: F) -> Star<'_, A, C, AsRequest<F>>
where
    A: Actor,
    F: FnOnce(C, &mut A, &mut Ctx<A>) -> R + Send + 'static,
{
    Star {
        to,
        captures,
        expr: AsRequest(f),
    }
}

/// Sends the expression; `site` says how it crosses the wire (the macro asks
/// [`PortableStar`] or [`LocalStar`] for it). A function, not a method, so that
/// captured values that cannot move to the actor's thread get rustc's plain
/// "cannot be sent between threads safely", once.
#[doc(hidden)]
#[inline]
pub fn send_star<A, C, E>(star: Star<'_, A, C, E>, site: SiteFn<C, E::Out>) -> Reply<E::Out>
where
    A: Actor,
    C: Send + 'static,
    E: Expression<A, C>,
{
    let Star { to, captures, expr } = star;
    to.star_call(move |reply| {
        Box::new(Captured {
            captures,
            expr,
            reply,
            site,
        })
    })
}

/// How a site's expression crosses the wire, worked out only when it has to.
#[doc(hidden)]
pub type SiteFn<C, R> = fn() -> Result<WireSite<C, R>, SpeechError>;

/// What the sender needs to put a Star-form expression on the wire.
#[doc(hidden)]
#[derive(Debug)]
pub struct WireSite<C, R> {
    /// The entry's distance from the anchor.
    site: i64,
    /// The hash of the site's types, which the entry checks.
    check: u64,
    put: Put<C>,
    take: Take<R>,
}

/// What a Star-form expression's captured values and answer must be to cross the
/// wire.
///
/// `Deserialize<'static>` rather than `DeserializeOwned`: the choice below is made
/// by method resolution, which cannot see lifetimes, so a bound that holds only for
/// some lifetimes (as `DeserializeOwned` does for a captured `&'static str`) would
/// be chosen and then refused by the borrow checker. Decoding reads from a buffer
/// it never lends out, so a borrowed type among them fails to decode, as an error.
#[doc(hidden)]
pub trait Carried: serde::Serialize + serde::Deserialize<'static> {}

impl<T: serde::Serialize + serde::Deserialize<'static>> Carried for T {}

/// The site of an expression whose captures and answer can be serialised: picked by
/// method resolution when the bounds hold (the macro calls `(&star).__site()`).
#[doc(hidden)]
pub trait PortableStar<C, R> {
    /// How the expression crosses the wire.
    fn __site(&self) -> SiteFn<C, R>;
}

impl<A, C, E> PortableStar<C, E::Out> for Star<'_, A, C, E>
where
    A: Actor,
    C: Carried + Send + 'static,
    E: Expression<A, C>,
    E::Out: Carried,
    <A as Declared>::Mobility: Wire<()>,
{
    #[inline]
    fn __site(&self) -> SiteFn<C, E::Out> {
        wire_site::<A, C, E>
    }
}

/// ... and otherwise (one more auto-reference away), the site of an expression that
/// stays in its process.
#[doc(hidden)]
pub trait LocalStar<C, R> {
    /// Why the expression cannot cross the wire.
    fn __site(&self) -> SiteFn<C, R>;
}

impl<A, C, E> LocalStar<C, E::Out> for &Star<'_, A, C, E>
where
    A: Actor,
    E: Expression<A, C>,
    <A as Declared>::Mobility: Wire<()>,
{
    #[inline]
    fn __site(&self) -> SiteFn<C, E::Out> {
        unserialisable::<A, C, E::Out>
    }
}

fn unserialisable<A, C, R>() -> Result<WireSite<C, R>, SpeechError>
where
    A: Actor,
    <A as Declared>::Mobility: Wire<()>,
{
    mobile::<A>()?;
    Err(wire::not_portable(&format!(
        "a Star-form expression crosses the wire only when the values it captures \
         (`{}`) and its answer (`{}`) are serialisable",
        std::any::type_name::<C>(),
        std::any::type_name::<R>()
    )))
}

/// `Failed(NotPortable)` for an actor that is not mobile: its letters never leave
/// its process.
fn mobile<A>() -> Result<(), SpeechError>
where
    A: Actor,
    <A as Declared>::Mobility: Wire<()>,
{
    <<A as Declared>::Mobility as Wire<()>>::taker().map(drop)
}

fn wire_site<A, C, E>() -> Result<WireSite<C, E::Out>, SpeechError>
where
    A: Actor,
    C: Carried + Send + 'static,
    E: Expression<A, C>,
    E::Out: Carried,
    <A as Declared>::Mobility: Wire<()>,
{
    mobile::<A>()?;
    if size_of::<E>() != 0 {
        return Err(wire::not_portable(
            "this Star-form expression uses a value the macro cannot see as a capture \
             (`self`, a called closure, or a name inside a macro other than a \
             `format!`-like one): bind it to a local name first and use that name in \
             the expression",
        ));
    }
    let entry: SiteReceiver = star_entry::<A, C, E>;
    Ok(WireSite {
        site: distance(entry),
        check: check::<A, C, E>(),
        put: wire::put_serial::<C>,
        take: wire::take_serial::<E::Out>,
    })
}

/// The hash the entry of a site checks: the sender's and the receiver's types agree.
fn check<A, C, E>() -> u64 {
    wire::fnv1a(&[std::any::type_name::<(A, C, E)>().as_bytes()])
}

/// A Star-form expression with its captured values, in a mailbox.
struct Captured<C, E, R> {
    captures: C,
    expr: E,
    reply: ReplySender<R>,
    site: SiteFn<C, R>,
}

impl<A, C, E> StarCall<A> for Captured<C, E, E::Out>
where
    A: Actor,
    C: Send + 'static,
    E: Expression<A, C>,
{
    fn kind(&self) -> SpeechKind {
        E::KIND
    }

    fn run(self: Box<Self>, actor: &mut A, ctx: &mut Ctx<A>) {
        let Captured {
            captures,
            expr,
            reply,
            ..
        } = *self;
        reply.send(expr.eval(captures, actor, ctx));
    }

    fn refuse(self: Box<Self>, error: SpeechError) {
        self.reply.fail(error);
    }

    fn portable(self: Box<Self>) -> Result<Body, SpeechError> {
        let Captured {
            captures,
            reply,
            site,
            ..
        } = *self;
        let encoded = site().and_then(|site| {
            let mut bytes = Vec::new();
            (site.put)(&captures, &mut bytes).map(|()| (site, bytes))
        });
        match encoded {
            Ok((site, captures)) => Ok(Body::Eval {
                site: site.site,
                check: site.check,
                captures,
                answer: wire::answer_to(reply, site.take),
            }),
            Err(error) => {
                reply.fail(error.clone());
                Err(error)
            }
        }
    }
}

/// The entry of the site with actor `A`, captures `C` and expression `E`. It must
/// hold no closure (whose symbol would share its name; see [`is_entry`]).
fn star_entry<A, C, E>(
    actor: TypeId,
    check: u64,
    captures: &[u8],
    incoming: &mut Option<Incoming>,
) -> Result<Box<dyn Any + Send>, SpeechError>
where
    A: Actor,
    C: Carried + Send + 'static,
    E: Expression<A, C>,
    E::Out: Carried,
    <A as Declared>::Mobility: Wire<()>,
{
    if actor != TypeId::of::<A>() {
        return Err(wire::wire_error(format_args!(
            "the Star-form expression was compiled for `{}`, another actor type",
            std::any::type_name::<A>()
        )));
    }
    if check != self::check::<A, C, E>() {
        return Err(wire::wire_error(
            "the Star-form expression differs here: the theatres run different binaries",
        ));
    }
    let Some(expr) = conjure::<E>() else {
        return Err(wire::wire_error(
            "the Star-form expression captures values it was not sent",
        ));
    };
    let captures = wire::decode_whole(captures, wire::take_serial::<C>).map_err(|error| {
        wire::not_portable(&format!(
            "the captured values (`{}`) do not decode on the receiving theatre ({error}); \
             a borrowed value such as a `&'static str` cannot cross the wire: capture an \
             owned one, such as a `String`",
            std::any::type_name::<C>()
        ))
    })?;
    let reply = inbound::respond_with(incoming, wire::put_serial::<E::Out>)?;
    let call: Box<dyn StarCall<A>> = Box::new(Captured {
        captures,
        expr,
        reply,
        site: wire_site::<A, C, E>,
    });
    Ok(Box::new(call))
}

/// The expression of a site, on the receiving side: a closure that captures
/// nothing, made anew. `None` if `E` holds data (which the macro never sends).
fn conjure<E>() -> Option<E> {
    if size_of::<E>() != 0 {
        return None;
    }
    // SAFETY: `E` is `AsQuery<F>` or `AsRequest<F>` (the only `Expression`s), and `F`
    // a zero-sized `FnOnce`: on stable Rust, a closure that captures nothing or only
    // zero-sized values, or a function item. Neither has bytes to initialise or an
    // invariant to uphold. (A closure capturing a value of an uninhabited type could
    // never have been built on the sending side; its site is never sent.)
    Some(unsafe { std::mem::zeroed::<E>() })
}

/// The letter an `Eval` frame carries for actor `A`.
///
/// # Errors
///
/// `Failed(Wire)` when `site` names no Star-form expression of this program, or one
/// for another actor type or site, or the captures do not decode; the responder is
/// left in `incoming` to be answered with the error.
pub(crate) fn letter<A: Actor>(
    site: i64,
    check: u64,
    captures: &[u8],
    incoming: &mut Option<Incoming>,
) -> Result<Letter<A>, SpeechError> {
    let entry = entry_at(site)?;
    entry(TypeId::of::<A>(), check, captures, incoming)?
        .downcast::<Box<dyn StarCall<A>>>()
        .map(|call| Letter::Star(*call))
        // The entry checked the actor type already.
        .map_err(|_| wire::wire_error("the Star-form expression is for another actor type"))
}
