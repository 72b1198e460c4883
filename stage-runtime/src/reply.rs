//! Replies: the answer to a `query!` or `request!`, as a future.
//!
//! A reply is a oneshot cell shared by exactly one [`ReplySender`] (inside the
//! message) and one [`Reply`] (with the caller). The sender writes the answer once,
//! then publishes it with a release store; the receiver reads it only after an
//! acquire load has seen it published. No lock, no channel.

use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use atomic_waker::AtomicWaker;

use crate::deadlock;
use crate::id::ActorId;
use crate::scheduler::{current_scheduler, BlockedWorker};
use crate::speaker::current_speaker;
use crate::speech::{Failure, Speaker, SpeechError};

const EMPTY: u8 = 0;
const FULL: u8 = 1;
const TAKEN: u8 = 2;

/// The shared cell. `value` is written only by the one sender before `state`
/// becomes `FULL`, and read only by the one receiver after it has seen `FULL`.
struct Slot<T> {
    state: AtomicU8,
    value: UnsafeCell<Option<Result<T, SpeechError>>>,
    waker: AtomicWaker,
    /// The actor that will answer, for deadlock detection (0: not known, or not
    /// an actor). Written and read under the deadlock graph's lock once set.
    blocker: AtomicU64,
    /// The stage whose worker must run for the answer to come
    /// (`Scheduler::key`; 0: none known, as for an actor on another theatre).
    stage: usize,
}

// SAFETY: `value` is accessed by at most one thread at a time: the sender writes it
// before the release store of `FULL` and never touches it again; the receiver reads it
// only after an acquire load of `FULL`, so the write happens-before the read. The value
// moves between threads, so `T: Send` is required; nothing is ever shared by reference.
unsafe impl<T: Send> Sync for Slot<T> {}

impl<T> Slot<T> {
    fn new(answerer: Answerer) -> Self {
        Slot {
            state: AtomicU8::new(EMPTY),
            value: UnsafeCell::new(None),
            waker: AtomicWaker::new(),
            blocker: AtomicU64::new(answerer.actor.map_or(0, ActorId::bits)),
            stage: answerer.stage,
        }
    }

    /// Identifies this cell in the deadlock graph.
    fn key(&self) -> usize {
        self as *const Self as usize
    }

    /// Publishes the answer. Called once, by the `ReplySender` that owns the only
    /// sending handle (it is consumed, or this runs from its `Drop`).
    fn complete(&self, answer: Result<T, SpeechError>) {
        // SAFETY: only the single sender calls `complete`, exactly once, and the
        // receiver does not read `value` until it observes `FULL`, stored below.
        unsafe { *self.value.get() = Some(answer) };
        self.state.store(FULL, Ordering::Release);
        self.waker.wake();
    }

    /// Takes the answer if it has been published.
    fn take(&self) -> Option<Result<T, SpeechError>> {
        if self.state.load(Ordering::Acquire) != FULL {
            return None;
        }
        self.state.store(TAKEN, Ordering::Relaxed);
        // SAFETY: `FULL` was observed with acquire ordering, so the sender's write is
        // visible and the sender will never touch `value` again. Only the single
        // receiver (the `Reply`, which is not `Clone`) calls `take`.
        unsafe { (*self.value.get()).take() }
    }
}

/// The answer to a `query!` or `request!`: a future of `Result<T, SpeechError>`.
///
/// The message is sent when the reply is created, not on first poll. A reply can be
/// awaited from any executor (it only needs a `Waker`), waited for from blocking code
/// with [`Reply::wait`], or polled without blocking with [`Reply::is_ready`] and
/// [`Reply::try_take`] (Stage's `ready`).
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
///
/// #[actor]
/// struct Counter { n: u64 }
///
/// #[behaviour]
/// impl Counter {
///     #[request]
///     fn bump(&mut self) -> u64 { self.n += 1; self.n }
/// }
///
/// let counter = spawn(Counter { n: 0 });
/// let first = request!(counter, bump());   // sent now
/// let second = request!(counter, bump());  // sent now, after the first
/// assert_eq!(second.wait(), Ok(2));
/// assert_eq!(first.wait(), Ok(1));
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them; the message was sent already"]
pub struct Reply<T> {
    slot: Arc<Slot<T>>,
    /// An edge of the deadlock graph is recorded for this wait.
    waits: bool,
    /// Completed (with a deadlock) without taking the cell's answer.
    done: bool,
}

