//! Delivering what arrives from a peer to this theatre's exported actors: events
//! that come in a row for one actor are queued for it together (one push of the
//! whole run), questions carry a responder that sends the answer back over the
//! connection they came on.

use std::sync::Arc;

use stage_runtime::remote::{Delivery, Inbound, Receipt, Respond};
use stage_runtime::{ActorId, DownReason, Failure, SpeechError};

use crate::conn::Conn;
use crate::exports::Exports;
use crate::wire::frame::{self, Frame, TellRef, WireError, WireId};

/// The most events read in a row that are queued together.
const MAX_RUN: usize = 256;

/// What one connection delivers: the actor its last letter went to, and the run
/// of events not yet delivered.
#[derive(Default)]
pub(crate) struct Arrivals {
    recent: Recent,
    run: EventRun,
    /// Where the run's receipt comes from: the connection the events came on.
    receipts: Option<Arc<dyn Receipts>>,
    /// Whether the run's events were forwarded by the peer: a run is of one
    /// kind (see [`Receipt::forwarded`]).
    forwarded: bool,
    /// Actors that have moved whose new place this connection's peer has been
    /// told of (see `routes.rs`): told once each.
    told: Vec<ActorId>,
}

/// The most moved actors remembered as told, per connection (then it forgets,
/// and tells again: a notice more is harmless).
const MAX_TOLD: usize = 256;

/// Where the receipt of letters delivered comes from (see [`Conn::receipt`]).
pub(crate) trait Receipts: Send + Sync {
    /// The receipt for letters costing `cost` in all, which the peer
    /// `forwarded` or sent directly (see [`Receipt::forwarded`]).
    fn receipt(&self, cost: u64, forwarded: bool) -> Receipt;
    /// Sends `frame` back to the peer.
    fn tell(&self, frame: Frame);
}

impl Receipts for std::sync::Weak<Conn> {
    fn receipt(&self, cost: u64, forwarded: bool) -> Receipt {
        self.upgrade()
            .map_or_else(Receipt::default, |conn| conn.receipt(cost, forwarded))
    }

    fn tell(&self, frame: Frame) {
        if let Some(conn) = self.upgrade() {
            let _ = conn.push(frame);
        }
    }
}

impl Arrivals {
    /// Takes an event that costs `cost` against the window of the connection it
    /// came on, which `receipts` gives receipts for, and that the peer
    /// `forwarded` or not. It joins the run if it is for the same actor and of
    /// the same kind; otherwise the run goes first. An error closes the
    /// connection.
    pub(crate) fn event(
        &mut self,
        exports: &Exports,
        receipts: impl FnOnce() -> Arc<dyn Receipts>,
        (event, forwarded): (TellRef<'_>, bool),
        cost: u64,
    ) -> Result<(), String> {
        let mut delivered = Ok(());
        if !self.run.takes(&event) || (self.forwarded != forwarded && !self.run.is_empty()) {
            delivered = self.flush(exports);
        }
        self.forwarded = forwarded;
        if self.receipts.is_none() {
            self.receipts = Some(receipts());
        }
        self.run.add(event, cost);
        if self.run.events.len() >= MAX_RUN {
            delivered = delivered.and(self.flush(exports));
        }
        delivered
    }

    /// Whether events are held back, waiting for [`Arrivals::flush`].
    pub(crate) fn holds_events(&self) -> bool {
        !self.run.is_empty()
    }

    /// Queues the run of events for its actor. An error closes the connection.
    pub(crate) fn flush(&mut self, exports: &Exports) -> Result<(), String> {
        let receipt = match &self.receipts {
            Some(receipts) if !self.run.is_empty() => {
                receipts.receipt(self.run.cost, self.forwarded)
            }
            _ => Receipt::default(),
        };
        let tag = self.run.tag;
        let delivered = self.run.deliver(exports, &mut self.recent, receipt)?;
        if let (Some(inbound), Some(receipts)) = (delivered, &self.receipts) {
            let receipts = Arc::clone(receipts);
            self.notice(&*inbound, tag, |frame| receipts.tell(frame));
        }
        Ok(())
    }

    /// Tells the peer where `inbound`'s actor went, if it has moved and the peer
    /// has not been told yet.
    fn notice(&mut self, inbound: &dyn Inbound, tag: u64, tell: impl FnOnce(Frame)) {
        let Some((theatre, locator, alias)) = inbound.moved_to() else {
            return;
        };
        let actor = inbound.id();
        if self.told.contains(&actor) {
            return;
        }
        if self.told.len() >= MAX_TOLD {
            self.told.clear();
        }
        self.told.push(actor);
        tell(Frame::Moved {
            actor: actor.to_wire(),
            tag,
            theatre,
            locator,
            alias: alias.to_wire(),
        });
    }

    /// Delivers a question (`Ask`, `Eval`, `Stop`) for the actor numbered `to`,
    /// answered over `conn` under `call`, with its `receipt` (see
    /// [`Conn::receipt`]); `what` names the frame's kind. An error closes the
    /// connection.
    pub(crate) fn question<'a>(
        &mut self,
        exports: &Exports,
        conn: &Arc<Conn>,
        (to, tag, call): (WireId, u64, u64),
        (what, receipt): (&str, Receipt),
        delivery: impl FnOnce(Respond) -> Delivery<'a>,
    ) -> Result<(), String> {
        let _delivering = exports.delivering();
        match self.recent.addressed(exports, to, tag, what)? {
            None => respond_now(conn, call, &SpeechError::Failed(Failure::Dead)),
            // A refusal (a decode error, a site this program does not have) has
            // answered the responder already: it is the asker's error, not the
            // connection's.
            Some(inbound) => {
                let _ = inbound.deliver(delivery(responder(conn, call)), receipt);
                self.notice(&*inbound, tag, |frame| {
                    let _ = conn.push(frame);
                });
            }
        }
        Ok(())
    }

