//! Mobility (weak mobility, Stage's `migrate_to`): what the runtime does for an
//! `#[actor(mobile)]` actor that moves between theatres.
//!
//! - **Leaving.** `ctx.migrate_to(locator)` (or
//!   `Theatre::migrate` from outside) asks for a move. When the current turn's
//!   handler has returned, the cell takes its *snapshot* (the state, serialised by
//!   the serde derive `mobile` adds) and parks: letters still arrive and queue, none
//!   is processed. The network layer ([`Fabric::migrate`]) carries the snapshot to
//!   the target, which installs it and acknowledges.
//! - **Gone.** On the acknowledgement the cell becomes a *forwarder* (a third kind
//!   of stand-in, see `stand_in.rs`): the queued letters, then every later one,
//!   go on to the new place in order, each answered from there. The state here is
//!   dropped; the actor exists on the target only.
//! - **Arrived.** On the target the actor is rebuilt under the same [`ActorId`],
//!   and `#[arrived]` runs before any letter.
//! - **Failed.** If anything fails (no theatre, unreachable, the target refuses),
//!   the actor carries on here with the same state and its queued letters,
//!   `#[arrived]` does not run, and `#[migration_failed]` hears why (the reply of
//!   `Theatre::migrate` fails with it too).
//!
//! A type becomes known to every theatre of the same program by the `#[actor(mobile)]`
//! macro, which registers it here ([`MobileType`]): a theatre rebuilds only
//! registered types.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::actor::Actor;
use crate::addr::Addr;
use crate::cell::ActorCell;
use crate::fabric::{Emigrant, Fabric, Inbound, Landing};
use crate::id::ActorId;
use crate::inbound::export;
use crate::reply::ReplySender;
pub use crate::speech::MigrationError;
use crate::stage::Stage;
use crate::wire::type_tag;

/// A move asked for by a handler (or by `Theatre::migrate`), taken by the cell when
/// the turn's handler has returned.
pub(crate) struct MoveRequest {
    /// The target's locator.
    pub(crate) to: String,
    /// Who waits to hear that the actor has arrived (`Theatre::migrate`).
    pub(crate) reply: Option<ReplySender<()>>,
}

/// A mobile actor type that this program can rebuild from a snapshot. The
/// `#[actor(mobile)]` macro registers one per (non-generic) type; users never
/// name it.
#[doc(hidden)]
#[derive(Debug)]
pub struct MobileType {
    tag: fn() -> u64,
    rebuild: Rebuild,
}

/// A decoded actor, ready to start on a stage under its identity.
pub struct Settler(Box<Settle>);

/// What a [`Settler`] runs.
type Settle = dyn FnOnce(&Stage, ActorId) -> Arc<dyn Inbound> + Send;

/// How a registered type is rebuilt from its snapshot.
type Rebuild = fn(&[u8]) -> Result<Settler, MigrationError>;

impl fmt::Debug for Settler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Settler")
    }
}

impl Settler {
    /// Starts the actor on `stage` under `actor`: `#[arrived]` runs first. The
    /// result is its inbound side, for the network layer's table of exports.
    pub fn settle(self, stage: &Stage, actor: ActorId) -> Arc<dyn Inbound> {
        (self.0)(stage, actor)
    }
}

impl MobileType {
    /// The registration of `A`.
    pub const fn of<A: Actor>() -> Self {
        MobileType {
            tag: type_tag::<A>,
            rebuild: rebuild::<A>,
        }
    }
}

inventory::collect!(MobileType);

/// Decodes a snapshot of an `A`.
fn rebuild<A: Actor>(state: &[u8]) -> Result<Settler, MigrationError> {
    let actor = A::__restore(state)?;
    Ok(Settler(Box::new(move |stage: &Stage, id: ActorId| {
        let cell = ActorCell::arrive(stage.shared(), actor, id);
        let addr = Addr::from_cell(cell);
        // A local address always exports.
        match export(&addr) {
            Some(inbound) => inbound,
            None => unreachable!("a fresh local actor exports"),
        }
    })))
}

/// The registered mobile types, by tag.
fn registry() -> &'static HashMap<u64, Rebuild> {
    static TYPES: OnceLock<HashMap<u64, Rebuild>> = OnceLock::new();
    TYPES.get_or_init(|| {
        inventory::iter::<MobileType>
            .into_iter()
            .map(|t| ((t.tag)(), t.rebuild))
            .collect()
    })
}

/// A fresh identity, unique in the cluster: the alias a theatre gives an actor
/// that arrives (see [`Arrival`](crate::remote::Arrival)).
pub fn fresh_alias() -> ActorId {
    ActorId::fresh()
}

/// Whether this program knows the mobile type tagged `tag`.
pub fn is_mobile_type(tag: u64) -> bool {
    registry().contains_key(&tag)
}

/// Decodes an arriving actor's state, of the mobile type tagged `tag`.
///
/// # Errors
///
/// [`MigrationError::Refused`] when the type is not a registered mobile type of
/// this program, or the state does not decode as one.
pub fn rebuild_arrival(tag: u64, state: &[u8]) -> Result<Settler, MigrationError> {
    let rebuild = registry().get(&tag).ok_or_else(|| {
        MigrationError::Refused("its type is not a mobile actor type of this program".into())
    })?;
    rebuild(state)
}