impl<T> Reply<T> {
    /// A reply that is already answered with `value`.
    ///
    /// For a delegating handler (one that returns `Reply<T>`) that can answer at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use stage_runtime::Reply;
    ///
    /// assert_eq!(Reply::ready(3).wait(), Ok(3));
    /// ```
    pub fn ready(value: T) -> Self {
        let (reply, tx) = reply_pair();
        tx.send(value);
        reply
    }

    /// A reply not yet answered, and the sender that will answer it.
    ///
    /// For an actor that answers later than the handler returns: the handler returns
    /// the reply (delegating its caller's answer to it) and keeps the sender until it
    /// can answer, as a synchronous channel keeps a `put` until a `get` comes.
    ///
    /// # Examples
    ///
    /// ```
    /// use stage_runtime::Reply;
    ///
    /// let (reply, sender) = Reply::pair();
    /// assert!(!reply.is_ready());
    /// sender.send("later");
    /// assert_eq!(reply.wait(), Ok("later"));
    /// ```
    pub fn pair() -> (Reply<T>, ReplySender<T>) {
        reply_pair()
    }

    /// A reply that is already answered with `error`.
    pub fn failed(error: SpeechError) -> Self {
        let (reply, tx) = reply_pair();
        tx.fail(error);
        reply
    }

    /// Whether the answer has arrived (Stage's `ready`). Never blocks.
    pub fn is_ready(&self) -> bool {
        self.slot.state.load(Ordering::Acquire) == FULL
    }

    /// Takes the answer if it has arrived, or gives the reply back if not. Never blocks.
    ///
    /// # Errors
    ///
    /// `Err(self)` when no answer has arrived yet; keep the reply and ask again later.
    ///
    /// # Examples
    ///
    /// ```
    /// use stage_runtime::prelude::*;
    ///
    /// #[actor]
    /// struct Echo;
    ///
    /// #[behaviour]
    /// impl Echo {
    ///     #[query]
    ///     fn echo(&self, word: String) -> String { word }
    /// }
    ///
    /// let echo = spawn(Echo);
    /// let mut reply = query!(echo, echo("hi".to_string()));
    /// let answer = loop {
    ///     match reply.try_take() {
    ///         Ok(answer) => break answer,
    ///         Err(pending) => { reply = pending; std::thread::yield_now(); }
    ///     }
    /// };
    /// assert_eq!(answer.as_deref(), Ok("hi"));
    /// ```
    pub fn try_take(self) -> Result<Result<T, SpeechError>, Self> {
        self.slot.take().ok_or(self)
    }

    /// Blocks the current thread until the answer arrives.
    ///
    /// For code outside any async context (a plain `main`, a test, a thread). Do not
    /// call it from inside an actor's handler: that blocks a worker thread; `.await`
    /// the reply there instead.
    ///
    /// # Errors
    ///
    /// The actor's refusal or failure, as [`SpeechError`].
    pub fn wait(self) -> Result<T, SpeechError> {
        // Most answers come within microseconds: spin a little (as crossbeam-channel
        // does) before parking the thread, whose wake-up costs more than that.
        let backoff = crossbeam_utils::Backoff::new();
        while !backoff.is_completed() {
            if self.is_ready() {
                break;
            }
            backoff.snooze();
        }
        let _blocked = self.block_worker()?;
        futures_lite::future::block_on(self)
    }