    /// The exported actor `to`, checked against the tag a frame of kind `what`
    /// names (see [`Recent::addressed`]).
    ///
    /// # Errors
    ///
    /// The reason to close the connection when the tags differ.
    pub(crate) fn exported(
        &mut self,
        exports: &Exports,
        to: WireId,
        tag: u64,
        what: &str,
    ) -> Result<Option<Arc<dyn Inbound>>, String> {
        self.recent.addressed(exports, to, tag, what)
    }

    /// Registers a watch on the actor numbered `to`: `Ended` goes back over `conn`
    /// under `call` when it ends (at once if it is not exported here).
    pub(crate) fn watch(
        &mut self,
        exports: &Exports,
        conn: &Arc<Conn>,
        (to, tag, call): (WireId, u64, u64),
    ) -> Result<(), String> {
        match self.recent.addressed(exports, to, tag, "a watch")? {
            None => {
                let reason = frame::down_code(DownReason::Stopped);
                conn.push(Frame::Ended { call, reason })
                    .map_err(|e| e.to_string())?;
            }
            Some(inbound) => {
                let conn = Arc::downgrade(conn);
                inbound.on_end(Box::new(move |reason| {
                    if let Some(conn) = conn.upgrade() {
                        let reason = frame::down_code(reason);
                        let _ = conn.push(Frame::Ended { call, reason });
                    }
                }));
            }
        }
        Ok(())
    }
}

/// The actor the last letter on a connection went to: the next one usually goes
/// to it too, and skips the table of exported actors.
#[derive(Default)]
struct Recent(Option<(WireId, Arc<dyn Inbound>, u64)>);

impl Recent {
    /// The exported actor `to`. One that has ended since is still found here,
    /// and refuses the letter as `Dead`, as the table would have.
    fn exported(&mut self, exports: &Exports, to: WireId) -> Option<Arc<dyn Inbound>> {
        // An actor that arrived since may have taken the place of the one kept.
        let arrivals = exports.arrivals();
        match &self.0 {
            Some((actor, inbound, seen)) if *actor == to && *seen == arrivals => {
                Some(Arc::clone(inbound))
            }
            _ => {
                // Only an actor this process has met can be exported here: an
                // identity from an origin never met is not taken into the table.
                let inbound = exports.get(ActorId::known(to)?)?;
                self.0 = Some((to, Arc::clone(&inbound), arrivals));
                Some(inbound)
            }
        }
    }

    /// The exported actor a frame of kind `what` addresses, checked against the
    /// type tag the frame names.
    ///
    /// # Errors
    ///
    /// The reason to close the connection when the tags differ: the peer runs
    /// other code, or is confused.
    fn addressed(
        &mut self,
        exports: &Exports,
        to: WireId,
        tag: u64,
        what: &str,
    ) -> Result<Option<Arc<dyn Inbound>>, String> {
        match self.exported(exports, to) {
            Some(inbound) if inbound.type_tag() != tag => {
                Err(format!("{what} for actor {to:?} names another type"))
            }
            found => Ok(found),
        }
    }
}

/// Events read in a row for one actor, not yet delivered: their handlers, and
/// their arguments one after the other.
#[derive(Default)]
struct EventRun {
    to: WireId,
    tag: u64,
    events: Vec<(u16, std::ops::Range<usize>)>,
    args: Vec<u8>,
    /// What the events cost against the connection's window, together.
    cost: u64,
}

