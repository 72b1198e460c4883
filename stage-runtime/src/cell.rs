//! The actor cell: an actor's state, its mailbox and its status, and the *turn* a
//! worker takes on it.
//!
//! An actor is not a task. It is this heap object: a mailbox queue, an atomic status
//! and, behind `UnsafeCell`s, the state with its [`Ctx`] and the turn's bookkeeping
//! (kept apart, because a waiting `async` handler's future borrows the state while
//! the turn still writes its bookkeeping). Sending pushes onto the
//! mailbox and, only if the actor was idle, schedules it. A worker then takes a turn:
//! it processes up to [`TURN_BUDGET`] messages and goes back to idle, re-checking the
//! mailbox so that no wake-up is lost.
//!
//! Status transitions (`status`):
//!
//! ```text
//!   IDLE --send--> SCHEDULED --worker--> RUNNING --mailbox empty--> IDLE
//!                                           |  \--budget spent---> SCHEDULED (back of the queue)
//!                                           |--async handler waits--> PARKED --waker--> SCHEDULED
//!                                           \--stop--> STOPPED (final)
//! ```
//!
//! Only the worker that moved the status to `RUNNING` touches the state and the
//! bookkeeping, which is what makes the `UnsafeCell`s sound.

use std::cell::UnsafeCell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use crate::actor::Actor;
use crate::addr::Addr;
use crate::census;
use crate::ctx::Ctx;
use crate::fabric::Emigrant;
use crate::id::ActorId;
use crate::letter::{Envelope, Letter};
use crate::mailbox::{Mailbox, PushError};
use crate::mobility::{Friend, Group, MigrationError, MoveRequest, Roaming};
use crate::reply::Reply;
use crate::scheduler::{Runnable, Scheduler, Task, WorkerLocal};
use crate::speaker::{current_speaker, speaking_as};
use crate::speech::{Failure, Reason, Speaker, SpeechAct, SpeechError};
use crate::stand_in::{RemoteActor, StandIn};
use crate::supervision::{Decision, Down, DownReason, Failable, Supervisor, Watchers};

/// Messages one turn may process before the actor yields its worker (fairness).
pub(crate) const TURN_BUDGET: usize = 64;

const IDLE: u8 = 0;
const SCHEDULED: u8 = 1;
const RUNNING: u8 = 2;
const PARKED: u8 = 3;
const STOPPED: u8 = 4;
/// Set on `RUNNING` when a waiting handler's waker fired during the turn.
const WOKEN: u8 = 0x10;

/// The future of an `async` handler that is waiting. It borrows the actor's `State`,
/// which lives in the same cell and does not move; see [`ActorCell::state`].
type Pending = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// What handlers (and the futures of waiting `async` handlers) borrow.
struct State<A: Actor> {
    actor: Option<A>,
    ctx: Ctx<A>,
}

/// The turn's own bookkeeping; never borrowed by a handler, so a turn may hold it
/// mutably while a handler's future holds borrows of [`State`].
struct Bookkeeping<A> {
    /// The waiting handler, if any. While it is `Some`, nothing else touches `State`.
    pending: Option<Pending>,
    // (`journey`, below, is the move being waited for: its wait is `pending`.)
    born: bool,
    /// Born by a move: `#[arrived]` runs in place of `#[birth]`.
    arrived: bool,
    /// The move this actor is part of, while it waits for the outcome.
    journey: Option<Journey>,
    /// The policy for panics, for an actor spawned with `Ctx::supervise`.
    supervisor: Option<Box<Supervisor<A>>>,
}

#[repr(C)]
pub(crate) struct ActorCell<A: Actor> {
    /// First, with the mailbox after it (`repr(C)`): a send writes the mailbox's
    /// tail and, to wake an idle actor, this status, and the two share one cache
    /// line (with the `Arc`'s count, which the wake-up also takes), so a letter
    /// costs one line moved between cores, not two.
    status: AtomicU8,
    mailbox: Mailbox<Envelope<A>>,
    id: ActorId,
    stage: Arc<Scheduler>,
    /// Declared before `state`, which the pending future borrows, so that it is
    /// dropped first (and `Drop` empties it explicitly before anything else).
    books: UnsafeCell<Bookkeeping<A>>,
    state: UnsafeCell<State<A>>,
    /// Who is told when this actor ends.
    watchers: Watchers,
    /// What only a stand-in for another actor has (`None` for an actor): boxed, so
    /// that an actor does not carry it.
    stand_in: Option<Box<StandIn<A>>>,
    /// What only an actor that moves has: allocated at its first move or
    /// invitation.
    travel: OnceLock<Box<Travel<A>>>,
}

/// A move this actor takes part in, while it waits to hear how it ended.
struct Journey {
    group: Arc<Group>,
    /// Who waits to hear the actor has arrived (`Theatre::migrate`).
    reply: Option<crate::reply::ReplySender<()>>,
}

/// A moving actor's cell: the move it takes part in, and where it went.
struct Travel<A: Actor> {
    /// The move this actor is engaged in: its own, or a friend's that invited
    /// it (taken up at its next turn). A second move is refused while it is set.
    engaged: Mutex<Option<Arc<Group>>>,
    /// Set once the actor has left: this cell is a forwarder from then on.
    moved: OnceLock<Moved<A>>,
}

/// Where an actor went. Letters that reach the cell it left go on there, in the
/// order they came: `order` is held while the queue left behind is forwarded,
/// so that a letter refused by the closed mailbox cannot overtake it.
struct Moved<A: Actor> {
    to: Addr<A>,
    order: Mutex<()>,
}

