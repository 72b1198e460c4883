//! `Stage`: the local theatre, a pool of workers that runs actors.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;

use crate::actor::Actor;
use crate::addr::Addr;
use crate::cell::ActorCell;
use crate::fabric::Fabric;
use crate::reply::{reply_pair, Reply};
use crate::scheduler::Scheduler;
use crate::speech::{Failure, SpeechError};

/// A stage: worker threads (one per core by default) that run actors' turns.
///
/// Most programs never name it: `#[stage_runtime::main]` makes one, and [`spawn`]
/// and [`block_on`] use the current one. Tests and libraries that want several, or a
/// chosen number of workers, build their own.
///
/// Dropping the last handle (or calling [`Stage::shutdown`]) stops the workers.
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
///
/// #[actor]
/// struct Doubler;
///
/// #[behaviour]
/// impl Doubler {
///     #[query]
///     fn double(&self, n: u32) -> u32 { n * 2 }
/// }
///
/// let stage = Stage::builder().workers(2).build();
/// let doubler = stage.spawn(Doubler);
/// assert_eq!(stage.block_on(query!(doubler, double(21))), Ok(42));
/// stage.shutdown();
/// ```
#[derive(Clone)]
pub struct Stage {
    inner: Arc<StageCore>,
}

/// A stage's work, read at one moment by [`Stage::load`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StageLoad {
    /// Letters waiting in mailboxes or being handled, and futures not yet done.
    pub waiting: u64,
    /// Letters handled and futures completed since the stage started.
    pub done: u64,
    /// How long the workers have spent out of work (looking for some, or
    /// parked), all added: over an interval, one minus its share of the
    /// workers' time is how busy they were.
    pub idle: std::time::Duration,
    /// The stage's worker threads.
    pub workers: usize,
    /// How long the stage has been running.
    pub uptime: std::time::Duration,
    /// Actors born and not yet ended.
    pub actors: usize,
}

/// What the `Stage` handles share: the workers (it stops them when the last
/// handle goes) and the theatre the stage serves, if any.
pub(crate) struct StageCore {
    shared: Arc<Scheduler>,
    /// What the builder was told to call it (the workers' threads are named after it).
    name: String,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// The theatre this stage belongs to, if any: how a local address is sent to
    /// another theatre.
    fabric: RwLock<Option<Arc<dyn Fabric>>>,
    /// The actors a theatre's load balancer may move.
    roster: crate::mobility::Roster,
}

impl Drop for StageCore {
    fn drop(&mut self) {
        self.stop_workers();
    }
}

impl StageCore {
    /// The open theatre this stage belongs to.
    fn fabric(&self) -> Option<Arc<dyn Fabric>> {
        let slot = self.fabric.read().unwrap_or_else(PoisonError::into_inner);
        slot.as_ref().filter(|fabric| fabric.is_open()).cloned()
    }

    fn stop_workers(&self) {
        self.shared.shutdown();
        let threads =
            std::mem::take(&mut *self.threads.lock().unwrap_or_else(PoisonError::into_inner));
        let me = std::thread::current().id();
        for handle in threads {
            // A worker cannot join itself; it exits on its own once it returns.
            if handle.thread().id() != me {
                let _ = handle.join();
            }
        }
        self.shared.drain_after_exit();
    }
}

/// Makes `stage` part of the theatre behind `fabric`: addresses of its actors sent
/// to other theatres are exported through it. `false` if the stage belongs to an
/// open theatre already (a stage serves one theatre at a time).
pub(crate) fn attach(stage: &Stage, fabric: Arc<dyn Fabric>) -> bool {
    let mut slot = stage
        .inner
        .fabric
        .write()
        .unwrap_or_else(PoisonError::into_inner);
    if slot.as_ref().is_some_and(|current| current.is_open()) {
        return false;
    }
    *slot = Some(fabric);
    true
}

/// The open theatre that the stage whose scheduler is `shared` belongs to.
pub(crate) fn fabric_of(shared: &Scheduler) -> Option<Arc<dyn Fabric>> {
    core_of(shared.owner()?)?.fabric()
}

