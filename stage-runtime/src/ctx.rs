//! `Ctx<A>`: what a handler knows about the actor it runs in.

use std::fmt;
use std::sync::{Arc, Weak};

use crate::actor::Actor;
use crate::addr::Addr;
use crate::cell::ActorCell;
use crate::id::ActorId;
use crate::mobility::{MigrationError, MoveRequest};
use crate::reply::{Reply, ReplySender};
use crate::scheduler::Scheduler;
use crate::speech::SpeechError;
use crate::supervision::{Down, Failable, Policy, Supervisor};

/// The context of a running actor: its own address, its stage, and the means to spawn
/// children and to stop.
///
/// A handler receives it by declaring a parameter `ctx: &mut Ctx<Self>` right after
/// `self`.
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
///
/// #[actor]
/// struct Worker;
///
/// #[behaviour]
/// impl Worker {
///     #[query]
///     fn answer(&self) -> u32 { 42 }
/// }
///
/// #[actor]
/// struct Boss { hired: Vec<Addr<Worker>> }
///
/// #[behaviour]
/// impl Boss {
///     #[request]
///     fn hire(&mut self, ctx: &mut Ctx<Self>) -> Addr<Worker> {
///         let worker = ctx.spawn(Worker);
///         self.hired.push(worker.clone());
///         worker
///     }
///     #[request]
///     fn retire(&mut self, ctx: &mut Ctx<Self>) {
///         ctx.stop();
///     }
/// }
///
/// # stage_runtime::block_on(async {
/// let boss = spawn(Boss { hired: vec![] });
/// let worker = request!(boss, hire()).await.unwrap();
/// assert_eq!(query!(worker, answer()).await, Ok(42));
/// request!(boss, retire()).await.unwrap();
/// assert!(request!(boss, hire()).await.is_err());
/// # });
/// ```
pub struct Ctx<A: Actor> {
    cell: Weak<ActorCell<A>>,
    id: ActorId,
    stage: Arc<Scheduler>,
    parent: Option<ActorId>,
    stop: StopState,
    /// A move asked for, and this actor's friends: boxed, as most actors never
    /// move.
    travel: Option<Box<Travel>>,
}

/// What a mobile actor's context keeps for moving.
#[derive(Default)]
pub(crate) struct Travel {
    /// The move asked for in this turn, taken when the handler returns.
    pub(crate) request: Option<MoveRequest>,
    /// The actors that move with this one (Stage's cliques).
    /// (Weakly: friends do not keep each other alive.)
    pub(crate) friends: Vec<Weak<dyn crate::mobility::Friend>>,
}

enum StopState {
    Running,
    Requested(Vec<ReplySender<()>>),
    Stopped,
}

impl<A: Actor> Ctx<A> {
    pub(crate) fn new(
        cell: Weak<ActorCell<A>>,
        id: ActorId,
        stage: Arc<Scheduler>,
        parent: Option<ActorId>,
    ) -> Self {
        Ctx {
            cell,
            id,
            stage,
            parent,
            stop: StopState::Running,
            travel: None,
        }
    }

    /// This actor's own address, to hand to others.
    pub fn addr(&self) -> Addr<A> {
        // The cell outlives every turn of its actor: a worker holds a strong reference
        // while it runs one, and handlers run only inside turns.
        match self.cell.upgrade() {
            Some(cell) => Addr::from_cell(cell),
            None => unreachable!("an actor's context is used only while its actor runs"),
        }
    }

    /// This actor's identity.
    pub fn id(&self) -> ActorId {
        self.id
    }

    /// The actor that spawned this one with [`Ctx::spawn`], if any.
    pub fn parent(&self) -> Option<ActorId> {
        self.parent
    }

    /// Spawns a child on the same stage; the creator learns its address.
    ///
    /// The child is linked to its parent: each hears of the other's end through its
    /// `#[down]` hook, if it has one (the link costs nothing where neither has).
    pub fn spawn<B: Actor>(&mut self, child: B) -> Addr<B> {
        let child = Addr::from_cell(ActorCell::spawn(&self.stage, child, Some(self.id)));
        if A::__HAS_DOWN {
            child.watch(notice_to(self.cell.clone()));
        }
        if B::__HAS_DOWN {
            if let Some(me) = self.cell.upgrade() {
                if let Some(child) = child.local_cell() {
                    me.watch(notice_to(Arc::downgrade(child)));
                }
            }
        }
        child
    }

