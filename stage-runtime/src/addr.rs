//! `Addr<A>`: how every actor is reached.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::actor::Actor;
use crate::cell::ActorCell;
use crate::ctx::Ctx;
use crate::id::ActorId;
use crate::letter::{Letter, NotifyCall, QueryCall, RequestCall, StarCall};
use crate::reply::{reply_pair_from, Answerer, Reply, ReplySender};
use crate::speech::{Sent, SpeechError};
use crate::stand_in::RemoteActor;

/// The address of an actor of type `A`: cheap to clone, `Send + Sync`, and the only
/// way to speak to the actor.
///
/// An address says nothing about where the actor runs. Everything it offers is a
/// message (`notify!`, `query!`, `request!`, [`Addr::stop`]) whose answer arrives as a
/// value or an error, so the same code serves an actor in this process, on another
/// theatre, or on its way between the two.
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
///
/// #[actor]
/// struct Account { balance: i64 }
///
/// #[behaviour]
/// impl Account {
///     #[on(deposit)]
///     fn credit(&mut self, amount: i64) { self.balance += amount; }
///     #[query]
///     fn balance(&self) -> i64 { self.balance }
/// }
///
/// # stage_runtime::block_on(async {
/// let account: Addr<Account> = spawn(Account { balance: 0 });
/// let teller = account.clone();
/// std::thread::spawn(move || { notify!(teller, deposit(50)); }).join().unwrap();
/// assert_eq!(query!(account, balance()).await, Ok(50));
/// # });
/// ```
pub struct Addr<A: Actor> {
    /// The actor's cell; for an actor on another theatre, a cell that stands for it
    /// (and hands every letter to the link).
    cell: Arc<ActorCell<A>>,
}

impl<A: Actor> Addr<A> {
    pub(crate) fn from_cell(cell: Arc<ActorCell<A>>) -> Self {
        Addr { cell }
    }

    /// The cell: the actor's, or its stand-in's.
    pub(crate) fn cell(&self) -> &Arc<ActorCell<A>> {
        &self.cell
    }

    /// The cell of a local actor.
    pub(crate) fn local_cell(&self) -> Option<&Arc<ActorCell<A>>> {
        match self.remote_actor() {
            None => Some(&self.cell),
            Some(_) => None,
        }
    }

    /// Where the actor is, when it is on another theatre: for an actor that left
    /// this one, where it went.
    pub(crate) fn remote_actor(&self) -> Option<&RemoteActor> {
        match self.cell.remote_actor() {
            Some(remote) => Some(remote),
            None => self.cell.moved_to()?.remote_actor(),
        }
    }

    /// The actor's identity: the same wherever the address is held, and wherever
    /// the actor runs. (A promise has an identity of its own.)
    pub fn id(&self) -> ActorId {
        self.cell.id()
    }

    /// `true` when the actor lives in this process.
    pub fn is_local(&self) -> bool {
        self.remote_actor().is_none()
    }

    /// Delivers a letter; a refused letter has its reply answered with the error.
    /// (A letter to an actor on another theatre is handed to the link by the
    /// stand-in cell.)
    #[inline]
    fn deliver(&self, letter: Letter<A>) -> Result<(), SpeechError> {
        let described = crate::observe::describe(&letter);
        match self.cell.send(letter) {
            Ok(()) => {
                crate::observe::sent(std::any::type_name::<A>(), described);
                Ok(())
            }
            Err((letter, error)) => {
                crate::observe::refused(std::any::type_name::<A>(), described, &error);
                Err(refuse(letter, error))
            }
        }
    }

    /// Registers `watcher` to hear when the actor ends.
    pub(crate) fn watch(&self, watcher: Box<dyn FnOnce(crate::supervision::Down) + Send>) {
        match self.remote_actor() {
            None => self.cell.watch(watcher),
            Some(actor) => actor.watch::<A>(watcher),
        }
    }

    /// Asks the actor to stop after the messages already sent to it by this caller.
    ///
    /// The reply resolves once `#[stopping]` has run and the state is dropped.
    ///
    /// # Errors
    ///
    /// `Failed(Dead)` when the actor had already stopped: stopping twice is an error
    /// value, never a panic.
    ///
    /// # Examples
    ///
    /// ```
    /// use stage_runtime::prelude::*;
    ///
    /// #[actor]
    /// struct Lamp;
    ///
    /// #[behaviour]
    /// impl Lamp {
    ///     #[query]
    ///     fn lit(&self) -> bool { true }
    /// }
    ///
    /// let lamp = spawn(Lamp);
    /// assert_eq!(lamp.stop().wait(), Ok(()));
    /// assert!(lamp.stop().wait().is_err());
    /// assert_eq!(
    ///     query!(lamp, lit()).wait(),
    ///     Err(SpeechError::Failed(Failure::Dead))
    /// );
    /// ```
    pub fn stop(&self) -> Reply<()> {
        let (reply, tx) = reply_pair_from(self.blocker());
        let _ = self.deliver(Letter::Stop(tx));
        reply
    }

    /// Who answers a reply from this address: for deadlock detection (only local
    /// actors take part), and the stage whose worker the answer needs.
    fn blocker(&self) -> Answerer {
        self.local_cell()
            .map_or_else(Answerer::default, |cell| Answerer {
                actor: Some(cell.id()),
                stage: cell.stage().key(),
            })
    }

    /// Sends a short-form message: the body of `notify!`.
    #[doc(hidden)]
    pub fn __tell(&self, msg: A::__Message) -> Sent {
        Sent::new(self.deliver(Letter::Speech(msg)))
    }