/// The roster of balanceable actors of the stage that owns `shared`.
pub(crate) fn roster(shared: &Scheduler) -> Option<RosterOf> {
    core_of(shared.owner()?).map(RosterOf)
}

/// A stage's roster of balanceable actors, held through its core.
pub(crate) struct RosterOf(Arc<StageCore>);

impl std::ops::Deref for RosterOf {
    type Target = crate::mobility::Roster;

    fn deref(&self) -> &Self::Target {
        &self.0.roster
    }
}

/// The stage core behind a scheduler's owner.
fn core_of(owner: Arc<dyn std::any::Any + Send + Sync>) -> Option<Arc<StageCore>> {
    owner.downcast::<StageCore>().ok()
}

/// Configures a [`Stage`].
///
/// # Examples
///
/// ```
/// use stage_runtime::Stage;
///
/// let stage = Stage::builder().workers(1).name("single").build();
/// assert_eq!(stage.workers(), 1);
/// ```
#[derive(Clone)]
pub struct StageBuilder {
    workers: usize,
    name: String,
    around: Option<crate::scheduler::Around>,
}

impl fmt::Debug for StageBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StageBuilder")
            .field("workers", &self.workers)
            .field("name", &self.name)
            .field("in_a_context", &self.around.is_some())
            .finish()
    }
}

impl StageBuilder {
    /// The number of worker threads; at least one. Defaults to the number of cores.
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// The prefix of the worker threads' names (`stage` by default).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Runs the stage's handlers inside a tokio runtime's context: each worker
    /// thread enters `handle` for its whole life, so that tokio's timers,
    /// sockets and the clients built on them (`tokio::time::sleep`,
    /// `tokio::net`, reqwest, tonic..) work in `async` handlers. Without it,
    /// they panic there with "there is no reactor running".
    ///
    /// The runtime must be one that drives its own timers and I/O: a
    /// multi-threaded one (`#[tokio::main]`'s default) always does; a
    /// current-thread one only while its thread is inside `block_on`. The
    /// handlers still run on the stage's workers, not on tokio's.
    ///
    /// # Examples
    ///
    /// ```
    /// use stage_runtime::prelude::*;
    /// use std::time::Duration;
    ///
    /// #[actor]
    /// struct Napper;
    ///
    /// #[behaviour]
    /// impl Napper {
    ///     #[request]
    ///     async fn nap(&mut self, ms: u64) -> u64 {
    ///         tokio::time::sleep(Duration::from_millis(ms)).await;
    ///         ms
    ///     }
    /// }
    ///
    /// let tokio = tokio::runtime::Runtime::new().unwrap();
    /// let stage = Stage::builder().tokio(tokio.handle().clone()).build();
    /// let napper = stage.spawn(Napper);
    /// assert_eq!(request!(napper, nap(5)).wait(), Ok(5));
    /// ```
    #[cfg(feature = "tokio")]
    pub fn tokio(mut self, handle: tokio::runtime::Handle) -> Self {
        self.around = Some(Arc::new(move |work: &mut dyn FnMut()| {
            let _inside = handle.enter();
            work();
        }));
        self
    }

    /// Starts the workers.
    ///
    /// # Panics
    ///
    /// When the operating system refuses to start even one thread.
    pub fn build(self) -> Stage {
        let (shared, threads) = Scheduler::start(
            self.workers,
            &self.name,
            self.around,
            Box::new(crate::census::Counts::new()),
        );
        let inner = Arc::new(StageCore {
            shared,
            name: self.name,
            threads: Mutex::new(threads),
            fabric: RwLock::new(None),
            roster: crate::mobility::Roster::default(),
        });
        let owner: std::sync::Weak<dyn std::any::Any + Send + Sync> = Arc::downgrade(&inner) as _;
        inner.shared.set_owner(owner);
        Stage { inner }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Stage>> = const { RefCell::new(None) };
}

/// The stage [`Stage::current`] falls back to on a thread that runs none.
static DEFAULT: RwLock<Option<Stage>> = RwLock::new(None);

impl Stage {
    /// A stage with one worker per core.
    pub fn new() -> Stage {
        Stage::builder().build()
    }