    /// On a worker thread whose answer is not in yet: counts the worker as
    /// blocked for as long as the returned guard lives.
    ///
    /// # Errors
    ///
    /// `Failed(NoWorkerLeft)` when the answer needs a worker of this stage and
    /// this one is the last that is not blocked in a wait.
    fn block_worker(&self) -> Result<Option<BlockedWorker>, SpeechError> {
        if self.is_ready() {
            return Ok(None);
        }
        let Some(stage) = current_scheduler() else {
            return Ok(None);
        };
        let needs_one = self.slot.stage != 0 && self.slot.stage == stage.key();
        match stage.block_worker(needs_one) {
            Some(blocked) => Ok(Some(blocked)),
            // The answer may have come meanwhile.
            None if self.is_ready() => Ok(None),
            None => Err(SpeechError::Failed(Failure::NoWorkerLeft)),
        }
    }
}

impl<T: Send + 'static> Reply<T> {
    /// SALSA's token-passing continuation (`a <- m() @ b <- n(token)`): when this reply
    /// answers, `next` receives the answer (the *token*) and makes the next speech
    /// action, whose answer the returned reply carries.
    ///
    /// The chain runs on the current stage's workers: neither the caller nor any actor
    /// waits for it. If this reply fails, `next` is not called and the returned reply
    /// fails with the same error; a panic in `next` fails it with `Failed(Panicked)`.
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
    ///     #[query]
    ///     fn balance(&self) -> i64 { self.balance }
    ///     #[request]
    ///     fn deposit(&mut self, amount: i64) -> i64 { self.balance += amount; self.balance }
    /// }
    ///
    /// let checking = spawn(Account { balance: 40 });
    /// let savings = spawn(Account { balance: 100 });
    /// // checking <- getBalance() @ savings <- transfer(token)
    /// let moved = query!(checking, balance()).then(move |token| request!(savings, deposit(token)));
    /// assert_eq!(moved.wait(), Ok(140));
    /// ```
    pub fn then<U, F>(self, next: F) -> Reply<U>
    where
        U: Send + 'static,
        F: FnOnce(T) -> Reply<U> + Send + 'static,
    {
        crate::stage::spawn_reply(crate::Stage::current().shared(), async move {
            let token = self.await?;
            next(token).await
        })
    }

    /// A reply whose answer is `f` of this one's (a continuation that speaks to no
    /// actor). Failures pass through unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use stage_runtime::Reply;
    ///
    /// assert_eq!(Reply::ready(20).map(|n| n + 1).wait(), Ok(21));
    /// ```
    pub fn map<U, F>(self, f: F) -> Reply<U>
    where
        U: Send + 'static,
        F: FnOnce(T) -> U + Send + 'static,
    {
        crate::stage::spawn_reply(crate::Stage::current().shared(), async move {
            self.await.map(f)
        })
    }

    /// Answers `sender` with whatever this reply yields: a handler's delegation.
    pub(crate) fn forward_to(self, sender: ReplySender<T>) {
        if let Some(slot) = &sender.slot {
            // The delegating actor is not blocked: whoever waits on `sender`'s answer no
            // longer waits on it (see `deadlock`).
            deadlock::delegated(slot.key(), || slot.blocker.store(0, Ordering::Relaxed));
        }
        match self.try_take() {
            Ok(answer) => sender.complete(answer),
            Err(pending) => {
                crate::Stage::current().shared().spawn_future(async move {
                    sender.complete(pending.await);
                });
            }
        }
    }
}

/// SALSA's join continuation over any number of replies of one type: a reply of all
/// their answers, in order. The first failure (in order) fails the whole join.
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
///
/// #[actor]
/// struct Square;
///
/// #[behaviour]
/// impl Square {
///     #[query]
///     fn of(&self, n: u64) -> u64 { n * n }
/// }
///
/// let square = spawn(Square);
/// let all = join_all((1..=4).map(|n| query!(square, of(n))));
/// assert_eq!(all.wait(), Ok(vec![1, 4, 9, 16]));
/// ```
pub fn join_all<T, I>(replies: I) -> Reply<Vec<T>>
where
    T: Send + 'static,
    I: IntoIterator<Item = Reply<T>>,
{
    let replies: Vec<Reply<T>> = replies.into_iter().collect();
    crate::stage::spawn_reply(crate::Stage::current().shared(), async move {
        let mut answers = Vec::with_capacity(replies.len());
        for reply in replies {
            answers.push(reply.await?);
        }
        Ok(answers)
    })
}

