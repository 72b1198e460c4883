//! One connection to a peer theatre: a writer thread that coalesces frames, a
//! reader thread that hands each frame to a [`Sink`], the table of calls awaiting
//! an answer, and the failure detector (a connection silent for longer than
//! `down_after` is closed, and every call pending on it fails with
//! `Failed(Unreachable)`).
//!
//! The connection knows nothing of what frames mean: the sink (the router) does.
//! How it ended is told to its [`Ends`] (membership).

use std::collections::{HashMap, VecDeque};
use std::io::{BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use stage_runtime::remote::{self, Answer, Body, Fabric, Receipt};
use stage_runtime::{DownReason, Failure, MigrationError, Reason, SpeechError, Stage};

use crate::sync::lock;
use crate::tls::Transport;
use crate::wire::frame::{self, Bound, Filing, Frame, FrameError, Whereabouts, WireId};

/// Flush the writer's buffer once it holds this much, even with more frames queued.
const WRITE_BATCH: usize = 64 << 10;

/// The error of a letter whose peer cannot be reached.
pub(crate) fn unreachable() -> SpeechError {
    SpeechError::Failed(Failure::Unreachable)
}

/// The error of a letter that cannot go, or be answered, over the wire: `why`.
pub(crate) fn wire_failure(why: impl std::fmt::Display) -> SpeechError {
    SpeechError::Failed(Failure::Wire(why.to_string().into()))
}

/// A call awaiting its reply on a connection.
pub(crate) enum Awaiting {
    /// A query, request or stop: the caller's reply.
    Answer(Answer),
    /// A name lookup: what to do with the result (`None`: not bound there, or
    /// the peer could not be asked).
    Lookup(Box<dyn FnOnce(Option<Bound>) + Send>),
    /// An activation on demand: what to do with where the actor runs (or why it
    /// does not).
    Activate(Box<dyn FnOnce(Result<Whereabouts, SpeechError>) + Send>),
    /// A watch on a remote actor: what to do when it ends.
    Watch(Box<dyn FnOnce(DownReason) + Send>),
    /// A question to a name's home: what to do with its directory entry.
    Resolve(Box<dyn FnOnce(Option<Filing>) + Send>),
    /// A move: what to do once the peer runs the actors (or why it does not).
    Migrate(Box<dyn FnOnce(Result<Vec<WireId>, MigrationError>) + Send>),
    /// A barrier: what to do once the peer has handed on everything sent
    /// before it (`true`), or the connection closed (`false`).
    Barrier(Box<dyn FnOnce(bool) + Send>),
}

impl Awaiting {
    /// Answers the call as a connection that closed does.
    pub(crate) fn fail(self) {
        self.fail_with(unreachable());
    }

    /// Answers the call with `error` where it can say why (a question, an
    /// activation), and as "not there" or "unreachable" where it cannot.
    pub(crate) fn fail_with(self, error: SpeechError) {
        match self {
            Awaiting::Answer(answer) => answer.fail(error),
            Awaiting::Lookup(then) => then(None),
            Awaiting::Activate(then) => then(Err(error)),
            Awaiting::Watch(then) => then(DownReason::Unreachable),
            Awaiting::Resolve(then) => then(None),
            Awaiting::Migrate(then) => {
                then(Err(MigrationError::Unreachable(error.to_string().into())))
            }
            Awaiting::Barrier(then) => then(false),
        }
    }
}

/// Where a connection's reader hands what it reads: one per connection, on the
/// reader's thread.
pub(crate) trait Sink: Send {
    /// A frame's body arrived whole (at most the frame limit).
    ///
    /// # Errors
    ///
    /// The reason to close the connection: the peer broke the protocol.
    fn frame(&mut self, conn: &Arc<Conn>, body: &[u8]) -> Result<(), String>;

    /// The reader is about to read with no whole frame buffered, and may wait:
    /// whatever the sink holds back goes on now.
    ///
    /// # Errors
    ///
    /// As for [`Sink::frame`].
    fn flush(&mut self) -> Result<(), String>;
}

/// Who hears how a connection ended (membership).
pub(crate) trait Ends: Send + Sync {
    /// The connection broke (the network, or the peer went silent), rather than
    /// being closed by either theatre: it is worth dialling again.
    fn broke(&self);
    /// The connection's reader has stopped: nothing more arrives on it.
    fn ended(&self);
}

/// Frames encoded by their senders, waiting for the writer thread, which takes
/// them all at once. A sender wakes the writer only when it is waiting, so under
/// load frames are appended with no system call.
struct Outbox {
    state: Mutex<Queued>,
    ready: Condvar,
}

struct Queued {
    /// Encoded frames, each with its length prefix, in the order they were sent.
    bytes: Vec<u8>,
    /// The writer is waiting for frames (and needs waking).
    writer_waiting: bool,
    /// The connection has closed: nothing more is taken.
    closed: bool,
    /// The theatre is leaving: once what is queued (a `Bye` last) is written, the
    /// writer closes the connection.
    leaving: bool,
    /// How many bytes of letters (by `letter_cost`) the peer will still take
    /// before it grants more: its window, less what was sent and not yet
    /// credited back (below zero after a letter larger than the window).
    credit: i64,
    /// Forwarded letters the peer's window has no room for yet, in order, with
    /// the receipts of the letters they came in as: they go as credit comes
    /// back, and every other frame for an actor waits behind them.
    backlog: VecDeque<Behind>,
}

/// What waits in [`Queued::backlog`].
enum Behind {
    /// An encoded frame (with its length prefix), and what it costs against
    /// the peer's window (nothing for a frame that is not a letter).
    Frame { bytes: Vec<u8>, cost: i64 },
    /// Let go once every frame before it has gone: then the sender of the
    /// letters it came with may send as much again.
    Receipt(Receipt),
}

impl Queued {
    /// Whether a letter of `cost` fits the peer's window now: it has room, or
    /// nothing sent is outstanding (a letter larger than the whole window goes
    /// alone).
    fn room_for(&self, cost: i64, peer_window: i64) -> bool {
        cost <= self.credit || self.credit == peer_window
    }

    /// Moves what the window has room for from the backlog to the writer's
    /// queue, in order. Returns the receipts now due, to be dropped once the
    /// queue is unlocked (one may grant credit on this very connection), and
    /// whether any frame was queued.
    fn release(&mut self, peer_window: i64) -> (Vec<Receipt>, bool) {
        let mut due = Vec::new();
        let mut queued_any = false;
        while let Some(front) = self.backlog.front() {
            match front {
                Behind::Frame { cost, .. } if !self.room_for(*cost, peer_window) => break,
                _ => {}
            }
            match self.backlog.pop_front() {
                Some(Behind::Frame { bytes, cost }) => {
                    self.credit -= cost;
                    self.bytes.extend_from_slice(&bytes);
                    queued_any = true;
                }
                Some(Behind::Receipt(receipt)) => due.push(receipt),
                None => break,
            }
        }
        (due, queued_any)
    }
}

/// A live connection.
pub(crate) struct Conn {
    out: Outbox,
    awaiting: Mutex<HashMap<u64, Awaiting>>,
    next_call: AtomicU64,
    alive: AtomicBool,
    stream: TcpStream,
    /// The peer's locator, for the log.
    peer: String,
    /// Whether this theatre opened the connection (for the tie-break between two
    /// connections opened at once).
    pub(crate) initiated: bool,
    /// The largest frame body the peer takes: a longer frame is refused here, so
    /// that it fails alone rather than closing the connection at the peer.
    limit: u32,
    /// The peer's window: what `credit` starts at.
    peer_window: i64,
    /// This theatre's window for letters from the peer.
    window: u64,
    /// Letters from the peer (by `letter_cost`) delivered and not yet taken by
    /// their actors.
    in_care: AtomicU64,
    /// Of those taken, how much is not yet credited back to the peer.
    taken: AtomicU64,
    /// Bytes written to the peer and read from it (for reports).
    bytes_out: AtomicU64,
    bytes_in: AtomicU64,
    /// When the connection was made.
    opened: std::time::Instant,
}

/// Whether a frame counts against the peer's window: the letters (`Tell`, `Ask`,
/// `Eval`) do; what keeps the connection and the cluster working (answers,
/// pings, lookups, stops, watches, credit) does not.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Counted {
    Letter,
    Control,
    /// A letter this theatre had accepted for an actor that has moved to the
    /// peer: it spends the window and is never refused for lack of room; it
    /// waits in the backlog until there is room (holding back its sender
    /// through the receipt that follows it: see [`Conn::hold`]).
    Forwarded,
    /// A frame for an actor that is not a letter (a flush, a fence, a stop):
    /// it costs nothing, and keeps its place behind forwarded letters waiting
    /// in the backlog.
    Behind,
}