    /// Stage's *handler*: when `reply` answers, `handler` runs as a message to this
    /// actor, with the answer. The actor keeps serving its other messages meanwhile.
    ///
    /// The handler is usually a method, `Self::on_answer`, of signature
    /// `fn(&mut self, ctx: &mut Ctx<Self>, answer: Result<T, SpeechError>)`; a closure
    /// of that shape works too. If the actor stops first, the handler never runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use stage_runtime::prelude::*;
    ///
    /// #[actor]
    /// struct Oracle;
    ///
    /// #[behaviour]
    /// impl Oracle {
    ///     #[query]
    ///     fn answer(&self) -> u32 { 42 }
    /// }
    ///
    /// #[actor]
    /// struct Asker { oracle: Addr<Oracle>, heard: Option<u32> }
    ///
    /// impl Asker {
    ///     fn on_answer(&mut self, _ctx: &mut Ctx<Self>, answer: Result<u32, SpeechError>) {
    ///         self.heard = answer.ok();
    ///     }
    /// }
    ///
    /// #[behaviour]
    /// impl Asker {
    ///     #[on(ask)]
    ///     fn ask(&mut self, ctx: &mut Ctx<Self>) {
    ///         let reply = query!(self.oracle, answer());
    ///         ctx.handle(reply, Self::on_answer);
    ///     }
    ///     #[query]
    ///     fn heard(&self) -> Option<u32> { self.heard }
    /// }
    ///
    /// let stage = Stage::new();
    /// let asker = stage.spawn(Asker { oracle: stage.spawn(Oracle), heard: None });
    /// notify!(asker, ask());
    /// stage.wait_quiescent();
    /// assert_eq!(query!(asker, heard()).wait(), Ok(Some(42)));
    /// ```
    pub fn handle<T, F>(&mut self, reply: Reply<T>, handler: F)
    where
        T: Send + 'static,
        F: FnOnce(&mut A, &mut Ctx<A>, Result<T, SpeechError>) + Send + 'static,
    {
        let me = self.addr();
        self.stage.spawn_future(async move {
            let answer = reply.await;
            // If the actor has stopped, nobody is left to handle the answer.
            let _ = me.own(move |actor, ctx| handler(actor, ctx, answer));
        });
    }

    /// Spawns a supervised child: `factory` makes its state now, and again each time a
    /// panic restarts it; `policy` decides what a panic leads to (see [`Policy`]).
    /// This actor watches the child: its `#[down]` hook, if it has one, hears when the
    /// child ends (a restart is not an end).
    ///
    /// # Examples
    ///
    /// ```
    /// use stage_runtime::prelude::*;
    ///
    /// #[actor]
    /// struct Worker { done: u32 }
    ///
    /// #[behaviour]
    /// impl Worker {
    ///     #[request]
    ///     fn work(&mut self, fail: bool) -> u32 {
    ///         assert!(!fail, "bad job");
    ///         self.done += 1;
    ///         self.done
    ///     }
    /// }
    ///
    /// #[actor]
    /// struct Boss;
    ///
    /// #[behaviour]
    /// impl Boss {
    ///     #[request]
    ///     fn hire(&mut self, ctx: &mut Ctx<Self>) -> Addr<Worker> {
    ///         ctx.supervise(|| Worker { done: 0 }, Policy::restart())
    ///     }
    /// }
    ///
    /// let boss = spawn(Boss);
    /// let worker = request!(boss, hire()).wait().unwrap();
    /// assert_eq!(request!(worker, work(false)).wait(), Ok(1));
    /// assert!(request!(worker, work(true)).wait().is_err());
    /// // Restarted with fresh state: the count starts again.
    /// assert_eq!(request!(worker, work(false)).wait(), Ok(1));
    /// ```
    pub fn supervise<B, F>(&mut self, factory: F, policy: Policy) -> Addr<B>
    where
        B: Actor,
        F: Fn() -> B + Send + Sync + 'static,
    {
        let first = factory();
        let parent: Weak<dyn Failable> = self.cell.clone();
        let supervisor = Supervisor::new(Box::new(factory), policy, Some(parent));
        let child = ActorCell::spawn_with(
            &self.stage,
            first,
            Some(self.id),
            Some(Box::new(supervisor)),
        );
        let child = Addr::from_cell(child);
        if A::__HAS_DOWN {
            self.monitor(&child);
        }
        child
    }

    /// Watches `other`: when it ends, this actor's `#[down]` hook receives a
    /// [`Down`] with the reason (at once, if it has ended already). Watching does not
    /// keep either actor alive.
    ///
    /// Across theatres, the actor's theatre sends the notice when it ends; if that
    /// theatre cannot be reached any more, the notice comes with
    /// [`DownReason::Unreachable`](crate::DownReason::Unreachable) (the actor may
    /// still run, cut off). An address by universal name that no message has
    /// resolved yet has nothing to watch: no notice comes for it.
    pub fn monitor<B: Actor>(&mut self, other: &Addr<B>) {
        other.watch(notice_to(self.cell.clone()));
    }