impl EventRun {
    fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Whether `event` can join the run: it is empty, or for the same actor.
    fn takes(&self, event: &TellRef<'_>) -> bool {
        self.is_empty() || (self.to, self.tag) == (event.to, event.tag)
    }

    fn add(&mut self, event: TellRef<'_>, cost: u64) {
        self.cost += cost;
        self.to = event.to;
        self.tag = event.tag;
        let start = self.args.len();
        self.args.extend_from_slice(event.args);
        self.events.push((event.variant, start..self.args.len()));
    }

    /// Queues the run for its actor, with `receipt` after it, and empties it; a
    /// refusal is logged (an event has no one to answer). An error closes the
    /// connection.
    fn deliver(
        &mut self,
        exports: &Exports,
        recent: &mut Recent,
        receipt: Receipt,
    ) -> Result<Option<Arc<dyn Inbound>>, String> {
        if self.is_empty() {
            return Ok(None);
        }
        let _delivering = exports.delivering();
        let found = recent.addressed(exports, self.to, self.tag, "an event");
        let (events, args) = (&self.events, &self.args);
        let delivered = match found {
            Err(reason) => Err(reason),
            Ok(None) => {
                log::debug!(
                    "stage-net: events for actor {:?}, which is not exported here",
                    self.to
                );
                Ok(None)
            }
            Ok(Some(inbound)) => {
                let refused = match events.as_slice() {
                    // One event alone, the common case when traffic is light: no batch.
                    [(variant, range)] => inbound.deliver(
                        Delivery::Message {
                            variant: *variant,
                            args: &args[range.clone()],
                            respond: None,
                        },
                        receipt,
                    ),
                    events => inbound.deliver_events(
                        &mut events
                            .iter()
                            .map(|(variant, range)| (*variant, &args[range.clone()])),
                        receipt,
                    ),
                };
                if let Err(error) = refused {
                    log::debug!(
                        "stage-net: an event for actor {:?} was refused: {error}",
                        self.to
                    );
                }
                Ok(Some(inbound))
            }
        };
        self.events.clear();
        self.args.clear();
        self.cost = 0;
        delivered
    }
}

/// Sends the answer to `call` back over `conn` when the actor gives it.
fn responder(conn: &Arc<Conn>, call: u64) -> Respond {
    let conn = Arc::downgrade(conn);
    Respond::new(move |result| {
        if let Some(conn) = conn.upgrade() {
            let result = result
                .map(serde_bytes::ByteBuf::from)
                .map_err(|e| WireError::from(&e));
            // A closed connection has failed the caller's side already.
            let _ = conn.push(Frame::Answer { call, result });
        }
    })
}

