//! The actor cell: an actor's state, its mailbox and its status, and the *turn* a
//! worker takes on it.
//!
//! An actor is not a task. It is this heap object: a mailbox queue, an atomic status
//! and, behind an `UnsafeCell`, the state and its [`Ctx`]. Sending pushes onto the
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
//! Only the worker that moved the status to `RUNNING` touches the body, which is what
//! makes the `UnsafeCell` sound.

use std::cell::UnsafeCell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Wake, Waker};

use concurrent_queue::{ConcurrentQueue, PushError};

use crate::actor::{Actor, ActorId, Letter};
use crate::ctx::Ctx;
use crate::scheduler::{Runnable, Shared, Task, WorkerLocal};
use crate::speech::{Failure, Reason, Speaker, SpeechAct, SpeechError};

/// Messages one turn may process before the actor yields its worker (fairness).
pub(crate) const TURN_BUDGET: usize = 64;

const IDLE: u8 = 0;
const SCHEDULED: u8 = 1;
const RUNNING: u8 = 2;
const PARKED: u8 = 3;
const STOPPED: u8 = 4;
/// Set on `RUNNING` when a waiting handler's waker fired during the turn.
const WOKEN: u8 = 0x10;

thread_local! {
    /// The actor whose turn this thread is taking, for `Speaker` identity.
    static SPEAKER: std::cell::Cell<Option<ActorId>> = const { std::cell::Cell::new(None) };
}

/// Who is speaking on this thread right now.
pub(crate) fn current_speaker() -> Speaker {
    SPEAKER
        .with(|s| s.get())
        .map_or(Speaker::Outside, Speaker::Actor)
}

pub(crate) struct Envelope<A: Actor> {
    letter: Letter<A>,
    from: Speaker,
}

/// The future of an `async` handler that is waiting. It borrows the actor's state and
/// context, which live in the same cell and do not move; see `Body::pending`.
type Pending = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

struct Body<A: Actor> {
    /// Declared first so that it is dropped before `actor` and `ctx`, which it borrows.
    pending: Option<Pending>,
    actor: Option<A>,
    ctx: Ctx<A>,
    born: bool,
    /// Made once, on the first wait, and reused: polling allocates nothing after that.
    waker: Option<Waker>,
}

pub(crate) struct ActorCell<A: Actor> {
    status: AtomicU8,
    id: ActorId,
    stage: Arc<Shared>,
    mailbox: ConcurrentQueue<Envelope<A>>,
    body: UnsafeCell<Body<A>>,
}

// SAFETY: `body` is only accessed by the worker that won the transition to `RUNNING`
// (or, once the status is `STOPPED`, by nobody; it is dropped with the cell). The
// status transitions are atomic, so at most one thread holds the body at a time, and
// the acquire/release on `status` orders one turn's writes before the next turn's
// reads. The state and its messages move between threads, so they must be `Send`,
// which `Actor: Send` and `Actor::__Message: Send` guarantee.
unsafe impl<A: Actor> Sync for ActorCell<A> {}
// SAFETY: as above; every field is `Send` when `A` and its messages are.
unsafe impl<A: Actor> Send for ActorCell<A> {}

impl<A: Actor> ActorCell<A> {
    /// A new cell holding `actor`, scheduled to run its birth.
    pub(crate) fn spawn(stage: &Arc<Shared>, actor: A, parent: Option<ActorId>) -> Arc<Self> {
        let id = ActorId::fresh();
        let mailbox = match A::MAILBOX {
            Some(capacity) => ConcurrentQueue::bounded(capacity.max(1)),
            None => ConcurrentQueue::unbounded(),
        };
        let cell = Arc::new_cyclic(|weak: &Weak<Self>| ActorCell {
            status: AtomicU8::new(SCHEDULED),
            id,
            stage: Arc::clone(stage),
            mailbox,
            body: UnsafeCell::new(Body {
                pending: None,
                actor: Some(actor),
                ctx: Ctx::new(weak.clone(), id, Arc::clone(stage), parent),
                born: false,
                waker: None,
            }),
        });
        // The birth counts as one unit of work until it has run.
        stage.add_work(1);
        stage.schedule(Task::Actor(Arc::clone(&cell) as Arc<dyn Runnable>));
        cell
    }

