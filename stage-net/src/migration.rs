//! Migration (weak mobility, Stage's `migrate_to`, SALSA's migrating agents):
//! carrying actors, one or a clique of friends, to another theatre and starting
//! them there.
//!
//! The runtime does the actor's side (see `stage_runtime`'s `mobility.rs`): it
//! parks the actor between two turns, takes its snapshot, and once this service
//! reports the move done, turns the cell left behind into a forwarder. This
//! service does the theatres' side:
//!
//! 1. **Origin.** [`Migration::carry`] finds (or meets) the target, and sends one
//!    `Migrate` frame with every actor's identity, type, state and the universal
//!    names bound to it. A state over the target's frame limit fails at once.
//!    Before it, a `Barrier` goes on each other connection the moving actors may
//!    have sent letters on, and the frame waits for every answer: what they
//!    sent from here is handed on before they can send from the target.
//! 2. **Target.** [`Migration::settle`] rebuilds each actor, and only if all of
//!    them decode (a registered mobile type, a state of that type) starts them
//!    under their identities, exports them, binds their names here (the names'
//!    homes learn the new place), and answers `Migrated`. Nothing arrives from a
//!    stranger: frames come only on connections that proved the cookie.
//! 3. **Origin, on `Migrated`.** The names are forgotten here, and the runtime
//!    forwards the letters queued and still arriving, in order.
//!
//! The acknowledgement is the moment the actor changes place: before it the
//! origin runs it (a target that fails or is cut off before answering leaves it
//! there, and anything the target had started dies with the target); after it,
//! the target does. A connection that breaks after the target has answered but
//! before the answer arrives, with both theatres alive, is the one case this
//! does not settle: the origin then keeps its actor too (see the README's
//! limits).

use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use stage_runtime::remote::{
    self, Arrival, Body, Delivery, Emigrant, Inbound, Landing, Link, Receipt,
};
use stage_runtime::{ActorId, Failure, MigrationError, SpeechError, Stage};

use crate::conn::Awaiting;
use crate::directory::Directory;
use crate::exports::Exports;
use crate::membership::Membership;
use crate::peer::Peer;
use crate::sync::lock;
use crate::wire::frame::{Frame, Traveller, WireId};

/// The migration service of a theatre.
pub(crate) struct Migration {
    members: Arc<Membership>,
    exports: Arc<Exports>,
    directory: Arc<Directory>,
    stage: Stage,
    /// While this theatre leaves: the (peer, actor) pairs whose flush has not
    /// come through yet (see [`Migration::evacuate`]).
    leaving: Mutex<HashSet<(u64, ActorId)>>,
    flushed: Condvar,
}

/// What the runtime is told once a move has ended.
type Then = Box<dyn FnOnce(Landing) + Send>;

impl Migration {
    pub(crate) fn new(
        members: Arc<Membership>,
        exports: Arc<Exports>,
        directory: Arc<Directory>,
        stage: Stage,
    ) -> Arc<Self> {
        Arc::new(Migration {
            members,
            exports,
            directory,
            stage,
            leaving: Mutex::new(HashSet::new()),
            flushed: Condvar::new(),
        })
    }

    /// Carries `emigrants` to the theatre at `to`; `then` hears how it ended. A
    /// theatre not met yet is met first, on a thread of its own (the caller is an
    /// actor's turn, which must not wait for a handshake).
    ///
    /// An actor whose return here still waits for its fence stays, `Busy` (see
    /// [`Exports::gated`]).
    pub(crate) fn carry(self: &Arc<Self>, to: &str, emigrants: Vec<Emigrant>, then: Then) {
        if let Err(error) = crate::locator::parse(to) {
            then(Err(MigrationError::Unreachable(error.to_string().into())));
            return;
        }
        if emigrants.iter().any(|e| self.exports.gated(e.actor)) {
            // Just back here, and letters sent the old way round are still
            // coming: it stays (and keeps taking them) until they have come.
            then(Err(MigrationError::Busy));
            return;
        }
        if let Some(peer) = self.members.peer_at(to).filter(|p| p.live().is_some()) {
            self.send(&peer, emigrants, then);
            return;
        }
        let me = Arc::clone(self);
        let locator = to.to_owned();
        let spawned = std::thread::Builder::new()
            .name("stage-net-migrate".into())
            .spawn(move || match me.members.connect(&locator) {
                Ok(peer) => me.send(&peer, emigrants, then),
                Err(error) => then(Err(MigrationError::Unreachable(error.to_string().into()))),
            });
        if let Err(error) = spawned {
            log::warn!("stage-net: no thread to carry actors to {to}: {error}");
        }
    }