    /// A builder, to choose the number of workers.
    pub fn builder() -> StageBuilder {
        StageBuilder {
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            name: "stage".to_string(),
            around: None,
        }
    }

    /// The number of worker threads.
    pub fn workers(&self) -> usize {
        self.inner.shared.workers()
    }

    /// The name given to [`StageBuilder::name`] (`stage` by default, and
    /// `stage-default` for the process's default stage): the prefix of its
    /// worker threads' names, and what `{:?}` shows.
    ///
    /// ```
    /// let stage = stage_runtime::Stage::builder().name("orders").workers(1).build();
    /// assert_eq!(stage.name(), "orders");
    /// assert_eq!(format!("{stage:?}"), r#"Stage { name: "orders", workers: 1, .. }"#);
    /// ```
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Makes this stage the one [`Stage::current`] falls back to on a thread
    /// that runs no stage: a thread of its own, a tokio task, a callback of
    /// another library. The free [`spawn`], `join!` and the other free
    /// functions then use it there, instead of starting the process's default
    /// stage beside it. `#[stage_runtime::main]` does this with the stage it
    /// starts. A later call replaces an earlier one; a stage shut down stops
    /// being the default. Being the default keeps a stage running when the
    /// program's own handles to it are gone: end it with [`Stage::shutdown`].
    ///
    /// ```
    /// use stage_runtime::Stage;
    ///
    /// let stage = Stage::builder().name("app").build();
    /// stage.set_default();
    /// let seen = std::thread::spawn(|| Stage::current().name().to_owned());
    /// assert_eq!(seen.join().unwrap(), "app");
    /// ```
    pub fn set_default(&self) {
        *DEFAULT.write().unwrap_or_else(PoisonError::into_inner) = Some(self.clone());
    }

    /// Stops being the default stage, if it is (see [`Stage::set_default`]).
    pub(crate) fn unset_default(&self) {
        let mut default = DEFAULT.write().unwrap_or_else(PoisonError::into_inner);
        if default
            .as_ref()
            .is_some_and(|stage| Arc::ptr_eq(&stage.inner, &self.inner))
        {
            *default = None;
        }
    }

    /// How many of the workers are blocked right now in a [`Reply::wait`] (or
    /// `wait_timeout`) inside a handler. A wait that would block the last free
    /// worker while its answer needs one of them fails with
    /// `Failed(NoWorkerLeft)` instead.
    ///
    /// ```
    /// let stage = stage_runtime::Stage::builder().workers(2).build();
    /// assert_eq!(stage.blocked_workers(), 0);
    /// ```
    pub fn blocked_workers(&self) -> usize {
        self.inner.shared.blocked_workers()
    }

    /// The stage's work so far, for probes of its load (a theatre's load
    /// balancer reads it every period): sample it twice and the differences
    /// give letters handled per second and how busy the workers were.
    ///
    /// ```
    /// let stage = stage_runtime::Stage::builder().workers(2).build();
    /// let load = stage.load();
    /// assert_eq!(load.workers, 2);
    /// assert!(load.idle <= load.uptime * 2);
    /// ```
    pub fn load(&self) -> StageLoad {
        let shared = &self.inner.shared;
        let count = shared.load();
        StageLoad {
            waiting: u64::try_from(count.waiting).unwrap_or(0),
            done: count.done,
            idle: std::time::Duration::from_nanos(count.idle),
            workers: shared.workers(),
            uptime: shared.uptime(),
            actors: shared.actors(),
        }
    }