    pub(crate) fn id(&self) -> ActorId {
        self.id
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
        let envelope = Envelope {
            letter,
            from: current_speaker(),
        };
        // Counted before the push, so the count is never below the real work.
        self.stage.add_work(1);
        if let Err(refused) = self.mailbox.push(envelope) {
            self.stage.add_work(-1);
            let (envelope, error) = match refused {
                PushError::Full(e) => (e, SpeechError::Denied(Reason::Busy)),
                PushError::Closed(e) => (e, SpeechError::Failed(Failure::Dead)),
            };
            return Err((envelope.letter, error));
        }
        if self
            .status
            .compare_exchange(IDLE, SCHEDULED, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            self.stage
                .schedule(Task::Actor(Arc::clone(self) as Arc<dyn Runnable>));
        }
        Ok(())
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

    /// One turn. The caller moved the status to `SCHEDULED` and queued this cell, so
    /// this worker is the only one running it.
    fn turn(self: &Arc<Self>) {
        self.status.store(RUNNING, Ordering::Release);
        // SAFETY: the status went SCHEDULED -> RUNNING on this thread; see `Sync`.
        let body = unsafe { &mut *self.body.get() };
        let previous = SPEAKER.with(|s| s.replace(Some(self.id)));
        let outcome = self.work(body);
        SPEAKER.with(|s| s.set(previous));
        match outcome {
            TurnEnd::Drained => self.go_idle(),
            TurnEnd::BudgetSpent => {
                self.status.store(SCHEDULED, Ordering::Release);
                self.stage
                    .schedule_back(Task::Actor(Arc::clone(self) as Arc<dyn Runnable>));
            }
            TurnEnd::Waiting => self.park(),
            TurnEnd::Stop => self.stop(body),
        }
    }

    fn work(self: &Arc<Self>, body: &mut Body<A>) -> TurnEnd {
        if !body.born {
            body.born = true;
            let Body { actor, ctx, .. } = &mut *body;
            let Some(actor) = actor.as_mut() else {
                return TurnEnd::Stop;
            };
            let birth = catch_unwind(AssertUnwindSafe(|| erase(actor.__birth(ctx))));
            match birth {
                Ok(Some(future)) => {
                    body.pending = Some(future);
                }
                Ok(None) => self.stage.add_work(-1),
                // A panicking birth leaves no state worth serving from.
                Err(_) => {
                    self.stage.add_work(-1);
                    return TurnEnd::Stop;
                }
            }
        }
        if body.pending.is_some() {
            match self.poll_pending(body) {
                Poll::Pending => return TurnEnd::Waiting,
                Poll::Ready(()) => {
                    if body.ctx.stop_requested() {
                        return TurnEnd::Stop;
                    }
                }
            }
        }
        for _ in 0..TURN_BUDGET {
            let Ok(envelope) = self.mailbox.pop() else {
                return TurnEnd::Drained;
            };
            if let Letter::Stop(reply) = envelope.letter {
                self.stage.add_work(-1);
                body.ctx.request_stop(Some(reply));
                return TurnEnd::Stop;
            }
            self.deliver(body, envelope);
            if body.pending.is_some() {
                match self.poll_pending(body) {
                    Poll::Pending => return TurnEnd::Waiting,
                    Poll::Ready(()) => {}
                }
            }
            if body.ctx.stop_requested() {
                return TurnEnd::Stop;
            }
        }
        TurnEnd::BudgetSpent
    }

    /// Runs one message's handlers. A synchronous handler finishes here; an `async`
    /// one that has to wait leaves its future in `body.pending`.
    fn deliver(self: &Arc<Self>, body: &mut Body<A>, envelope: Envelope<A>) {
        let Body {
            actor,
            ctx,
            pending,
            ..
        } = body;
        let Some(actor) = actor.as_mut() else {
            envelope.letter.refuse(SpeechError::Failed(Failure::Dead));
            self.stage.add_work(-1);
            return;
        };
        if A::__HAS_PERMIT {
            let (kind, name) = envelope.letter.describe();
            let act = SpeechAct::new(kind, name, envelope.from);
            // A panicking policy denies, like a policy that says no.
            let permitted =
                catch_unwind(AssertUnwindSafe(|| actor.__permit(&act))).unwrap_or(false);
            if !permitted {
                envelope
                    .letter
                    .refuse(SpeechError::Denied(Reason::NoPermission));
                self.stage.add_work(-1);
                return;
            }
        }
        let ran = catch_unwind(AssertUnwindSafe(|| match envelope.letter {
            Letter::Speech(msg) => erase(actor.__dispatch(ctx, msg)),
            Letter::Star(call) => {
                call.run(actor, ctx);
                None
            }
            Letter::Stop(_) => None,
        }));
        match ran {
            Ok(Some(future)) => *pending = Some(future),
            // Finished, or panicked: the panic is contained; the message's reply was
            // answered with `Failed(Panicked)` as the unwinding dropped its sender.
            Ok(None) | Err(_) => self.stage.add_work(-1),
        }
    }

    fn poll_pending(self: &Arc<Self>, body: &mut Body<A>) -> Poll<()> {
        let Some(future) = body.pending.as_mut() else {
            return Poll::Ready(());
        };
        let waker = body
            .waker
            .get_or_insert_with(|| Waker::from(Arc::new(CellWaker(Arc::downgrade(self)))));
        let mut cx = Context::from_waker(waker);
        let polled = catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx)));
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(())) | Err(_) => {
                body.pending = None;
                self.stage.add_work(-1);
                Poll::Ready(())
            }
        }
    }

    fn go_idle(self: &Arc<Self>) {
        self.status.store(IDLE, Ordering::SeqCst);
        // A sender that pushed while we were RUNNING saw its CAS fail; whichever of us
        // comes second in the SeqCst order sees the other (mailbox push and `is_empty`
        // are SeqCst too), so one of us schedules.
        if !self.mailbox.is_empty()
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
    /// state. Runs on the worker that holds the body.
    fn stop(self: &Arc<Self>, body: &mut Body<A>) {
        if let Some(future) = body.pending.take() {
            drop(future);
            self.stage.add_work(-1);
        }
        if let Some(actor) = body.actor.as_mut() {
            let ctx = &mut body.ctx;
            let _ = catch_unwind(AssertUnwindSafe(|| actor.__stopping(ctx)));
        }
        self.status.store(STOPPED, Ordering::SeqCst);
        self.mailbox.close();
        while let Ok(envelope) = self.mailbox.pop() {
            envelope.letter.refuse(SpeechError::Failed(Failure::Dead));
            self.stage.add_work(-1);
        }
        drop(body.actor.take());
        body.ctx.finish_stop();
    }
}