    /// Sends the `Migrate` frame to `peer` and waits for its answer.
    fn send(&self, peer: &Arc<Peer>, emigrants: Vec<Emigrant>, then: Then) {
        let Some(conn) = peer.live() else {
            then(Err(MigrationError::Unreachable(
                "the connection to the target is down".into(),
            )));
            return;
        };
        let size: usize = emigrants.iter().map(|e| e.state.len()).sum();
        let limit = conn.frame_limit() as usize;
        if size > limit {
            then(Err(MigrationError::TooLarge { size, limit }));
            return;
        }
        let actors: Vec<ActorId> = emigrants.iter().map(|e| e.actor).collect();
        // The other peers the moving actors may have sent letters to.
        let others: Vec<Arc<crate::conn::Conn>> = self
            .members
            .live_peers()
            .into_iter()
            .filter(|other| other.theatre != peer.theatre)
            .filter(|other| actors.iter().any(|a| other.speakers().may_have(*a)))
            .filter_map(|other| other.live())
            .collect();
        let travellers = emigrants
            .into_iter()
            .map(|e| Traveller {
                actor: e.actor.to_wire(),
                tag: e.type_tag,
                type_name: e.type_name.to_owned(),
                state: serde_bytes::ByteBuf::from(e.state),
                names: self.directory.names_of(e.actor),
            })
            .collect();
        let directory = Arc::clone(&self.directory);
        let link: Arc<dyn Link> = Arc::clone(peer) as _;
        let target = Arc::clone(peer);
        let landed = move |result: Result<Vec<WireId>, MigrationError>| {
            let aliases = result.and_then(|aliases| {
                let aliases: Option<Vec<ActorId>> =
                    aliases.into_iter().map(ActorId::from_wire).collect();
                aliases
                    .filter(|aliases| aliases.len() == actors.len())
                    .ok_or_else(|| {
                        MigrationError::Refused("the target's answer names no aliases".into())
                    })
            });
            match aliases {
                Ok(aliases) => {
                    for actor in &actors {
                        directory.forget(*actor);
                    }
                    let aliases = actors.iter().copied().zip(aliases).collect();
                    then(Ok(Arrival { link, aliases }));
                }
                Err(error) => then(Err(error)),
            }
        };
        let go = move || {
            let Some(conn) = target.live() else {
                landed(Err(MigrationError::Unreachable(
                    "the connection to the target is down".into(),
                )));
                return;
            };
            // On failure the call is answered (`Unreachable`, or the frame's error).
            let _ = conn.call(Awaiting::Migrate(Box::new(landed)), |call| Frame::Migrate {
                actors: travellers,
                call,
            });
        };
        after_barriers(&others, go);
    }

    /// Starts the actors of a `Migrate` frame from `peer`: all of them, or none.
    ///
    /// # Errors
    ///
    /// Why they were refused, for the origin: an identity that is not one, a type
    /// this program does not know as mobile, a state that does not decode.
    pub(crate) fn settle(
        &self,
        peer: &Peer,
        actors: Vec<Traveller>,
    ) -> Result<Vec<WireId>, String> {
        let mut settlers = Vec::with_capacity(actors.len());
        for traveller in actors {
            let actor = ActorId::from_wire(traveller.actor)
                .ok_or_else(|| format!("a `{}` with no identity", traveller.type_name))?;
            let settler =
                remote::rebuild_arrival(traveller.tag, &traveller.state).map_err(|error| {
                    match error {
                        MigrationError::Refused(why) => {
                            format!("a `{}`: {why}", traveller.type_name)
                        }
                        other => format!("a `{}`: {other}", traveller.type_name),
                    }
                })?;
            settlers.push((actor, settler, traveller.names));
        }
        let mut aliases = Vec::with_capacity(settlers.len());
        for (actor, settler, names) in settlers {
            let inbound = settler.settle(&self.stage, actor);
            let alias = remote::fresh_alias();
            aliases.push(alias.to_wire());
            // Back where it left a forwarder: a fence goes the old way round,
            // behind every letter on it, and gives the actor its identity back
            // here when it returns (see `Exports::settle`). A forwarder that
            // cannot pass it on has nothing on its way.
            let mut unfenced = false;
            self.exports
                .settle(Arc::clone(&inbound), (alias, peer.theatre), |forwarder| {
                    let fence = Delivery::Fence { token: alias };
                    unfenced = forwarder.deliver(fence, Receipt::default()).is_err();
                });
            if unfenced {
                self.exports.open(alias);
            }
            for name in names {
                let exports = &self.exports;
                let bound = self.directory.bind(&name, Arc::clone(&inbound), |inbound| {
                    exports.export(Arc::clone(inbound));
                });
                if let Err(error) = bound {
                    log::warn!(
                        "stage-net: `{name}` did not follow {actor} from {}: {error}",
                        peer.locator
                    );
                }
            }
        }
        Ok(aliases)
    }