/// Serialises `actor` for a move.
///
/// # Errors
///
/// [`MigrationError::Snapshot`] when a value refuses to serialise.
pub fn snapshot<A: serde::Serialize>(actor: &A) -> Result<Vec<u8>, MigrationError> {
    rmp_serde::to_vec_named(actor)
        .map_err(|error| MigrationError::Snapshot(error.to_string().into()))
}

/// Decodes a snapshot.
///
/// # Errors
///
/// [`MigrationError::Refused`] when the bytes are not a state of this type.
pub fn restore<A: serde::de::DeserializeOwned>(state: &[u8]) -> Result<A, MigrationError> {
    rmp_serde::from_slice(state).map_err(|error| {
        MigrationError::Refused(
            format!(
                "the state is not a `{}`: {error}",
                std::any::type_name::<A>()
            )
            .into(),
        )
    })
}

/// Moves the actor behind `addr` to the theatre at `to`: the body of
/// `Theatre::migrate`. The reply answers once the actor runs there, or fails
/// with `Failed(Migration(..))` (the actor stays). The actor must be on this
/// theatre.
pub fn migrate<A: crate::actor::Movable>(addr: &Addr<A>, to: String) -> crate::Reply<()> {
    migrate_any(addr, to)
}

/// [`migrate`], for an actor whose type is not known to be mobile here (an
/// actor that is not fails with `Failed(Migration(Snapshot(..)))`).
pub(crate) fn migrate_any<A: Actor>(addr: &Addr<A>, to: String) -> crate::Reply<()> {
    let (reply, tx) = crate::reply::reply_pair::<()>();
    if addr.local_cell().is_none() {
        tx.fail(crate::speech::SpeechError::Failed(
            crate::speech::Failure::Migration(MigrationError::Refused(
                "the actor is not on this theatre: ask the theatre it runs on".into(),
            )),
        ));
        return reply;
    }
    // A refused letter drops its sender, which answers `Failed(Dead)`.
    let _ = addr.own(move |_, ctx| ctx.migrate_with_reply(to, tx));
    reply
}

/// Asks `fabric` to carry `emigrants` to `to`; `then` runs with the outcome.
pub(crate) fn carry(
    fabric: &Arc<dyn Fabric>,
    to: &str,
    emigrants: Vec<Emigrant>,
    then: Box<dyn FnOnce(Landing) + Send>,
) {
    if to == fabric.locator() {
        then(Err(MigrationError::AlreadyThere));
        return;
    }
    fabric.migrate(to, emigrants, then);
}

/// A friend, as a mobile actor's context keeps it: the cell of another local
/// actor, invited to join a move.
pub(crate) trait Friend: Send + Sync + 'static {
    /// The friend's identity.
    fn actor(&self) -> ActorId;
    /// Invites the friend into `group`'s move. `false` when it cannot join (it is
    /// moving already, has moved, or has ended); otherwise it will answer the
    /// group ([`Group::joined`]) at its next turn.
    fn invite(self: Arc<Self>, group: &Arc<Group>) -> bool;
}

/// The actors that move together (one, or a clique of friends): their snapshots
/// are gathered, carried in one piece, and every member hears the outcome.
pub(crate) struct Group {
    to: String,
    fabric: Arc<dyn Fabric>,
    state: Mutex<Gathering>,
}

#[derive(Default)]
struct Gathering {
    /// The members so far, by identity (a friend is invited once).
    members: Vec<ActorId>,
    emigrants: Vec<Emigrant>,
    /// Invitations not yet answered.
    waiting: usize,
    /// Why the move cannot happen, once a member could not join.
    failed: Option<MigrationError>,
    /// How the move ended.
    landing: Option<Landing>,
    wakers: Vec<std::task::Waker>,
}

impl Group {
    /// A move to `to` through `fabric`, with `leader` (invited, not yet joined).
    pub(crate) fn new(to: String, fabric: Arc<dyn Fabric>, leader: ActorId) -> Arc<Group> {
        Arc::new(Group {
            to,
            fabric,
            state: Mutex::new(Gathering {
                members: vec![leader],
                waiting: 1,
                ..Gathering::default()
            }),
        })
    }

    fn gathering(&self) -> std::sync::MutexGuard<'_, Gathering> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Invites `friends` (those not in the group yet). A friend that cannot join
    /// fails the whole move.
    pub(crate) fn invite(self: &Arc<Self>, friends: &[Arc<dyn Friend>]) {
        for friend in friends {
            {
                let mut gathering = self.gathering();
                if gathering.members.contains(&friend.actor()) {
                    continue;
                }
                gathering.members.push(friend.actor());
                gathering.waiting += 1;
            }
            if !Arc::clone(friend).invite(self) {
                self.joined(Err(MigrationError::Busy));
            }
        }
    }

