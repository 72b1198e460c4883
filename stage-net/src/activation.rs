//! Activation on demand: an address by universal name whose first message starts
//! the actor on the name's home theatre if it is not running yet (Stage's
//! auto-started servers, Orleans' virtual actors).
//!
//! The home (see [`directory`](crate::directory)) starts the actor with the factory
//! registered for its type ([`TheatreBuilder::activates`]) at most once per name
//! while it runs. A named address's letters go through a [`NamedLink`], which asks
//! the home where the actor runs and holds them, in order, until it knows.
//!
//! [`TheatreBuilder::activates`]: crate::TheatreBuilder::activates

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use stage_runtime::remote::{
    self, Answer, Body, Delivery, Fabric, Inbound, Link, Receipt, Respond,
};
use stage_runtime::{ActorId, DownReason, Failure, Reason, SpeechError, Stage};

use crate::conn::{unreachable, wire_failure, Awaiting};
use crate::directory::Directory;
use crate::exports::Exports;
use crate::membership::Membership;
use crate::peer::{fail_body, Peer};
use crate::sync::lock;
use crate::wire::frame::{self, Frame, Whereabouts};

/// Starts an actor of one type on a stage, by name, and exports it.
pub(crate) type Factory = Arc<dyn Fn(&Stage, &str) -> Option<Arc<dyn Inbound>> + Send + Sync>;

/// An actor started on demand, or none (not yet, or it has ended).
type Slot = Arc<Mutex<Option<Arc<dyn Inbound>>>>;

/// Where a named actor runs.
pub(crate) enum Located {
    /// On this theatre.
    Here(Arc<dyn Inbound>),
    /// On a peer.
    There(Arc<Peer>, ActorId),
}

/// Starting named actors on demand, and the links behind named addresses.
pub(crate) struct Activation {
    members: Arc<Membership>,
    directory: Arc<Directory>,
    exports: Arc<Exports>,
    stage: Stage,
    /// How to start each actor type on demand, by type tag.
    factories: HashMap<u64, Factory>,
    /// Actors started on demand here (this theatre being their name's home).
    started: Mutex<HashMap<String, Slot>>,
    /// The links behind this theatre's named addresses, one per name.
    links: Mutex<HashMap<String, Arc<NamedLink>>>,
    me: Weak<Activation>,
}

impl Activation {
    pub(crate) fn new(
        members: Arc<Membership>,
        directory: Arc<Directory>,
        exports: Arc<Exports>,
        stage: Stage,
        factories: HashMap<u64, Factory>,
    ) -> Arc<Self> {
        Arc::new_cyclic(|me| Activation {
            members,
            directory,
            exports,
            stage,
            factories,
            started: Mutex::new(HashMap::new()),
            links: Mutex::new(HashMap::new()),
            me: me.clone(),
        })
    }

    /// The actors started here on demand, by identity.
    pub(crate) fn started_here(&self) -> std::collections::HashSet<ActorId> {
        let started: Vec<Slot> = lock(&self.started).values().cloned().collect();
        started
            .iter()
            .filter_map(|slot| lock(slot).as_ref().map(|inbound| inbound.id()))
            .collect()
    }

    /// The actor started here on demand under `name`, if it runs.
    pub(crate) fn running(&self, name: &str) -> Option<Arc<dyn Inbound>> {
        let slot = lock(&self.started).get(name).cloned()?;
        let inbound = lock(&slot).clone();
        inbound
    }

    /// Where `located` is, as an `Activated` frame carries it.
    pub(crate) fn whereabouts(&self, located: &Located) -> Whereabouts {
        match located {
            Located::Here(inbound) => (
                self.members.id(),
                self.members.locator().to_owned(),
                inbound.id().to_wire(),
            ),
            Located::There(peer, actor) => (peer.theatre, peer.locator.clone(), actor.to_wire()),
        }
    }

    /// Where an `Activated` frame says the actor is, from this theatre.
    fn located(&self, (theatre, locator, actor): Whereabouts) -> Result<Located, SpeechError> {
        let actor = ActorId::from_wire(actor)
            .ok_or_else(|| wire_failure("the name's home named no actor"))?;
        if theatre == self.members.id() {
            return self
                .exports
                .get(actor)
                .map(Located::Here)
                .ok_or(SpeechError::Failed(Failure::Dead));
        }
        let peer = self.members.link(theatre, &locator).map_err(wire_failure)?;
        Ok(Located::There(peer, actor))
    }