impl<T> Reply<T> {
    /// Blocks the current thread until the answer arrives, or `limit` has passed.
    ///
    /// Like [`Reply::wait`], for code outside any async context.
    ///
    /// # Errors
    ///
    /// [`Failure::TimedOut`] when no answer came within `limit` (the reply is given
    /// up; a late answer is dropped), or the actor's refusal or failure.
    ///
    /// # Examples
    ///
    /// ```
    /// use stage_runtime::prelude::*;
    /// use std::time::Duration;
    ///
    /// let (never, _kept) = Reply::<u8>::pair();
    /// assert_eq!(
    ///     never.wait_timeout(Duration::from_millis(10)),
    ///     Err(SpeechError::Failed(Failure::TimedOut))
    /// );
    /// assert_eq!(Reply::ready(1).wait_timeout(Duration::from_secs(1)), Ok(1));
    /// ```
    pub fn wait_timeout(mut self, limit: Duration) -> Result<T, SpeechError> {
        let _blocked = self.block_worker()?;
        let deadline = Instant::now() + limit;
        let waker = Waker::from(Arc::new(Unparker(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(answer) = Pin::new(&mut self).poll(&mut cx) {
                return answer;
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(SpeechError::Failed(Failure::TimedOut));
            }
            std::thread::park_timeout(deadline - now);
        }
    }
}

/// Wakes a thread blocked in [`Reply::wait_timeout`].
struct Unparker(std::thread::Thread);

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

impl<T> Future for Reply<T> {
    type Output = Result<T, SpeechError>;

    /// # Panics
    ///
    /// When polled again after it returned `Ready`, as futures may.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.done || this.slot.state.load(Ordering::Acquire) == TAKEN {
            panic!("`Reply` polled after it completed");
        }
        if let Some(answer) = this.slot.take() {
            return Poll::Ready(this.finish(answer));
        }
        this.slot.waker.register(cx.waker());
        // The answer may have been published between the first check and the
        // registration; check again so that the wake-up cannot be lost.
        if let Some(answer) = this.slot.take() {
            return Poll::Ready(this.finish(answer));
        }
        if !this.waits {
            if let Speaker::Actor(me) = current_speaker() {
                let slot = &this.slot;
                let blocker = || ActorId::from_bits(slot.blocker.load(Ordering::Relaxed));
                match deadlock::wait(slot.key(), me, blocker) {
                    Ok(recorded) => this.waits = recorded,
                    Err(cycle) => {
                        this.done = true;
                        return Poll::Ready(Err(SpeechError::Failed(Failure::Deadlock(cycle))));
                    }
                }
            }
        }
        Poll::Pending
    }
}

impl<T> Reply<T> {
    fn finish(&mut self, answer: Result<T, SpeechError>) -> Result<T, SpeechError> {
        if std::mem::take(&mut self.waits) {
            deadlock::done(self.slot.key());
        }
        answer
    }
}

impl<T> Drop for Reply<T> {
    fn drop(&mut self) {
        if self.waits {
            deadlock::done(self.slot.key());
        }
    }
}

impl<T> fmt::Debug for Reply<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("ready", &self.is_ready())
            .finish()
    }
}

/// The sending half of a reply, carried inside a query or request message.
///
/// Generated code answers through it; user code meets it only when it builds its own
/// message plumbing. Dropping it unanswered resolves the reply with
/// [`Failure::Panicked`] when the drop happens while a handler panics, and with
/// [`Failure::Dead`] otherwise (the actor stopped with the message still queued).
pub struct ReplySender<T> {
    slot: Option<Arc<Slot<T>>>,
}

impl<T> ReplySender<T> {
    /// Sends the answer.
    pub fn send(self, value: T) {
        self.complete(Ok(value));
    }