// SAFETY: `books` and `state` are only accessed by the worker that won the transition
// to `RUNNING` (or, once the status is `STOPPED` or the cell is abandoned, by nobody
// until the cell is dropped). The status transitions are atomic, so at most one thread
// holds them at a time, and the acquire/release on `status` (and on the scheduler's
// queues) orders one turn's writes before the next turn's reads. The state and its
// messages move between threads, so they must be `Send`, which `Actor: Send` and
// `Actor::__Message: Send` guarantee; the pending future is `Send` by its type.
unsafe impl<A: Actor> Sync for ActorCell<A> {}
// SAFETY: as above; every field is `Send` when `A` and its messages are.
unsafe impl<A: Actor> Send for ActorCell<A> {}

impl<A: Actor> ActorCell<A> {
    /// A new cell holding `actor`, scheduled to run its birth.
    pub(crate) fn spawn(stage: &Arc<Scheduler>, actor: A, parent: Option<ActorId>) -> Arc<Self> {
        Self::spawn_with(stage, actor, parent, None)
    }

    /// [`ActorCell::spawn`], with a supervision policy for its panics.
    pub(crate) fn spawn_with(
        stage: &Arc<Scheduler>,
        actor: A,
        parent: Option<ActorId>,
        supervisor: Option<Box<Supervisor<A>>>,
    ) -> Arc<Self> {
        Self::start(stage, actor, ActorId::fresh(), parent, supervisor, false)
    }

    /// An actor arriving from another theatre under its identity `id`: scheduled
    /// to run `#[arrived]` before any letter.
    pub(crate) fn arrive(stage: &Arc<Scheduler>, actor: A, id: ActorId) -> Arc<Self> {
        Self::start(stage, actor, id, None, None, true)
    }

    fn start(
        stage: &Arc<Scheduler>,
        actor: A,
        id: ActorId,
        parent: Option<ActorId>,
        supervisor: Option<Box<Supervisor<A>>>,
        arrived: bool,
    ) -> Arc<Self> {
        let mailbox = Mailbox::new(A::MAILBOX);
        let cell = Arc::new_cyclic(|weak: &Weak<Self>| ActorCell {
            status: AtomicU8::new(SCHEDULED),
            id,
            stage: Arc::clone(stage),
            mailbox,
            books: UnsafeCell::new(Bookkeeping {
                pending: None,
                born: false,
                arrived,
                journey: None,
                supervisor,
            }),
            state: UnsafeCell::new(State {
                actor: Some(actor),
                ctx: Ctx::new(weak.clone(), id, Arc::clone(stage), parent),
            }),
            watchers: Watchers::default(),
            stand_in: None,
            travel: OnceLock::new(),
        });
        if A::BALANCE {
            if let Some(roster) = crate::stage::roster(stage) {
                let roaming: Weak<dyn Roaming> = Arc::downgrade(&cell) as _;
                roster.enlist(roaming);
            }
        }
        // The birth counts as one unit of work until it has run.
        stage.add_work(1);
        stage.actor_born();
        Self::count(stage, 1);
        crate::observe::started(std::any::type_name::<A>());
        stage.schedule(Task::Actor(Arc::clone(&cell) as Arc<dyn Runnable>));
        cell
    }

    /// The actor type's place in its stage's census.
    #[inline]
    fn kind() -> usize {
        A::__kind().index(std::any::type_name::<A>())
    }

    /// One actor of this type more (`1`) or fewer (`-1`) on `stage`.
    #[inline]
    fn count(stage: &Scheduler, change: isize) {
        if let Some(census) = census::of(stage) {
            census.count(Self::kind(), change);
        }
    }

    /// A promise: an address whose letters wait until `reply` answers, then go, in
    /// order, to the actor it names; if `reply` fails, they are refused with its error.
    pub(crate) fn promise(stage: &Arc<Scheduler>, reply: Reply<Addr<A>>) -> Arc<Self> {
        // Parked: letters queue up, nobody runs them until the reply resolves.
        // A promise has an identity of its own.
        let cell = ActorCell::standing_in(
            stage,
            ActorId::fresh(),
            StandIn::Promise {
                forward: OnceLock::new(),
                refusal: OnceLock::new(),
            },
        );
        let promised = Arc::clone(&cell);
        stage.spawn_future(async move {
            match reply.await {
                Ok(target) => {
                    if let Some(StandIn::Promise { forward, .. }) = promised.stand_in.as_deref() {
                        let _ = forward.set(target);
                    }
                    promised.wake_pending();
                }
                Err(error) => promised.refuse_all(error),
            }
        });
        cell
    }

    /// A parked cell with no actor of its own, standing for the one `stand_in`
    /// names, under the identity `id`.
    fn standing_in(stage: &Arc<Scheduler>, id: ActorId, stand_in: StandIn<A>) -> Arc<Self> {
        Arc::new_cyclic(|weak: &Weak<Self>| ActorCell {
            status: AtomicU8::new(PARKED),
            id,
            stage: Arc::clone(stage),
            mailbox: Mailbox::new(None),
            books: UnsafeCell::new(Bookkeeping {
                pending: None,
                born: true,
                arrived: false,
                journey: None,
                supervisor: None,
            }),
            state: UnsafeCell::new(State {
                actor: None,
                ctx: Ctx::new(weak.clone(), id, Arc::clone(stage), None),
            }),
            watchers: Watchers::default(),
            stand_in: Some(Box::new(stand_in)),
            travel: OnceLock::new(),
        })
    }

    /// The stand-in for an actor on another theatre; `stage` counts its letters'
    /// work while they are being handed to the link.
    pub(crate) fn remote(stage: &Arc<Scheduler>, remote: RemoteActor) -> Arc<Self> {
        // Never runs a turn: every letter is handed to the link at once.
        let cell = ActorCell::standing_in(stage, remote.actor, StandIn::Remote(remote));
        // SAFETY: nothing else holds the cell yet: this is the only consumer (and
        // producer) of its mailbox, which is empty.
        unsafe { cell.mailbox.close_and_drain(|_| {}) };
        cell
    }