    /// Where the actor named `name` of the type tagged `tag` runs, this theatre
    /// being the name's home: here if it runs here; on a peer if one has it (it
    /// started there while the members saw another home); else started here now.
    /// Activations of one name at this home are serialised, so at most one starts.
    /// Blocks for a round of questions to the peers: never call it on a reader
    /// thread or an actor's turn.
    pub(crate) fn locate_or_start(&self, name: &str, tag: u64) -> Result<Located, SpeechError> {
        let other_type = |found: &str| {
            wire_failure(format!(
                "`{name}` runs as a `{found}`, another type than the one asked for"
            ))
        };
        let slot = Arc::clone(lock(&self.started).entry(name.to_owned()).or_default());
        let mut running = lock(&slot);
        if let Some(inbound) = running.as_ref() {
            return if inbound.type_tag() == tag {
                Ok(Located::Here(Arc::clone(inbound)))
            } else {
                Err(other_type(inbound.type_name()))
            };
        }
        let peers = self.members.live_peers();
        if let Some((peer, (actor, found_tag, type_name))) = self.directory.ask_peers(name, peers) {
            let actor = ActorId::from_wire(actor)
                .ok_or_else(|| wire_failure(format!("a peer that has `{name}` named no actor")))?;
            return if found_tag == tag {
                Ok(Located::There(peer, actor))
            } else {
                Err(other_type(&type_name))
            };
        }
        let factory = self.factories.get(&tag).ok_or_else(|| {
            wire_failure(format!(
                "theatre {} cannot start `{name}`: no factory for its actor type \
                 (register one with `TheatreBuilder::activates` on every theatre)",
                self.members.locator()
            ))
        })?;
        let inbound = factory(&self.stage, name)
            .ok_or_else(|| wire_failure(format!("`{name}` could not be started")))?;
        // Exported before anyone can find it in the slot: an activation that finds
        // it there hands peers its identity, and their letters must find it
        // exported (they were refused as `Dead`, and events dropped, in between).
        self.exports.export(Arc::clone(&inbound));
        *running = Some(Arc::clone(&inbound));
        drop(running);
        let ended = Arc::downgrade(&slot);
        inbound.on_end(Box::new(move |_| {
            if let Some(slot) = ended.upgrade() {
                *lock(&slot) = None;
            }
        }));
        Ok(Located::Here(inbound))
    }

    /// The link behind the named addresses of `name`.
    pub(crate) fn named_link(&self, name: &str) -> Arc<NamedLink> {
        let mut links = lock(&self.links);
        let link = links
            .entry(name.to_owned())
            .or_insert_with(|| NamedLink::new(name, self.me.clone()));
        Arc::clone(link)
    }
}

/// Where a named address stands in its resolution.
enum Resolution {
    /// Not resolved: the next send asks the home.
    Idle,
    /// The home has been asked; letters wait here, in order, with what they cost
    /// together (by `letter_cost`).
    Resolving(Vec<(u64, Body)>, u64),
    /// Resolved, for the actor type with this tag.
    Ready(Arc<Located>, u64),
}

/// The most letters (by `letter_cost`) that wait for a name to be resolved:
/// past it, a sender is told `Denied(Busy)`.
const MAX_WAITING: u64 = frame::DEFAULT_WINDOW;

/// What a letter waiting for its name costs.
fn cost(body: &Body) -> u64 {
    frame::letter_cost(match body {
        Body::Message { args, .. } => args.len(),
        Body::Eval { captures, .. } => captures.len(),
        Body::Stop { .. } | Body::Fence { .. } | Body::Flush { .. } => 0,
    })
}

/// The link behind a named address.
pub(crate) struct NamedLink {
    name: String,
    activation: Weak<Activation>,
    state: Mutex<Resolution>,
    me: Weak<NamedLink>,
}

impl NamedLink {
    fn new(name: &str, activation: Weak<Activation>) -> Arc<Self> {
        Arc::new_cyclic(|me| NamedLink {
            name: name.to_owned(),
            activation,
            state: Mutex::new(Resolution::Idle),
            me: me.clone(),
        })
    }