/// A connection's counts, for a report.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnCounts {
    pub(crate) bytes_out: u64,
    pub(crate) bytes_in: u64,
    /// Frames forwarded to the peer waiting for room in its window.
    pub(crate) backlog: usize,
    /// Bytes of letters from the peer not yet taken by their actors.
    pub(crate) in_care: u64,
    pub(crate) open_for: Duration,
}

impl Conn {
    /// Its counts now.
    pub(crate) fn counts(&self) -> ConnCounts {
        ConnCounts {
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            backlog: lock(&self.out.state).backlog.len(),
            in_care: self.in_care.load(Ordering::Relaxed),
            open_for: self.opened.elapsed(),
        }
    }

    pub(crate) fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }

    /// The largest frame body the peer takes.
    pub(crate) fn frame_limit(&self) -> u32 {
        self.limit
    }

    /// Encodes a frame onto the writer's queue, on the sender's thread. For
    /// frames that are not letters (a letter that expects an answer goes by
    /// [`Conn::ask_as`]).
    pub(crate) fn push(&self, frame: Frame) -> Result<(), SpeechError> {
        self.queue(Counted::Control, |bytes| {
            frame::encode(&frame, bytes).map_err(wire_failure)
        })
    }

    /// Encodes a frame for an actor that is not a letter (a fence) onto the
    /// writer's queue, behind any forwarded letter still waiting for room.
    pub(crate) fn push_behind(&self, frame: Frame) -> Result<(), SpeechError> {
        self.queue(Counted::Behind, |bytes| {
            frame::encode(&frame, bytes).map_err(wire_failure)
        })
    }

    /// Encodes a `Tell` frame onto the writer's queue, with its arguments as they
    /// are (the hot path of `notify!`: no frame is built).
    /// A forwarded one ([`Counted::Forwarded`]) is never refused for lack of
    /// room.
    pub(crate) fn push_tell(
        &self,
        forwarded: bool,
        to: WireId,
        tag: u64,
        (variant, args): (u16, &[u8]),
    ) -> Result<(), SpeechError> {
        let counted = if forwarded {
            Counted::Forwarded
        } else {
            Counted::Letter
        };
        self.queue(counted, |bytes| {
            frame::encode_tell(to, tag, variant, args, bytes);
            Ok(())
        })
    }

    /// Sends a letter that expects an answer (`Ask`, `Eval`), as [`Conn::call`]
    /// does, counted against the peer's window; a forwarded one
    /// ([`Counted::Forwarded`]) is never refused for lack of room.
    pub(crate) fn ask_as(
        &self,
        forwarded: bool,
        awaiting: Awaiting,
        frame: impl FnOnce(u64) -> Frame,
    ) -> Result<(), SpeechError> {
        let counted = if forwarded {
            Counted::Forwarded
        } else {
            Counted::Letter
        };
        self.call_counted(counted, awaiting, frame)
    }

    /// Runs `encode` on the writer's queue, and wakes the writer if it waits. A
    /// frame over the peer's limit is taken back out, and fails alone; so is a
    /// letter the peer's window has no room for (`Denied(Busy)`), unless nothing
    /// sent is outstanding (a letter larger than the whole window goes alone),
    /// and a letter that would overtake forwarded ones waiting for room. A
    /// forwarded letter with no room, and a frame for an actor behind one, wait
    /// in the backlog.
    fn queue(
        &self,
        counted: Counted,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), SpeechError>,
    ) -> Result<(), SpeechError> {
        let mut queued = lock(&self.out.state);
        if queued.closed {
            return Err(unreachable());
        }
        let start = queued.bytes.len();
        if counted == Counted::Forwarded {
            // The marker and its letter go together, here or in the backlog.
            frame::encode(&Frame::Forwarded, &mut queued.bytes).map_err(wire_failure)?;
        }
        let letter = queued.bytes.len();
        if let Err(error) = encode(&mut queued.bytes) {
            queued.bytes.truncate(start);
            return Err(error);
        }
        let body = queued.bytes.len() - letter - 4;
        let cost = match counted {
            Counted::Letter | Counted::Forwarded => frame::letter_cost(body) as i64,
            Counted::Control | Counted::Behind => 0,
        };
        let clear = queued.backlog.is_empty();
        let refused = if body > self.limit as usize {
            Some(too_long(body, self.limit))
        } else {
            match counted {
                Counted::Control => None,
                Counted::Behind if clear => None,
                Counted::Letter | Counted::Forwarded
                    if clear && queued.room_for(cost, self.peer_window) =>
                {
                    queued.credit -= cost;
                    None
                }
                Counted::Letter => Some(SpeechError::Denied(Reason::Busy)),
                Counted::Forwarded | Counted::Behind => {
                    let bytes = queued.bytes.split_off(start);
                    queued.backlog.push_back(Behind::Frame { bytes, cost });
                    return Ok(());
                }
            }
        };
        if let Some(error) = refused {
            queued.bytes.truncate(start);
            if body > self.limit as usize {
                // A refused large frame leaves no large buffer behind. (Not on
                // `Busy`, which a flood meets at every letter: the buffer keeps
                // its room for what is queued.)
                queued.bytes.shrink_to(WRITE_BATCH.max(start));
            }
            return Err(error);
        }
        let wake = queued.writer_waiting;
        drop(queued);
        if wake {
            // All: a theatre saying goodbye may be waiting on the same condition.
            self.out.ready.notify_all();
        }
        Ok(())
    }

    /// Sends a frame that expects a reply, registered under a fresh call number.
    /// On failure the call has been answered (see [`Awaiting::fail`]). For
    /// frames that are not letters (see [`Conn::ask_as`]).
    pub(crate) fn call(
        &self,
        awaiting: Awaiting,
        frame: impl FnOnce(u64) -> Frame,
    ) -> Result<(), SpeechError> {
        self.call_counted(Counted::Control, awaiting, frame)
    }

    /// Sends a frame for an actor that expects a reply and is not a letter (a
    /// flush, a stop), as [`Conn::call`] does, behind any forwarded letter
    /// still waiting for room.
    pub(crate) fn call_behind(
        &self,
        awaiting: Awaiting,
        frame: impl FnOnce(u64) -> Frame,
    ) -> Result<(), SpeechError> {
        self.call_counted(Counted::Behind, awaiting, frame)
    }

    /// Whether forwarded letters wait for the peer's window.
    pub(crate) fn congested(&self) -> bool {
        !lock(&self.out.state).backlog.is_empty()
    }

    /// Keeps `receipt` until every forwarded letter queued before it has gone
    /// within the peer's window, and lets it go then (at once when none waits).
    /// So a theatre forwarding letters for an actor that moved takes them from
    /// their sender no faster than the actor's new place takes them.
    ///
    /// Only the receipt of letters sent to this theatre directly comes here
    /// (`Peer::hold` lets the others go): the receipt of letters a peer
    /// forwarded here ([`Receipt::is_forwarded`]) goes back once they are on
    /// their way again. So the room a forwarder
    /// grants never waits for another forwarder's: a letter chasing an actor
    /// that moves back and forth crosses the same links again and again, and
    /// had each hop kept the room of the hop before, two links could each wait
    /// for the other's. A letter that was forwarded costs its next hop's
    /// theatre until its sender has been sent to the new place (`Moved`, at
    /// the first such letter).
    pub(crate) fn hold(&self, receipt: Receipt) {
        let mut queued = lock(&self.out.state);
        if queued.backlog.is_empty() || queued.closed {
            drop(queued);
            drop(receipt);
            return;
        }
        queued.backlog.push_back(Behind::Receipt(receipt));
    }

    fn call_counted(
        &self,
        counted: Counted,
        awaiting: Awaiting,
        frame: impl FnOnce(u64) -> Frame,
    ) -> Result<(), SpeechError> {
        let call = self.next_call.fetch_add(1, Ordering::Relaxed);
        lock(&self.awaiting).insert(call, awaiting);
        // `close` clears `alive` before it drains the table: either it drains this
        // call, or this sees the connection dead and takes the call back itself.
        let sent = if self.is_alive() {
            let frame = frame(call);
            self.queue(counted, |bytes| {
                frame::encode(&frame, bytes).map_err(wire_failure)
            })
        } else {
            Err(unreachable())
        };
        if let Err(error) = &sent {
            if let Some(awaiting) = self.take_awaiting(call) {
                awaiting.fail_with(error.clone());
            }
        }
        sent
    }

    /// Takes the call awaiting `call`'s reply. The table is unlocked again before
    /// the caller runs it: a continuation may send on this connection.
    pub(crate) fn take_awaiting(&self, call: u64) -> Option<Awaiting> {
        lock(&self.awaiting).remove(&call)
    }

    /// The peer's actors took `bytes` worth of letters: that much more may go.
    ///
    /// # Errors
    ///
    /// The reason to close the connection: the peer granted more than its
    /// window (it is broken, or not a theatre).
    pub(crate) fn credit(&self, bytes: u64) -> Result<(), String> {
        let mut queued = lock(&self.out.state);
        let credit = i64::try_from(bytes)
            .ok()
            .and_then(|bytes| queued.credit.checked_add(bytes))
            .filter(|credit| *credit <= self.peer_window);
        let Some(credit) = credit else {
            return Err(format!(
                "the peer granted credit past its window of {} bytes",
                self.peer_window
            ));
        };
        queued.credit = credit;
        let (due, queued_any) = queued.release(self.peer_window);
        let wake = queued_any && queued.writer_waiting;
        let drained = queued.backlog.is_empty();
        drop(queued);
        if wake || (queued_any && drained) {
            // All: a theatre saying goodbye waits for the backlog to drain.
            self.out.ready.notify_all();
        }
        drop(due);
        Ok(())
    }

    /// A letter of `cost` arrived from the peer, and is now in this theatre's
    /// care until its [`Conn::receipt`] comes back.
    ///
    /// # Errors
    ///
    /// The reason to close the connection: the peer sent past the window this
    /// theatre granted (only a letter alone may be larger than the window).
    pub(crate) fn arrived(&self, cost: u64) -> Result<(), String> {
        let before = self.in_care.fetch_add(cost, Ordering::AcqRel);
        // Forwarded letters wait at the sender for room as any other letter
        // does (see `Conn::hold`): nothing may arrive past the window.
        if before > 0 && before + cost > self.window {
            return Err(format!(
                "the peer sent past its window of {} bytes ({} held)",
                self.window,
                before + cost
            ));
        }
        Ok(())
    }

    /// The receipt for letters of `cost` in all, delivered together: when it is
    /// dropped (the actor took them, or they were refused), they leave this
    /// theatre's care, and the peer is granted as much again once an eighth of
    /// the window has been taken (or, for what is left below that, when the
    /// connection is next quiet: see [`Conn::unsent_credit`]). Granting each
    /// run at once cost a frame and two wakeups per run: remote notify went from
    /// 5.3 to 3.4 M msg/s.
    ///
    /// The receipt of letters the peer `forwarded` says so
    /// ([`Receipt::forwarded`]): this theatre keeps it while it forwards them
    /// further ([`Conn::hold`]).
    pub(crate) fn receipt(self: &Arc<Self>, cost: u64, forwarded: bool) -> Receipt {
        let conn = Arc::downgrade(self);
        let back = move || {
            if let Some(conn) = conn.upgrade() {
                conn.taken(cost);
            }
        };
        if forwarded {
            Receipt::forwarded(back)
        } else {
            Receipt::new(back)
        }
    }

    fn taken(&self, cost: u64) {
        self.in_care.fetch_sub(cost, Ordering::AcqRel);
        let taken = self.taken.fetch_add(cost, Ordering::AcqRel) + cost;
        if taken >= self.window / 8 {
            let bytes = self.taken.swap(0, Ordering::AcqRel);
            if bytes > 0 && self.is_alive() {
                let _ = self.push(Frame::Credit { bytes });
            }
        }
    }

    /// Credit for letters taken and not yet granted back: the writer sends it
    /// when the connection has been quiet, so that the last of a burst is not
    /// kept from the peer.
    fn unsent_credit(&self) -> Option<Frame> {
        let bytes = self.taken.swap(0, Ordering::AcqRel);
        (bytes > 0).then_some(Frame::Credit { bytes })
    }

    /// Shuts the socket down as a failing network would; the reader and writer
    /// then find it broken.
    pub(crate) fn sever(&self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Says goodbye: what is queued is written (forwarded letters waiting for
    /// room as the peer grants it), then a `Bye`, then the writer closes the
    /// connection. Waits at most `within` for that.
    pub(crate) fn leave(&self, within: Duration) {
        let deadline = std::time::Instant::now() + within;
        let mut queued =
            self.wait_while(lock(&self.out.state), deadline, |q| !q.backlog.is_empty());
        if queued.closed {
            return;
        }
        // A `Bye` cannot fail to encode.
        let _ = frame::encode(&Frame::Bye, &mut queued.bytes);
        queued.leaving = true;
        self.out.ready.notify_all();
        drop(self.wait_while(queued, deadline, |_| true));
    }

    /// Waits on the outbox until the connection closes, `waiting` turns false,
    /// or `deadline` passes.
    fn wait_while<'a>(
        &self,
        mut queued: std::sync::MutexGuard<'a, Queued>,
        deadline: std::time::Instant,
        waiting: impl Fn(&Queued) -> bool,
    ) -> std::sync::MutexGuard<'a, Queued> {
        while !queued.closed && waiting(&queued) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            queued = self
                .out
                .ready
                .wait_timeout(queued, left)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        queued
    }

    /// Closes the connection: no more frames either way, every pending call fails
    /// with `Failed(Unreachable)`. Idempotent: `true` for the call that closed it.
    pub(crate) fn close(&self, reason: &str) -> bool {
        if !self.alive.swap(false, Ordering::SeqCst) {
            return false;
        }
        log::warn!(
            "stage-net: closing the connection to {}: {reason}",
            self.peer
        );
        let backlog = {
            let mut queued = lock(&self.out.state);
            queued.closed = true;
            std::mem::take(&mut queued.backlog)
        };
        // Its receipts, let go outside the lock; its calls fail below.
        drop(backlog);
        // The writer, and a theatre waiting for its goodbye to be written.
        self.out.ready.notify_all();
        let _ = self.stream.shutdown(Shutdown::Both);
        let awaiting: Vec<Awaiting> = lock(&self.awaiting).drain().map(|(_, a)| a).collect();
        for call in awaiting {
            call.fail();
        }
        true
    }
}

