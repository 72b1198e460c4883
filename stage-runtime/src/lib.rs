// The map, in the order a message meets the files. A speech action is a macro
// (`stage-macros`) that calls an `Addr`; the letter it makes goes into the actor's
// cell and waits for a worker's turn; the handler runs with its `Ctx` and answers
// through a `Reply`. A letter for an actor elsewhere leaves through a stand-in to
// the network seam.
//
// speech.rs          speech acts and their results: `Sent`, `SpeechError`, `Speaker`
// addr.rs            `Addr<A>`: how every actor is reached
// id.rs              `ActorId`: unique across theatres, kept across a move
// letter.rs          a letter in a mailbox, with its speaker and reply's sender
// speaker.rs         whose turn this thread is taking (the current speaker)
// cell.rs            the local actor: its status, its state and its turn
// mailbox.rs         the cell's queue of letters
// scheduler.rs       workers, their queues and their turns
// stage.rs           `Stage`: the workers' owner, and the theatre it serves
// actor.rs           the `Actor` trait the macros implement
// ctx.rs             `Ctx`: what a handler can do
// reply.rs           `Reply`: an answer to await, poll or hand to a handler
// deadlock.rs        the graph of actors waiting for each other
// supervision.rs     links, monitors, `Down` and restart policies
// recipient.rs       `Recipient`: an address by channel, not by actor type
// star.rs            Star-form expressions (`query!(x 's .. with ..)`)
// star/sites.rs      how a receiver finds a Star-form expression's code
// drivers.rs         actors that are the outside world, in drivers/:
// drivers/stdout.rs  `Stdout`
// drivers/keyboard.rs `Keyboard` (stdin lines)
// drivers/timer.rs   `Timer` (after / every)
// drivers/status.rs  `TheatreStatus`
// drivers/topic.rs   `Topic<T>` publish and subscribe
// stand_in.rs        what an `Addr` points to when the actor is not here
// fabric.rs          the seam the network crate plugs into: `Fabric`, `Link`
// wire.rs            encoding arguments and answers
// wire/addr.rs       addresses inside messages
// inbound.rs         a local actor as peers reach it
// remote.rs          the seam's items for `stage-net` and generated code, in one place
// mobility.rs        moving: snapshot, restore, cliques, `#[arrived]`
// observe.rs         what `tracing` and `metrics` are told (features of those names)
// census.rs          live actors by type and the busiest mailboxes (`Stage::census`)

//! Stage for Rust: an actor language embedded in Rust.
//!
//! Mark a struct `#[actor]` and its `impl` block `#[behaviour]`, then speak to it
//! with three *speech actions*: [`notify!`] (an event on a channel), [`query!`] (a
//! question, which cannot change the actor) and [`request!`] (an action, which may).
//! Queries and requests answer with a [`Reply`], a future of
//! `Result<T, SpeechError>`; Star's `success / denied / failed` is
//! [`Ok`] / [`SpeechError::Denied`] / [`SpeechError::Failed`] (or [`Outcome`]).
//!
//! ```
//! use stage_runtime::prelude::*;
//!
//! #[actor]
//! struct Account { balance: i64 }
//!
//! #[derive(Debug, PartialEq)]
//! struct Overdrawn;
//!
//! #[behaviour]
//! impl Account {
//!     #[on(deposit)]
//!     fn credit(&mut self, amount: i64) { self.balance += amount; }
//!
//!     #[on(deposit, when = amount > 10_000)]
//!     fn audit(&mut self, amount: i64) { println!("large deposit: {amount}"); }
//!
//!     #[request]
//!     fn withdraw(&mut self, amount: i64) -> Result<(), Overdrawn> {
//!         if amount > self.balance { return Err(Overdrawn); }
//!         self.balance -= amount;
//!         Ok(())
//!     }
//!
//!     #[query]
//!     fn balance(&self) -> i64 { self.balance }
//! }
//!
//! # stage_runtime::block_on(async {
//! let acct = spawn(Account { balance: 0 });
//! notify!(acct, deposit(100));
//! assert_eq!(request!(acct, withdraw(30)).await, Ok(Ok(())));
//! assert_eq!(request!(acct, withdraw(500)).await, Ok(Err(Overdrawn)));
//! assert_eq!(query!(acct, balance()).await, Ok(70));
//! // Star's form: the expression runs inside the actor, in one turn.
//! let factor = 2;
//! assert_eq!(query!(acct 's balance with balance() * factor).await, Ok(140));
//! # });
//! ```
//!
//! The runtime runs actors on one worker thread per core ([`Stage`]); an actor is a
//! small heap object with a mailbox, not a thread or a task. See the README and the
//! guide for the language, and `DESIGN.md` for how it maps the seed documents.