    /// The stage's census: how many actors of each type are alive, and the
    /// actors whose mailboxes ran ahead of them (turns that ended with letters
    /// still waiting). What the live console shows of each theatre.
    ///
    /// ```
    /// use stage_runtime::prelude::*;
    ///
    /// #[actor]
    /// struct Idle;
    ///
    /// #[behaviour]
    /// impl Idle {}
    ///
    /// let stage = Stage::builder().workers(1).build();
    /// let _idle = [stage.spawn(Idle), stage.spawn(Idle)];
    /// stage.wait_quiescent();
    /// let census = stage.census();
    /// let idle = census.types.iter().find(|t| t.name.ends_with("Idle")).unwrap();
    /// assert_eq!(idle.live, 2);
    /// ```
    pub fn census(&self) -> crate::census::Census {
        crate::census::of(&self.inner.shared)
            .map(crate::census::Counts::read)
            .unwrap_or_default()
    }

    /// Hands this stage's counts to the `metrics` facade, from
    /// [`Stage::load`] and labelled `stage` with its name: the counter
    /// `stage_letters_done_total` (letters handled and futures completed) and
    /// the gauges `stage_letters_waiting` (letters in its mailboxes or being
    /// handled) and `stage_actors`. They change only when this is called: from
    /// a `Timer`, or before each scrape of the exporter. (The rare events,
    /// letters refused, actors started and stopped, panics and restarts, are
    /// counted as they happen.)
    ///
    /// # Examples
    ///
    /// ```
    /// use stage_runtime::Stage;
    ///
    /// let stage = Stage::builder().name("orders").build();
    /// stage.record_metrics(); // with no recorder installed, nothing is kept
    /// ```
    #[cfg(feature = "metrics")]
    pub fn record_metrics(&self) {
        crate::observe::stage_load(self.name(), &self.load());
    }

    /// Creates an actor on this stage. Its `#[birth]` hook runs before any message.
    pub fn spawn<A: Actor>(&self, actor: A) -> Addr<A> {
        Addr::from_cell(ActorCell::spawn(&self.inner.shared, actor, None))
    }

    /// Runs a future on this stage's workers, beside the actors; the reply carries its
    /// output.
    ///
    /// The future counts as work for quiescence until it completes. A panic inside it
    /// is contained and answers the reply with `Failed(Panicked)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use stage_runtime::Stage;
    ///
    /// let stage = Stage::new();
    /// let sum = stage.spawn_task(async { (1..=10).sum::<u32>() });
    /// assert_eq!(sum.wait(), Ok(55));
    /// ```
    pub fn spawn_task<F>(&self, future: F) -> Reply<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (reply, tx) = reply_pair();
        self.inner.shared.spawn_future(async move {
            match futures_lite::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(future)).await
            {
                Ok(output) => tx.send(output),
                Err(_) => tx.fail(SpeechError::Failed(Failure::Panicked)),
            }
        });
        reply
    }

    /// Runs a future to completion on the calling thread, with this stage as the
    /// current one (what [`spawn`] uses).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let previous = CURRENT.with(|c| c.borrow_mut().replace(self.clone()));
        let _restore = Restore(previous);
        futures_lite::future::block_on(future)
    }

    /// Blocks until the stage is quiescent: no message queued or being processed, no
    /// actor waiting to be born, no future still running. Actors may still exist, idle.
    ///
    /// This is SALSA's termination detection; `#[stage_runtime::main]` calls it after
    /// the body of `main` and then exits.
    ///
    /// # Examples
    ///
    /// ```
    /// use stage_runtime::prelude::*;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// #[actor]
    /// struct Relay { next: Option<Addr<Relay>>, seen: Arc<AtomicUsize> }
    ///
    /// #[behaviour]
    /// impl Relay {
    ///     #[on(pass)]
    ///     fn pass(&mut self, hops: u32) {
    ///         self.seen.fetch_add(1, Ordering::SeqCst);
    ///         if let (Some(next), true) = (&self.next, hops > 0) {
    ///             notify!(next, pass(hops - 1));
    ///         }
    ///     }
    /// }
    ///
    /// let stage = Stage::new();
    /// let seen = Arc::new(AtomicUsize::new(0));
    /// let last = stage.spawn(Relay { next: None, seen: seen.clone() });
    /// let first = stage.spawn(Relay { next: Some(last), seen: seen.clone() });
    /// notify!(first, pass(1));
    /// stage.wait_quiescent();
    /// assert_eq!(seen.load(Ordering::SeqCst), 2);
    /// ```
    pub fn wait_quiescent(&self) {
        self.inner.shared.wait_quiescent();
    }

    /// Stops the workers after their current turns.
    ///
    /// Every message still queued, and every message sent afterwards, is refused with
    /// `Failed(Dead)`: no reply is left hanging. `#[stopping]` hooks do not run; the
    /// actors' state is dropped when the last address to each goes. Calling it again
    /// does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use stage_runtime::prelude::*;
    ///
    /// #[actor]
    /// struct Clock;
    ///
    /// #[behaviour]
    /// impl Clock {
    ///     #[query]
    ///     fn now(&self) -> u64 { 12 }
    /// }
    ///
    /// let stage = Stage::new();
    /// let clock = stage.spawn(Clock);
    /// assert_eq!(query!(clock, now()).wait(), Ok(12));
    /// stage.shutdown();
    /// assert_eq!(query!(clock, now()).wait(), Err(SpeechError::Failed(Failure::Dead)));
    /// ```
    pub fn shutdown(&self) {
        self.inner.stop_workers();
    }

    /// The stage of the calling thread: the one running this actor, or the one whose
    /// [`Stage::block_on`] is running, or else the default stage: the one made so by
    /// [`Stage::set_default`] (as `#[stage_runtime::main]` does), or the process's
    /// own, named `stage-default` and started on first use with one worker per core.
    pub fn current() -> Stage {
        if let Some(stage) = CURRENT.with(|c| c.borrow().clone()) {
            return stage;
        }
        if let Some(inner) = crate::scheduler::current_owner().and_then(core_of) {
            return Stage { inner };
        }
        let running = |slot: &Option<Stage>| {
            slot.as_ref()
                .filter(|stage| !stage.inner.shared.is_shut_down())
                .cloned()
        };
        if let Some(stage) = running(&DEFAULT.read().unwrap_or_else(PoisonError::into_inner)) {
            return stage;
        }
        let mut slot = DEFAULT.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(stage) = running(&slot) {
            return stage;
        }
        let stage = Stage::builder().name("stage-default").build();
        *slot = Some(stage.clone());
        stage
    }
}

