//! One connection to a peer theatre: a writer thread that coalesces frames, a reader
//! thread that delivers them, the table of calls awaiting an answer, and the
//! failure detector (a connection silent for longer than `down_after` is closed,
//! and every call pending on it fails with `Failed(Unreachable)`).

use std::collections::HashMap;
use std::io::{BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

use stage_runtime::remote::{self, Answer, Body, Delivery, Inbound, Link, Respond};
use stage_runtime::{DownReason, Failure, SpeechError};

use crate::frame::{self, Frame, FrameError, TellRef, WireError};
use crate::theatre::{Entry, Inner};
use crate::tls::Transport;

/// Flush the writer's buffer once it holds this much, even with more frames queued.
const WRITE_BATCH: usize = 64 << 10;

fn unreachable() -> SpeechError {
    SpeechError::Failed(Failure::Unreachable)
}

/// A call awaiting its reply on a connection.
pub(crate) enum Pending {
    /// A query, request or stop: the caller's reply.
    Answer(Answer),
    /// A name lookup: what to do with the result (`None`: not bound there, or
    /// the peer could not be asked).
    Lookup(Box<LookupFn>),
    /// An activation on demand: what to do with the actor's number (or why there
    /// is none).
    Activate(Box<ActivateFn>),
    /// A watch on a remote actor: what to do when it ends.
    Watch(Box<dyn FnOnce(DownReason) + Send>),
    /// A question to a name's home: what to do with its directory entry.
    Resolve(Box<dyn FnOnce(Option<Entry>) + Send>),
}

/// The continuation of a lookup: the actor's number, type tag and type name.
pub(crate) type LookupFn = dyn FnOnce(Option<(u64, u64, String)>) + Send;

/// The continuation of an activation: where the actor runs (theatre, locator,
/// number there).
pub(crate) type ActivateFn = dyn FnOnce(Result<(u64, String, u64), SpeechError>) + Send;

impl Pending {
    fn fail(self) {
        match self {
            Pending::Answer(answer) => answer.fail(unreachable()),
            Pending::Lookup(then) => then(None),
            Pending::Activate(then) => then(Err(unreachable())),
            Pending::Watch(then) => then(DownReason::Unreachable),
            Pending::Resolve(then) => then(None),
        }
    }
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
}

impl Outbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queued> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A live connection.
pub(crate) struct Conn {
    out: Outbox,
    pending: Mutex<HashMap<u64, Pending>>,
    next_call: AtomicU64,
    alive: AtomicBool,
    stream: TcpStream,
    /// Whether this theatre opened the connection (for the tie-break between two
    /// connections opened at once).
    pub(crate) initiated: bool,
}

impl Conn {
    pub(crate) fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }

    /// Encodes a frame onto the writer's queue, on the sender's thread.
    pub(crate) fn push(&self, frame: Frame) -> Result<(), SpeechError> {
        self.queue(|bytes| {
            frame::encode(&frame, bytes)
                .map_err(|error| SpeechError::Failed(Failure::Wire(error.to_string().into())))
        })
    }

    /// Encodes a `Tell` frame onto the writer's queue, with its arguments as they
    /// are (the hot path of `notify!`: no frame is built).
    fn push_tell(&self, to: u64, tag: u64, variant: u16, args: &[u8]) -> Result<(), SpeechError> {
        self.queue(|bytes| {
            frame::encode_tell(to, tag, variant, args, bytes);
            Ok(())
        })
    }

    /// Runs `encode` on the writer's queue, and wakes the writer if it waits.
    fn queue(
        &self,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), SpeechError>,
    ) -> Result<(), SpeechError> {
        let mut queued = self.out.lock();
        if queued.closed {
            return Err(unreachable());
        }
        encode(&mut queued.bytes)?;
        let wake = queued.writer_waiting;
        drop(queued);
        if wake {
            self.out.ready.notify_one();
        }
        Ok(())
    }

    /// Sends a frame that expects a reply, registered under a fresh call number.
    pub(crate) fn call(
        &self,
        pending: Pending,
        frame: impl FnOnce(u64) -> Frame,
    ) -> Result<(), SpeechError> {
        let call = self.next_call.fetch_add(1, Ordering::Relaxed);
        self.lock_pending().insert(call, pending);
        // `close` sets `alive` before it drains `pending`: either it drains this
        // call, or this sees the connection dead and takes the call back itself.
        let sent = if self.is_alive() {
            self.push(frame(call))
        } else {
            Err(unreachable())
        };
        if sent.is_err() {
            if let Some(pending) = self.lock_pending().remove(&call) {
                pending.fail();
            }
        }
        sent
    }

    /// Takes the call awaiting `call`'s reply. The table is unlocked again before
    /// the caller runs it: a continuation may send on this connection.
    fn take_pending(&self, call: u64) -> Option<Pending> {
        self.lock_pending().remove(&call)
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Pending>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Shuts the socket down as a failing network would; the reader and writer
    /// then find it broken.
    pub(crate) fn sever(&self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Closes the connection: no more frames either way, every pending call fails
    /// with `Failed(Unreachable)`. Idempotent: `true` for the call that closed it.
    pub(crate) fn close(&self, reason: &str, peer: &str) -> bool {
        if !self.alive.swap(false, Ordering::SeqCst) {
            return false;
        }
        log::warn!("stage-net: closing the connection to {peer}: {reason}");
        self.out.lock().closed = true;
        self.out.ready.notify_one();
        let _ = self.stream.shutdown(Shutdown::Both);
        let pending: Vec<Pending> = self.lock_pending().drain().map(|(_, p)| p).collect();
        for call in pending {
            call.fail();
        }
        true
    }
}

/// A peer theatre, as addresses of its actors see it: persistent while this
/// theatre knows the peer, over whichever connection is current.
pub(crate) struct Peer {
    pub(crate) theatre: u64,
    pub(crate) locator: String,
    pub(crate) conn: RwLock<Option<Arc<Conn>>>,
}

impl Peer {
    pub(crate) fn new(theatre: u64, locator: String) -> Self {
        Peer {
            theatre,
            locator,
            conn: RwLock::new(None),
        }
    }

    /// The current connection, if it is alive.
    pub(crate) fn live(&self) -> Option<Arc<Conn>> {
        let conn = self.conn.read().unwrap_or_else(PoisonError::into_inner);
        conn.as_ref().filter(|c| c.is_alive()).cloned()
    }
}

/// Answers `body`'s caller (if it waits for an answer) with `error`.
pub(crate) fn fail_body(body: Body, error: SpeechError) {
    if let Body::Message {
        answer: Some(answer),
        ..
    }
    | Body::Stop { answer }
    | Body::Eval { answer, .. } = body
    {
        answer.fail(error);
    }
}

impl Link for Peer {
    fn send(&self, actor: u64, tag: u64, body: Body) -> Result<(), SpeechError> {
        let Some(conn) = self.live() else {
            fail_body(body, unreachable());
            return Err(unreachable());
        };
        match body {
            Body::Message {
                variant,
                args,
                answer: None,
            } => conn.push_tell(actor, tag, variant, &args),
            Body::Message {
                variant,
                args,
                answer: Some(answer),
            } => conn.call(Pending::Answer(answer), |call| Frame::Ask {
                to: actor,
                tag,
                variant,
                args,
                call,
            }),
            Body::Stop { answer } => conn.call(Pending::Answer(answer), |call| Frame::Stop {
                to: actor,
                tag,
                call,
            }),
            Body::Eval {
                site,
                check,
                captures,
                answer,
            } => conn.call(Pending::Answer(answer), |call| Frame::Eval {
                to: actor,
                tag,
                site,
                check,
                captures,
                call,
            }),
        }
    }

    fn locator(&self) -> &str {
        &self.locator
    }

    fn theatre(&self) -> u64 {
        self.theatre
    }

    fn watch(&self, actor: u64, tag: u64, then: Box<dyn FnOnce(DownReason) + Send>) {
        match self.live() {
            // A failed call runs `then` with `Unreachable`.
            Some(conn) => {
                let _ = conn.call(Pending::Watch(then), |call| Frame::Watch {
                    to: actor,
                    tag,
                    call,
                });
            }
            None => then(DownReason::Unreachable),
        }
    }
}

/// Starts the threads of a connection whose handshake succeeded, and returns it;
/// `welcome` (the accepting side's last handshake frame) is written first.
pub(crate) fn start(
    stream: Transport,
    welcome: Option<Frame>,
    peer: Arc<Peer>,
    home: Weak<Inner>,
    frame_limit: u32,
    down_after: Duration,
) -> std::io::Result<Arc<Conn>> {
    let mut first = Vec::with_capacity(WRITE_BATCH);
    if let Some(welcome) = welcome.as_ref() {
        // First on the wire, before the connection is visible to any sender.
        frame::encode(welcome, &mut first).map_err(std::io::Error::other)?;
    }
    let out = Outbox {
        state: Mutex::new(Queued {
            bytes: first,
            writer_waiting: false,
            closed: false,
        }),
        ready: Condvar::new(),
    };
    let socket = stream.socket();
    socket.set_nodelay(true)?;
    // The failure detector: a live peer sends something (a ping at least) every
    // quarter of `down_after`.
    socket.set_read_timeout(Some(down_after))?;
    socket.set_write_timeout(Some(down_after))?;
    let conn = Arc::new(Conn {
        out,
        pending: Mutex::new(HashMap::new()),
        next_call: AtomicU64::new(1),
        alive: AtomicBool::new(true),
        stream: socket.try_clone()?,
        initiated: welcome.is_none(),
    });
    let (reader, writer) = stream.split()?;
    let heartbeat = down_after / 4;
    {
        let conn = Arc::clone(&conn);
        let peer = Arc::clone(&peer);
        let home = home.clone();
        std::thread::Builder::new()
            .name(format!("stage-net-write-{}", peer.locator))
            .spawn(move || write_loop(writer, &conn, &peer, &home, heartbeat))?;
    }
    {
        let conn = Arc::clone(&conn);
        std::thread::Builder::new()
            .name(format!("stage-net-read-{}", peer.locator))
            .spawn(move || read_loop(reader, &conn, &peer, &home, frame_limit))?;
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
    peer: &Arc<Peer>,
    home: &Weak<Inner>,
    heartbeat: Duration,
) {
    let mut taken = Vec::with_capacity(WRITE_BATCH);
    loop {
        // Under load more frames follow at once: look again a few times, giving up
        // the core in between, before sleeping (a sleeping writer costs each sender
        // that finds it asleep a system call to wake it).
        for _ in 0..WRITER_LOOKS {
            if !conn.out.lock().bytes.is_empty() {
                break;
            }
            std::thread::yield_now();
        }
        {
            let mut queued = conn.out.lock();
            while queued.bytes.is_empty() && !queued.closed {
                queued.writer_waiting = true;
                let (guard, waited) = conn
                    .out
                    .ready
                    .wait_timeout(queued, heartbeat)
                    .unwrap_or_else(PoisonError::into_inner);
                queued = guard;
                queued.writer_waiting = false;
                if waited.timed_out() && queued.bytes.is_empty() && !queued.closed {
                    // A ping cannot fail to encode.
                    let _ = frame::encode(&Frame::Ping, &mut queued.bytes);
                }
            }
            if queued.closed {
                return;
            }
            std::mem::swap(&mut queued.bytes, &mut taken);
        }
        if let Err(error) = stream.write_all(&taken) {
            if conn.close(&format!("write failed: {error}"), &peer.locator) {
                rejoin(home, peer);
            }
            return;
        }
        taken.clear();
        // A burst of large frames leaves no large buffer behind.
        if taken.capacity() > 16 * WRITE_BATCH {
            taken.shrink_to(WRITE_BATCH);
        }
    }
}

/// Reads and dispatches frames until the connection fails, closes, goes quiet for
/// too long, or sends a bad frame; then closes it.
fn read_loop(
    stream: Box<dyn Read + Send>,
    conn: &Arc<Conn>,
    peer: &Arc<Peer>,
    home: &Weak<Inner>,
    limit: u32,
) {
    let Some(fabric) = home.upgrade().map(|inner| Arc::clone(&inner.fabric)) else {
        conn.close("this theatre has shut down", &peer.locator);
        return;
    };
    remote::decoding_for(fabric, || read_frames(stream, conn, peer, home, limit));
}

fn read_frames(
    stream: Box<dyn Read + Send>,
    conn: &Arc<Conn>,
    peer: &Arc<Peer>,
    home: &Weak<Inner>,
    limit: u32,
) {
    let mut reader = BufReader::with_capacity(64 << 10, stream);
    let mut body = Vec::new();
    let mut last = Last::default();
    let mut run = Run::default();
    // Whether the connection broke (rather than the peer breaking the protocol):
    // then this theatre tries to rejoin.
    let mut broke = false;
    let reason = loop {
        // Events go to their actor before a read that may wait for the network.
        if !run.is_empty() && !frame::buffered_whole(reader.buffer()) {
            if let Err(reason) = deliver_run(&mut run, home, &mut last) {
                break reason;
            }
        }
        let read = frame::read_body(&mut reader, limit, &mut body);
        if read.is_err() {
            // What arrived whole before the failure is delivered.
            let _ = deliver_run(&mut run, home, &mut last);
        }
        match read {
            Ok(()) => {}
            Err(FrameError::Io(error)) => {
                broke = true;
                if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
                    break "the peer went silent for longer than the failure detector allows"
                        .to_owned();
                }
                break error.to_string();
            }
            Err(error) => break error.to_string(),
        }
        if !conn.is_alive() {
            return;
        }
        let Some(home) = home.upgrade() else {
            break "this theatre has shut down".to_owned();
        };
        // Events, the bulk of the traffic, are read in place, and those that come
        // in a row for one actor are queued for it together.
        let dispatched = match frame::tell_in(&body) {
            Some(event) => {
                let mut delivered = Ok(());
                if !run.takes(&event) {
                    delivered = run.deliver(&home, &mut last);
                }
                run.add(event);
                if run.events.len() >= MAX_RUN {
                    delivered = delivered.and(run.deliver(&home, &mut last));
                }
                delivered
            }
            None => run
                .deliver(&home, &mut last)
                .and_then(|()| frame::decode(&body).map_err(|error| error.to_string()))
                .and_then(|frame| dispatch(frame, conn, peer, &home, &mut last)),
        };
        if let Err(reason) = dispatched {
            break reason;
        }
        // A burst of large frames leaves no large buffer behind.
        if body.capacity() > 1 << 20 {
            body = Vec::new();
        }
    };
    if conn.close(&reason, &peer.locator) && broke {
        rejoin(home, peer);
    }
    if let Some(home) = home.upgrade() {
        home.peer_lost(peer);
    }
}

/// After a connection broke: tries to connect to the peer again, with backoff,
/// for the theatre's `rejoin_for`, unless a connection is in place again (the peer
/// may dial first) or this theatre shuts down.
fn rejoin(home: &Weak<Inner>, peer: &Arc<Peer>) {
    let home = home.clone();
    let lost = Arc::clone(peer);
    let spawned = std::thread::Builder::new()
        .name("stage-net-rejoin".into())
        .spawn(move || {
            let Some(window) = home.upgrade().map(|inner| inner.rejoin_for()) else {
                return;
            };
            let deadline = std::time::Instant::now() + window;
            let mut wait = Duration::from_millis(50);
            while std::time::Instant::now() < deadline {
                std::thread::sleep(wait);
                let Some(inner) = home.upgrade() else { return };
                if inner.is_closed() || lost.live().is_some() {
                    return;
                }
                match inner.connect_to(&lost.locator) {
                    Ok(()) => {
                        log::info!("stage-net: rejoined {}", lost.locator);
                        return;
                    }
                    Err(error) => log::debug!("stage-net: rejoining {}: {error}", lost.locator),
                }
                wait = (wait * 2).min(Duration::from_secs(2));
            }
            log::warn!("stage-net: gave up rejoining {}", lost.locator);
        });
    if let Err(error) = spawned {
        log::warn!("stage-net: no thread to rejoin {}: {error}", peer.locator);
    }
}

/// The actor the last message on a connection went to: the next one usually goes
/// to it too, and skips the table of exported actors.
#[derive(Default)]
struct Last(Option<(u64, Arc<dyn Inbound>)>);

impl Last {
    /// The exported actor numbered `to`. One that has ended since is still found
    /// here, and refuses the message as `Dead`, as the table would have.
    fn exported(&mut self, home: &Inner, to: u64) -> Option<Arc<dyn Inbound>> {
        match &self.0 {
            Some((actor, inbound)) if *actor == to => Some(Arc::clone(inbound)),
            _ => {
                let inbound = home.exported(to)?;
                self.0 = Some((to, Arc::clone(&inbound)));
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
        home: &Inner,
        to: u64,
        tag: u64,
        what: &str,
    ) -> Result<Option<Arc<dyn Inbound>>, String> {
        match self.exported(home, to) {
            Some(inbound) if inbound.type_tag() != tag => {
                Err(format!("{what} for actor {to} names another type"))
            }
            found => Ok(found),
        }
    }
}

/// The most events read in a row that are queued together.
const MAX_RUN: usize = 256;

/// Events read in a row for one actor, not yet delivered: their handlers, and
/// their arguments one after the other.
#[derive(Default)]
struct Run {
    to: u64,
    tag: u64,
    events: Vec<(u16, std::ops::Range<usize>)>,
    args: Vec<u8>,
}

impl Run {
    fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Whether `event` can join the run: it is empty, or for the same actor.
    fn takes(&self, event: &TellRef<'_>) -> bool {
        self.is_empty() || (self.to, self.tag) == (event.to, event.tag)
    }

    fn add(&mut self, event: TellRef<'_>) {
        self.to = event.to;
        self.tag = event.tag;
        let start = self.args.len();
        self.args.extend_from_slice(event.args);
        self.events.push((event.variant, start..self.args.len()));
    }

    /// Queues the run for its actor and empties it. An error closes the connection.
    fn deliver(&mut self, home: &Inner, last: &mut Last) -> Result<(), String> {
        if self.is_empty() {
            return Ok(());
        }
        let (events, args) = (&self.events, &self.args);
        let delivered = events_for(home, last, self.to, self.tag, |inbound| {
            match events.as_slice() {
                // One event alone, the common case when traffic is light: no batch.
                [(variant, range)] => inbound.deliver(Delivery::Message {
                    variant: *variant,
                    args: &args[range.clone()],
                    respond: None,
                }),
                events => inbound.deliver_events(
                    &mut events
                        .iter()
                        .map(|(variant, range)| (*variant, &args[range.clone()])),
                ),
            }
        });
        self.events.clear();
        self.args.clear();
        delivered
    }
}

/// [`Run::deliver`], for the reader's loop before a read (which holds the theatre
/// only weakly).
fn deliver_run(run: &mut Run, home: &Weak<Inner>, last: &mut Last) -> Result<(), String> {
    let Some(inner) = home.upgrade() else {
        return Err("this theatre has shut down".to_owned());
    };
    run.deliver(&inner, last)
}

/// Hands events for the actor numbered `to` to `deliver`; a refusal is logged (an
/// event has no one to answer). An error closes the connection.
fn events_for(
    home: &Inner,
    last: &mut Last,
    to: u64,
    tag: u64,
    deliver: impl FnOnce(&dyn Inbound) -> Result<(), SpeechError>,
) -> Result<(), String> {
    let Some(inbound) = last.addressed(home, to, tag, "an event")? else {
        log::debug!("stage-net: events for actor {to}, which is not exported here");
        return Ok(());
    };
    if let Err(error) = deliver(&*inbound) {
        log::debug!("stage-net: an event for actor {to} was refused: {error}");
    }
    Ok(())
}

/// Delivers an event. An error closes the connection.
fn tell(event: TellRef<'_>, home: &Inner, last: &mut Last) -> Result<(), String> {
    events_for(home, last, event.to, event.tag, |inbound| {
        inbound.deliver(Delivery::Message {
            variant: event.variant,
            args: event.args,
            respond: None,
        })
    })
}

/// Acts on one frame. An error closes the connection.
fn dispatch(
    frame: Frame,
    conn: &Arc<Conn>,
    peer: &Peer,
    home: &Arc<Inner>,
    last: &mut Last,
) -> Result<(), String> {
    match frame {
        Frame::Tell {
            to,
            tag,
            variant,
            args,
        } => tell(
            TellRef {
                to,
                tag,
                variant,
                args: &args,
            },
            home,
            last,
        )?,
        Frame::Ask {
            to,
            tag,
            variant,
            args,
            call,
        } => {
            match last.addressed(home, to, tag, "a question")? {
                None => respond_now(conn, call, &SpeechError::Failed(Failure::Dead)),
                // A refusal has answered the responder already.
                Some(inbound) => {
                    let _ = inbound.deliver(Delivery::Message {
                        variant,
                        args: &args,
                        respond: Some(responder(conn, call)),
                    });
                }
            }
        }
        Frame::Eval {
            to,
            tag,
            site,
            check,
            captures,
            call,
        } => match last.addressed(home, to, tag, "an expression")? {
            None => respond_now(conn, call, &SpeechError::Failed(Failure::Dead)),
            // A refusal (a site this program does not have, say) has answered the
            // responder already: it is the asker's error, not the connection's.
            Some(inbound) => {
                let _ = inbound.deliver(Delivery::Eval {
                    site,
                    check,
                    captures: &captures,
                    respond: responder(conn, call),
                });
            }
        },
        Frame::Stop { to, tag, call } => match last.addressed(home, to, tag, "a stop")? {
            None => respond_now(conn, call, &SpeechError::Failed(Failure::Dead)),
            Some(inbound) => {
                let _ = inbound.deliver(Delivery::Stop {
                    respond: responder(conn, call),
                });
            }
        },
        Frame::Answer { call, result } => match conn.take_pending(call) {
            Some(Pending::Answer(answer)) => {
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
            let actor = home.bound(&name);
            conn.push(Frame::Found { call, actor })
                .map_err(|e| e.to_string())?;
        }
        Frame::Found { call, actor } => match conn.take_pending(call) {
            Some(Pending::Lookup(then)) => then(actor),
            other => return Err(mismatch(other, "a lookup result", call)),
        },
        Frame::Activate { name, tag, call } => {
            // Finding or starting the actor may ask the other peers, whose answers
            // this reader thread may have to deliver: off it.
            let home = Arc::clone(home);
            let answer_on = Arc::clone(conn);
            let spawned = std::thread::Builder::new()
                .name("stage-net-activate".into())
                .spawn(move || {
                    let result = home
                        .locate_or_start(&name, tag)
                        .map(|located| home.whereabouts(&located))
                        .map_err(|error| error.to_string());
                    let _ = answer_on.push(Frame::Activated { call, result });
                });
            if let Err(error) = spawned {
                let result = Err(format!("no thread to start the actor: {error}"));
                conn.push(Frame::Activated { call, result })
                    .map_err(|e| e.to_string())?;
            }
        }
        Frame::Activated { call, result } => match conn.take_pending(call) {
            Some(Pending::Activate(then)) => {
                then(result.map_err(|why| SpeechError::Failed(Failure::Wire(why.into()))));
            }
            other => return Err(mismatch(other, "an activation result", call)),
        },
        Frame::Register {
            name,
            actor,
            tag,
            type_name,
        } => home.file(
            name,
            Entry {
                theatre: peer.theatre,
                locator: peer.locator.clone(),
                actor,
                tag,
                type_name,
            },
        ),
        Frame::Unregister { name, call } => {
            home.unfile(&name, peer.theatre);
            conn.push(Frame::Resolved { call, entry: None })
                .map_err(|e| e.to_string())?;
        }
        Frame::Resolve { name, call } => {
            let entry = home.filed(&name).map(Entry::into_wire);
            conn.push(Frame::Resolved { call, entry })
                .map_err(|e| e.to_string())?;
        }
        Frame::Resolved { call, entry } => match conn.take_pending(call) {
            Some(Pending::Resolve(then)) => then(entry.map(Entry::from_wire)),
            other => return Err(mismatch(other, "a directory entry", call)),
        },
        Frame::Watch { to, tag, call } => match last.addressed(home, to, tag, "a watch")? {
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
        },
        Frame::Ended { call, reason } => match conn.take_pending(call) {
            Some(Pending::Watch(then)) => then(frame::down_reason(reason)),
            other => return Err(mismatch(other, "an end notice", call)),
        },
        Frame::Ping => {}
        Frame::Hello { .. }
        | Frame::Challenge { .. }
        | Frame::Response { .. }
        | Frame::Welcome { .. }
        | Frame::Refused { .. } => return Err("a handshake frame after the handshake".into()),
    }
    Ok(())
}

/// The reason to close a connection whose peer replied with `what` to a call that
/// awaits another kind of reply, or to none. A call taken by mistake is failed, so
/// that its caller hears `Unreachable` like the others when the connection closes.
fn mismatch(taken: Option<Pending>, what: &str, call: u64) -> String {
    match taken {
        Some(pending) => {
            pending.fail();
            format!("{what} for call {call}, which awaits another kind of reply")
        }
        None => format!("{what} for call {call}, which was not made"),
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