#![deny(unsafe_code)]

extern crate self as stage_runtime;

mod actor;
mod addr;
#[allow(unsafe_code)]
mod cell;
mod census;
mod ctx;
mod deadlock;
pub mod drivers;
mod fabric;
mod id;
mod inbound;
mod letter;
#[allow(unsafe_code)]
mod mailbox;
mod mobility;
mod observe;
mod recipient;
#[doc(hidden)]
pub mod remote;
#[allow(unsafe_code)]
mod reply;
#[allow(unsafe_code)]
mod scheduler;
mod speaker;
mod speech;
mod stage;
mod stand_in;
// Turning a checked distance back into a function pointer, and making a closure that
// captures nothing, need `unsafe`; both are justified where they are done.
#[allow(unsafe_code)]
mod star;
mod supervision;
mod wire;

pub use actor::{Actor, Movable};
pub use addr::Addr;
pub use census::{BusyActor, Census, TypeCount, OTHER_TYPES};
pub use ctx::Ctx;
pub use id::ActorId;
pub use recipient::Recipient;
pub use reply::{join_all, Reply, ReplySender};
pub use speech::MigrationError;
pub use speech::{
    Cycle, Failure, Outcome, Reason, Sent, Speaker, Speech, SpeechAct, SpeechError, SpeechKind,
};
pub use stage::{block_on, spawn, Stage, StageBuilder, StageLoad};
pub use supervision::{Down, DownReason, Policy, Strategy};

/// Marks a struct as an actor's state.
///
/// Options: `#[actor(mailbox = N)]` bounds the mailbox to `N` messages; a full
/// mailbox refuses with `Denied(Busy)`. Without it the mailbox is unbounded.
///
/// `#[actor(mobile)]` makes the actor's state serde-serialisable (the macro derives
/// `Serialize` and `Deserialize` through the runtime: do not derive them yourself;
/// serde's field attributes such as `#[serde(skip)]` work) and requires every type
/// its handlers take or answer to be serialisable, each checked at the type. A field
/// or a type that is not serialisable is a compile error there. This is what
/// theatres (`stage-net`) need to carry the actor's messages to it from other
/// theatres; a message to an actor that is not mobile never leaves its process.
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
///
/// #[actor(mailbox = 16)]
/// struct Printer { jobs: u32 }
///
/// #[behaviour]
/// impl Printer {
///     #[on(job)]
///     fn print(&mut self, _page: String) { self.jobs += 1; }
/// }
/// # let _ = spawn(Printer { jobs: 0 });
/// ```
///
/// An actor's state must be `Send + 'static`: it moves between worker threads.
///
/// ```compile_fail
/// use stage_runtime::prelude::*;
///
/// #[actor]
/// struct Scheduler { counter: std::rc::Rc<u32> }
///
/// #[behaviour]
/// impl Scheduler {}
/// ```
pub use stage_macros::actor;