    /// The actor on another theatre this cell stands for, if it does.
    #[inline]
    pub(crate) fn remote_actor(&self) -> Option<&RemoteActor> {
        match self.stand_in.as_deref() {
            Some(StandIn::Remote(remote)) => Some(remote),
            _ => None,
        }
    }

    pub(crate) fn id(&self) -> ActorId {
        self.id
    }

    pub(crate) fn stage(&self) -> &Arc<Scheduler> {
        &self.stage
    }

    /// A letter the mailbox did not take: for an actor on another theatre, handed
    /// to the link; otherwise returned with the reason. Out of line: the send path
    /// stays small.
    ///
    /// When the link fails, it has answered the letter's reply already, and
    /// `Letter::Answered` stands in for the letter: refusing it does nothing. (A
    /// version where the cell answered every refusal itself and returned only the
    /// error was simpler but measured 6 ns slower per local message.)
    #[cold]
    #[inline(never)]
    fn refused(&self, refused: PushError<Envelope<A>>) -> Result<(), (Letter<A>, SpeechError)> {
        let (envelope, error) = match refused {
            PushError::Full(e) => (e, SpeechError::Denied(Reason::Busy)),
            PushError::Closed(e) => match self.stand_in.as_deref() {
                Some(StandIn::Remote(remote)) => {
                    return remote
                        .send(e.letter)
                        .map_err(|error| (Letter::Answered, error));
                }
                Some(StandIn::Promise { refusal, .. }) => (
                    e,
                    refusal
                        .get()
                        .cloned()
                        .unwrap_or(SpeechError::Failed(Failure::Dead)),
                ),
                // A letter sent after the move: on to the new place, where it
                // may be refused (`Busy`) like any letter sent there.
                None => match self.moved() {
                    Some(moved) => return moved.send(e.letter, false),
                    None => (e, SpeechError::Failed(Failure::Dead)),
                },
            },
        };
        Err((envelope.letter, error))
    }

    /// Where the actor went, once it has left this theatre.
    #[inline]
    fn moved(&self) -> Option<&Moved<A>> {
        self.travel.get()?.moved.get()
    }

    /// The address of the actor's new place, once it has left this theatre.
    pub(crate) fn moved_to(&self) -> Option<&Addr<A>> {
        self.moved().map(|moved| &moved.to)
    }

    fn travel(&self) -> &Travel<A> {
        self.travel.get_or_init(|| {
            Box::new(Travel {
                engaged: Mutex::new(None),
                moved: OnceLock::new(),
            })
        })
    }

    /// The actor has ended: its watchers are told, and the stage counts one actor
    /// fewer. Only the first call counts.
    fn ended(&self, reason: DownReason) {
        if self.watchers.end(self.id, reason) && self.stand_in.is_none() && self.moved().is_none() {
            self.stage.actor_ended();
            Self::count(&self.stage, -1);
            crate::observe::stopped(std::any::type_name::<A>(), reason);
        }
    }

    /// Tells `watcher` when this actor ends (at once, if it has); for an actor
    /// that has moved, its new place does.
    pub(crate) fn watch(&self, watcher: Box<dyn FnOnce(Down) + Send>) {
        if let Err(watcher) = self.watchers.add(self.id, watcher) {
            // Handed over: the actor has moved.
            if let Some(moved) = self.moved() {
                moved.to.watch(watcher);
            }
        }
    }

    /// Closes the mailbox for good and refuses everything in it with `error`.
    fn refuse_all(&self, error: SpeechError) {
        if let Some(StandIn::Promise { refusal, .. }) = self.stand_in.as_deref() {
            let _ = refusal.set(error.clone());
        }
        self.status.store(STOPPED, Ordering::SeqCst);
        self.ended(DownReason::Stopped);
        // SAFETY: a promise whose reply failed never runs a turn (it stays parked, now
        // stopped): this is its mailbox's only consumer.
        unsafe {
            self.mailbox.close_and_drain(|envelope| {
                envelope.letter.refuse(error.clone());
                self.stage.add_work(-1);
            });
        }
    }

    /// A promise's turn: passes letters on to the actor it resolved to, each with its
    /// original speaker, in the order they came.
    fn forward_letters(&self, target: &Addr<A>) -> TurnEnd {
        for _ in 0..TURN_BUDGET {
            // SAFETY: this turn holds the cell: the mailbox's only consumer.
            let Some(envelope) = (unsafe { self.mailbox.pop() }) else {
                return TurnEnd::Drained;
            };
            // To an actor on another theatre the speaker does not travel.
            if let Err((letter, error)) = target.cell().send_from(envelope.letter, envelope.from) {
                letter.refuse(error);
            }
            self.stage.add_work(-1);
        }
        TurnEnd::BudgetSpent
    }

    /// Puts a letter in the mailbox and schedules the actor if it was idle.
    ///
    /// # Errors
    ///
    /// The letter is handed back with the reason when the mailbox is full or closed.
    pub(crate) fn send(
        self: &Arc<Self>,
        letter: Letter<A>,
    ) -> Result<(), (Letter<A>, SpeechError)> {
        self.send_from(letter, current_speaker())
    }

    /// [`ActorCell::send`] on behalf of `from` (a promise forwarding a letter, or a
    /// message from another theatre).
    pub(crate) fn send_from(
        self: &Arc<Self>,
        letter: Letter<A>,
        from: Speaker,
    ) -> Result<(), (Letter<A>, SpeechError)> {
        let envelope = Envelope { letter, from };
        // Counted before the push, so the count is never below the real work.
        self.stage.add_work(1);
        if let Err(refused) = self.mailbox.push(envelope) {
            self.stage.add_work(-1);
            return self.refused(refused);
        }
        self.schedule_if_idle();
        Ok(())
    }