    /// The error for a letter whose actor type is not the one the name resolved
    /// for (two `named::<_>` of one name with different types).
    fn other_type(&self) -> SpeechError {
        wire_failure(format!(
            "`{}` was resolved for another actor type: name each type's actors differently",
            self.name
        ))
    }

    /// Asks the name's home for the actor; `settle` takes the answer. Never
    /// blocks: the sender may be an actor's turn.
    fn resolve(&self, tag: u64) {
        let Some(activation) = self.activation.upgrade() else {
            return self.settle(Err(unreachable()));
        };
        let Some(home) = activation.directory.home_of(&self.name) else {
            // This theatre is the home: finding or starting asks the peers first.
            let me = self.me.clone();
            let name = self.name.clone();
            let spawned = std::thread::Builder::new()
                .name("stage-net-activate".into())
                .spawn(move || {
                    let located = activation.locate_or_start(&name, tag);
                    if let Some(me) = me.upgrade() {
                        me.settle(located);
                    }
                });
            if let Err(error) = spawned {
                self.settle(Err(wire_failure(format!(
                    "no thread to start the actor: {error}"
                ))));
            }
            return;
        };
        let Some(conn) = home.live() else {
            return self.settle(Err(unreachable()));
        };
        let me = self.me.clone();
        let weak = self.activation.clone();
        let awaiting = Awaiting::Activate(Box::new(move |result| {
            let (Some(me), Some(activation)) = (me.upgrade(), weak.upgrade()) else {
                return;
            };
            me.settle(result.and_then(|whereabouts| activation.located(whereabouts)));
        }));
        // A failed call runs `awaiting` with `Unreachable`.
        let _ = conn.call(awaiting, |call| Frame::Activate {
            name: self.name.clone(),
            tag,
            call,
        });
    }

    /// Sends the waiting letters to where the home said, in order, or fails them.
    fn settle(&self, result: Result<Located, SpeechError>) {
        let mut state = lock(&self.state);
        let waiting = match std::mem::replace(&mut *state, Resolution::Idle) {
            Resolution::Resolving(waiting, _) => waiting,
            other => {
                *state = other;
                return;
            }
        };
        match result {
            Ok(resolved) => {
                let resolved = Arc::new(resolved);
                // Resolved for the type of the letter that asked first.
                let resolved_tag = waiting.first().map_or(0, |(tag, _)| *tag);
                for (tag, body) in waiting {
                    if tag != resolved_tag {
                        fail_body(body, self.other_type());
                        continue;
                    }
                    // Accepted when held: never refused for room now. A
                    // failed send has answered its caller.
                    let _ = self.send_to(&resolved, tag, (body, true));
                }
                *state = Resolution::Ready(resolved, resolved_tag);
            }
            // Left `Idle`: the next letter asks again.
            Err(error) => {
                for (_, body) in waiting {
                    fail_body(body, error.clone());
                }
            }
        }
    }

    /// Sends `body` to where the name was found: as a letter this theatre
    /// had `accepted` already ([`Link::forward`]), or as a new one.
    fn send_to(
        &self,
        located: &Located,
        tag: u64,
        (body, accepted): (Body, bool),
    ) -> Result<(), SpeechError> {
        let inbound = match located {
            Located::There(peer, actor) if accepted => return peer.forward(*actor, tag, body),
            Located::There(peer, actor) => return peer.send(*actor, tag, body),
            Located::Here(inbound) => inbound,
        };
        let Some((fabric, stage)) = self.activation.upgrade().and_then(|activation| {
            let fabric = activation.members.fabric()?;
            Some((fabric, activation.stage.clone()))
        }) else {
            fail_body(body, unreachable());
            return Err(unreachable());
        };
        deliver_here(fabric, &stage, &**inbound, (body, accepted))
    }
}