    /// Watches `other` and makes `other` watch this actor: each hears, through its
    /// `#[down]` hook, when the other ends. With an actor on another theatre the
    /// link is one-way: this actor hears when the other ends (or becomes
    /// unreachable); the other is not told of this one.
    ///
    /// # Examples
    ///
    /// ```
    /// use stage_runtime::prelude::*;
    ///
    /// #[actor]
    /// struct Partner { heard: Option<DownReason> }
    ///
    /// #[behaviour]
    /// impl Partner {
    ///     #[request]
    ///     fn pair_with(&mut self, ctx: &mut Ctx<Self>, other: Addr<Partner>) { ctx.link(&other); }
    ///     #[down]
    ///     fn partner_gone(&mut self, down: Down) { self.heard = Some(down.reason); }
    ///     #[query]
    ///     fn heard(&self) -> Option<DownReason> { self.heard }
    /// }
    ///
    /// let stage = Stage::new();
    /// let (a, b) = (stage.spawn(Partner { heard: None }), stage.spawn(Partner { heard: None }));
    /// request!(a, pair_with(b.clone())).wait().unwrap();
    /// a.stop().wait().unwrap();
    /// stage.wait_quiescent();
    /// assert_eq!(query!(b, heard()).wait(), Ok(Some(DownReason::Stopped)));
    /// ```
    pub fn link<B: Actor>(&mut self, other: &Addr<B>) {
        self.monitor(other);
        if let Some(me) = self.cell.upgrade() {
            if let Some(other) = other.local_cell() {
                me.watch(notice_to(Arc::downgrade(other)));
            }
        }
    }

    pub(crate) fn stage(&self) -> &Arc<Scheduler> {
        &self.stage
    }

    /// Moves this actor to the theatre at `locator` once the current handler
    /// returns (Stage's `migrate_to`, weak mobility).
    ///
    /// The actor takes no further letter here; its state is serialised and
    /// installed on the target, which acknowledges; every letter queued here or
    /// still on its way is then forwarded there, in order. `#[arrived]` runs on the
    /// target before any of them. Addresses held anywhere keep working.
    ///
    /// If the move fails (no theatre, the target unreachable or refusing), the
    /// actor carries on here with its state and its letters, and
    /// `#[migration_failed]` runs with the reason. Asking again in the same turn
    /// replaces the target. Friends ([`Ctx::befriend`]) on this theatre move with
    /// it, all or none.
    ///
    /// # Examples
    ///
    /// ```
    /// use stage_runtime::prelude::*;
    ///
    /// #[actor(mobile)]
    /// struct Probe { failures: Vec<String> }
    ///
    /// #[behaviour]
    /// impl Probe {
    ///     #[on(visit)]
    ///     fn visit(&mut self, ctx: &mut Ctx<Self>, locator: String) {
    ///         ctx.migrate_to(locator);
    ///     }
    ///     #[arrived]
    ///     fn arrived(&mut self, ctx: &mut Ctx<Self>) {
    ///         println!("now at {:?}", ctx.locator());
    ///     }
    ///     #[migration_failed]
    ///     fn stayed(&mut self, error: MigrationError) {
    ///         self.failures.push(error.to_string());
    ///     }
    ///     #[query]
    ///     fn failures(&self) -> Vec<String> { self.failures.clone() }
    /// }
    ///
    /// // Without a theatre the probe stays, and hears why.
    /// let probe = spawn(Probe { failures: vec![] });
    /// notify!(probe, visit("stage://127.0.0.1:9".to_owned())).result().unwrap();
    /// let failures = query!(probe, failures()).wait().unwrap();
    /// assert!(failures[0].contains("not part of an open theatre"), "{failures:?}");
    /// ```
    pub fn migrate_to(&mut self, locator: impl Into<String>)
    where
        A: crate::actor::Movable,
    {
        self.travel().request = Some(MoveRequest {
            to: locator.into(),
            reply: None,
        });
    }

    /// Asks for a move on behalf of `Theatre::migrate`, whose reply answers once
    /// the actor runs at the target.
    pub(crate) fn migrate_with_reply(&mut self, to: String, reply: ReplySender<()>) {
        if let Some(earlier) = self.travel().request.replace(MoveRequest {
            to,
            reply: Some(reply),
        }) {
            earlier.refuse(MigrationError::Busy);
        }
    }

    /// Whether this actor has asked to move, or has friends.
    #[inline]
    pub(crate) fn may_travel(&self) -> bool {
        self.travel.is_some()
    }

    /// The move asked for in this turn, if any.
    pub(crate) fn take_move(&mut self) -> Option<MoveRequest> {
        self.travel.as_mut()?.request.take()
    }

    /// This actor's friends, who move with it.
    pub(crate) fn friends(&self) -> &[Weak<dyn crate::mobility::Friend>] {
        self.travel.as_ref().map_or(&[], |t| &t.friends)
    }