/// The error of a letter whose frame would be over the peer's limit.
fn too_long(body: usize, limit: u32) -> SpeechError {
    wire_failure(format_args!(
        "the message is {body} bytes on the wire, over the frame limit of {limit} bytes \
         (`TheatreBuilder::frame_limit`); the connection carries on"
    ))
}

/// How a connection is set up.
pub(crate) struct Setup {
    /// The peer's locator, for thread names and the log.
    pub(crate) peer: String,
    /// The accepting side's last handshake frame, written first; `None` on the
    /// side that connected.
    pub(crate) welcome: Option<Frame>,
    /// The largest frame body taken from the peer.
    pub(crate) frame_limit: u32,
    /// The largest frame body the peer takes (from its handshake): a longer
    /// letter fails alone here.
    pub(crate) peer_frame_limit: u32,
    /// This theatre's window for letters from the peer.
    pub(crate) window: u64,
    /// The peer's window for letters from this theatre (from its handshake).
    pub(crate) peer_window: u64,
    /// How long the peer may stay silent.
    pub(crate) down_after: Duration,
    /// The theatre that addresses decoded from this peer's frames belong to.
    pub(crate) fabric: Arc<dyn Fabric>,
    /// Its stage.
    pub(crate) stage: Stage,
}

/// Starts the threads of a connection whose handshake succeeded, and returns it.
pub(crate) fn start(
    stream: Transport,
    setup: Setup,
    sink: Box<dyn Sink>,
    ends: Arc<dyn Ends>,
) -> std::io::Result<Arc<Conn>> {
    let mut first = Vec::with_capacity(WRITE_BATCH);
    if let Some(welcome) = setup.welcome.as_ref() {
        // First on the wire, before the connection is visible to any sender.
        frame::encode(welcome, &mut first).map_err(std::io::Error::other)?;
    }
    let out = Outbox {
        state: Mutex::new(Queued {
            bytes: first,
            writer_waiting: false,
            closed: false,
            leaving: false,
            credit: i64::try_from(setup.peer_window).unwrap_or(i64::MAX),
            backlog: VecDeque::new(),
        }),
        ready: Condvar::new(),
    };
    let socket = stream.socket();
    socket.set_nodelay(true)?;
    // The failure detector: a live peer sends something (a ping at least) every
    // quarter of `down_after`.
    socket.set_read_timeout(Some(setup.down_after))?;
    socket.set_write_timeout(Some(setup.down_after))?;
    let conn = Arc::new(Conn {
        out,
        awaiting: Mutex::new(HashMap::new()),
        next_call: AtomicU64::new(1),
        alive: AtomicBool::new(true),
        stream: socket.try_clone()?,
        peer: setup.peer.clone(),
        initiated: setup.welcome.is_none(),
        limit: setup.peer_frame_limit,
        // A window past `i64::MAX` is as good as endless.
        peer_window: i64::try_from(setup.peer_window).unwrap_or(i64::MAX),
        window: setup.window,
        in_care: AtomicU64::new(0),
        taken: AtomicU64::new(0),
        bytes_out: AtomicU64::new(0),
        bytes_in: AtomicU64::new(0),
        opened: std::time::Instant::now(),
    });
    let (reader, writer) = stream.split()?;
    let heartbeat = setup.down_after / 4;
    {
        let conn = Arc::clone(&conn);
        let ends = Arc::clone(&ends);
        std::thread::Builder::new()
            .name(format!("stage-net-write-{}", setup.peer))
            .spawn(move || write_loop(writer, &conn, &*ends, heartbeat))?;
    }
    {
        let conn = Arc::clone(&conn);
        let (limit, fabric, stage) = (setup.frame_limit, setup.fabric, setup.stage);
        std::thread::Builder::new()
            .name(format!("stage-net-read-{}", setup.peer))
            .spawn(move || {
                remote::decoding_for(fabric, &stage, || {
                    read_loop(reader, &conn, sink, &*ends, limit);
                });
            })?;
    }
    Ok(conn)
}