enum TurnEnd {
    Drained,
    BudgetSpent,
    Waiting,
    Stop,
}

/// Extends a handler future's borrow of the body to `'static` so it can wait in the
/// cell between turns.
fn erase(turn: crate::actor::Turn<'_>) -> Option<Pending> {
    turn.map(|future| {
        // SAFETY: the future borrows `Body::actor` and `Body::ctx`, which live inside an
        // `Arc`'d cell and never move. While it is stored in `Body::pending`, the runtime
        // touches neither (`work` returns `Waiting` and `poll_pending` only polls it),
        // and `pending` is dropped before them (field order, and explicitly in `stop`).
        // So the borrow never outlives, nor aliases with, what it borrows.
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
        // Queued, so no worker holds the body; it is dropped with the cell.
        self.status.store(STOPPED, Ordering::SeqCst);
        self.mailbox.close();
        while let Ok(envelope) = self.mailbox.pop() {
            envelope.letter.refuse(SpeechError::Failed(Failure::Dead));
        }
    }
}

impl<A: Actor> Drop for ActorCell<A> {
    fn drop(&mut self) {
        // Unreachable and idle: whatever is still queued is refused, and the work it
        // counted is given back so that quiescence is not held up.
        let body = self.body.get_mut();
        if body.pending.take().is_some() {
            self.stage.add_work(-1);
        }
        if !body.born {
            self.stage.add_work(-1);
        }
        self.mailbox.close();
        while let Ok(envelope) = self.mailbox.pop() {
            envelope.letter.refuse(SpeechError::Failed(Failure::Dead));
            self.stage.add_work(-1);
        }
    }
}

/// Reschedules a parked actor when the future it waits on can make progress.
struct CellWaker<A: Actor>(Weak<ActorCell<A>>);

impl<A: Actor> Wake for CellWaker<A> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(cell) = self.0.upgrade() {
            cell.wake_pending();
        }
    }
}
