//! Where this theatre sends letters for actors that moved: senders switch to an
//! actor's new place after the first letter through the old one.
//!
//! A theatre whose forwarder passed on a letter from this one tells it where the
//! actor went (`Moved`). From then on new letters for the actor are held here,
//! and a flush goes the old way round; when the actor has taken it (every letter
//! sent the old way before it), the held letters go to the new place, in order,
//! and every later one straight there. So a sender's letters keep their order
//! across the switch, and the old place's forwarder stops being in the way.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use stage_runtime::remote::{Answer, Body, Link, Receipt};
use stage_runtime::{ActorId, Reason, SpeechError};

use crate::sync::lock;
use crate::wire::frame::{self, DEFAULT_WINDOW};

/// The most held for one actor while its sender switches (by
/// [`frame::letter_cost`]): past it, or while letters held before wait for
/// the new place's window ([`Link::congested`]), a sender is told
/// `Denied(Busy)`. Letters this theatre forwards are not refused: the receipts
/// that follow them are held too, which holds back their senders.
const MAX_HELD: u64 = DEFAULT_WINDOW;

/// The routes of actors that moved, by identity.
#[derive(Default)]
pub(crate) struct Routes {
    /// How many entries the table has: 0 is the common case, checked without a
    /// lock on every letter.
    active: AtomicUsize,
    table: Mutex<HashMap<ActorId, Route>>,
}

/// Where letters for one actor go.
enum Route {
    /// Switching: new letters wait here until the flush sent the old way has
    /// been answered.
    Switching {
        to: Arc<dyn Link>,
        alias: ActorId,
        held: Vec<Held>,
        cost: u64,
    },
    /// To the new place, under the alias it gave the actor.
    Moved { to: Arc<dyn Link>, alias: ActorId },
}

/// What waits while a sender switches, in order.
enum Held {
    /// A letter.
    Letter { tag: u64, body: Body },
    /// The receipt of forwarded letters (see [`Link::hold`]).
    Receipt(Receipt),
}

impl Held {
    /// Sends it to `alias` behind `to`. A letter goes as one accepted already
    /// ([`Link::forward`]): its sender was told so when it was held, and it
    /// must not be refused now for lack of room.
    fn send(self, to: &Arc<dyn Link>, alias: ActorId) {
        match self {
            Held::Letter { tag, body } => {
                let _ = to.forward(alias, tag, body);
            }
            Held::Receipt(receipt) => to.hold(alias, receipt),
        }
    }
}

/// What [`Routes::route`] did with a letter.
pub(crate) enum Routed {
    /// Nothing: send it as addressed.
    Here(Body),
    /// Held, or sent to the new place: the outcome.
    Done(Result<(), SpeechError>),
}

impl Routes {
    /// Routes a letter for `actor`: as addressed, held, or to its new place.
    /// A `forwarded` one stays forwarded (see [`Link::forward`]).
    pub(crate) fn route(&self, actor: ActorId, tag: u64, body: Body, forwarded: bool) -> Routed {
        // A flush or a fence marks the way letters went so far: it goes that
        // way too (a fence rerouted past the theatre waiting for it would keep
        // that theatre's return shut).
        if self.active.load(Ordering::Acquire) == 0
            || matches!(body, Body::Flush { .. } | Body::Fence { .. })
        {
            return Routed::Here(body);
        }
        let mut table = lock(&self.table);
        match table.get_mut(&actor) {
            None => Routed::Here(body),
            Some(Route::Switching { to, held, cost, .. }) => {
                let letter = body_cost(&body);
                let full = *cost + letter > MAX_HELD && !held.is_empty();
                if !forwarded && (full || to.congested()) {
                    drop(table);
                    crate::conn::fail_body(body, SpeechError::Denied(Reason::Busy));
                    return Routed::Done(Err(SpeechError::Denied(Reason::Busy)));
                }
                *cost += letter;
                held.push(Held::Letter { tag, body });
                Routed::Done(Ok(()))
            }
            Some(Route::Moved { to, alias }) => {
                let (to, alias) = (Arc::clone(to), *alias);
                drop(table);
                Routed::Done(if forwarded {
                    to.forward(alias, tag, body)
                } else {
                    to.send(alias, tag, body)
                })
            }
        }
    }

