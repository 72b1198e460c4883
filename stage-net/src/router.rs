//! The router: hands each frame that arrives on a connection to the service that
//! owns its kind. Speech (`Tell`, `Ask`, `Eval`, `Stop`, `Watch`) goes to inbound
//! delivery; names (`Lookup`, `Register`, `Unregister`, `Resolve`) to the
//! directory; `Activate` to activation; replies (`Answer`, `Found`, `Activated`,
//! `Resolved`, `Ended`) to the call that awaits them on the connection.

use std::sync::{Arc, Weak};

use stage_runtime::remote::{Delivery, Receipt};
use stage_runtime::{ActorId, MigrationError, SpeechError};

use crate::activation::Activation;
use crate::balance::Balance;
use crate::conn::{wire_failure, Awaiting, Conn, Sink};
use crate::directory::{Directory, Entry};
use crate::exports::Exports;
use crate::inbound::{Arrivals, Receipts};
use crate::migration::Migration;
use crate::peer::Peer;
use crate::traffic::{Tally, Traffic};
use crate::wire::frame::{self, Frame, TellRef, WireId};

/// The services frames are routed to.
pub(crate) struct Router {
    pub(crate) exports: Arc<Exports>,
    pub(crate) directory: Arc<Directory>,
    pub(crate) activation: Arc<Activation>,
    pub(crate) migration: Arc<Migration>,
    pub(crate) balance: Arc<Balance>,
    /// The letters balanceable actors here exchange with peers.
    pub(crate) traffic: Arc<Traffic>,
}

/// The router as one connection's sink: the connection's peer and what it
/// delivers.
pub(crate) struct Route {
    router: Weak<Router>,
    peer: Arc<Peer>,
    arrivals: Arrivals,
    /// Letters delivered, by actor, while the balancer learns traffic.
    tally: Tally,
    /// The next letter was forwarded ([`Frame::Forwarded`] came before it).
    forwarded: bool,
}

impl Route {
    pub(crate) fn new(router: Weak<Router>, peer: Arc<Peer>) -> Self {
        Route {
            router,
            peer,
            arrivals: Arrivals::default(),
            tally: Tally::default(),
            forwarded: false,
        }
    }

    /// Counts a letter for `to` that came from the peer, if traffic is learnt.
    fn tally(&mut self, router: &Router, to: WireId) {
        if router.traffic.is_on() && self.tally.count(to, 1) {
            self.tally.add_to(&router.traffic, self.peer.theatre);
        }
    }

    fn router(&self) -> Result<Arc<Router>, String> {
        self.router
            .upgrade()
            .ok_or_else(|| "this theatre has shut down".to_owned())
    }
}

impl Sink for Route {
    fn frame(&mut self, conn: &Arc<Conn>, body: &[u8]) -> Result<(), String> {
        let router = self.router()?;
        let cost = frame::letter_cost(body.len());
        // Events, the bulk of the traffic, are read in place.
        if let Some(event) = frame::tell_in(body) {
            let forwarded = std::mem::take(&mut self.forwarded);
            conn.arrived(cost)?;
            self.tally(&router, event.to);
            let receipts = || Arc::new(Arc::downgrade(conn)) as Arc<dyn Receipts>;
            return self
                .arrivals
                .event(&router.exports, receipts, (event, forwarded), cost);
        }
        self.arrivals.flush(&router.exports)?;
        let frame = frame::decode(body).map_err(|error| error.to_string())?;
        if matches!(frame, Frame::Forwarded) {
            self.forwarded = true;
            return Ok(());
        }
        let forwarded = std::mem::take(&mut self.forwarded);
        // A letter is in this theatre's care from now; a question's receipt goes
        // with it (an event's goes with its run).
        let receipt = match frame {
            Frame::Ask { to, .. } | Frame::Eval { to, .. } => {
                conn.arrived(cost)?;
                self.tally(&router, to);
                conn.receipt(cost, forwarded)
            }
            Frame::Tell { to, .. } => {
                conn.arrived(cost)?;
                self.tally(&router, to);
                Receipt::default()
            }
            _ => Receipt::default(),
        };
        route(
            frame,
            conn,
            &self.peer,
            &router,
            &mut self.arrivals,
            (cost, receipt, forwarded),
        )
    }