impl Default for Stage {
    fn default() -> Self {
        Stage::new()
    }
}

impl fmt::Debug for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stage")
            .field("name", &self.name())
            .field("workers", &self.workers())
            .finish_non_exhaustive()
    }
}

/// Runs `future` on `shared`'s workers and answers the returned reply with its result;
/// a panic inside it answers `Failed(Panicked)`.
pub(crate) fn spawn_reply<T, F>(shared: &Arc<crate::scheduler::Scheduler>, future: F) -> Reply<T>
where
    F: Future<Output = Result<T, SpeechError>> + Send + 'static,
    T: Send + 'static,
{
    let (reply, tx) = reply_pair();
    shared.spawn_future(async move {
        match futures_lite::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(future)).await {
            Ok(answer) => tx.complete(answer),
            Err(_) => tx.fail(SpeechError::Failed(Failure::Panicked)),
        }
    });
    reply
}

impl Stage {
    pub(crate) fn shared(&self) -> &Arc<crate::scheduler::Scheduler> {
        &self.inner.shared
    }
}

struct Restore(Option<Stage>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// Creates an actor on the current stage (see [`Stage::current`]).
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
///
/// #[actor]
/// struct Greeter;
///
/// #[behaviour]
/// impl Greeter {
///     #[query]
///     fn hello(&self) -> &'static str { "hello" }
/// }
///
/// let greeter = spawn(Greeter);
/// assert_eq!(query!(greeter, hello()).wait(), Ok("hello"));
/// ```
pub fn spawn<A: Actor>(actor: A) -> Addr<A> {
    Stage::current().spawn(actor)
}

/// Runs a future to completion on the calling thread with the current stage (see
/// [`Stage::current`]); for tests, examples and blocking code.
///
/// # Examples
///
/// ```
/// let four = stage_runtime::block_on(async { 2 + 2 });
/// assert_eq!(four, 4);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    Stage::current().block_on(future)
}