    /// Routes the receipt of letters forwarded to `actor` the way they went:
    /// held behind them, or to the new place. `Some` when it goes as addressed.
    pub(crate) fn hold(&self, actor: ActorId, receipt: Receipt) -> Option<Receipt> {
        if self.active.load(Ordering::Acquire) == 0 {
            return Some(receipt);
        }
        let mut table = lock(&self.table);
        match table.get_mut(&actor) {
            None => Some(receipt),
            Some(Route::Switching { held, .. }) => {
                held.push(Held::Receipt(receipt));
                None
            }
            Some(Route::Moved { to, alias }) => {
                let (to, alias) = (Arc::clone(to), *alias);
                drop(table);
                to.hold(alias, receipt);
                None
            }
        }
    }

    /// `actor` runs on the theatre behind `to` now, under `alias` there, says
    /// the theatre behind `told_by`, whose forwarder passed a letter on. Letters
    /// are held while a flush goes the way they went so far.
    pub(crate) fn moved(
        self: &Arc<Self>,
        actor: ActorId,
        tag: u64,
        (to, alias): (Arc<dyn Link>, ActorId),
        told_by: Arc<dyn Link>,
    ) {
        let (old, old_id) = {
            let mut table = lock(&self.table);
            let old = match table.get(&actor) {
                Some(Route::Switching { .. }) => {
                    drop(table);
                    acknowledge(&told_by, actor, tag);
                    return;
                }
                Some(Route::Moved {
                    to: now,
                    alias: now_alias,
                }) => {
                    if *now_alias == alias {
                        drop(table);
                        acknowledge(&told_by, actor, tag);
                        return;
                    }
                    (Arc::clone(now), *now_alias)
                }
                None => {
                    self.active.fetch_add(1, Ordering::AcqRel);
                    (told_by, actor)
                }
            };
            table.insert(
                actor,
                Route::Switching {
                    to,
                    alias,
                    held: Vec::new(),
                    cost: 0,
                },
            );
            old
        };
        let routes = Arc::clone(self);
        let answer = Answer::new(move |_| routes.switched(actor));
        // A flush that cannot be sent has been answered (with the error).
        let _ = old.send(old_id, tag, Body::Flush { answer });
    }

    /// The flush came back (or failed: nothing more will arrive the old way):
    /// what was held goes to the new place, in order, then every later letter.
    fn switched(&self, actor: ActorId) {
        loop {
            let (to, alias, held) = {
                let mut table = lock(&self.table);
                let Some(Route::Switching {
                    to,
                    alias,
                    held,
                    cost,
                }) = table.get_mut(&actor)
                else {
                    return;
                };
                if held.is_empty() {
                    let (to, alias) = (Arc::clone(to), *alias);
                    table.insert(actor, Route::Moved { to, alias });
                    return;
                }
                *cost = 0;
                (Arc::clone(to), *alias, std::mem::take(held))
            };
            // Letters sent meanwhile wait behind these (the entry still says
            // switching), and go at the next round.
            for held in held {
                held.send(&to, alias);
            }
        }
    }
}

/// Answers a notice this theatre needs no longer (it has switched, or is
/// switching): a flush through the theatre that told, so that one that is
/// leaving hears that nothing more comes its way from here.
fn acknowledge(told_by: &Arc<dyn Link>, actor: ActorId, tag: u64) {
    let answer = Answer::new(|_| {});
    let _ = told_by.send(actor, tag, Body::Flush { answer });
}

/// What a held letter costs.
fn body_cost(body: &Body) -> u64 {
    frame::letter_cost(match body {
        Body::Message { args, .. } => args.len(),
        Body::Eval { captures, .. } => captures.len(),
        _ => 0,
    })
}