    /// Sends a short-form message with a reply: the body of `query!` and `request!`.
    #[doc(hidden)]
    pub fn __ask<R>(&self, msg: impl FnOnce(ReplySender<R>) -> A::__Message) -> Reply<R> {
        let (reply, tx) = reply_pair_from(self.blocker());
        // A refused letter has its reply sender answered with the error.
        let _ = self.deliver(Letter::Speech(msg(tx)));
        reply
    }

    /// Sends the Star-form call `make` builds around the reply's sender.
    pub(crate) fn star_call<R>(
        &self,
        make: impl FnOnce(ReplySender<R>) -> Box<dyn StarCall<A>>,
    ) -> Reply<R> {
        let (reply, tx) = reply_pair_from(self.blocker());
        // A refused letter has its reply sender answered with the error.
        let _ = self.deliver(Letter::Star(make(tx)));
        reply
    }

    pub(crate) fn star_query<R, F>(&self, f: F) -> Reply<R>
    where
        F: FnOnce(&A, &mut Ctx<A>) -> R + Send + 'static,
        R: Send + 'static,
    {
        let (reply, tx) = reply_pair_from(self.blocker());
        let call = Box::new(QueryCall { f, reply: tx });
        let _ = self.deliver(Letter::Star(call));
        reply
    }

    pub(crate) fn star_request<R, F>(&self, f: F) -> Reply<R>
    where
        F: FnOnce(&mut A, &mut Ctx<A>) -> R + Send + 'static,
        R: Send + 'static,
    {
        let (reply, tx) = reply_pair_from(self.blocker());
        let call = Box::new(RequestCall { f, reply: tx });
        let _ = self.deliver(Letter::Star(call));
        reply
    }

    pub(crate) fn own<F>(&self, f: F) -> Result<(), SpeechError>
    where
        F: FnOnce(&mut A, &mut Ctx<A>) + Send + 'static,
    {
        self.deliver(Letter::Own(Box::new(NotifyCall { f })))
    }

    pub(crate) fn star_notify<F>(&self, f: F) -> Result<(), SpeechError>
    where
        F: FnOnce(&mut A, &mut Ctx<A>) + Send + 'static,
    {
        self.deliver(Letter::Star(Box::new(NotifyCall { f })))
    }
}

/// Answers a refused letter's reply with `error`, which is returned. Out of line:
/// the send path stays small.
#[cold]
#[inline(never)]
fn refuse<A: Actor>(letter: Letter<A>, error: SpeechError) -> SpeechError {
    letter.refuse(error.clone());
    error
}

impl<A: Actor> Reply<Addr<A>> {
    /// Promise pipelining (Stage's lazy `operator.trains().fastest().now()`): an
    /// address usable now for the actor this reply will name.
    ///
    /// Messages sent to the promise wait until the reply answers, then go to that
    /// actor in the order they were sent, each from its original speaker. If the reply
    /// fails, they (and any sent later) are refused with the reply's error. The
    /// speech macros do this by themselves when their target is a `Reply<Addr<_>>`:
    /// `query!(query!(operator, trains()), fastest())`. The promise has an identity of
    /// its own, not the identity of the actor it resolves to.
    ///
    /// # Examples
    ///
    /// ```
    /// use stage_runtime::prelude::*;
    ///
    /// #[actor]
    /// struct Train { speed: u32 }
    ///
    /// #[behaviour]
    /// impl Train {
    ///     #[query]
    ///     fn speed(&self) -> u32 { self.speed }
    /// }
    ///
    /// #[actor]
    /// struct Operator;
    ///
    /// #[behaviour]
    /// impl Operator {
    ///     #[request]
    ///     fn fastest(&mut self, ctx: &mut Ctx<Self>) -> Addr<Train> {
    ///         ctx.spawn(Train { speed: 300 })
    ///     }
    /// }
    ///
    /// let operator = spawn(Operator);
    /// // No await between the steps: the second message waits for the first's answer.
    /// let speed = query!(request!(operator, fastest()), speed());
    /// assert_eq!(speed.wait(), Ok(300));
    /// ```
    pub fn promise(self) -> Addr<A> {
        Addr::from_cell(ActorCell::promise(crate::Stage::current().shared(), self))
    }
}

impl<A: Actor> Clone for Addr<A> {
    fn clone(&self) -> Self {
        Addr {
            cell: Arc::clone(&self.cell),
        }
    }
}

impl<A: Actor> PartialEq for Addr<A> {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl<A: Actor> Eq for Addr<A> {}

impl<A: Actor> Hash for Addr<A> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id().hash(state);
    }
}

impl<A: Actor> fmt::Debug for Addr<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.remote_actor() {
            None => write!(
                f,
                "Addr<{}>({})",
                std::any::type_name::<A>(),
                self.cell.id()
            ),
            Some(actor) => write!(
                f,
                "Addr<{}>({} at {})",
                std::any::type_name::<A>(),
                actor.actor,
                actor.link.locator()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::Stdout;

    fn assert_send_sync_clone<T: Send + Sync + Clone>() {}

    #[test]
    fn addr_is_send_sync_clone() {
        assert_send_sync_clone::<Addr<Stdout>>();
    }

    #[test]
    fn equal_addresses_are_the_same_actor() {
        let stage = crate::Stage::builder().workers(1).build();
        let a = stage.spawn(Stdout::to_writer(std::io::sink()));
        let b = stage.spawn(Stdout::to_writer(std::io::sink()));
        assert_eq!(a, a.clone());
        assert_ne!(a, b);
        assert!(format!("{a:?}").contains("Stdout"));
    }
}
