//! Activation on demand: an address by universal name whose first message starts
//! the actor on the name's home theatre if it is not running yet (Stage's
//! auto-started servers, Orleans' virtual actors).
//!
//! A name's home is chosen among the live members by rendezvous hashing (each
//! member scores `hash(name, member)`, the highest wins), so every theatre with the
//! same view of the cluster picks the same home, and a member joining or leaving
//! moves only the names it wins or held. The home starts the actor with the factory
//! registered for its type ([`TheatreBuilder::activates`]) at most once per name
//! while it runs.
//!
//! [`TheatreBuilder::activates`]: crate::TheatreBuilder::activates

use std::sync::{Arc, Mutex, PoisonError, Weak};

use stage_runtime::remote::{self, Answer, Body, Delivery, Fabric, Inbound, Link, Respond};
use stage_runtime::{DownReason, Failure, SpeechError};

use crate::frame::Frame;
use crate::link::{fail_body, Pending};
use crate::theatre::{Inner, Located};

/// Starts an actor of one type on a stage, by name, and exports it.
pub(crate) type Factory =
    Arc<dyn Fn(&stage_runtime::Stage, &str) -> Option<Arc<dyn Inbound>> + Send + Sync>;

/// 64-bit FNV-1a over `parts`, then a final mix so that close inputs spread.
pub(crate) fn hash(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    // splitmix64's finaliser.
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

enum State {
    /// Not resolved: the next send asks the home.
    Idle,
    /// The home has been asked; letters wait here, in order.
    Resolving(Vec<(u64, Body)>),
    /// Resolved, for the actor type with this tag.
    Ready(Arc<Located>, u64),
}

/// The link behind a named address.
pub(crate) struct NamedLink {
    name: String,
    home: Weak<Inner>,
    state: Mutex<State>,
    me: Weak<NamedLink>,
}

fn unreachable() -> SpeechError {
    SpeechError::Failed(Failure::Unreachable)
}

impl NamedLink {
    pub(crate) fn new(name: &str, home: Weak<Inner>) -> Arc<Self> {
        Arc::new_cyclic(|me| NamedLink {
            name: name.to_owned(),
            home,
            state: Mutex::new(State::Idle),
            me: me.clone(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The error for a letter whose actor type is not the one the name resolved
    /// for (two `named::<_>` of one name with different types).
    fn other_type(&self) -> SpeechError {
        let why = format!(
            "`{}` was resolved for another actor type: name each type's actors differently",
            self.name
        );
        SpeechError::Failed(Failure::Wire(why.into()))
    }

    /// Asks the name's home for the actor; `settle` takes the answer. Never
    /// blocks: the sender may be an actor's turn.
    fn resolve(&self, tag: u64) {
        let Some(inner) = self.home.upgrade() else {
            return self.settle(Err(unreachable()));
        };
        let Some(peer) = inner.home_of(&self.name) else {
            // This theatre is the home: finding or starting asks the peers first.
            let me = self.me.clone();
            let name = self.name.clone();
            let spawned = std::thread::Builder::new()
                .name("stage-net-activate".into())
                .spawn(move || {
                    let located = inner.locate_or_start(&name, tag);
                    if let Some(me) = me.upgrade() {
                        me.settle(located);
                    }
                });
            if let Err(error) = spawned {
                let why = format!("no thread to start the actor: {error}");
                self.settle(Err(SpeechError::Failed(Failure::Wire(why.into()))));
            }
            return;
        };
        let Some(conn) = peer.live() else {
            return self.settle(Err(unreachable()));
        };
        let me = self.me.clone();
        let home = self.home.clone();
        let pending = Pending::Activate(Box::new(move |result| {
            let (Some(me), Some(inner)) = (me.upgrade(), home.upgrade()) else {
                return;
            };
            me.settle(result.and_then(|whereabouts| inner.located(whereabouts)));
        }));
        // A failed call runs `pending` with `Unreachable`.
        let _ = conn.call(pending, |call| Frame::Activate {
            name: self.name.clone(),
            tag,
            call,
        });
    }

    /// Sends the waiting letters to where the home said, in order, or fails them.
    fn settle(&self, result: Result<Located, SpeechError>) {
        let mut state = self.lock();
        let waiting = match std::mem::replace(&mut *state, State::Idle) {
            State::Resolving(waiting) => waiting,
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
                    // A failed send has answered its caller.
                    let _ = self.send_to(&resolved, tag, body);
                }
                *state = State::Ready(resolved, resolved_tag);
            }
            // Left `Idle`: the next letter asks again.
            Err(error) => {
                for (_, body) in waiting {
                    fail_body(body, error.clone());
                }
            }
        }
    }
}

impl Link for NamedLink {
    fn send(&self, _actor: u64, tag: u64, body: Body) -> Result<(), SpeechError> {
        let mut state = self.lock();
        let resolved = match &mut *state {
            State::Ready(_, resolved_tag) if *resolved_tag != tag => {
                drop(state);
                let error = self.other_type();
                fail_body(body, error.clone());
                return Err(error);
            }
            State::Ready(resolved, _) => Arc::clone(resolved),
            State::Resolving(waiting) => {
                waiting.push((tag, body));
                return Ok(());
            }
            State::Idle => {
                *state = State::Resolving(vec![(tag, body)]);
                drop(state);
                self.resolve(tag);
                return Ok(());
            }
        };
        drop(state);
        let sent = self.send_to(&resolved, tag, body);
        if sent == Err(unreachable()) {
            // The home is gone: the next letter asks the name's (new) home again.
            let mut state = self.lock();
            if matches!(&*state, State::Ready(r, _) if Arc::ptr_eq(r, &resolved)) {
                *state = State::Idle;
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
    fn watch(&self, _actor: u64, tag: u64, then: Box<dyn FnOnce(DownReason) + Send>) {
        let located = match &*self.lock() {
            State::Ready(located, resolved_tag) if *resolved_tag == tag => Arc::clone(located),
            State::Ready(..) | State::Idle | State::Resolving(_) => return,
        };
        match &*located {
            Located::There(peer, actor) => peer.watch(*actor, tag, then),
            Located::Here(inbound) => inbound.on_end(then),
        }
    }
}

impl NamedLink {
    fn send_to(&self, located: &Located, tag: u64, body: Body) -> Result<(), SpeechError> {
        let inbound = match located {
            Located::There(peer, actor) => return peer.send(*actor, tag, body),
            Located::Here(inbound) => inbound,
        };
        let Some(inner) = self.home.upgrade() else {
            fail_body(body, unreachable());
            return Err(unreachable());
        };
        // Addresses inside the message, and inside its answer, belong to this
        // theatre.
        let fabric = Arc::clone(&inner.fabric);
        remote::decoding_for(Arc::clone(&fabric), || match body {
            Body::Message {
                variant,
                args,
                answer,
            } => inbound.deliver(Delivery::Message {
                variant,
                args: &args,
                respond: answer.map(|answer| respond_to(answer, fabric)),
            }),
            Body::Stop { answer } => inbound.deliver(Delivery::Stop {
                respond: respond_to(answer, fabric),
            }),
            Body::Eval {
                site,
                check,
                captures,
                answer,
            } => inbound.deliver(Delivery::Eval {
                site,
                check,
                captures: &captures,
                respond: respond_to(answer, fabric),
            }),
        })
    }
}

/// A responder that hands the encoded answer straight to the caller's side.
fn respond_to(answer: Answer, fabric: Arc<dyn Fabric>) -> Respond {
    Respond::new(move |result| {
        remote::decoding_for(fabric, || match result {
            Ok(bytes) => answer.answer(Ok(&bytes)),
            Err(error) => answer.fail(error),
        })
    })
}