    /// The theatre behind `told_by` forwarded a letter from this one to
    /// `actor`, which runs on the theatre `theatre` at `locator` now, under
    /// `alias` there: this theatre's letters switch to it (see `routes.rs`).
    pub(crate) fn moved(
        &self,
        told_by: &Arc<Peer>,
        actor: WireId,
        tag: u64,
        (theatre, locator): (u64, &str),
        alias: WireId,
    ) {
        let (Some(actor), Some(alias)) = (ActorId::from_wire(actor), ActorId::from_wire(alias))
        else {
            return;
        };
        let to: Arc<dyn Link> = if theatre == self.members.id() {
            // Moved here: this theatre's letters go to the local actor.
            Arc::new(Here {
                exports: Arc::clone(&self.exports),
                members: Arc::clone(&self.members),
                stage: self.stage.clone(),
            })
        } else {
            match self.members.link(theatre, locator) {
                Ok(peer) => peer,
                Err(_) => return,
            }
        };
        let told_by: Arc<dyn Link> = Arc::clone(told_by) as _;
        self.members.routes.moved(actor, tag, (to, alias), told_by);
    }

    /// A flush for `actor` from the peer `theatre` has come through.
    pub(crate) fn flush_seen(&self, theatre: u64, actor: Option<ActorId>) {
        let Some(actor) = actor else { return };
        let mut leaving = lock(&self.leaving);
        if leaving.remove(&(theatre, actor)) && leaving.is_empty() {
            self.flushed.notify_all();
        }
    }

    /// Before this theatre leaves (Stage: "Actors can migrate away from the
    /// closing host and the system continues without disruption"): its mobile
    /// actors move to the live members, in turn (a clique together); each
    /// member is told where each went, and where every actor that had left
    /// before went (the forwarders here stop with this theatre), under every
    /// identity it is exported by here; and this waits (at most `within`) until
    /// every member's flush has come through, so that what they sent the old
    /// way has been forwarded before the connections close. Actors that are not
    /// mobile stay, as do those in `staying` (started here on demand: the
    /// name's new home starts a fresh one, as activation promises) and any that
    /// could not move.
    pub(crate) fn evacuate(&self, within: Duration, staying: &HashSet<ActorId>) {
        let deadline = Instant::now() + within;
        let peers = self.members.live_peers();
        if peers.is_empty() {
            return;
        }
        // Each goes once its gate here is open (see `Exports::gated`); the
        // outcome is `None` for an actor that does not move.
        type Outcome = (Arc<dyn Inbound>, Option<Result<(), SpeechError>>);
        let (done, outcomes) = std::sync::mpsc::channel::<Outcome>();
        let mut moving = 0;
        for (inbound, peer) in self
            .exports
            .everyone()
            .into_iter()
            .filter(|inbound| !staying.contains(&inbound.id()))
            .zip(peers.iter().cycle())
        {
            let done = done.clone();
            let locator = peer.locator.clone();
            moving += 1;
            let id = inbound.id();
            let go = Box::new(move || {
                let going = Arc::clone(&inbound);
                let told = done.clone();
                let then = Box::new(move |outcome| {
                    let _ = told.send((going, Some(outcome)));
                });
                if !inbound.evacuate(&locator, then) {
                    let _ = done.send((inbound, None));
                }
            });
            self.exports.when_open(id, go);
        }
        for _ in 0..moving {
            let left = deadline.saturating_duration_since(Instant::now());
            match outcomes.recv_timeout(left) {
                Ok((_, None | Some(Ok(())))) => {}
                Ok((inbound, Some(Err(error)))) => log::warn!(
                    "stage-net: a `{}` could not move away before this theatre left: {error}",
                    inbound.type_name()
                ),
                Err(_) => {
                    log::warn!("stage-net: actors still moving when this theatre left");
                    break;
                }
            }
        }
        // Every member learns where each went; its flush through the forwarder
        // here says it has switched.
        {
            let mut leaving = lock(&self.leaving);
            // The actors that moved away now, and those that had left before
            // (the forwarders here): peers that still send this way learn
            // where each went.
            for (keys, inbound) in self.exports.forwarders() {
                let Some((theatre, locator, alias)) = inbound.moved_to() else {
                    continue;
                };
                // Under every name peers may address it by: its identity, and
                // the aliases it arrived here under (forwarders elsewhere send
                // to those).
                for peer in &peers {
                    let Some(conn) = peer.live() else { continue };
                    for key in &keys {
                        let told = conn.push(Frame::Moved {
                            actor: key.to_wire(),
                            tag: inbound.type_tag(),
                            theatre,
                            locator: locator.clone(),
                            alias: alias.to_wire(),
                        });
                        if told.is_ok() && peer.theatre != theatre {
                            leaving.insert((peer.theatre, *key));
                        }
                    }
                }
            }
        }
        let leaving = lock(&self.leaving);
        let left = deadline.saturating_duration_since(Instant::now());
        let (mut leaving, _) = self
            .flushed
            .wait_timeout_while(leaving, left, |waiting| !waiting.is_empty())
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        leaving.clear();
    }