/// Delivers `body` to a local actor (`inbound`), as if it had arrived from a
/// peer: addresses inside the message, and inside its answer, belong to this
/// theatre (`fabric`, with its `stage`).
///
/// A letter this theatre had `accepted` already (held while its sender
/// switched, or while a name was resolved) is never refused for lack of room:
/// an event goes in as a run of one ([`Inbound::deliver_events`]), which a
/// full mailbox takes, and which a forwarder passes on as accepted.
///
/// # Errors
///
/// The actor's refusal, or a decoding error; the answer, if any, has it too.
pub(crate) fn deliver_here(
    fabric: Arc<dyn Fabric>,
    stage: &Stage,
    inbound: &dyn Inbound,
    (body, accepted): (Body, bool),
) -> Result<(), SpeechError> {
    let respond_to = |answer| respond_to(answer, Arc::clone(&fabric), stage.clone());
    remote::decoding_for(Arc::clone(&fabric), stage, || match body {
        Body::Message {
            variant,
            args,
            answer: None,
        } if accepted => inbound.deliver_events(
            &mut std::iter::once((variant, &args[..])),
            Receipt::default(),
        ),
        Body::Message {
            variant,
            args,
            answer,
        } => inbound.deliver(
            Delivery::Message {
                variant,
                args: &args,
                respond: answer.map(respond_to),
            },
            Receipt::default(),
        ),
        Body::Stop { answer } => inbound.deliver(
            Delivery::Stop {
                respond: respond_to(answer),
            },
            Receipt::default(),
        ),
        Body::Fence { token } => inbound.deliver(Delivery::Fence { token }, Receipt::default()),
        Body::Flush { answer } => inbound.deliver(
            Delivery::Flush {
                respond: respond_to(answer),
            },
            Receipt::default(),
        ),
        Body::Eval {
            site,
            check,
            captures,
            answer,
        } => inbound.deliver(
            Delivery::Eval {
                site,
                check,
                captures: &captures,
                respond: respond_to(answer),
            },
            Receipt::default(),
        ),
    })
}

impl Link for NamedLink {
    fn send(&self, _actor: ActorId, tag: u64, body: Body) -> Result<(), SpeechError> {
        let mut state = lock(&self.state);
        let resolved = match &mut *state {
            Resolution::Ready(_, resolved_tag) if *resolved_tag != tag => {
                drop(state);
                let error = self.other_type();
                fail_body(body, error.clone());
                return Err(error);
            }
            Resolution::Ready(resolved, _) => Arc::clone(resolved),
            Resolution::Resolving(waiting, held) => {
                // Bounded as a connection's window is: a flood while the home is
                // asked is refused, not held without end.
                let cost = cost(&body);
                if *held + cost > MAX_WAITING {
                    drop(state);
                    let busy = SpeechError::Denied(Reason::Busy);
                    fail_body(body, busy.clone());
                    return Err(busy);
                }
                *held += cost;
                waiting.push((tag, body));
                return Ok(());
            }
            Resolution::Idle => {
                let cost = cost(&body);
                *state = Resolution::Resolving(vec![(tag, body)], cost);
                drop(state);
                self.resolve(tag);
                return Ok(());
            }
        };
        drop(state);
        let sent = self.send_to(&resolved, tag, (body, false));
        if sent == Err(unreachable()) {
            // The home is gone: the next letter asks the name's (new) home again.
            let mut state = lock(&self.state);
            if matches!(&*state, Resolution::Ready(r, _) if Arc::ptr_eq(r, &resolved)) {
                *state = Resolution::Idle;
            }
        }
        sent
    }

    fn locator(&self) -> &str {
        &self.name
    }

    /// Named addresses belong to no one theatre: theatre 0, numbered by a hash of
    /// the name, so that two of the same name are equal.
    fn theatre(&self) -> u64 {
        0
    }

    fn name(&self) -> Option<&str> {
        Some(&self.name)
    }

    /// Watches the actor the name resolved to; before the first message has
    /// resolved it, there is nothing to watch and `then` is dropped.
    fn watch(&self, _actor: ActorId, tag: u64, then: Box<dyn FnOnce(DownReason) + Send>) {
        let located = match &*lock(&self.state) {
            Resolution::Ready(located, resolved_tag) if *resolved_tag == tag => Arc::clone(located),
            Resolution::Ready(..) | Resolution::Idle | Resolution::Resolving(..) => return,
        };
        match &*located {
            Located::There(peer, actor) => peer.watch(*actor, tag, then),
            Located::Here(inbound) => inbound.on_end(then),
        }
    }
}

/// A responder that hands the encoded answer straight to the caller's side.
fn respond_to(answer: Answer, fabric: Arc<dyn Fabric>, stage: Stage) -> Respond {
    Respond::new(move |result| {
        remote::decoding_for(fabric, &stage, || match result {
            Ok(bytes) => answer.answer(Ok(&bytes)),
            Err(error) => answer.fail(error),
        })
    })
}