    /// Sends a run of `letters` on behalf of `from`, in order, with one push of the
    /// whole run (a connection's reader delivering the events that came together),
    /// and `receipt` after them. The run is taken even past a bounded mailbox's
    /// capacity: the network layer bounds what it hands over (see
    /// [`Receipt`](crate::fabric::Receipt)). A letter refused (the actor has ended)
    /// is answered with the reason.
    pub(crate) fn send_all_from(
        self: &Arc<Self>,
        letters: impl Iterator<Item = Letter<A>>,
        from: Speaker,
        receipt: crate::fabric::Receipt,
    ) {
        let mut envelopes: Vec<Envelope<A>> =
            letters.map(|letter| Envelope { letter, from }).collect();
        if !receipt.is_empty() {
            envelopes.push(Envelope {
                letter: Letter::Receipt(receipt),
                from,
            });
        }
        if envelopes.is_empty() {
            return;
        }
        let count = envelopes.len() as i64;
        self.stage.add_work(count);
        if self.mailbox.push_all(&mut envelopes) {
            self.schedule_if_idle();
            return;
        }
        // Closed: each refused for its reason (the receipt, dropped, comes back);
        // for an actor that has moved, forwarded as letters already accepted
        // (their sender was told so).
        self.stage.add_work(-count);
        if let Some(moved) = self.moved() {
            // The run goes on whole: nothing is forwarded between its letters.
            let _order = lock(&moved.order);
            for envelope in envelopes {
                if let Err((letter, error)) = moved.send_in_order(envelope.letter, true) {
                    letter.refuse(error);
                }
            }
            return;
        }
        for envelope in envelopes {
            if let Err((letter, error)) = self.send_from(envelope.letter, envelope.from) {
                letter.refuse(error);
            }
        }
    }