    /// A fence has come round: `true` if it ended a return to this theatre.
    pub(crate) fn fenced(&self, token: ActorId) -> bool {
        self.exports.open(token)
    }
}

/// Runs `then` once every connection of `conns` has passed a barrier (or
/// closed): letters sent on them before now have been handed on to their
/// actors, so that the actors moving now, whose letters sent from here went
/// that way, cannot be overtaken by those they send from their new place. The
/// connection to the target needs none: the `Migrate` frame follows the letters
/// on it.
fn after_barriers(conns: &[Arc<crate::conn::Conn>], then: impl FnOnce() + Send + 'static) {
    if conns.is_empty() {
        then();
        return;
    }
    let waiting = Arc::new(std::sync::atomic::AtomicUsize::new(conns.len()));
    // Taken by whichever answer comes last.
    let then = Arc::new(Mutex::new(Some(then)));
    for conn in conns {
        let waiting = Arc::clone(&waiting);
        let then = Arc::clone(&then);
        let passed = Box::new(move |_| {
            if waiting.fetch_sub(1, std::sync::atomic::Ordering::AcqRel) == 1 {
                if let Some(then) = lock(&then).take() {
                    then();
                }
            }
        });
        // On failure the call is answered (`false`), which counts as passed: a
        // closed connection carries nothing more.
        let _ = conn.call(Awaiting::Barrier(passed), |call| Frame::Barrier { call });
    }
}

/// The route to an actor that moved to this theatre, for this theatre's own
/// letters that knew it elsewhere: delivered to it here, under its alias.
struct Here {
    exports: Arc<Exports>,
    members: Arc<Membership>,
    stage: Stage,
}

impl Link for Here {
    fn send(&self, actor: ActorId, _tag: u64, body: Body) -> Result<(), SpeechError> {
        self.deliver(actor, (body, false))
    }

    fn forward(&self, actor: ActorId, _tag: u64, body: Body) -> Result<(), SpeechError> {
        self.deliver(actor, (body, true))
    }

    fn locator(&self) -> &str {
        self.members.locator()
    }

    fn theatre(&self) -> u64 {
        self.members.id()
    }
}

impl Here {
    /// Hands `body` to the actor exported here as `actor`: as a letter this
    /// theatre had accepted already, or as a new one (see
    /// [`crate::activation::deliver_here`]).
    fn deliver(&self, actor: ActorId, (body, accepted): (Body, bool)) -> Result<(), SpeechError> {
        let dead = SpeechError::Failed(Failure::Dead);
        // From finding the actor here to handing it the letter, as a reader
        // does: an arrival that takes an entry back from a forwarder does not
        // come between (see `Exports::delivering`).
        let _delivering = self.exports.delivering();
        let (Some(inbound), Some(fabric)) = (self.exports.get(actor), self.members.fabric()) else {
            crate::conn::fail_body(body, dead.clone());
            return Err(dead);
        };
        crate::activation::deliver_here(fabric, &self.stage, &*inbound, (body, accepted))
    }
}