fn respond_now(conn: &Conn, call: u64, error: &SpeechError) {
    let _ = conn.push(Frame::Answer {
        call,
        result: Err(WireError::from(error)),
    });
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;

    use stage_runtime::remote::Inbound;
    use stage_runtime::DownReason;

    use super::*;

    /// Events as an actor was given them: each delivery, its (handler, arguments).
    type Deliveries = Vec<Vec<(u16, Vec<u8>)>>;

    /// An exported actor that records what it is given: single events, and runs.
    struct Recorder {
        id: ActorId,
        tag: u64,
        got: Mutex<Deliveries>,
    }

    impl Inbound for Recorder {
        fn id(&self) -> ActorId {
            self.id
        }
        fn type_tag(&self) -> u64 {
            self.tag
        }
        fn type_name(&self) -> &'static str {
            "Recorder"
        }
        fn deliver(&self, delivery: Delivery<'_>, _receipt: Receipt) -> Result<(), SpeechError> {
            if let Delivery::Message { variant, args, .. } = delivery {
                self.got
                    .lock()
                    .unwrap()
                    .push(vec![(variant, args.to_vec())]);
            }
            Ok(())
        }
        fn deliver_events(
            &self,
            events: &mut dyn Iterator<Item = (u16, &[u8])>,
            _receipt: Receipt,
        ) -> Result<(), SpeechError> {
            let run = events.map(|(v, a)| (v, a.to_vec())).collect();
            self.got.lock().unwrap().push(run);
            Ok(())
        }
        fn on_end(&self, _then: Box<dyn FnOnce(DownReason) + Send>) {}
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }

    fn exported(serial: u64, tag: u64) -> (Arc<Exports>, Arc<Recorder>) {
        let exports = Arc::new(Exports::default());
        let recorder = Arc::new(Recorder {
            id: ActorId::from_wire((1, serial)).unwrap(),
            tag,
            got: Mutex::new(Vec::new()),
        });
        exports.export(Arc::clone(&recorder) as Arc<dyn Inbound>);
        (exports, recorder)
    }

    /// Receipts that add what they cost to `back` when dropped.
    #[derive(Default)]
    struct Counted {
        issued: AtomicU64,
        back: Arc<AtomicU64>,
    }

    impl Receipts for Counted {
        fn receipt(&self, cost: u64, _forwarded: bool) -> Receipt {
            self.issued.fetch_add(cost, Ordering::SeqCst);
            let back = Arc::clone(&self.back);
            Receipt::new(move || {
                back.fetch_add(cost, Ordering::SeqCst);
            })
        }

        fn tell(&self, _frame: Frame) {}
    }

    fn receipts() -> Arc<dyn Receipts> {
        Arc::new(Counted::default())
    }

    fn event(to: u64, tag: u64, variant: u16, args: &[u8]) -> TellRef<'_> {
        TellRef {
            to: (1, to),
            tag,
            variant,
            args,
        }
    }

    #[test]
    fn events_in_a_row_for_one_actor_go_as_one_run_in_order() {
        let (exports, recorder) = exported(7, 3);
        let mut arrivals = Arrivals::default();
        for i in 0..5u8 {
            arrivals
                .event(&exports, receipts, (event(7, 3, 1, &[i]), false), 65)
                .unwrap();
        }
        assert!(
            recorder.got.lock().unwrap().is_empty(),
            "held until a flush"
        );
        arrivals.flush(&exports).unwrap();
        let got = recorder.got.lock().unwrap().clone();
        let expected: Vec<(u16, Vec<u8>)> = (0..5u8).map(|i| (1, vec![i])).collect();
        assert_eq!(got, vec![expected]);
    }

    #[test]
    fn an_event_for_another_actor_sends_the_run_before_it() {
        let (exports, first) = exported(7, 3);
        let other = Arc::new(Recorder {
            id: ActorId::from_wire((1, 8)).unwrap(),
            tag: 3,
            got: Mutex::new(Vec::new()),
        });
        exports.export(Arc::clone(&other) as Arc<dyn Inbound>);
        let mut arrivals = Arrivals::default();
        arrivals
            .event(&exports, receipts, (event(7, 3, 1, b"a"), false), 65)
            .unwrap();
        arrivals
            .event(&exports, receipts, (event(8, 3, 2, b"b"), false), 65)
            .unwrap();
        assert_eq!(*first.got.lock().unwrap(), vec![vec![(1, b"a".to_vec())]]);
        assert!(other.got.lock().unwrap().is_empty());
        arrivals.flush(&exports).unwrap();
        assert_eq!(*other.got.lock().unwrap(), vec![vec![(2, b"b".to_vec())]]);
    }

    #[test]
    fn events_for_an_actor_not_exported_are_dropped_and_the_connection_stays() {
        let (exports, recorder) = exported(7, 3);
        let mut arrivals = Arrivals::default();
        arrivals
            .event(&exports, receipts, (event(99, 3, 1, b"x"), false), 65)
            .unwrap();
        assert_eq!(arrivals.flush(&exports), Ok(()));
        assert!(recorder.got.lock().unwrap().is_empty());
    }

    #[test]
    fn every_run_carries_a_receipt_for_what_it_cost_which_comes_back_even_when_no_one_takes_it() {
        let (exports, _recorder) = exported(7, 3);
        let counted = Arc::new(Counted::default());
        let mut arrivals = Arrivals::default();
        for (to, cost) in [(7, 65), (7, 70), (99, 80), (7, 90)] {
            let counted = Arc::clone(&counted);
            arrivals
                .event(&exports, || counted, (event(to, 3, 1, b"x"), false), cost)
                .unwrap();
        }
        arrivals.flush(&exports).unwrap();
        // Three runs (7, then 99 which is not exported, then 7), each with one
        // receipt for its cost; the recorder drops its receipts at once.
        assert_eq!(counted.issued.load(Ordering::SeqCst), 65 + 70 + 80 + 90);
        assert_eq!(counted.back.load(Ordering::SeqCst), 65 + 70 + 80 + 90);
    }

    #[test]
    fn an_event_naming_another_type_closes_the_connection() {
        let (exports, recorder) = exported(7, 3);
        let mut arrivals = Arrivals::default();
        arrivals
            .event(&exports, receipts, (event(7, 4, 1, b"x"), false), 65)
            .unwrap();
        let error = arrivals.flush(&exports).unwrap_err();
        assert!(error.contains("another type"), "{error}");
        assert!(recorder.got.lock().unwrap().is_empty());
    }
}