    /// Schedules the actor after a push, unless it is scheduled or running already.
    #[inline]
    fn schedule_if_idle(self: &Arc<Self>) {
        // Looked at before the CAS: an actor already scheduled or running (the
        // common case under load) is left alone without taking its status's cache
        // line from the worker running it. The load is SeqCst like `go_idle`'s
        // store, so one of the two sees the other (see there).
        if self.status.load(Ordering::SeqCst) == IDLE
            && self
                .status
                .compare_exchange(IDLE, SCHEDULED, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
        {
            self.stage
                .schedule(Task::Actor(Arc::clone(self) as Arc<dyn Runnable>));
        }
    }

    /// Called by a waiting handler's waker.
    fn wake_pending(self: &Arc<Self>) {
        let mut status = self.status.load(Ordering::Acquire);
        loop {
            let next = match status {
                PARKED => SCHEDULED,
                RUNNING => RUNNING | WOKEN,
                // Scheduled already, woken already, idle (a stale waker) or stopped.
                _ => return,
            };
            match self
                .status
                .compare_exchange(status, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if next == SCHEDULED => {
                    self.stage
                        .schedule(Task::Actor(Arc::clone(self) as Arc<dyn Runnable>));
                    return;
                }
                Ok(_) => return,
                Err(actual) => status = actual,
            }
        }
    }

    /// The actor's state and context, for one handler call.
    ///
    /// # Safety
    ///
    /// The caller holds the turn (it moved the status to `RUNNING`, or the cell is
    /// being dropped), and no pending future borrows the state (`books.pending` is
    /// `None`): a new `&mut` here would invalidate that future's borrows. The returned
    /// borrow must end before another call, unless it is captured by the future stored
    /// in `books.pending`, after which this is not called until that future is gone.
    #[allow(clippy::mut_from_ref)]
    unsafe fn state(&self) -> &mut State<A> {
        // SAFETY: exclusive access per the caller's guarantee above.
        unsafe { &mut *self.state.get() }
    }

    /// One turn. The caller moved the status to `SCHEDULED` and queued this cell, so
    /// this worker is the only one running it.
    fn turn(self: &Arc<Self>) {
        self.status.store(RUNNING, Ordering::Release);
        // SAFETY: the status went SCHEDULED -> RUNNING on this thread; see `Sync`.
        // Handlers never borrow `books`, so holding it for the whole turn aliases
        // nothing.
        let books = unsafe { &mut *self.books.get() };
        let outcome = speaking_as(self.id, || self.work(books));
        match outcome {
            TurnEnd::Drained => self.go_idle(),
            TurnEnd::BudgetSpent => {
                if let (None, Some(census)) = (&self.stand_in, census::of(&self.stage)) {
                    census.busy(self.id, Self::kind());
                }
                self.status.store(SCHEDULED, Ordering::Release);
                self.stage
                    .schedule_back(Task::Actor(Arc::clone(self) as Arc<dyn Runnable>));
            }
            TurnEnd::Waiting => self.park(),
            TurnEnd::Stop(reason) => self.stop(books, reason),
            // The cell is a forwarder now; its status is final.
            TurnEnd::Departed => {}
        }
    }

    fn work(self: &Arc<Self>, books: &mut Bookkeeping<A>) -> TurnEnd {
        if let Some(StandIn::Promise { forward, .. }) = self.stand_in.as_deref() {
            if let Some(target) = forward.get() {
                return self.forward_letters(target);
            }
        }
        for _ in 0..TURN_BUDGET {
            if !books.born {
                if let Some(end) = self.birth(books) {
                    return TurnEnd::Stop(end);
                }
            }
            if let Some(end) = self.resume(books) {
                return end;
            }
            if self.may_travel(books) {
                if let Some(end) = self.travelling(books) {
                    return end;
                }
            }
            // SAFETY: this turn holds the cell and nothing is pending (just checked).
            if unsafe { self.state() }.ctx.stop_requested() {
                return TurnEnd::Stop(DownReason::Stopped);
            }
            // SAFETY: this turn holds the cell: the mailbox's only consumer.
            let Some(envelope) = (unsafe { self.mailbox.pop() }) else {
                return TurnEnd::Drained;
            };
            match envelope.letter {
                Letter::Stop(reply) => {
                    self.stage.add_work(-1);
                    // SAFETY: as above.
                    unsafe { self.state() }.ctx.request_stop(Some(reply));
                    return TurnEnd::Stop(DownReason::Stopped);
                }
                Letter::Fence(_) => {
                    // Reached the actor itself: nothing to pass on.
                    self.stage.add_work(-1);
                }
                Letter::Flush(reply) => {
                    // Everything sent before it the same way has been taken.
                    self.stage.add_work(-1);
                    reply.send(());
                }
                Letter::Receipt(receipt) => {
                    // Taken: the letters before it are no longer held here.
                    self.stage.add_work(-1);
                    drop(receipt);
                }
                Letter::Escalated => {
                    // A supervised child's failure passed up: handled as this actor's own.
                    self.stage.add_work(-1);
                    if let Some(end) = self.on_panic(books) {
                        return TurnEnd::Stop(end);
                    }
                }
                letter => {
                    if self.deliver(books, letter, envelope.from).is_err() {
                        if let Some(end) = self.on_panic(books) {
                            return TurnEnd::Stop(end);
                        }
                    }
                }
            }
        }
        self.resume(books).unwrap_or(TurnEnd::BudgetSpent)
    }

    /// Whether [`ActorCell::travelling`] has anything to do: a move waited for,
    /// an invitation, or a handler's request. Inline and cheap, so that an actor
    /// that never moves pays three loads per letter, not a call.
    #[inline]
    fn may_travel(&self, books: &Bookkeeping<A>) -> bool {
        // SAFETY: this turn holds the cell and nothing is pending.
        books.journey.is_some()
            || self.travel.get().is_some()
            || unsafe { self.state() }.ctx.may_travel()
    }

    /// Moves between theatres, between two letters: a move that has ended (the
    /// actor departs, or stays and hears why), an invitation into a friend's move,
    /// a move a handler asked for. `Some(end)` when the turn ends here. Runs with
    /// nothing pending.
    #[inline(never)]
    fn travelling(self: &Arc<Self>, books: &mut Bookkeeping<A>) -> Option<TurnEnd> {
        if let Some(journey) = books.journey.take() {
            match journey.group.landing() {
                Some(Ok(arrival)) => {
                    self.depart(&arrival, journey.reply);
                    return Some(TurnEnd::Departed);
                }
                Some(Err(error)) => self.stay(journey.reply, error),
                // Not yet (a stray wake-up): wait on.
                None => return self.wait_for(books, journey),
            }
        }
        let travel = self.travel.get();
        if let Some(group) = travel.and_then(|t| lock(&t.engaged).clone()) {
            // Invited into a friend's move.
            return self.join(books, group, None);
        }
        // SAFETY: this turn holds the cell and nothing is pending.
        let state = unsafe { self.state() };
        let request = state.ctx.take_move()?;
        self.lead(books, request)
    }

    /// Starts the move a handler asked for, with this actor's friends.
    fn lead(self: &Arc<Self>, books: &mut Bookkeeping<A>, request: MoveRequest) -> Option<TurnEnd> {
        // SAFETY: this turn holds the cell and nothing is pending.
        let stopping = unsafe { self.state() }.ctx.stop_requested();
        let Some(fabric) = crate::stage::fabric_of(&self.stage) else {
            self.stay(request.reply, MigrationError::NoTheatre);
            return None;
        };
        if stopping {
            self.stay(request.reply, MigrationError::Busy);
            return None;
        }
        let group = Group::new(request.to, fabric, self.id);
        {
            let mut engaged = lock(&self.travel().engaged);
            if engaged.is_some() {
                // Invited into a friend's move at the same time: that one goes
                // first (at the next step of this turn).
                drop(engaged);
                self.stay(request.reply, MigrationError::Busy);
                return None;
            }
            *engaged = Some(Arc::clone(&group));
        }
        self.join(books, group, request.reply)
    }

    /// Joins `group`'s move: the snapshot goes to the group, the friends are
    /// invited, and the actor waits for the outcome.
    fn join(
        self: &Arc<Self>,
        books: &mut Bookkeeping<A>,
        group: Arc<Group>,
        reply: Option<crate::reply::ReplySender<()>>,
    ) -> Option<TurnEnd> {
        // SAFETY: this turn holds the cell and nothing is pending.
        let State { actor, ctx } = unsafe { self.state() };
        let snapshot = match actor.as_ref() {
            Some(actor) => actor.__snapshot(),
            None => Err(MigrationError::Busy),
        };
        match snapshot {
            Ok(state) => {
                let friends: Vec<Arc<dyn Friend>> = ctx
                    .friends()
                    .iter()
                    .filter_map(std::sync::Weak::upgrade)
                    .collect();
                group.invite(&friends);
                group.joined(Ok(Emigrant {
                    actor: self.id,
                    type_tag: crate::wire::type_tag::<A>(),
                    type_name: std::any::type_name::<A>(),
                    state,
                }));
                self.wait_for(books, Journey { group, reply })
            }
            Err(error) => {
                group.joined(Err(error.clone()));
                self.stay(reply, error);
                None
            }
        }
    }

    /// Waits (parked, letters queueing) for `journey`'s move to end.
    fn wait_for(self: &Arc<Self>, books: &mut Bookkeeping<A>, journey: Journey) -> Option<TurnEnd> {
        books.pending = Some(Box::pin(Arc::clone(&journey.group).landed()));
        books.journey = Some(journey);
        // The wait counts as work until it ends, as a waiting handler does.
        self.stage.add_work(1);
        match self.resume(books) {
            Some(end) => Some(end),
            // Ended already (the target answered at once): act on it now, as no
            // letter may come to start another turn.
            None => self.travelling(books),
        }
    }

    /// The move did not happen: the actor carries on here and hears why.
    fn stay(&self, reply: Option<crate::reply::ReplySender<()>>, error: MigrationError) {
        if let Some(travel) = self.travel.get() {
            *lock(&travel.engaged) = None;
        }
        MoveRequest {
            to: String::new(),
            reply,
        }
        .refuse(error.clone());
        // SAFETY: this turn holds the cell and nothing is pending.
        let State { actor, ctx } = unsafe { self.state() };
        if let Some(actor) = actor.as_mut() {
            let _ = catch_unwind(AssertUnwindSafe(|| actor.__migration_failed(ctx, error)));
        }
    }

    /// The actor runs on the theatre behind `link` now: this cell becomes its
    /// forwarder. The letters queued here go on, in order, before any that is
    /// refused by the mailbox closed here; the watchers are handed over; the
    /// state is dropped.
    fn depart(
        self: &Arc<Self>,
        arrival: &crate::fabric::Arrival,
        reply: Option<crate::reply::ReplySender<()>>,
    ) {
        // Forwarded letters go to the alias the target gave this actor.
        let alias = arrival
            .aliases
            .iter()
            .find(|(actor, _)| *actor == self.id)
            .map_or(self.id, |(_, alias)| *alias);
        let to = Addr::from_cell(ActorCell::remote(
            &self.stage,
            RemoteActor {
                link: Arc::clone(&arrival.link),
                actor: alias,
            },
        ));
        let moved = self.travel().moved.get_or_init(|| Moved {
            to,
            order: Mutex::new(()),
        });
        {
            let _order = lock(&moved.order);
            self.status.store(STOPPED, Ordering::SeqCst);
            // SAFETY: this turn holds the cell: the mailbox's only consumer.
            unsafe {
                self.mailbox.close_and_drain(|envelope| {
                    // Accepted here: forwarded, never refused for lack of room.
                    if let Err((letter, error)) = moved.send_in_order(envelope.letter, true) {
                        letter.refuse(error);
                    }
                    self.stage.add_work(-1);
                });
            }
        }
        for watcher in self.watchers.hand_over() {
            moved.to.watch(watcher);
        }
        // SAFETY: this turn holds the cell and nothing is pending.
        let state = unsafe { self.state() };
        drop(state.actor.take());
        self.stage.actor_ended();
        Self::count(&self.stage, -1);
        if let Some(reply) = reply {
            reply.send(());
        }
    }

    /// Polls the waiting handler, if there is one. `Some(end)` when the turn ends here:
    /// it still waits, or its panic ends the actor.
    fn resume(self: &Arc<Self>, books: &mut Bookkeeping<A>) -> Option<TurnEnd> {
        books.pending.as_ref()?;
        match self.poll_pending(books) {
            Polled::Waiting => Some(TurnEnd::Waiting),
            Polled::Done => None,
            Polled::Panicked => self.on_panic(books).map(TurnEnd::Stop),
        }
    }

    /// Runs `#[birth]`. `Some(reason)` when the actor must end instead.
    fn birth(self: &Arc<Self>, books: &mut Bookkeeping<A>) -> Option<DownReason> {
        books.born = true;
        // SAFETY: this turn holds the cell and nothing is pending before birth.
        let State { actor, ctx } = unsafe { self.state() };
        let actor = actor.as_mut()?;
        let arrived = std::mem::take(&mut books.arrived);
        let birth = catch_unwind(AssertUnwindSafe(|| {
            erase(if arrived {
                actor.__arrived(ctx)
            } else {
                actor.__birth(ctx)
            })
        }));
        match birth {
            Ok(Some(future)) => {
                books.pending = Some(future);
                None
            }
            Ok(None) => {
                self.stage.add_work(-1);
                None
            }
            Err(_) => {
                self.stage.add_work(-1);
                if books.supervisor.is_some() {
                    self.on_panic(books)
                } else {
                    // Unsupervised, a panicking birth leaves no state worth serving from.
                    Some(DownReason::Panicked)
                }
            }
        }
    }

    /// A handler panicked. Unsupervised, the actor carries on (the panic failed only
    /// its message); supervised, its policy decides. `Some(reason)` when it must end.
    fn on_panic(self: &Arc<Self>, books: &mut Bookkeeping<A>) -> Option<DownReason> {
        let supervisor = books.supervisor.as_mut()?;
        match supervisor.decide(Instant::now()) {
            Decision::Stop => Some(DownReason::Panicked),
            Decision::Escalate => {
                supervisor.escalate(self.id);
                Some(DownReason::Escalated)
            }
            Decision::Restart => {
                crate::observe::restarted(std::any::type_name::<A>());
                let fresh = catch_unwind(AssertUnwindSafe(|| (supervisor.factory)()));
                let Ok(fresh) = fresh else {
                    supervisor.escalate(self.id);
                    return Some(DownReason::Escalated);
                };
                if books.pending.take().is_some() {
                    self.stage.add_work(-1);
                }
                // SAFETY: this turn holds the cell; the pending future is gone.
                let state = unsafe { self.state() };
                state.actor = Some(fresh);
                state.ctx.restarted();
                // The new state is born again, before its next message.
                books.born = false;
                self.stage.add_work(1);
                None
            }
        }
    }

    /// Runs one message's handlers. A synchronous handler finishes here; an `async`
    /// one that has to wait leaves its future in `books.pending`.
    ///
    /// # Errors
    ///
    /// `Err(())` when the handler panicked (contained; its reply already answered
    /// `Failed(Panicked)` as the unwinding dropped its sender).
    fn deliver(
        self: &Arc<Self>,
        books: &mut Bookkeeping<A>,
        letter: Letter<A>,
        from: Speaker,
    ) -> Result<(), ()> {
        // SAFETY: called from `work` with nothing pending; the borrows end here or are
        // captured by the future stored in `books.pending` below.
        let State { actor, ctx } = unsafe { self.state() };
        let Some(actor) = actor.as_mut() else {
            letter.refuse(SpeechError::Failed(Failure::Dead));
            self.stage.add_work(-1);
            return Ok(());
        };
        if A::__HAS_PERMIT && !matches!(letter, Letter::Own(_)) {
            let (kind, name) = letter.describe();
            let act = SpeechAct::new(kind, name, from);
            // A panicking policy denies, like a policy that says no.
            let permitted =
                catch_unwind(AssertUnwindSafe(|| actor.__permit(&act))).unwrap_or(false);
            if !permitted {
                letter.refuse(SpeechError::Denied(Reason::NoPermission));
                self.stage.add_work(-1);
                return Ok(());
            }
        }
        let _turn = crate::observe::turn(
            std::any::type_name::<A>(),
            crate::observe::describe(&letter),
        );
        let ran = catch_unwind(AssertUnwindSafe(|| match letter {
            Letter::Speech(msg) => erase(actor.__dispatch(ctx, msg)),
            Letter::Star(call) | Letter::Own(call) => {
                call.run(actor, ctx);
                None
            }
            Letter::Stop(_)
            | Letter::Escalated
            | Letter::Answered
            | Letter::Receipt(_)
            | Letter::Fence(_)
            | Letter::Flush(_) => None,
        }));
        match ran {
            Ok(Some(future)) => {
                books.pending = Some(future);
                Ok(())
            }
            Ok(None) => {
                self.stage.add_work(-1);
                Ok(())
            }
            Err(_) => {
                crate::observe::panicked(std::any::type_name::<A>());
                self.stage.add_work(-1);
                Err(())
            }
        }
    }

    /// Polls the waiting handler. Touches only `books`: the future holds the borrows
    /// of `State`.
    fn poll_pending(self: &Arc<Self>, books: &mut Bookkeeping<A>) -> Polled {
        let Some(future) = books.pending.as_mut() else {
            return Polled::Done;
        };
        // The waker holds the cell: an actor waiting for an answer is not unreachable,
        // even when no address to it is left. It is made per poll (a reference count,
        // no allocation), not kept in the cell, so that it forms no cycle with it; what
        // it was given to drops it once it has woken the actor.
        let waker = Waker::from(Arc::clone(self));
        let mut cx = Context::from_waker(&waker);
        let polled = {
            let _resume = crate::observe::resume(std::any::type_name::<A>());
            catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx)))
        };
        match polled {
            Ok(Poll::Pending) => Polled::Waiting,
            Ok(Poll::Ready(())) => {
                books.pending = None;
                self.stage.add_work(-1);
                Polled::Done
            }
            Err(_) => {
                crate::observe::panicked(std::any::type_name::<A>());
                books.pending = None;
                self.stage.add_work(-1);
                Polled::Panicked
            }
        }
    }

    fn go_idle(self: &Arc<Self>) {
        // SAFETY: this turn still holds the cell: the mailbox's only consumer.
        let mark = unsafe { self.mailbox.mark() };
        self.status.store(IDLE, Ordering::SeqCst);
        // A sender that pushed while we were RUNNING saw its CAS fail; whichever of us
        // comes second in the SeqCst order sees the other (the push's swap of the tail
        // and the check of it are SeqCst too), so one of us schedules.
        if self.mailbox.pushed_since(mark)
            && self
                .status
                .compare_exchange(IDLE, SCHEDULED, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            self.stage
                .schedule_back(Task::Actor(Arc::clone(self) as Arc<dyn Runnable>));
        }
    }

    fn park(self: &Arc<Self>) {
        if self
            .status
            .compare_exchange(RUNNING, PARKED, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // Woken during the turn: run again.
            self.status.store(SCHEDULED, Ordering::Release);
            self.stage
                .schedule_back(Task::Actor(Arc::clone(self) as Arc<dyn Runnable>));
        }
    }

    /// Ends the actor: runs `#[stopping]`, refuses everything still queued, drops the
    /// state. Runs on the worker that holds the turn.
    fn stop(self: &Arc<Self>, books: &mut Bookkeeping<A>, reason: DownReason) {
        if let Some(future) = books.pending.take() {
            drop(future);
            self.stage.add_work(-1);
        }
        // SAFETY: this turn holds the cell, and the pending future is gone.
        let state = unsafe { self.state() };
        if let Some(actor) = state.actor.as_mut() {
            let ctx = &mut state.ctx;
            let _ = catch_unwind(AssertUnwindSafe(|| actor.__stopping(ctx)));
        }
        self.status.store(STOPPED, Ordering::SeqCst);
        // SAFETY: this turn holds the cell: the mailbox's only consumer.
        unsafe {
            self.mailbox.close_and_drain(|envelope| {
                envelope.letter.refuse(SpeechError::Failed(Failure::Dead));
                self.stage.add_work(-1);
            });
        }
        drop(state.actor.take());
        // Ended (watchers told, stage count updated) before the stop is answered: who
        // hears "stopped" can rely on both.
        self.ended(reason);
        state.ctx.finish_stop();
    }
}