/// How many times the writer looks for more frames before it sleeps.
const WRITER_LOOKS: usize = 4;

/// Writes whatever frames are queued, all in one system call, as soon as there are
/// any; sends a ping when nothing has been sent for `heartbeat`.
fn write_loop(
    mut stream: Box<dyn Write + Send>,
    conn: &Conn,
    ends: &dyn Ends,
    heartbeat: Duration,
) {
    let mut taken = Vec::with_capacity(WRITE_BATCH);
    let wire = crate::observe::Wire::new(&conn.peer);
    loop {
        // Under load more frames follow at once: look again a few times, giving up
        // the core in between, before sleeping (a sleeping writer costs each sender
        // that finds it asleep a system call to wake it).
        for _ in 0..WRITER_LOOKS {
            if !lock(&conn.out.state).bytes.is_empty() {
                break;
            }
            std::thread::yield_now();
        }
        {
            let mut queued = lock(&conn.out.state);
            while queued.bytes.is_empty() && !queued.closed && !queued.leaving {
                queued.writer_waiting = true;
                let (guard, waited) = conn
                    .out
                    .ready
                    .wait_timeout(queued, heartbeat)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                queued = guard;
                queued.writer_waiting = false;
                if waited.timed_out() && queued.bytes.is_empty() && !queued.closed {
                    // Credit owed, or a ping; neither can fail to encode.
                    let quiet = conn.unsent_credit().unwrap_or(Frame::Ping);
                    let _ = frame::encode(&quiet, &mut queued.bytes);
                }
            }
            if queued.closed {
                return;
            }
            if queued.bytes.is_empty() {
                // Leaving, and the goodbye is written.
                drop(queued);
                conn.close("this theatre left the cluster");
                return;
            }
            std::mem::swap(&mut queued.bytes, &mut taken);
            wire.backlog(queued.backlog.len());
        }
        if let Err(error) = stream.write_all(&taken) {
            if conn.close(&format!("write failed: {error}")) {
                ends.broke();
            }
            return;
        }
        wire.written(taken.len());
        conn.bytes_out
            .fetch_add(taken.len() as u64, Ordering::Relaxed);
        taken.clear();
        // A burst of large frames leaves no large buffer behind.
        if taken.capacity() > 16 * WRITE_BATCH {
            taken.shrink_to(WRITE_BATCH);
        }
    }
}