    fn flush(&mut self) -> Result<(), String> {
        let tallied = !self.tally.is_empty();
        if !self.arrivals.holds_events() && !tallied {
            return Ok(());
        }
        let router = self.router()?;
        if tallied {
            self.tally.add_to(&router.traffic, self.peer.theatre);
        }
        self.arrivals.flush(&router.exports)
    }
}

/// Acts on one frame; a letter comes with its cost and its receipt (see
/// [`Conn::receipt`]). An error closes the connection.
fn route(
    frame: Frame,
    conn: &Arc<Conn>,
    peer: &Arc<Peer>,
    router: &Arc<Router>,
    arrivals: &mut Arrivals,
    (cost, receipt, forwarded): (u64, Receipt, bool),
) -> Result<(), String> {
    let exports = &router.exports;
    let push = |frame: Frame| conn.push(frame).map_err(|e| e.to_string());
    match frame {
        Frame::Tell {
            to,
            tag,
            variant,
            args,
        } => {
            let event = TellRef {
                to,
                tag,
                variant,
                args: &args,
            };
            let receipts = || Arc::new(Arc::downgrade(conn)) as Arc<dyn Receipts>;
            arrivals.event(exports, receipts, (event, forwarded), cost)?;
            arrivals.flush(exports)?;
        }
        Frame::Ask {
            to,
            tag,
            variant,
            args,
            call,
        } => arrivals.question(
            exports,
            conn,
            (to, tag, call),
            ("a question", receipt),
            |respond| Delivery::Message {
                variant,
                args: &args,
                respond: Some(respond),
            },
        )?,
        Frame::Eval {
            to,
            tag,
            site,
            check,
            captures,
            call,
        } => arrivals.question(
            exports,
            conn,
            (to, tag, call),
            ("an expression", receipt),
            |respond| Delivery::Eval {
                site,
                check,
                captures: &captures,
                respond,
            },
        )?,
        Frame::Stop { to, tag, call } => {
            arrivals.question(
                exports,
                conn,
                (to, tag, call),
                ("a stop", receipt),
                |respond| Delivery::Stop { respond },
            )?;
        }
        Frame::Watch { to, tag, call } => arrivals.watch(exports, conn, (to, tag, call))?,
        Frame::Answer { call, result } => match conn.take_awaiting(call) {
            Some(Awaiting::Answer(answer)) => {
                answer.answer(
                    result
                        .as_ref()
                        .map(|bytes| &bytes[..])
                        .map_err(|e| SpeechError::from(e.clone())),
                );
            }
            other => return Err(mismatch(other, "an answer", call)),
        },
        Frame::Lookup { name, call } => {
            let actor = router
                .directory
                .bound_here(&name)
                .or_else(|| router.activation.running(&name))
                .map(|inbound| {
                    let (tag, type_name) = (inbound.type_tag(), inbound.type_name());
                    (inbound.id().to_wire(), tag, type_name.to_owned())
                });
            push(Frame::Found { call, actor })?;
        }
        Frame::Found { call, actor } => match conn.take_awaiting(call) {
            Some(Awaiting::Lookup(then)) => then(actor),
            other => return Err(mismatch(other, "a lookup result", call)),
        },
        Frame::Activate { name, tag, call } => {
            // Finding or starting the actor may ask the other peers, whose answers
            // this reader thread may have to deliver: off it.
            let activation = Arc::clone(&router.activation);
            let answer_on = Arc::clone(conn);
            let spawned = std::thread::Builder::new()
                .name("stage-net-activate".into())
                .spawn(move || {
                    let result = activation
                        .locate_or_start(&name, tag)
                        .map(|located| activation.whereabouts(&located))
                        .map_err(|error| error.to_string());
                    let _ = answer_on.push(Frame::Activated { call, result });
                });
            if let Err(error) = spawned {
                let result = Err(format!("no thread to start the actor: {error}"));
                push(Frame::Activated { call, result })?;
            }
        }
        Frame::Activated { call, result } => match conn.take_awaiting(call) {
            Some(Awaiting::Activate(then)) => {
                then(result.map_err(wire_failure));
            }
            other => return Err(mismatch(other, "an activation result", call)),
        },
        Frame::Register {
            name,
            actor,
            tag,
            type_name,
        } => {
            let actor = ActorId::from_wire(actor)
                .ok_or_else(|| format!("a registration of `{name}` names no actor"))?;
            let entry = Entry {
                theatre: peer.theatre,
                locator: peer.locator.clone(),
                actor,
                tag,
                type_name,
            };
            router.directory.file(name, entry);
        }
        Frame::Unregister { name, call } => {
            router.directory.unfile(&name, peer.theatre);
            push(Frame::Resolved { call, entry: None })?;
        }
        Frame::Resolve { name, call } => {
            let entry = router.directory.filed(&name).map(Entry::into_wire);
            push(Frame::Resolved { call, entry })?;
        }
        Frame::Resolved { call, entry } => match conn.take_awaiting(call) {
            Some(Awaiting::Resolve(then)) => then(entry),
            other => return Err(mismatch(other, "a directory entry", call)),
        },
        Frame::Ended { call, reason } => match conn.take_awaiting(call) {
            Some(Awaiting::Watch(then)) => then(frame::down_reason(reason)),
            other => return Err(mismatch(other, "an end notice", call)),
        },
        Frame::Migrate { actors, call } => {
            let result = router.migration.settle(peer, actors);
            push(Frame::Migrated { call, result })?;
        }
        Frame::Migrated { call, result } => match conn.take_awaiting(call) {
            Some(Awaiting::Migrate(then)) => {
                then(result.map_err(|why| MigrationError::Refused(why.into())));
            }
            other => return Err(mismatch(other, "a migration's answer", call)),
        },
        Frame::Flush { to, tag, call } => {
            arrivals.question(
                exports,
                conn,
                (to, tag, call),
                ("a flush", receipt),
                |respond| Delivery::Flush { respond },
            )?;
            router
                .migration
                .flush_seen(peer.theatre, ActorId::known(to));
        }
        Frame::Moved {
            actor,
            tag,
            theatre,
            locator,
            alias,
        } => router
            .migration
            .moved(peer, actor, tag, (theatre, &locator), alias),
        Frame::Fence { to, tag, token } => {
            let token =
                ActorId::from_wire(token).ok_or_else(|| "a fence with no token".to_owned())?;
            if !router.migration.fenced(token) {
                // Not a return to this theatre: pass it on after what went before.
                let _delivering = exports.delivering();
                if let Some(inbound) = arrivals.exported(exports, to, tag, "a fence")? {
                    let _ = inbound.deliver(Delivery::Fence { token }, Receipt::default());
                }
            }
        }
        Frame::Load(gauge) => router.balance.heard(peer.theatre, &peer.locator, &gauge),
        // Every letter before it has been handed on (the run of events was
        // flushed before this frame was decoded).
        Frame::Barrier { call } => push(Frame::Passed { call })?,
        Frame::Passed { call } => match conn.take_awaiting(call) {
            Some(Awaiting::Barrier(then)) => then(true),
            other => return Err(mismatch(other, "a barrier's answer", call)),
        },
        // Taken by the reader before a letter (see `Route::frame`).
        Frame::Ping | Frame::Forwarded => {}
        Frame::Credit { bytes } => conn.credit(bytes)?,
        Frame::Bye => {
            peer.leave();
            return Err("the peer left the cluster".into());
        }
        Frame::Hello { .. }
        | Frame::Challenge { .. }
        | Frame::Response { .. }
        | Frame::Welcome { .. }
        | Frame::Refused { .. } => return Err("a handshake frame after the handshake".into()),
        Frame::Report { .. } | Frame::Reported { .. } => {
            return Err("an observer's frame from a member".into())
        }
    }
    Ok(())
}

/// The reason to close a connection whose peer replied with `what` to a call that
/// awaits another kind of reply, or to none. A call taken by mistake is failed, so
/// that its caller hears `Unreachable` like the others when the connection closes.
fn mismatch(taken: Option<Awaiting>, what: &str, call: u64) -> String {
    match taken {
        Some(awaiting) => {
            awaiting.fail();
            format!("{what} for call {call}, which awaits another kind of reply")
        }
        None => format!("{what} for call {call}, which was not made"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    #[test]
    fn a_reply_of_the_wrong_kind_fails_the_call_it_took_and_closes() {
        let (tx, rx) = mpsc::channel();
        let awaiting = Awaiting::Lookup(Box::new(move |found| {
            let _ = tx.send(found);
        }));
        let reason = mismatch(Some(awaiting), "an answer", 4);
        assert!(reason.contains("call 4"), "{reason}");
        assert_eq!(rx.recv().unwrap(), None, "the lookup hears 'not found'");
        let reason = mismatch(None, "an answer", 5);
        assert!(reason.contains("was not made"), "{reason}");
    }
}