/// Declares an actor's handlers on its `impl` block.
///
/// | attribute | handler | answered by |
/// |---|---|---|
/// | `#[on(channel)]`, `#[on(channel, when = guard)]` | an event rule (Star's `on P on C do A`); all rules whose guard holds fire, in declaration order, in one turn | `notify!` |
/// | `#[query]` | takes `&self`: cannot change state | `query!` |
/// | `#[request]` | takes `&mut self` (or `&self`) | `request!` |
/// | `#[birth]` | runs once, before any message | |
/// | `#[stopping]` | runs once, when the actor stops | |
/// | `#[down]` | `fn(&mut self, down: Down)`: an actor this one watches has ended | |
/// | `#[permit]` | `fn(&self, &SpeechAct) -> bool`: the permission policy | |
///
/// Any handler may take `ctx: &mut Ctx<Self>` right after `self`, and may be an
/// `async fn` (the actor takes no other message until it finishes). Guards see the
/// rule's parameters by reference, as places they may read (`amount > 10_000`), and
/// all guards of a channel are evaluated before any of its rules fires. Methods
/// without these attributes stay private helpers.
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
///
/// #[actor]
/// struct Thermostat { target: f64, alarms: u32 }
///
/// #[behaviour]
/// impl Thermostat {
///     #[on(temp)]
///     fn log(&mut self, celsius: f64) { let _ = celsius; }
///     #[on(temp, when = celsius > self.target + 5.0)]
///     fn alarm(&mut self, celsius: f64) { self.alarms += 1; }
///     #[query]
///     fn alarms(&self) -> u32 { self.alarms }
/// }
///
/// # stage_runtime::block_on(async {
/// let t = spawn(Thermostat { target: 20.0, alarms: 0 });
/// notify!(t, temp(21.0));
/// notify!(t, temp(30.0));
/// assert_eq!(query!(t, alarms()).await, Ok(1));
/// # });
/// ```
///
/// A query cannot change state:
///
/// ```compile_fail
/// use stage_runtime::prelude::*;
///
/// #[actor]
/// struct Counter { n: u32 }
///
/// #[behaviour]
/// impl Counter {
///     #[query]
///     fn next(&mut self) -> u32 { self.n += 1; self.n }
/// }
/// ```
pub use stage_macros::behaviour;

/// Runs `async fn main` on a new [`Stage`], then waits for quiescence and exits.
///
/// After the body returns, the program waits until no message is queued or being
/// processed and no reply or future can still produce work (SALSA's termination
/// detection), then stops the stage and returns what the body returned.
///
/// ```no_run
/// use stage_runtime::prelude::*;
///
/// #[stage_runtime::main]
/// async fn main() {
///     let out = spawn(Stdout::new());
///     notify!(out, println("hello from an actor".to_string()));
/// }
/// ```
pub use stage_macros::main;

/// `notify!`: tells an actor that an event happened on one of its channels.
///
/// Short form `notify!(acct, deposit(100))`; Star's form
/// `notify!(acct with 100 on deposit)`. Returns at once with a [`Sent`]: refusals
/// (full mailbox, stopped actor) are values, never panics. See [`Speech::_notify`].
pub use stage_macros::notify;

/// `query!`: asks an actor a question; returns a [`Reply`].
///
/// Short form `query!(acct, balance())`; Star's form with an export selection
/// `query!(stocker 's average 'n volume with average(a, b) * volume(a, b))`, where
/// the selected names are the actor's handlers and every other free name is a value
/// moved in from the caller. Rust needs the space before `'s`: since Rust 2021 the
/// lexer rejects `stocker's` before any macro sees it.
pub use stage_macros::query;

/// `request!`: asks an actor to perform an action that may change its state; returns
/// a [`Reply`].
///
/// Short form `request!(acct, withdraw(5))`; Star's form
/// `request!(bank 's set_balance 'n current_balance to set_balance(current_balance() * 2))`.
pub use stage_macros::request;

/// The README's examples, compiled and run as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The guide's examples (`docs/guide.md`), compiled and run as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/guide.md")]
pub struct GuideDoctests;