/// Reads frames and hands them to `sink` until the connection fails, closes, goes
/// quiet for too long, or the sink refuses a frame; then closes it.
fn read_loop(
    stream: Box<dyn Read + Send>,
    conn: &Arc<Conn>,
    mut sink: Box<dyn Sink>,
    ends: &dyn Ends,
    limit: u32,
) {
    let mut reader = BufReader::with_capacity(64 << 10, stream);
    let mut body = Vec::new();
    let wire = crate::observe::Wire::new(&conn.peer);
    // Whether the connection broke (rather than the peer breaking the protocol):
    // then this theatre tries to rejoin.
    let mut broke = false;
    let reason = loop {
        // What the sink holds back goes on before a read that may wait.
        if !frame::buffered_whole(reader.buffer()) {
            if let Err(reason) = sink.flush() {
                break reason;
            }
        }
        match frame::read_body(&mut reader, limit, &mut body) {
            Ok(()) => {
                wire.read(body.len() + 4);
                conn.bytes_in
                    .fetch_add(body.len() as u64 + 4, Ordering::Relaxed);
            }
            Err(error) => {
                // What arrived whole before the failure is delivered.
                let _ = sink.flush();
                if let FrameError::Io(error) = &error {
                    broke = true;
                    if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
                        break "the peer went silent for longer than the failure detector allows"
                            .to_owned();
                    }
                    break error.to_string();
                }
                break error.to_string();
            }
        }
        if !conn.is_alive() {
            // Closed from elsewhere (the writer failed, or the theatre closed it):
            // membership still hears that nothing more arrives, and lets go of
            // the connection and its socket.
            ends.ended();
            return;
        }
        if let Err(reason) = sink.frame(conn, &body) {
            break reason;
        }
        // A burst of large frames leaves no large buffer behind.
        if body.capacity() > 1 << 20 {
            body = Vec::new();
        }
    };
    if conn.close(&reason) && broke {
        ends.broke();
    }
    ends.ended();
}

/// Answers `body`'s caller (if it waits for an answer) with `error`.
pub(crate) fn fail_body(body: Body, error: SpeechError) {
    if let Body::Message {
        answer: Some(answer),
        ..
    }
    | Body::Stop { answer }
    | Body::Eval { answer, .. }
    | Body::Flush { answer } = body
    {
        answer.fail(error);
    }
}