enum TurnEnd {
    Drained,
    BudgetSpent,
    Waiting,
    Stop(DownReason),
    /// The actor moved to another theatre.
    Departed,
}

impl<A: Actor> Moved<A> {
    /// Sends on a letter that reached the cell the actor left, after the queue
    /// left behind: as one this theatre had accepted (`accepted`: an event a
    /// peer was told was taken, never refused for lack of room), or as a new
    /// one.
    fn send(&self, letter: Letter<A>, accepted: bool) -> Result<(), (Letter<A>, SpeechError)> {
        let _order = lock(&self.order);
        self.send_in_order(letter, accepted)
    }

    /// [`Moved::send`]; the caller holds `order`.
    fn send_in_order(
        &self,
        letter: Letter<A>,
        accepted: bool,
    ) -> Result<(), (Letter<A>, SpeechError)> {
        match self.to.remote_actor() {
            Some(remote) if accepted => remote
                .forward(letter)
                .map_err(|error| (Letter::Answered, error)),
            Some(remote) => remote
                .send(letter)
                .map_err(|error| (Letter::Answered, error)),
            None => self.to.cell().send(letter),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<A: Actor> Friend for ActorCell<A> {
    fn actor(&self) -> ActorId {
        self.id
    }

    fn invite(self: Arc<Self>, group: &Arc<Group>) -> bool {
        if self.status.load(Ordering::Acquire) == STOPPED || self.moved().is_some() {
            return false;
        }
        {
            let mut engaged = lock(&self.travel().engaged);
            if engaged.is_some() {
                return false;
            }
            *engaged = Some(Arc::clone(group));
        }
        // A letter that does nothing, so that an idle friend takes a turn (and the
        // invitation with it) soon.
        let nudge = crate::letter::NotifyCall {
            f: |_: &mut A, _: &mut Ctx<A>| {},
        };
        if let Err((letter, _)) = self.send_from(Letter::Own(Box::new(nudge)), Speaker::Outside) {
            drop(letter);
            // Full (it has letters: it will run) or ended.
            if self.status.load(Ordering::Acquire) == STOPPED {
                *lock(&self.travel().engaged) = None;
                return false;
            }
        }
        true
    }
}

impl<A: Actor> Roaming for ActorCell<A> {
    fn id(&self) -> ActorId {
        self.id
    }

    fn is_here(&self) -> bool {
        self.status.load(Ordering::Acquire) != STOPPED && self.moved().is_none()
    }

    fn is_busy(&self) -> bool {
        let status = self.status.load(Ordering::Relaxed) & !WOKEN;
        status == SCHEDULED || status == RUNNING
    }

    fn inbound(self: Arc<Self>) -> Option<Arc<dyn crate::fabric::Inbound>> {
        if !self.is_here() {
            return None;
        }
        crate::inbound::export(&Addr::from_cell(self))
    }
}

/// What polling a waiting handler came to.
enum Polled {
    Waiting,
    Done,
    Panicked,
}

/// Extends a handler future's borrow of the state to `'static` so it can wait in the
/// cell between turns.
fn erase(waiting: crate::actor::Waiting<'_>) -> Option<Pending> {
    waiting.map(|future| {
        // SAFETY: the future borrows `State::actor` and `State::ctx`, which live inside
        // an `Arc`'d cell and never move. While it is stored in `Bookkeeping::pending`,
        // the runtime creates no reference to `State` (`ActorCell::state` requires
        // nothing pending; `poll_pending` touches only `Bookkeeping`), and the future is
        // dropped before the state (in `stop`, and first in `Drop`). So the borrow never
        // outlives, nor aliases with, what it borrows.
        unsafe {
            std::mem::transmute::<
                Pin<Box<dyn Future<Output = ()> + Send + '_>>,
                Pin<Box<dyn Future<Output = ()> + Send + 'static>>,
            >(future)
        }
    })
}

impl<A: Actor> Runnable for ActorCell<A> {
    fn run(self: Arc<Self>, _worker: &WorkerLocal) {
        self.turn();
    }

    fn abandon(self: Arc<Self>) {
        // Queued, so no worker holds the turn; the state is dropped with the cell.
        self.status.store(STOPPED, Ordering::SeqCst);
        self.ended(DownReason::ShutDown);
        // SAFETY: the cell was queued, so no worker holds its turn, and it is never
        // run again: this is the mailbox's only consumer.
        unsafe {
            self.mailbox.close_and_drain(|envelope| {
                envelope.letter.refuse(SpeechError::Failed(Failure::Dead))
            });
        }
    }
}

impl<A: Actor> Drop for ActorCell<A> {
    fn drop(&mut self) {
        // Unreachable and idle: whatever is still queued is refused, and the work it
        // counted is given back so that quiescence is not held up. The pending future
        // goes first: it borrows the state.
        let books = self.books.get_mut();
        if books.pending.take().is_some() {
            self.stage.add_work(-1);
        }
        if !books.born {
            self.stage.add_work(-1);
        }
        // SAFETY: `&mut self`: nobody else can push or pop.
        unsafe {
            self.mailbox.close_and_drain(|envelope| {
                envelope.letter.refuse(SpeechError::Failed(Failure::Dead));
                self.stage.add_work(-1);
            });
        }
        self.ended(DownReason::Dropped);
    }
}

impl<A: Actor> Failable for ActorCell<A> {
    fn fail_from(self: Arc<Self>, child: ActorId) {
        // Refused only if this actor has ended, and then there is nobody to fail.
        let _ = self.send_from(Letter::Escalated, Speaker::Actor(child));
    }
}

/// Reschedules a parked actor when the future it waits on can make progress.
impl<A: Actor> Wake for ActorCell<A> {
    fn wake(self: Arc<Self>) {
        self.wake_pending();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wake_pending();
    }
}