    /// Answers with an error instead of a value.
    pub fn fail(self, error: SpeechError) {
        self.complete(Err(error));
    }

    /// Whether the reply this answers has been dropped: nobody will read the
    /// answer. Something that keeps senders for later (waiters on an event)
    /// can let go of these.
    ///
    /// # Examples
    ///
    /// ```
    /// use stage_runtime::Reply;
    ///
    /// let (reply, sender) = Reply::<u32>::pair();
    /// assert!(!sender.is_abandoned());
    /// drop(reply);
    /// assert!(sender.is_abandoned());
    /// ```
    pub fn is_abandoned(&self) -> bool {
        self.slot
            .as_ref()
            .is_none_or(|slot| Arc::strong_count(slot) == 1)
    }

    pub(crate) fn complete(mut self, answer: Result<T, SpeechError>) {
        if let Some(slot) = self.slot.take() {
            slot.complete(answer);
        }
    }
}

impl<T> Drop for ReplySender<T> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            let failure = if std::thread::panicking() {
                Failure::Panicked
            } else {
                Failure::Dead
            };
            slot.complete(Err(SpeechError::Failed(failure)));
        }
    }
}

impl<T> fmt::Debug for ReplySender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplySender").finish_non_exhaustive()
    }
}

/// A new reply and the sender that answers it, not answered by any one actor.
///
/// Allocates the shared cell (one allocation per query or request).
pub(crate) fn reply_pair<T>() -> (Reply<T>, ReplySender<T>) {
    reply_pair_from(Answerer::default())
}

/// Who will answer a reply, where it is known: the local actor (for deadlock
/// detection) and the stage it runs on (so that a blocking wait does not hold
/// that stage's last worker).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Answerer {
    pub(crate) actor: Option<ActorId>,
    /// `Scheduler::key`, or 0.
    pub(crate) stage: usize,
}

/// A new reply that `answerer` will answer.
pub(crate) fn reply_pair_from<T>(answerer: Answerer) -> (Reply<T>, ReplySender<T>) {
    let slot = Arc::new(Slot::new(answerer));
    let sender = ReplySender {
        slot: Some(Arc::clone(&slot)),
    };
    let reply = Reply {
        slot,
        waits: false,
        done: false,
    };
    (reply, sender)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_sent_before_poll_is_taken() {
        let (rx, tx) = reply_pair();
        tx.send(7);
        assert!(rx.is_ready());
        assert_eq!(rx.wait(), Ok(7));
    }

    #[test]
    fn answer_from_another_thread_wakes_a_blocked_waiter() {
        let (rx, tx) = reply_pair::<String>();
        let sender = std::thread::spawn(move || tx.send("late".to_string()));
        assert_eq!(rx.wait().as_deref(), Ok("late"));
        sender.join().expect("sender thread");
    }

    #[test]
    fn dropped_sender_means_dead() {
        let (rx, tx) = reply_pair::<u8>();
        drop(tx);
        assert_eq!(rx.wait(), Err(SpeechError::Failed(Failure::Dead)));
    }

    #[test]
    fn sender_dropped_while_panicking_means_panicked() {
        let (rx, tx) = reply_pair::<u8>();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _tx = tx;
            panic!("handler failed");
        }));
        assert!(caught.is_err());
        assert_eq!(rx.wait(), Err(SpeechError::Failed(Failure::Panicked)));
    }

    #[test]
    fn try_take_gives_the_reply_back_until_answered() {
        let (rx, tx) = reply_pair::<u8>();
        let rx = rx.try_take().expect_err("nothing sent yet");
        tx.send(1);
        assert_eq!(rx.try_take().ok(), Some(Ok(1)));
    }

    #[test]
    fn many_threads_race_send_and_poll() {
        let rounds = if cfg!(miri) { 20 } else { 1_000 };
        for _ in 0..rounds {
            let (rx, tx) = reply_pair::<usize>();
            let t = std::thread::spawn(move || tx.send(42));
            assert_eq!(rx.wait(), Ok(42));
            t.join().expect("sender thread");
        }
    }
}