/// SALSA's join continuation: `join!(r1, r2, ..)` is a [`Reply`] of the tuple of
/// their answers, in order; the first failure (in order) fails the join.
///
/// The replies may be of different types ([`join_all`] takes any number of one
/// type). Each argument is evaluated (its message sent) where `join!` is written.
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
///
/// #[actor]
/// struct Shop { name: &'static str, price: u32 }
///
/// #[behaviour]
/// impl Shop {
///     #[query]
///     fn name(&self) -> &'static str { self.name }
///     #[query]
///     fn price(&self) -> u32 { self.price }
/// }
///
/// let shop = spawn(Shop { name: "corner", price: 3 });
/// let both = join!(query!(shop, name()), query!(shop, price()));
/// assert_eq!(both.wait(), Ok(("corner", 3)));
/// ```
pub use stage_macros::join;

/// What an actor file needs: `use stage_runtime::prelude::*;`.
pub mod prelude {
    pub use crate::drivers::Stdout;
    pub use crate::{
        actor, behaviour, block_on, join, join_all, notify, query, recipient, request, spawn,
        Actor, ActorId, Addr, Ctx, Down, DownReason, Failure, MigrationError, Outcome, Policy,
        Reason, Recipient, Reply, ReplySender, Sent, Speaker, Speech, SpeechAct, SpeechError,
        SpeechKind, Stage,
    };
}