    /// A member's answer: its snapshot, or why it cannot come. When every
    /// invitation is answered, the group is carried (or fails).
    pub(crate) fn joined(self: &Arc<Self>, member: Result<Emigrant, MigrationError>) {
        let emigrants = {
            let mut gathering = self.gathering();
            match member {
                Ok(emigrant) => gathering.emigrants.push(emigrant),
                Err(error) => {
                    gathering.failed.get_or_insert(error);
                }
            }
            gathering.waiting -= 1;
            if gathering.waiting > 0 {
                return;
            }
            if let Some(error) = gathering.failed.clone() {
                drop(gathering);
                self.land(Err(error));
                return;
            }
            std::mem::take(&mut gathering.emigrants)
        };
        let group = Arc::clone(self);
        carry(
            &self.fabric,
            &self.to,
            emigrants,
            Box::new(move |landing| group.land(landing)),
        );
    }

    fn land(&self, landing: Landing) {
        let wakers = {
            let mut gathering = self.gathering();
            gathering.landing = Some(landing);
            std::mem::take(&mut gathering.wakers)
        };
        wakers.into_iter().for_each(std::task::Waker::wake);
    }

    /// How the move ended, once it has.
    pub(crate) fn landing(&self) -> Option<Landing> {
        self.gathering().landing.clone()
    }

    /// A future that is ready once the move has ended.
    pub(crate) fn landed(self: Arc<Self>) -> impl std::future::Future<Output = ()> + Send {
        std::future::poll_fn(move |cx| {
            let mut gathering = self.gathering();
            if gathering.landing.is_some() {
                return std::task::Poll::Ready(());
            }
            gathering.wakers.push(cx.waker().clone());
            std::task::Poll::Pending
        })
    }
}

impl MoveRequest {
    /// Answers whoever waits on this request with `error`.
    pub(crate) fn refuse(self, error: MigrationError) {
        if let Some(reply) = self.reply {
            reply.fail(crate::speech::SpeechError::Failed(
                crate::speech::Failure::Migration(error),
            ));
        }
    }
}

/// A balanceable actor's cell, as the stage's [`Roster`] keeps it.
pub(crate) trait Roaming: Send + Sync + 'static {
    /// The actor's identity.
    fn id(&self) -> ActorId;
    /// `true` while the actor runs on this stage (it has neither moved nor ended).
    fn is_here(&self) -> bool;
    /// `true` while the actor has letters to take or is taking one.
    fn is_busy(&self) -> bool;
    /// The actor as peers reach it, while it is here.
    fn inbound(self: Arc<Self>) -> Option<Arc<dyn Inbound>>;
}

/// The actors of a stage that a theatre's load balancer may move: those declared
/// `#[actor(mobile, balance)]`, enlisted when they are born or arrive, held
/// weakly, and struck off once they have moved or ended.
#[derive(Default)]
pub(crate) struct Roster {
    enlisted: Mutex<Vec<(std::sync::Weak<dyn Roaming>, std::time::Instant)>>,
}

impl Roster {
    /// Enlists `cell`, which has just started here.
    pub(crate) fn enlist(&self, cell: std::sync::Weak<dyn Roaming>) {
        let mut enlisted = self.enlisted.lock().unwrap_or_else(PoisonError::into_inner);
        enlisted.push((cell, std::time::Instant::now()));
    }

    /// The actors here now (the others are struck off).
    pub(crate) fn here(&self) -> Vec<Roamer> {
        let mut enlisted = self.enlisted.lock().unwrap_or_else(PoisonError::into_inner);
        let mut here = Vec::with_capacity(enlisted.len());
        enlisted.retain(|(cell, since)| match cell.upgrade() {
            Some(cell) if cell.is_here() => {
                here.push(Roamer {
                    cell,
                    since: *since,
                });
                true
            }
            _ => false,
        });
        here
    }
}

/// An actor that a load balancer may move (`#[actor(mobile, balance)]`), running
/// on this stage: see [`balanceable`].
pub struct Roamer {
    cell: Arc<dyn Roaming>,
    since: std::time::Instant,
}

impl fmt::Debug for Roamer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Roamer")
            .field("id", &self.cell.id())
            .field("since", &self.since)
            .finish()
    }
}

impl Roamer {
    /// The actor's identity.
    pub fn id(&self) -> ActorId {
        self.cell.id()
    }

    /// Since when it has run on this stage (born or arrived).
    pub fn since(&self) -> std::time::Instant {
        self.since
    }

    /// `true` while it still runs here.
    pub fn is_here(&self) -> bool {
        self.cell.is_here()
    }

    /// `true` while it has letters to take or is taking one: sampled often, the
    /// share of samples that are busy tells how much of a worker it keeps.
    pub fn is_busy(&self) -> bool {
        self.cell.is_busy()
    }

    /// The actor as peers reach it (to move it), while it is here.
    pub fn inbound(&self) -> Option<Arc<dyn Inbound>> {
        Arc::clone(&self.cell).inbound()
    }
}

/// The actors on `stage` that a load balancer may move: those declared
/// `#[actor(mobile, balance)]` that run there now.
pub fn balanceable(stage: &Stage) -> Vec<Roamer> {
    crate::stage::roster(stage.shared()).map_or_else(Vec::new, |roster| roster.here())
}