    fn travel(&mut self) -> &mut Travel {
        self.travel.get_or_insert_with(Box::default)
    }

    /// Makes `friend` this actor's friend (Stage's cliques): friends on the same
    /// theatre move together, as one group, when either is moved: all of them
    /// arrive, or none leaves. Friendship is mutual and transitive (a clique is
    /// everyone reachable by friendship); a friend on another theatre, or one that
    /// has ended, is left behind.
    ///
    /// # Examples
    ///
    /// ```
    /// use stage_runtime::prelude::*;
    ///
    /// #[actor(mobile)]
    /// struct Room;
    ///
    /// #[actor(mobile)]
    /// struct Member { room: Addr<Room> }
    ///
    /// #[behaviour]
    /// impl Room {}
    ///
    /// #[behaviour]
    /// impl Member {
    ///     #[birth]
    ///     fn join(&mut self, ctx: &mut Ctx<Self>) {
    ///         let room = self.room.clone();
    ///         ctx.befriend(&room);
    ///     }
    /// }
    ///
    /// let room = spawn(Room);
    /// let _member = spawn(Member { room });
    /// ```
    pub fn befriend<B: crate::actor::Movable>(&mut self, friend: &Addr<B>)
    where
        A: crate::actor::Movable,
    {
        let (Some(me), Some(other)) = (self.cell.upgrade(), friend.local_cell()) else {
            return;
        };
        if other.id() == self.id {
            return;
        }
        let other_id = other.id();
        let other: Weak<dyn crate::mobility::Friend> = Arc::downgrade(other) as _;
        if !self.is_friend(other_id) {
            self.travel().friends.push(other);
        }
        // Mutual: the friend learns of this actor in its own turn.
        let me_id = me.id();
        let me: Weak<dyn crate::mobility::Friend> = Arc::downgrade(&me) as _;
        let _ = friend.own(move |_, ctx| {
            if !ctx.is_friend(me_id) {
                ctx.travel().friends.push(me);
            }
        });
    }

    /// Whether `actor` is a friend already (a friend that has ended is dropped
    /// from the list here).
    fn is_friend(&mut self, actor: ActorId) -> bool {
        let Some(travel) = self.travel.as_mut() else {
            return false;
        };
        travel.friends.retain(|f| f.strong_count() > 0);
        travel
            .friends
            .iter()
            .any(|f| f.upgrade().is_some_and(|f| f.actor() == actor))
    }

    /// The locator of the theatre this actor runs on (`stage://host:port`), or
    /// `None` when its stage is not part of an open theatre.
    pub fn locator(&self) -> Option<String> {
        crate::stage::fabric_of(&self.stage).map(|fabric| fabric.locator().to_owned())
    }

    pub(crate) fn restarted(&mut self) {
        self.stop = StopState::Running;
    }

    /// Ends this actor once the current handler returns (Stage's `die`).
    ///
    /// `#[stopping]` runs, then every message still queued is refused with
    /// `Failed(Dead)`, and the state is dropped. Calling it again in the same handler
    /// changes nothing.
    pub fn stop(&mut self) {
        if let StopState::Running = self.stop {
            self.stop = StopState::Requested(Vec::new());
        }
    }

    /// Whether [`Ctx::stop`] was called.
    pub fn is_stopping(&self) -> bool {
        !matches!(self.stop, StopState::Running)
    }

    pub(crate) fn stop_requested(&self) -> bool {
        matches!(self.stop, StopState::Requested(_))
    }

    pub(crate) fn request_stop(&mut self, reply: Option<ReplySender<()>>) {
        if let StopState::Running = self.stop {
            self.stop = StopState::Requested(Vec::new());
        }
        if let (StopState::Requested(waiting), Some(reply)) = (&mut self.stop, reply) {
            waiting.push(reply);
        }
    }

    pub(crate) fn finish_stop(&mut self) {
        if let StopState::Requested(waiting) = std::mem::replace(&mut self.stop, StopState::Stopped)
        {
            for reply in waiting {
                reply.send(());
            }
        }
    }
}

/// A watcher that delivers a [`Down`] to `watcher`'s `#[down]` hook, if it is alive.
fn notice_to<W: Actor>(watcher: Weak<ActorCell<W>>) -> Box<dyn FnOnce(Down) + Send> {
    Box::new(move |down| {
        if let Some(cell) = watcher.upgrade() {
            let _ = Addr::from_cell(cell).own(move |actor, ctx| actor.__down(ctx, down));
        }
    })
}

impl<A: Actor> fmt::Debug for Ctx<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("actor", &self.id)
            .field("parent", &self.parent)
            .field("stopping", &self.is_stopping())
            .finish()
    }
}