/// The paths generated code uses. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::actor::{
        Actor, Declared, Local, Mobile, MobileKind, Movable, Portable, Waiting, Wire,
    };
    pub use crate::addr::Addr;
    pub use crate::census::Kind;
    pub use crate::ctx::Ctx;
    pub use crate::mobility::{restore, snapshot, MigrationError, MobileType};
    pub use crate::remote;
    pub use crate::reply::{Reply, ReplySender};
    pub use crate::speech::{Sent, Speech, SpeechAct, SpeechError, SpeechKind};
    pub use crate::star::{
        send_star, star_query, star_request, AsQuery, AsRequest, Carried, Expression, LocalStar,
        PortableStar, SiteFn, Star, WireSite,
    };
    pub use crate::supervision::Down;
    pub use inventory;
    pub use serde;
    pub use std::boxed::Box;
    pub use std::clone::Clone;
    pub use std::future::Future;
    pub use std::option::Option::{self, None, Some};
    pub use std::pin::Pin;
    pub use std::result::Result;

    /// The proxies of an actor whose `#[behaviour]` has errors: the macro still
    /// implements `Actor` (with no handlers) so that the rest of the crate
    /// type-checks and only the real mistakes are reported.
    #[derive(Debug)]
    pub struct Unavailable<'a>(std::marker::PhantomData<&'a ()>);

    impl Unavailable<'_> {
        /// Makes one.
        pub fn new() -> Self {
            Unavailable(std::marker::PhantomData)
        }
    }

    impl Default for Unavailable<'_> {
        fn default() -> Self {
            Unavailable::new()
        }
    }

    /// A handler's name as a type, by its hash ([`name_hash`]): a speech macro
    /// looks a handler up by name through it (see `stage-macros`'
    /// `expand/names.rs`). A number, not the name's characters, so that an
    /// error about a misspelt name stays one short line.
    #[derive(Debug)]
    pub struct Name<const HASH: u128>;

    /// The 128-bit FNV-1a hash of `name`, for [`Name`].
    pub const fn name_hash(name: &str) -> u128 {
        const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
        const PRIME: u128 = 0x0000000001000000000000000000013B;
        let bytes = name.as_bytes();
        let mut hash = OFFSET;
        let mut i = 0;
        while i < bytes.len() {
            hash ^= bytes[i] as u128;
            hash = hash.wrapping_mul(PRIME);
            i += 1;
        }
        hash
    }

    /// What a speech action can be addressed to: an `Addr`, or a reference to one.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not an actor's address",
        label = "speech actions are addressed to an `Addr<A>`",
        note = "`spawn(..)` and `ctx.spawn(..)` return the `Addr` of the actor they create"
    )]
    pub trait Target {
        /// The actor addressed.
        type Actor: Actor;
        /// The address.
        fn addr(&self) -> &Addr<Self::Actor>;
    }

    impl<A: Actor> Target for Addr<A> {
        type Actor = A;
        #[inline]
        fn addr(&self) -> &Addr<A> {
            self
        }
    }

    impl<T: Target + ?Sized> Target for &T {
        type Actor = T::Actor;
        #[inline]
        fn addr(&self) -> &Addr<T::Actor> {
            (**self).addr()
        }
    }

    /// A speech action's target as it is: a reference, which must then be an address
    /// (checked, with a clear message, where the proxy is built) ...
    pub trait ViaRef {
        /// The target, borrowed.
        #[inline]
        fn __speech_target(&self) -> &Self {
            self
        }
    }

    impl<T: ?Sized> ViaRef for T {}

    /// ... or, for a `Reply<Addr<_>>`, the promise it becomes (pipelining). Method
    /// resolution tries by value first, so a reply is taken by value and anything
    /// else by reference.
    pub trait ViaValue {
        /// The actor addressed.
        type Actor: Actor;
        /// The promised address.
        fn __speech_target(self) -> Addr<Self::Actor>;
    }

    impl<A: Actor> ViaValue for Reply<Addr<A>> {
        type Actor = A;
        fn __speech_target(self) -> Addr<A> {
            self.promise()
        }
    }

    /// The address a Star-form speech action goes to.
    #[inline]
    pub fn target<T: Target + ?Sized>(to: &T) -> &Addr<T::Actor> {
        to.addr()
    }
    /// The proxy `notify!(addr, channel(args..))` resolves against.
    #[inline]
    pub fn notify<T: Target + ?Sized>(to: &T) -> <T::Actor as Actor>::__Notify<'_> {
        <T::Actor as Actor>::__notify(to.addr())
    }
    /// The proxy `notify!(addr with value on channel)` resolves against.
    #[inline]
    pub fn events<T: Target + ?Sized>(to: &T) -> <T::Actor as Actor>::__Events<'_> {
        <T::Actor as Actor>::__events(to.addr())
    }
    /// The proxy `query!(addr, name(args..))` resolves against.
    #[inline]
    pub fn query<T: Target + ?Sized>(to: &T) -> <T::Actor as Actor>::__Query<'_> {
        <T::Actor as Actor>::__query(to.addr())
    }
    /// The proxy `request!(addr, name(args..))` resolves against.
    #[inline]
    pub fn request<T: Target + ?Sized>(to: &T) -> <T::Actor as Actor>::__Request<'_> {
        <T::Actor as Actor>::__request(to.addr())
    }

    /// The handler names of the actor `to` addresses, for a speech macro's
    /// check of a name in code that never runs (see `Actor::__Names`).
    /// Never called: a call panics.
    #[inline]
    pub fn names<T: Target + ?Sized>(_to: &T) -> <T::Actor as Actor>::__Names {
        unreachable!("only named in code that never runs")
    }

    /// The body of `join!`.
    pub fn spawn_reply<T, F>(future: F) -> Reply<T>
    where
        F: Future<Output = Result<T, SpeechError>> + Send + 'static,
        T: Send + 'static,
    {
        crate::stage::spawn_reply(crate::Stage::current().shared(), future)
    }

    /// Answers a delegating handler's caller with the reply the handler returned.
    pub fn delegate<T: Send + 'static>(sender: ReplySender<T>, reply: Reply<T>) {
        reply.forward_to(sender);
    }

    /// The body of `#[stage_runtime::main]`.
    pub fn run_main<F: Future>(body: F) -> F::Output {
        let stage = crate::Stage::new();
        // Threads that run no stage (a tokio task, a thread of the program's
        // own) reach this one, not a second stage beside it.
        stage.set_default();
        let output = stage.block_on(body);
        stage.wait_quiescent();
        stage.shutdown();
        stage.unset_default();
        output
    }
}
