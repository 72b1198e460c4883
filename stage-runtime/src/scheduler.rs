//! The workers that run actors' turns and the stage's futures.
//!
//! One worker thread per core. Each has a LIFO slot (the task it made ready last runs
//! next on the same thread, so a ping-pong never crosses cores), a local work-stealing
//! deque (`crossbeam-deque`), and access to the stage's injector for work that comes
//! from outside. Idle workers spin briefly, then park; a worker that pushes work wakes
//! a parked one only if there is one.
//!
//! Quiescence (SALSA's termination detection) counts *work*: a message queued or being
//! processed, an actor's birth, a future still running. Each worker keeps its own
//! counter, written only by itself; work created from outside the workers goes to one
//! shared counter. Counters are summed only when every worker is parked, and the sum is
//! trusted only if no worker woke while it was being read.

use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{fence, AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError, Weak};
use std::thread::{self, JoinHandle, Thread};
use std::time::Duration;

use crossbeam_deque::{Injector, Steal, Stealer, Worker as Deque};
use crossbeam_utils::CachePadded;

/// How many times in a row a worker takes its LIFO slot before it lets the deque run;
/// without a bound, two actors bouncing messages would starve the rest.
const LIFO_STREAK: u32 = 64;
/// Rounds an idle worker looks for work before it parks: the first half between
/// spins, the rest between yields of its core. Yielding only would leave the core to
/// a thread outside the stage that floods actors with letters (fork-join ran 28%
/// faster on 2 cores), but a thread asking actors one answer at a time would wait
/// twice as long for each (1.2 µs, not 0.56): the spins stay.
const SPIN_ROUNDS: u32 = 64;
/// Every this many tasks a worker looks at the injector before its own deque, so that
/// work from outside is not starved by actors that keep their worker busy.
const INJECTOR_INTERVAL: u32 = 61;

/// Something a worker can run.
pub(crate) enum Task {
    /// An actor with a turn to take.
    Actor(Arc<dyn Runnable>),
    /// A future (a driver, a continuation, user work) spawned on the stage.
    Future(async_task::Runnable),
}

impl Task {
    fn run(self, worker: &WorkerLocal) {
        match self {
            Task::Actor(actor) => actor.run(worker),
            Task::Future(runnable) => {
                runnable.run();
            }
        }
    }

    /// The stage has shut down: the task will never run. An actor refuses everything
    /// queued to it (and all that comes later) with `Failed(Dead)`; a future is
    /// dropped, which answers its reply the same way.
    fn abandon(self) {
        match self {
            Task::Actor(actor) => actor.abandon(),
            Task::Future(runnable) => drop(runnable),
        }
    }
}

/// An actor cell, seen by the scheduler.
pub(crate) trait Runnable: Send + Sync + 'static {
    /// Takes one turn.
    fn run(self: Arc<Self>, worker: &WorkerLocal);
    /// Never runs again: see [`Task::abandon`].
    fn abandon(self: Arc<Self>);
}

/// One worker's counts, written only by that worker.
#[derive(Default)]
struct Counter {
    /// Units of work (letters, futures) created minus finished.
    work: AtomicI64,
    /// Units of work finished.
    done: AtomicU64,
    /// Nanoseconds spent out of work (spinning, yielding, parked), up to the
    /// last time it found some.
    idle_nanos: AtomicU64,
    /// While out of work: since when, in nanoseconds since the stage started,
    /// plus one; zero while working.
    idle_since: AtomicU64,
}

/// A stage's counts of work, read at one moment (see [`Scheduler::load`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoadCount {
    /// Units of work waiting or running (letters in mailboxes, futures).
    pub(crate) waiting: i64,
    /// Units of work finished since the stage started.
    pub(crate) done: u64,
    /// Nanoseconds the workers have spent out of work, all added.
    pub(crate) idle: u64,
}

/// The part of a stage the workers and the actors share.
pub(crate) struct Scheduler {
    injector: Injector<Task>,
    stealers: OnceLock<Vec<Stealer<Task>>>,
    threads: OnceLock<Vec<Thread>>,
    workers: usize,
    /// Indices of parked workers.
    sleepers: Mutex<Vec<usize>>,
    num_sleeping: AtomicUsize,
    /// Bumped whenever a parked worker leaves the parked set.
    generation: AtomicU64,
    /// Work counted by each worker (its own index), written only by that worker.
    counters: Box<[CachePadded<Counter>]>,
    /// Work created from outside the workers.
    external: CachePadded<AtomicI64>,
    /// Work finished outside the workers.
    external_done: AtomicU64,
    shutdown: AtomicBool,
    /// Actors spawned and not yet ended.
    live_actors: AtomicUsize,
    /// What the stage keeps beside its workers (its census), carried here
    /// without the scheduler knowing what it is, so that an actor's cell finds
    /// it through the scheduler it already holds.
    beside: Box<dyn Any + Send + Sync>,
    /// Workers blocked in a `Reply::wait` inside a handler.
    blocked: AtomicUsize,
    started: std::time::Instant,
    /// The `Stage` that owns these workers, for `Stage::current` on a worker thread.
    /// Whoever owns these workers (the stage's core, which reads it back with a
    /// downcast): the scheduler keeps it without knowing what it is, so that it
    /// depends on nothing of the stage or the network above it.
    owner: OnceLock<Weak<dyn Any + Send + Sync>>,
    quiet: Mutex<()>,
    quiet_cv: Condvar,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("workers", &self.workers)
            .field("sleeping", &self.num_sleeping.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A worker's own state, reachable from its thread through `WORKER`.
pub(crate) struct WorkerLocal {
    index: usize,
    shared: Arc<Scheduler>,
    deque: Deque<Task>,
    lifo: Cell<Option<Task>>,
    lifo_streak: Cell<u32>,
    ticks: Cell<u32>,
}

thread_local! {
    static WORKER: Cell<*const WorkerLocal> = const { Cell::new(std::ptr::null()) };
}

/// Runs `f` with this thread's worker, if this thread is a worker of `shared`.
fn with_own_worker<R>(shared: &Arc<Scheduler>, f: impl FnOnce(Option<&WorkerLocal>) -> R) -> R {
    WORKER.with(|cell| {
        let ptr = cell.get();
        // SAFETY: `WORKER` is set only by `worker_main` to a `WorkerLocal` that lives on
        // that thread's stack for as long as the pointer is set, and is reset before it
        // is dropped. Only this thread reads it.
        let worker = unsafe { ptr.as_ref() };
        f(worker.filter(|w| Arc::ptr_eq(&w.shared, shared)))
    })
}

/// The owner of the workers whose worker this thread is, if it is one.
pub(crate) fn current_owner() -> Option<Arc<dyn Any + Send + Sync>> {
    WORKER.with(|cell| {
        // SAFETY: as in `with_own_worker`.
        let worker = unsafe { cell.get().as_ref() }?;
        worker.shared.owner()
    })
}

/// The workers this thread is one of, if it is a worker.
pub(crate) fn current_scheduler() -> Option<Arc<Scheduler>> {
    WORKER.with(|cell| {
        // SAFETY: as in `with_own_worker`.
        let worker = unsafe { cell.get().as_ref() }?;
        Some(Arc::clone(&worker.shared))
    })
}

/// A worker of a stage blocked in a wait, counted until it is dropped.
pub(crate) struct BlockedWorker(Arc<Scheduler>);

impl Drop for BlockedWorker {
    fn drop(&mut self) {
        self.0.blocked.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Scheduler {
    /// Identifies these workers (for a reply to name the stage that answers it).
    pub(crate) fn key(self: &Arc<Self>) -> usize {
        Arc::as_ptr(self) as usize
    }

    /// Counts the calling worker of these workers as blocked in a wait. When the
    /// answer needs one of these workers (`needs_one`), refuses (`None`) to block
    /// the last one that is free.
    ///
    /// The worker's own tasks go where the others can take them first: the one
    /// in its LIFO slot (often the very actor it is about to wait for, which it
    /// just sent a letter) is not stealable while it sits there.
    pub(crate) fn block_worker(self: &Arc<Self>, needs_one: bool) -> Option<BlockedWorker> {
        let before = self.blocked.fetch_add(1, Ordering::AcqRel);
        let held = BlockedWorker(Arc::clone(self));
        if needs_one && before + 1 >= self.running_workers() {
            return None;
        }
        let handed_over = with_own_worker(self, |worker| {
            let worker = worker?;
            if let Some(task) = worker.lifo.take() {
                worker.deque.push(task);
            }
            (!worker.deque.is_empty()).then_some(())
        });
        if handed_over.is_some() {
            self.wake_one();
        }
        Some(held)
    }

    /// How many workers are blocked in a wait now.
    pub(crate) fn blocked_workers(&self) -> usize {
        self.blocked.load(Ordering::Acquire)
    }

    /// Records who owns these workers (once).
    pub(crate) fn set_owner(&self, owner: Weak<dyn Any + Send + Sync>) {
        let _ = self.owner.set(owner);
    }

    /// Who owns these workers, while it lives.
    pub(crate) fn owner(&self) -> Option<Arc<dyn Any + Send + Sync>> {
        self.owner.get()?.upgrade()
    }

    /// Starts `workers` threads and returns the shared state and their handles.
    pub(crate) fn start(
        workers: usize,
        name: &str,
        around: Option<Around>,
        beside: Box<dyn Any + Send + Sync>,
    ) -> (Arc<Scheduler>, Vec<JoinHandle<()>>) {
        let workers = workers.max(1);
        let shared = Arc::new(Scheduler {
            injector: Injector::new(),
            stealers: OnceLock::new(),
            threads: OnceLock::new(),
            workers,
            sleepers: Mutex::new(Vec::with_capacity(workers)),
            num_sleeping: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
            counters: (0..workers)
                .map(|_| CachePadded::new(Counter::default()))
                .collect(),
            external: CachePadded::new(AtomicI64::new(0)),
            external_done: AtomicU64::new(0),
            shutdown: AtomicBool::new(false),
            live_actors: AtomicUsize::new(0),
            beside,
            blocked: AtomicUsize::new(0),
            started: std::time::Instant::now(),
            owner: OnceLock::new(),
            quiet: Mutex::new(()),
            quiet_cv: Condvar::new(),
        });
        let deques: Vec<Deque<Task>> = (0..workers).map(|_| Deque::new_fifo()).collect();
        let _ = shared
            .stealers
            .set(deques.iter().map(Deque::stealer).collect());
        let mut handles = Vec::with_capacity(workers);
        for (index, deque) in deques.into_iter().enumerate() {
            let shared = Arc::clone(&shared);
            let around = around.clone();
            let spawned = thread::Builder::new()
                .name(format!("{name}-{index}"))
                .spawn(move || match around {
                    Some(around) => {
                        let mut work = Some((shared, deque));
                        around(&mut || {
                            if let Some((shared, deque)) = work.take() {
                                worker_main(index, shared, deque);
                            }
                        });
                    }
                    None => worker_main(index, shared, deque),
                });
            match spawned {
                Ok(handle) => handles.push(handle),
                // Out of threads: the stage runs on the workers it could start.
                Err(_) if index > 0 => break,
                Err(error) => panic!("cannot start a stage worker thread: {error}"),
            }
        }
        let _ = shared
            .threads
            .set(handles.iter().map(|h| h.thread().clone()).collect());
        (shared, handles)
    }

    /// Makes a task runnable. From one of this stage's workers it goes to the worker's
    /// LIFO slot; from anywhere else, to the injector.
    pub(crate) fn schedule(self: &Arc<Self>, task: Task) {
        if self.is_shut_down() {
            task.abandon();
            return;
        }
        let displaced = with_own_worker(self, |worker| match worker {
            Some(w) => w.lifo.replace(Some(task)).map(|prev| {
                w.deque.push(prev);
            }),
            None => {
                self.injector.push(task);
                Some(())
            }
        });
        if displaced.is_some() {
            self.wake_one();
        }
        self.abandon_if_shut_down();
    }

    /// Makes a task runnable behind everything already waiting (fairness).
    pub(crate) fn schedule_back(self: &Arc<Self>, task: Task) {
        if self.is_shut_down() {
            task.abandon();
            return;
        }
        with_own_worker(self, |worker| match worker {
            Some(w) => w.deque.push(task),
            None => self.injector.push(task),
        });
        self.wake_one();
        self.abandon_if_shut_down();
    }

    /// A push can race with `shutdown`: whoever comes second in the SeqCst order sees
    /// the other, so either the pusher sees the flag here or `shutdown`'s drain sees
    /// the task.
    fn abandon_if_shut_down(&self) {
        fence(Ordering::SeqCst);
        if self.is_shut_down() {
            self.drain_injector();
        }
    }

    fn drain_injector(&self) {
        loop {
            match self.injector.steal() {
                Steal::Success(task) => task.abandon(),
                Steal::Retry => continue,
                Steal::Empty => return,
            }
        }
    }

    /// Counts `delta` units of work (positive: created; negative: finished).
    pub(crate) fn add_work(self: &Arc<Self>, delta: i64) {
        with_own_worker(self, |worker| match worker {
            Some(w) => {
                // Only this worker writes its counter, so load + store is enough.
                let counter = &self.counters[w.index];
                let work = &counter.work;
                work.store(work.load(Ordering::Relaxed) + delta, Ordering::Relaxed);
                if delta < 0 {
                    let done = &counter.done;
                    done.store(
                        done.load(Ordering::Relaxed) + delta.unsigned_abs(),
                        Ordering::Relaxed,
                    );
                }
            }
            None => {
                self.external.fetch_add(delta, Ordering::SeqCst);
                if delta < 0 {
                    self.external_done
                        .fetch_add(delta.unsigned_abs(), Ordering::Relaxed);
                }
            }
        });
    }

    /// Spawns a future on the workers; it counts as work until it completes.
    pub(crate) fn spawn_future<F>(self: &Arc<Self>, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.add_work(1);
        let counted = {
            let shared = Arc::clone(self);
            async move {
                future.await;
                shared.add_work(-1);
            }
        };
        let weak = Arc::downgrade(self);
        let schedule = move |runnable| {
            if let Some(shared) = weak.upgrade() {
                shared.schedule(Task::Future(runnable));
            }
        };
        let (runnable, task) = async_task::spawn(counted, schedule);
        task.detach();
        runnable.schedule();
    }

    /// Wakes one parked worker, if any is parked.
    fn wake_one(&self) {
        // Pairs with the fence in `park`: either this load sees the sleeper, or the
        // sleeper's re-check sees the work pushed before this fence.
        fence(Ordering::SeqCst);
        if self.num_sleeping.load(Ordering::SeqCst) == 0 {
            return;
        }
        let woken = {
            let mut sleepers = self.sleepers.lock().unwrap_or_else(PoisonError::into_inner);
            let woken = sleepers.pop();
            if woken.is_some() {
                self.num_sleeping.fetch_sub(1, Ordering::SeqCst);
                self.generation.fetch_add(1, Ordering::SeqCst);
            }
            woken
        };
        if let (Some(index), Some(threads)) = (woken, self.threads.get()) {
            threads[index].unpark();
        }
    }

    fn has_visible_work(&self) -> bool {
        !self.injector.is_empty()
            || self
                .stealers
                .get()
                .is_some_and(|stealers| stealers.iter().any(|s| !s.is_empty()))
    }

    /// True when no work exists: every worker parked, every counter summing to zero,
    /// and no worker woke while the counters were read.
    pub(crate) fn is_quiescent(&self) -> bool {
        let before = self.generation.load(Ordering::SeqCst);
        if self.num_sleeping.load(Ordering::SeqCst) != self.running_workers() {
            return false;
        }
        let mut work = self.external.load(Ordering::SeqCst);
        for counter in self.counters.iter() {
            work += counter.work.load(Ordering::SeqCst);
        }
        let after = self.generation.load(Ordering::SeqCst);
        work == 0
            && before == after
            && self.num_sleeping.load(Ordering::SeqCst) == self.running_workers()
            && !self.has_visible_work()
    }

    fn running_workers(&self) -> usize {
        self.threads.get().map_or(self.workers, Vec::len)
    }

    /// Blocks until the stage is quiescent (or shutting down).
    pub(crate) fn wait_quiescent(&self) {
        loop {
            if self.is_quiescent() || self.shutdown.load(Ordering::SeqCst) {
                return;
            }
            let guard = self.quiet.lock().unwrap_or_else(PoisonError::into_inner);
            // The timeout is a safety net only: the last worker to park notifies.
            let _ = self
                .quiet_cv
                .wait_timeout(guard, Duration::from_millis(20))
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Asks every worker to stop once its current task is done; every task still
    /// queued, or queued later, is abandoned.
    pub(crate) fn shutdown(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        if let Some(threads) = self.threads.get() {
            for thread in threads {
                thread.unpark();
            }
        }
        self.quiet_cv.notify_all();
        fence(Ordering::SeqCst);
        self.drain_injector();
    }

    /// After the workers have exited: nothing can be left behind in the injector.
    pub(crate) fn drain_after_exit(&self) {
        self.drain_injector();
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.shutdown.load(Ordering::Relaxed)
    }

    pub(crate) fn workers(&self) -> usize {
        self.running_workers()
    }

    /// The stage's work so far: what waits, what is done, and how long its
    /// workers have been out of work.
    pub(crate) fn load(&self) -> LoadCount {
        let mut count = LoadCount {
            waiting: self.external.load(Ordering::Relaxed),
            done: self.external_done.load(Ordering::Relaxed),
            idle: 0,
        };
        let now = self.nanos_since_start();
        for counter in self.counters.iter() {
            count.waiting += counter.work.load(Ordering::Relaxed);
            count.done += counter.done.load(Ordering::Relaxed);
            // A worker out of work now has been since it ran out (read around
            // the moment it finds work, a wait may count twice or not at all
            // for a moment: a probe's error, made good at the next read).
            let idle = match counter.idle_since.load(Ordering::Relaxed) {
                0 => 0,
                since => now.saturating_sub(since - 1),
            };
            count.idle += counter.idle_nanos.load(Ordering::Relaxed) + idle;
        }
        count
    }

    /// Nanoseconds since the stage started.
    fn nanos_since_start(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// How long ago the stage started.
    pub(crate) fn uptime(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    /// Actors spawned and not yet ended.
    pub(crate) fn actors(&self) -> usize {
        self.live_actors.load(Ordering::Relaxed)
    }

    pub(crate) fn actor_born(&self) {
        self.live_actors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn actor_ended(&self) {
        self.live_actors.fetch_sub(1, Ordering::Relaxed);
    }

    /// What the stage keeps beside its workers, if it is a `T`.
    #[inline]
    pub(crate) fn beside<T: Any>(&self) -> Option<&T> {
        self.beside.downcast_ref()
    }
}

struct ResetWorker;

impl Drop for ResetWorker {
    fn drop(&mut self) {
        WORKER.with(|cell| cell.set(std::ptr::null()));
    }
}

/// What each worker thread runs inside: it calls the worker's loop it is given
/// once, in a context of its own (a tokio runtime's, entered for the thread's
/// whole life).
pub(crate) type Around = Arc<dyn Fn(&mut dyn FnMut()) + Send + Sync>;

fn worker_main(index: usize, shared: Arc<Scheduler>, deque: Deque<Task>) {
    let local = WorkerLocal {
        index,
        shared,
        deque,
        lifo: Cell::new(None),
        lifo_streak: Cell::new(0),
        ticks: Cell::new(0),
    };
    WORKER.with(|cell| cell.set(&local));
    let _reset = ResetWorker;
    while !local.shared.is_shut_down() {
        match local.next_task() {
            Some(task) => task.run(&local),
            None => local.idle(),
        }
    }
    // Tasks left at shutdown never run: their actors refuse what they were sent.
    if let Some(task) = local.lifo.take() {
        task.abandon();
    }
    while let Some(task) = local.deque.pop() {
        task.abandon();
    }
}

impl WorkerLocal {
    fn next_task(&self) -> Option<Task> {
        let streak = self.lifo_streak.get();
        if let Some(task) = self.lifo.take() {
            if streak < LIFO_STREAK {
                self.lifo_streak.set(streak + 1);
                return Some(task);
            }
            // Let the others run before the slot's owner runs again.
            self.deque.push(task);
        }
        self.lifo_streak.set(0);
        let ticks = self.ticks.get().wrapping_add(1);
        self.ticks.set(ticks);
        if ticks % INJECTOR_INTERVAL == 0 {
            if let Some(task) = self.shared.injector.steal().success() {
                return Some(task);
            }
        }
        self.deque.pop().or_else(|| self.steal())
    }

    fn steal(&self) -> Option<Task> {
        let shared = &self.shared;
        loop {
            let mut retry = false;
            match shared.injector.steal_batch_and_pop(&self.deque) {
                Steal::Success(task) => return Some(task),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
            if let Some(stealers) = shared.stealers.get() {
                let n = stealers.len();
                for offset in 1..n {
                    match stealers[(self.index + offset) % n].steal() {
                        Steal::Success(task) => return Some(task),
                        Steal::Retry => retry = true,
                        Steal::Empty => {}
                    }
                }
            }
            if !retry {
                return None;
            }
        }
    }

    /// Out of work: spins a little, then parks. The time it takes counts as
    /// idle for the stage's load (a yield under a busy machine can be long;
    /// it is still no work done).
    fn idle(&self) {
        let counter = &self.shared.counters[self.index];
        let since = self.shared.nanos_since_start();
        counter.idle_since.store(since + 1, Ordering::Relaxed);
        self.wait_for_work();
        let idle = self.shared.nanos_since_start().saturating_sub(since);
        // Only this worker writes its counter, so load + store is enough.
        counter.idle_since.store(0, Ordering::Relaxed);
        let nanos = &counter.idle_nanos;
        nanos.store(
            nanos.load(Ordering::Relaxed).saturating_add(idle),
            Ordering::Relaxed,
        );
    }

    fn wait_for_work(&self) {
        for round in 0..SPIN_ROUNDS {
            if self.shared.has_visible_work() {
                return;
            }
            if round < SPIN_ROUNDS / 2 {
                std::hint::spin_loop();
            } else {
                thread::yield_now();
            }
        }
        self.park();
    }

    fn park(&self) {
        let shared = &self.shared;
        {
            let mut sleepers = shared
                .sleepers
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            sleepers.push(self.index);
            shared.num_sleeping.fetch_add(1, Ordering::SeqCst);
        }
        fence(Ordering::SeqCst);
        if shared.has_visible_work() || shared.is_shut_down() {
            self.leave_sleepers();
            return;
        }
        if shared.num_sleeping.load(Ordering::SeqCst) == shared.running_workers() {
            let _guard = shared.quiet.lock().unwrap_or_else(PoisonError::into_inner);
            shared.quiet_cv.notify_all();
        }
        thread::park();
        self.leave_sleepers();
    }

    /// Removes this worker from the parked set if a waker has not already done so
    /// (a spurious wake-up, or work found on the re-check).
    fn leave_sleepers(&self) {
        let shared = &self.shared;
        let mut sleepers = shared
            .sleepers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(pos) = sleepers.iter().position(|&i| i == self.index) {
            sleepers.swap_remove(pos);
            shared.num_sleeping.fetch_sub(1, Ordering::SeqCst);
            shared.generation.fetch_add(1, Ordering::SeqCst);
        }
    }
}
