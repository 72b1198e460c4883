//! A theatre: a stage reachable over TCP at a locator, its peers, the actors it
//! exports and the names bound on it.

use std::collections::HashMap;
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use stage_runtime::remote::{self, Fabric, Inbound, Link};
use stage_runtime::{Actor, Addr, Failure, SpeechError, Stage};

use crate::frame::{self, Frame, DEFAULT_FRAME_LIMIT};
use crate::handshake::{self, HandshakeError, Identity};
use crate::link::{self, Conn, Peer, Pending};
use crate::named::{self, Factory, NamedLink};
use crate::tls::{TlsConfig, Transport};
use crate::NetError;

/// How long a handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// At most this many incoming handshakes run at once; a connection beyond them is
/// closed at once, so that a flood of connections cannot exhaust threads.
const MAX_HANDSHAKES: usize = 64;

pub(crate) struct Inner {
    id: u64,
    locator: String,
    cookie: Vec<u8>,
    frame_limit: u32,
    down_after: Duration,
    rejoin_for: Duration,
    tls: Option<TlsConfig>,
    stage: Stage,
    exports: Mutex<HashMap<u64, Arc<dyn Inbound>>>,
    /// Names bound on this theatre, and their actors.
    names: Mutex<HashMap<String, Arc<dyn Inbound>>>,
    /// This theatre's part of the directory: the names it is the home of, bound
    /// here or on other members.
    directory: Mutex<HashMap<String, Entry>>,
    peers: Mutex<HashMap<u64, Arc<Peer>>>,
    closed: AtomicBool,
    /// Incoming handshakes in progress.
    handshakes: AtomicUsize,
    /// How to start each actor type on demand, by type tag.
    factories: HashMap<u64, Factory>,
    /// Actors started on demand here (this theatre being their name's home).
    activated: Mutex<HashMap<String, Slot>>,
    /// The links behind this theatre's named addresses, one per name.
    named: Mutex<HashMap<String, Arc<NamedLink>>>,
    /// Hints from earlier lookups: the theatre a name was found bound on.
    hints: Mutex<HashMap<String, Hint>>,
    /// Questions this theatre has asked others about names (`Lookup`, `Resolve`).
    questions: AtomicU64,
    /// What the runtime and the reader threads use to send and receive addresses.
    pub(crate) fabric: Arc<dyn Fabric>,
}

/// The most hints a theatre keeps; past it they are all dropped (and learnt again).
const MAX_HINTS: usize = 4096;

/// Where a lookup last found a name: a guess, asked of that theatre before use.
#[derive(Clone, Debug)]
struct Hint {
    theatre: u64,
    locator: String,
}

/// A directory entry: where a name is bound.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) theatre: u64,
    pub(crate) locator: String,
    pub(crate) actor: u64,
    pub(crate) tag: u64,
    pub(crate) type_name: String,
}

impl Entry {
    pub(crate) fn into_wire(self) -> (u64, String, u64, u64, String) {
        (
            self.theatre,
            self.locator,
            self.actor,
            self.tag,
            self.type_name,
        )
    }

    pub(crate) fn from_wire(
        (theatre, locator, actor, tag, type_name): (u64, String, u64, u64, String),
    ) -> Entry {
        Entry {
            theatre,
            locator,
            actor,
            tag,
            type_name,
        }
    }
}

/// Where a named actor runs.
pub(crate) enum Located {
    /// On this theatre.
    Here(Arc<dyn Inbound>),
    /// On a peer, under this number.
    There(Arc<Peer>, u64),
}

/// An actor started on demand, or none (not yet, or it has ended).
type Slot = Arc<Mutex<Option<Arc<dyn Inbound>>>>;

/// The theatre as the runtime sees it when addresses cross the wire.
struct NetFabric {
    id: u64,
    locator: String,
    home: Weak<Inner>,
}

impl Fabric for NetFabric {
    fn theatre(&self) -> u64 {
        self.id
    }

    fn is_open(&self) -> bool {
        self.home
            .upgrade()
            .is_some_and(|inner| !inner.closed.load(Ordering::SeqCst))
    }

    fn locator(&self) -> &str {
        &self.locator
    }

    fn stage(&self) -> Option<Stage> {
        self.home.upgrade().map(|inner| inner.stage.clone())
    }

    fn export(&self, inbound: Arc<dyn Inbound>) {
        if let Some(inner) = self.home.upgrade() {
            inner.export(inbound);
        }
    }

    fn exported(&self, actor: u64) -> Option<Arc<dyn Inbound>> {
        self.home.upgrade()?.exported(actor)
    }

    fn link(&self, theatre: u64, locator: &str) -> Result<Arc<dyn Link>, String> {
        let inner = self
            .home
            .upgrade()
            .ok_or_else(|| "this theatre has shut down".to_owned())?;
        inner
            .link(theatre, locator)
            .map(|peer| peer as Arc<dyn Link>)
            .map_err(|e| e.to_string())
    }

    fn named(&self, name: &str) -> Result<Arc<dyn Link>, String> {
        let inner = self
            .home
            .upgrade()
            .ok_or_else(|| "this theatre has shut down".to_owned())?;
        Ok(inner.named_link(name))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Inner {
    pub(crate) fn exported(&self, actor: u64) -> Option<Arc<dyn Inbound>> {
        lock(&self.exports).get(&actor).cloned()
    }

    /// Makes a local actor reachable by number from peers until it ends.
    fn export(self: &Arc<Self>, inbound: Arc<dyn Inbound>) {
        let actor = inbound.id().as_u64();
        {
            let mut exports = lock(&self.exports);
            if exports.contains_key(&actor) {
                return;
            }
            exports.insert(actor, Arc::clone(&inbound));
        }
        let home = Arc::downgrade(self);
        inbound.on_end(Box::new(move |_| {
            if let Some(inner) = home.upgrade() {
                lock(&inner.exports).remove(&actor);
            }
        }));
    }

    /// The peer with identity `theatre`, listening at `locator`. A theatre not met
    /// yet is met in the background (the caller may be a reader thread, which must
    /// not wait for a handshake); until then, sends to it fail fast with
    /// `Failed(Unreachable)`.
    fn link(self: &Arc<Self>, theatre: u64, locator: &str) -> Result<Arc<Peer>, NetError> {
        parse_locator(locator)?;
        if self.closed.load(Ordering::SeqCst) {
            return Err(NetError::Handshake(HandshakeError::Refused(
                "this theatre has shut down".into(),
            )));
        }
        let peer = {
            let mut peers = lock(&self.peers);
            if let Some(peer) = peers.get(&theatre) {
                return Ok(Arc::clone(peer));
            }
            let peer = Arc::new(Peer::new(theatre, locator.to_owned()));
            peers.insert(theatre, Arc::clone(&peer));
            peer
        };
        let inner = Arc::clone(self);
        let locator = locator.to_owned();
        std::thread::Builder::new()
            .name("stage-net-meet".into())
            .spawn(move || {
                if let Err(error) = inner.connect(&locator) {
                    log::warn!("stage-net: could not meet {locator}: {error}");
                }
            })?;
        Ok(peer)
    }

    /// The actor bound to `name` here, or started here on demand under it: number,
    /// type tag, type name.
    pub(crate) fn bound(&self, name: &str) -> Option<(u64, u64, String)> {
        let inbound = self.bound_here(name)?;
        Some((
            inbound.id().as_u64(),
            inbound.type_tag(),
            inbound.type_name().to_owned(),
        ))
    }

    /// The actor bound to `name` here, or started here on demand under it.
    fn bound_here(&self, name: &str) -> Option<Arc<dyn Inbound>> {
        if let Some(inbound) = lock(&self.names).get(name) {
            return Some(Arc::clone(inbound));
        }
        let slot = lock(&self.activated).get(name).cloned()?;
        let inbound = lock(&slot).clone();
        inbound
    }

    /// Where `located` is, as an `Activated` frame carries it: theatre, locator,
    /// actor number.
    pub(crate) fn whereabouts(&self, located: &Located) -> (u64, String, u64) {
        match located {
            Located::Here(inbound) => (self.id, self.locator.clone(), inbound.id().as_u64()),
            Located::There(peer, actor) => (peer.theatre, peer.locator.clone(), *actor),
        }
    }

    /// Where an `Activated` frame says the actor is, from this theatre.
    pub(crate) fn located(
        self: &Arc<Self>,
        (theatre, locator, actor): (u64, String, u64),
    ) -> Result<Located, SpeechError> {
        let wire = |why: String| SpeechError::Failed(Failure::Wire(why.into()));
        if theatre == self.id {
            return self
                .exported(actor)
                .map(Located::Here)
                .ok_or(SpeechError::Failed(Failure::Dead));
        }
        let peer = self
            .link(theatre, &locator)
            .map_err(|e| wire(e.to_string()))?;
        Ok(Located::There(peer, actor))
    }

    /// Whether a live connection to the theatre `theatre` is in place.
    fn reaches(&self, theatre: u64) -> bool {
        lock(&self.peers)
            .get(&theatre)
            .is_some_and(|peer| peer.live().is_some())
    }

    /// Files `entry` under `name` in this theatre's part of the directory.
    pub(crate) fn file(&self, name: String, entry: Entry) {
        lock(&self.directory).insert(name, entry);
    }

    /// Removes `name` from the directory, if `theatre` had filed it.
    pub(crate) fn unfile(&self, name: &str, theatre: u64) {
        let mut directory = lock(&self.directory);
        if directory.get(name).is_some_and(|e| e.theatre == theatre) {
            directory.remove(name);
        }
    }

    /// The directory's entry for `name`, if this theatre holds one.
    pub(crate) fn filed(&self, name: &str) -> Option<Entry> {
        lock(&self.directory).get(name).cloned()
    }

    /// Files a name bound here with the name's home.
    fn register(&self, name: &str, inbound: &dyn Inbound) {
        let entry = Entry {
            theatre: self.id,
            locator: self.locator.clone(),
            actor: inbound.id().as_u64(),
            tag: inbound.type_tag(),
            type_name: inbound.type_name().to_owned(),
        };
        match self.home_of(name) {
            None => self.file(name.to_owned(), entry),
            Some(peer) => {
                if let Some(conn) = peer.live() {
                    // Lost with the connection: the next change of members files it again.
                    let _ = conn.push(Frame::Register {
                        name: name.to_owned(),
                        actor: entry.actor,
                        tag: entry.tag,
                        type_name: entry.type_name,
                    });
                }
            }
        }
    }

    /// Takes a name unbound here out of the directory, and waits (at most
    /// `down_after`) until the home has, so that no lookup after `unbind` returns
    /// finds it.
    fn unregister(&self, name: &str) {
        let Some(home) = self.home_of(name) else {
            return self.unfile(name, self.id);
        };
        let Some(conn) = home.live() else { return };
        let (tx, rx) = mpsc::channel();
        let pending = Pending::Resolve(Box::new(move |_| {
            let _ = tx.send(());
        }));
        let asked = conn.call(pending, |call| Frame::Unregister {
            name: name.to_owned(),
            call,
        });
        if asked.is_ok() {
            let _ = rx.recv_timeout(self.down_after);
        }
    }

    /// The members changed: entries this theatre is no longer the home of go (their
    /// theatres file them with the new home), and this theatre's own names are
    /// filed with their homes again.
    fn members_changed(&self) {
        let filed: Vec<String> = lock(&self.directory).keys().cloned().collect();
        let moved: Vec<String> = filed
            .into_iter()
            .filter(|name| self.home_of(name).is_some())
            .collect();
        {
            let mut directory = lock(&self.directory);
            for name in &moved {
                directory.remove(name);
            }
        }
        let names: Vec<(String, Arc<dyn Inbound>)> = lock(&self.names)
            .iter()
            .map(|(name, inbound)| (name.clone(), Arc::clone(inbound)))
            .collect();
        for (name, inbound) in names {
            self.register(&name, &*inbound);
        }
    }

    /// A connection to `peer` has ended. If no other is in place, the names it
    /// filed here are gone (reported as not found, never as a dead address), and
    /// the directory is spread over the members that remain.
    pub(crate) fn peer_lost(&self, peer: &Peer) {
        if peer.live().is_some() || self.is_closed() {
            return;
        }
        lock(&self.directory).retain(|_, entry| entry.theatre != peer.theatre);
        lock(&self.hints).retain(|_, hint| hint.theatre != peer.theatre);
        self.members_changed();
    }

    /// The directory's entry for `name`, from the name's home (which may be this
    /// theatre). `None` when the home knows none or does not answer in time.
    fn resolve(&self, name: &str) -> Option<Entry> {
        let Some(home) = self.home_of(name) else {
            return self.filed(name);
        };
        let conn = home.live()?;
        self.questions.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel();
        let pending = Pending::Resolve(Box::new(move |entry| {
            let _ = tx.send(entry);
        }));
        conn.call(pending, |call| Frame::Resolve {
            name: name.to_owned(),
            call,
        })
        .ok()?;
        rx.recv_timeout(self.down_after).ok().flatten()
    }

    /// Asks `peers` for `name`; the first that has it bound (or started) answers.
    /// `None` when all say no, or none answers within `down_after`.
    fn ask_peers(
        &self,
        name: &str,
        peers: Vec<Arc<Peer>>,
    ) -> Option<(Arc<Peer>, (u64, u64, String))> {
        let (tx, rx) = mpsc::channel();
        for peer in peers {
            let Some(conn) = peer.live() else { continue };
            self.questions.fetch_add(1, Ordering::Relaxed);
            let answers = tx.clone();
            let pending = Pending::Lookup(Box::new(move |found| {
                let _ = answers.send(found.map(|found| (Arc::clone(&peer), found)));
            }));
            // A peer that cannot be asked answers "not here" through `pending`.
            let _ = conn.call(pending, |call| Frame::Lookup {
                name: name.to_owned(),
                call,
            });
        }
        drop(tx);
        let deadline = Instant::now() + self.down_after;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(Some(found)) => return Some(found),
                Ok(None) => continue,
                // Every peer answered "not here", or the time is up.
                Err(_) => return None,
            }
        }
    }

    /// Where `name` is bound, asked of the theatre a hint names: that theatre knows
    /// its own names, so the answer is never stale. `None` (and the hint is
    /// dropped) when there is no hint, that theatre cannot be reached or it has no
    /// such name any more.
    fn ask_hinted(&self, name: &str) -> Option<(Arc<Peer>, (u64, u64, String))> {
        let hint = lock(&self.hints).get(name).cloned()?;
        let peer = lock(&self.peers).get(&hint.theatre).cloned();
        let found = peer
            .filter(|peer| peer.live().is_some() && peer.locator == hint.locator)
            .and_then(|peer| self.ask_peers(name, vec![peer]));
        if found.is_none() {
            lock(&self.hints).remove(name);
        }
        found
    }

    /// Remembers that `name` was found bound on `peer`.
    fn hint(&self, name: &str, peer: &Peer) {
        let mut hints = lock(&self.hints);
        if hints.len() >= MAX_HINTS && !hints.contains_key(name) {
            hints.clear();
        }
        hints.insert(
            name.to_owned(),
            Hint {
                theatre: peer.theatre,
                locator: peer.locator.clone(),
            },
        );
    }

    /// The home of `name` among the live members: `None` when it is this theatre.
    pub(crate) fn home_of(&self, name: &str) -> Option<Arc<Peer>> {
        let score = |theatre: u64| named::hash(&[name.as_bytes(), &theatre.to_le_bytes()]);
        let best = self
            .live_peers()
            .into_iter()
            .max_by_key(|peer| (score(peer.theatre), peer.theatre))?;
        (score(best.theatre), best.theatre)
            .gt(&(score(self.id), self.id))
            .then_some(best)
    }

    /// Where the actor named `name` of the type tagged `tag` runs, this theatre
    /// being the name's home: here if it runs here; on a peer if one has it (it
    /// started there while the members saw another home); else started here now.
    /// Activations of one name at this home are serialised, so at most one starts.
    /// Blocks for a round of questions to the peers: never call it on a reader
    /// thread or an actor's turn.
    pub(crate) fn locate_or_start(
        self: &Arc<Self>,
        name: &str,
        tag: u64,
    ) -> Result<Located, SpeechError> {
        let refuse = |why: String| SpeechError::Failed(Failure::Wire(why.into()));
        let other_type = |found: &str| {
            refuse(format!(
                "`{name}` runs as a `{found}`, another type than the one asked for"
            ))
        };
        let slot = Arc::clone(lock(&self.activated).entry(name.to_owned()).or_default());
        let mut running = lock(&slot);
        if let Some(inbound) = running.as_ref() {
            return if inbound.type_tag() == tag {
                Ok(Located::Here(Arc::clone(inbound)))
            } else {
                Err(other_type(inbound.type_name()))
            };
        }
        if let Some((peer, (actor, found_tag, type_name))) = self.ask_peers(name, self.live_peers())
        {
            return if found_tag == tag {
                Ok(Located::There(peer, actor))
            } else {
                Err(other_type(&type_name))
            };
        }
        let factory = self.factories.get(&tag).ok_or_else(|| {
            refuse(format!(
                "theatre {} cannot start `{name}`: no factory for its actor type \
                 (register one with `TheatreBuilder::activates` on every theatre)",
                self.locator
            ))
        })?;
        let inbound = factory(&self.stage, name)
            .ok_or_else(|| refuse(format!("`{name}` could not be started")))?;
        *running = Some(Arc::clone(&inbound));
        drop(running);
        self.export(Arc::clone(&inbound));
        let ended = Arc::downgrade(&slot);
        inbound.on_end(Box::new(move |_| {
            if let Some(slot) = ended.upgrade() {
                *lock(&slot) = None;
            }
        }));
        Ok(Located::Here(inbound))
    }

    /// The link behind the named addresses of `name`.
    pub(crate) fn named_link(self: &Arc<Self>, name: &str) -> Arc<dyn Link> {
        let mut named = lock(&self.named);
        let link = named
            .entry(name.to_owned())
            .or_insert_with(|| NamedLink::new(name, Arc::downgrade(self)));
        Arc::clone(link) as Arc<dyn Link>
    }

    /// How long to keep trying to reconnect to a peer after its connection broke.
    pub(crate) fn rejoin_for(&self) -> Duration {
        self.rejoin_for
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Connects to `locator` unless a live connection to it is in place.
    pub(crate) fn connect_to(self: &Arc<Self>, locator: &str) -> Result<(), NetError> {
        let known = lock(&self.peers)
            .values()
            .any(|p| p.locator == locator && p.live().is_some());
        if !known {
            self.connect(locator)?;
        }
        Ok(())
    }

    fn identity(&self) -> Identity<'_> {
        Identity {
            theatre: self.id,
            locator: &self.locator,
            cookie: &self.cookie,
        }
    }

    fn members(&self) -> Vec<String> {
        lock(&self.peers)
            .values()
            .filter(|p| p.live().is_some())
            .map(|p| p.locator.clone())
            .collect()
    }

    fn live_peers(&self) -> Vec<Arc<Peer>> {
        lock(&self.peers)
            .values()
            .filter(|p| p.live().is_some())
            .cloned()
            .collect()
    }

    /// Takes a connection whose handshake succeeded; `welcome` is the accepting
    /// side's last handshake frame (`None` on the connecting side), sent before any
    /// other. Of two live connections to the same theatre, both ends keep the one
    /// opened by the theatre with the smaller identity, so that two theatres
    /// dialling each other at once agree.
    fn attach(
        self: &Arc<Self>,
        mut stream: Transport,
        welcome: Option<Frame>,
        theatre: u64,
        locator: String,
    ) -> Result<Arc<Peer>, NetError> {
        let initiated = welcome.is_none();
        if self.closed.load(Ordering::SeqCst) {
            return Err(NetError::Handshake(HandshakeError::Refused(
                "this theatre has shut down".into(),
            )));
        }
        let peer = Arc::clone(
            lock(&self.peers)
                .entry(theatre)
                .or_insert_with(|| Arc::new(Peer::new(theatre, locator))),
        );
        let mut current = peer.conn.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = current.as_ref().filter(|c| c.is_alive()) {
            let opened_by_smaller = |initiated: bool| initiated == (self.id < theatre);
            if opened_by_smaller(existing.initiated) || !opened_by_smaller(initiated) {
                // The peer drops this connection too once its handshake ends.
                if let Some(welcome) = welcome {
                    frame::write(&mut stream, &welcome).map_err(handshake::HandshakeError::from)?;
                }
                return Ok(Arc::clone(&peer));
            }
            existing.close("replaced by the connection both ends keep", &peer.locator);
        }
        let conn: Arc<Conn> = link::start(
            stream,
            welcome,
            Arc::clone(&peer),
            Arc::downgrade(self),
            self.frame_limit,
            self.down_after,
        )?;
        *current = Some(conn);
        drop(current);
        self.members_changed();
        Ok(Arc::clone(&peer))
    }

    /// Dials `locator`, shakes hands, and attaches the connection; then meets the
    /// members the peer told of.
    fn connect(self: &Arc<Self>, locator: &str) -> Result<Arc<Peer>, NetError> {
        let address = parse_locator(locator)?;
        let socket = connect_any(&address)?;
        socket.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
        socket.set_write_timeout(Some(HANDSHAKE_TIMEOUT))?;
        let mut stream = match &self.tls {
            Some(tls) => tls.connect(host_of(&address), socket)?,
            None => Transport::Plain(socket),
        };
        let met = handshake::connect(&mut stream, &self.identity())?;
        if met.theatre == self.id {
            return Err(NetError::Handshake(HandshakeError::Refused(
                "that locator is this theatre".into(),
            )));
        }
        let peer = self.attach(stream, None, met.theatre, met.locator)?;
        for member in met.members {
            let known = lock(&self.peers)
                .values()
                .any(|p| p.locator == member && p.live().is_some());
            if member != self.locator && !known {
                if let Err(error) = self.connect(&member) {
                    log::warn!("stage-net: could not meet member {member}: {error}");
                }
            }
        }
        Ok(peer)
    }

    fn accept(self: &Arc<Self>, socket: TcpStream) {
        let setup = socket
            .set_read_timeout(Some(HANDSHAKE_TIMEOUT))
            .and_then(|()| socket.set_write_timeout(Some(HANDSHAKE_TIMEOUT)));
        if let Err(error) = setup {
            log::warn!("stage-net: refused a connection: {error}");
            return;
        }
        let mut stream = match &self.tls {
            Some(tls) => match tls.accept(socket) {
                Ok(stream) => stream,
                Err(error) => {
                    log::warn!("stage-net: refused a connection: {error}");
                    return;
                }
            },
            None => Transport::Plain(socket),
        };
        match handshake::accept(&mut stream, &self.identity()) {
            Ok(met) => {
                let welcome = handshake::welcome(self.members());
                if let Err(error) = self.attach(stream, Some(welcome), met.theatre, met.locator) {
                    log::warn!("stage-net: could not take a connection: {error}");
                }
            }
            Err(error) => log::warn!("stage-net: refused a connection: {error}"),
        }
    }
}

fn connect_any(address: &str) -> Result<TcpStream, NetError> {
    let mut last = None;
    for socket in address.to_socket_addrs()? {
        match TcpStream::connect_timeout(&socket, HANDSHAKE_TIMEOUT) {
            Ok(stream) => return Ok(stream),
            Err(error) => last = Some(error),
        }
    }
    Err(last.map_or_else(|| NetError::BadLocator(address.to_owned()), NetError::Io))
}

/// The host part of `host:port` (an IPv6 address without its brackets).
fn host_of(address: &str) -> &str {
    let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// `stage://host:port` or `host:port` to `host:port`.
fn parse_locator(locator: &str) -> Result<String, NetError> {
    let address = locator.strip_prefix("stage://").unwrap_or(locator);
    match address.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
            Ok(address.to_owned())
        }
        _ => Err(NetError::BadLocator(locator.to_owned())),
    }
}

/// A theatre: a [`Stage`] whose actors other theatres can reach over TCP.
///
/// Start one with [`Theatre::builder`]. Cheap to clone; every clone is the same
/// theatre. Bind an actor to a universal name with [`Theatre::bind`]; another
/// theatre of the cluster finds it with [`Theatre::lookup`] and gets an
/// [`Addr`] used exactly like a local one.
///
/// # Examples
///
/// ```
/// use stage_net::Theatre;
/// use stage_runtime::prelude::*;
///
/// #[actor(mobile)]
/// struct Counter { n: u64 }
///
/// #[behaviour]
/// impl Counter {
///     #[on(add)]
///     fn add(&mut self, k: u64) { self.n += k; }
///     #[query]
///     fn total(&self) -> u64 { self.n }
/// }
///
/// let here = Theatre::builder().listen("127.0.0.1:0").cookie("s3cret").start()?;
/// let there = Theatre::builder()
///     .listen("127.0.0.1:0")
///     .cookie("s3cret")
///     .join([here.locator()])
///     .start()?;
///
/// here.bind("counter", &here.spawn(Counter { n: 0 }))?;
/// let counter = there.lookup::<Counter>("counter")?;
/// notify!(counter, add(2));
/// notify!(counter, add(3));
/// assert_eq!(query!(counter, total()).wait(), Ok(5));
/// # Ok::<(), stage_net::NetError>(())
/// ```
#[derive(Clone)]
pub struct Theatre {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Theatre {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Theatre")
            .field("locator", &self.inner.locator)
            .finish_non_exhaustive()
    }
}

/// Configures and starts a [`Theatre`].
#[must_use]
pub struct TheatreBuilder {
    listen: String,
    cookie: Option<Vec<u8>>,
    seeds: Vec<String>,
    frame_limit: u32,
    down_after: Duration,
    rejoin_for: Duration,
    tls: Option<TlsConfig>,
    stage: Option<Stage>,
    factories: HashMap<u64, Factory>,
}

impl std::fmt::Debug for TheatreBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TheatreBuilder")
            .field("listen", &self.listen)
            .field("seeds", &self.seeds)
            .field("frame_limit", &self.frame_limit)
            .field("down_after", &self.down_after)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl TheatreBuilder {
    /// Lets this theatre start actors of type `A` on demand: when it is the home of
    /// a name that a [`Theatre::named`] address speaks to, and no actor runs under
    /// that name, it spawns `make(name)`. Register the same types on every theatre
    /// of the cluster (any of them may be a name's home). `make` must not speak to
    /// the very name it is starting.
    pub fn activates<A: Actor>(mut self, make: impl Fn(&str) -> A + Send + Sync + 'static) -> Self {
        let factory: Factory =
            Arc::new(move |stage: &Stage, name: &str| remote::export(&stage.spawn(make(name))));
        self.factories.insert(remote::type_tag::<A>(), factory);
        self
    }

    /// Where to listen: `host:port` or `stage://host:port`; port 0 picks a free one.
    /// Default `127.0.0.1:0`.
    pub fn listen(mut self, address: impl Into<String>) -> Self {
        self.listen = address.into();
        self
    }

    /// The cluster cookie: the shared secret each theatre proves it holds. Required.
    pub fn cookie(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.cookie = Some(secret.as_ref().to_vec());
        self
    }

    /// Theatres to join at start: the theatre connects to each, and to every
    /// member they tell it of.
    pub fn join<S: Into<String>>(mut self, seeds: impl IntoIterator<Item = S>) -> Self {
        self.seeds.extend(seeds.into_iter().map(Into::into));
        self
    }

    /// The largest frame body accepted from a peer (default 4 MiB). A longer one
    /// closes that connection before anything is allocated for it.
    pub fn frame_limit(mut self, bytes: u32) -> Self {
        self.frame_limit = bytes;
        self
    }

    /// How long a peer may stay silent before it is declared down (default 2 s).
    /// Live connections send a ping every quarter of it when idle; when a peer is
    /// declared down every reply pending on it resolves to `Failed(Unreachable)`.
    pub fn down_after(mut self, after: Duration) -> Self {
        self.down_after = after.max(Duration::from_millis(40));
        self
    }

    /// How long to keep trying to reconnect to a peer whose connection broke
    /// (default 60 s; zero: never). Tries start 50 ms after the break and back off
    /// to one every 2 s. Messages sent while the peer is unreachable fail at once
    /// with `Failed(Unreachable)`: nothing is queued for after the rejoin.
    pub fn rejoin_for(mut self, window: Duration) -> Self {
        self.rejoin_for = window;
        self
    }

    /// Runs every connection over TLS with this identity and authority (default:
    /// plain TCP). Every theatre of the cluster must use TLS, with certificates the
    /// same authority signed; the certificate of each must name the host of its
    /// locator. The cookie handshake still runs, inside TLS.
    pub fn tls(mut self, config: TlsConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// The stage that runs this theatre's actors (default: a new one). A stage
    /// serves one theatre: addresses of its actors sent to peers are exported
    /// through it. `start` fails with [`NetError::StageTaken`] otherwise.
    pub fn stage(mut self, stage: Stage) -> Self {
        self.stage = Some(stage);
        self
    }

    /// Binds the listener, starts accepting, and joins the seeds.
    ///
    /// # Errors
    ///
    /// [`NetError::NoCookie`] without a cookie; [`NetError::StageTaken`] for a stage
    /// that serves another theatre; the listener's I/O error; when seeds were given
    /// and none of them could be joined, the last seed's error.
    pub fn start(self) -> Result<Theatre, NetError> {
        let cookie = self.cookie.ok_or(NetError::NoCookie)?;
        let address = parse_locator(&self.listen)?;
        let listener = TcpListener::bind(&address)?;
        let local = listener.local_addr()?;
        let mut id = [0u8; 8];
        getrandom::getrandom(&mut id).map_err(std::io::Error::other)?;
        let id = u64::from_le_bytes(id);
        let locator = format!("stage://{local}");
        let stage = self.stage.unwrap_or_default();
        let inner = Arc::new_cyclic(|home: &Weak<Inner>| Inner {
            id,
            locator: locator.clone(),
            cookie,
            frame_limit: self.frame_limit,
            down_after: self.down_after,
            rejoin_for: self.rejoin_for,
            tls: self.tls,
            stage: stage.clone(),
            exports: Mutex::new(HashMap::new()),
            names: Mutex::new(HashMap::new()),
            directory: Mutex::new(HashMap::new()),
            peers: Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
            handshakes: AtomicUsize::new(0),
            factories: self.factories,
            activated: Mutex::new(HashMap::new()),
            named: Mutex::new(HashMap::new()),
            hints: Mutex::new(HashMap::new()),
            questions: AtomicU64::new(0),
            fabric: Arc::new(NetFabric {
                id,
                locator,
                home: home.clone(),
            }),
        });
        if !remote::attach(&stage, Arc::clone(&inner.fabric)) {
            return Err(NetError::StageTaken);
        }
        let weak: Weak<Inner> = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name(format!("stage-net-accept-{local}"))
            .spawn(move || accept_loop(&listener, &weak))?;
        let theatre = Theatre { inner };
        let mut last_error = None;
        let mut joined = self.seeds.is_empty();
        for seed in &self.seeds {
            match theatre.inner.connect(seed) {
                Ok(_) => joined = true,
                Err(error) => {
                    log::warn!("stage-net: could not join {seed}: {error}");
                    last_error = Some(error);
                }
            }
        }
        match (joined, last_error) {
            (false, Some(error)) => {
                // Frees the port and the stage.
                theatre.shutdown();
                Err(error)
            }
            _ => Ok(theatre),
        }
    }
}

fn accept_loop(listener: &TcpListener, home: &Weak<Inner>) {
    for stream in listener.incoming() {
        let Some(inner) = home.upgrade() else { return };
        if inner.closed.load(Ordering::SeqCst) {
            return;
        }
        match stream {
            // Each handshake on a thread of its own: a slow or silent peer must not
            // hold up the others. Their number is capped.
            Ok(stream) => {
                if inner.handshakes.fetch_add(1, Ordering::SeqCst) >= MAX_HANDSHAKES {
                    inner.handshakes.fetch_sub(1, Ordering::SeqCst);
                    log::warn!(
                        "stage-net: refused a connection: {MAX_HANDSHAKES} handshakes are in progress"
                    );
                    continue;
                }
                let spawned = std::thread::Builder::new()
                    .name("stage-net-handshake".into())
                    .spawn({
                        let inner = Arc::clone(&inner);
                        move || {
                            inner.accept(stream);
                            inner.handshakes.fetch_sub(1, Ordering::SeqCst);
                        }
                    });
                if let Err(error) = spawned {
                    inner.handshakes.fetch_sub(1, Ordering::SeqCst);
                    log::warn!("stage-net: no thread for a handshake: {error}");
                }
            }
            Err(error) => log::warn!("stage-net: accept failed: {error}"),
        }
    }
}

impl Theatre {
    /// A builder with the defaults: listen on `127.0.0.1:0`, no seeds, 4 MiB
    /// frames, peers declared down after 2 s of silence. A cookie is required.
    pub fn builder() -> TheatreBuilder {
        TheatreBuilder {
            listen: "127.0.0.1:0".into(),
            cookie: None,
            seeds: Vec::new(),
            frame_limit: DEFAULT_FRAME_LIMIT,
            down_after: Duration::from_secs(2),
            rejoin_for: Duration::from_secs(60),
            tls: None,
            stage: None,
            factories: HashMap::new(),
        }
    }

    /// Where this theatre listens: `stage://host:port`.
    pub fn locator(&self) -> &str {
        &self.inner.locator
    }

    /// This theatre's identity (random, fresh at each start).
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The stage running this theatre's actors.
    pub fn stage(&self) -> &Stage {
        &self.inner.stage
    }

    /// Creates an actor on this theatre's stage.
    pub fn spawn<A: Actor>(&self, actor: A) -> Addr<A> {
        self.inner.stage.spawn(actor)
    }

    /// Connects to the theatre at `locator` (and the members it knows), if not
    /// connected already.
    ///
    /// # Errors
    ///
    /// A bad locator, the connection's error, or the handshake's.
    pub fn connect(&self, locator: &str) -> Result<(), NetError> {
        self.inner.connect_to(locator)
    }

    /// Breaks the connection to the theatre at `locator` as a failing network
    /// would (for tests of what follows: pending replies fail, both sides try to
    /// rejoin). `false` if there was no live connection to it.
    #[doc(hidden)]
    pub fn sever(&self, locator: &str) -> bool {
        let peer = lock(&self.inner.peers)
            .values()
            .find(|p| p.locator == locator)
            .cloned();
        match peer.and_then(|p| p.live()) {
            Some(conn) => {
                conn.sever();
                true
            }
            None => false,
        }
    }

    /// Closes the listener and every connection. Replies pending on other theatres
    /// resolve to `Failed(Unreachable)`; other theatres see this one go down. The
    /// stage and its actors carry on, reachable locally. Calling it again does
    /// nothing.
    pub fn shutdown(&self) {
        if self.inner.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        // Wakes the accepting thread, which sees `closed` and ends.
        if let Ok(address) = parse_locator(&self.inner.locator) {
            let _ = TcpStream::connect(address);
        }
        let peers: Vec<Arc<Peer>> = lock(&self.inner.peers).values().cloned().collect();
        for peer in peers {
            if let Some(conn) = peer.live() {
                conn.close("this theatre shut down", &peer.locator);
            }
        }
    }

    /// The locators of the theatres this one is connected to.
    pub fn peers(&self) -> Vec<String> {
        self.inner.members()
    }

    /// Binds `name` to the actor at `addr`, which must live on this theatre, and
    /// makes it reachable from the others (Stage's rendezvous, SALSA's universal
    /// names).
    ///
    /// # Errors
    ///
    /// [`NetError::NameTaken`] if `name` is bound here already;
    /// [`NetError::NotLocal`] for the address of an actor on another theatre.
    pub fn bind<A: Actor>(&self, name: &str, addr: &Addr<A>) -> Result<(), NetError> {
        let inbound = remote::export(addr).ok_or(NetError::NotLocal)?;
        let mut names = lock(&self.inner.names);
        if names.contains_key(name) {
            return Err(NetError::NameTaken(name.to_owned()));
        }
        self.inner.export(Arc::clone(&inbound));
        names.insert(name.to_owned(), Arc::clone(&inbound));
        drop(names);
        self.inner.register(name, &*inbound);
        Ok(())
    }

    /// An address of the actor by universal name `name`, started on demand: the
    /// first message to it starts the actor on the name's home theatre (chosen
    /// among the live members by rendezvous hashing) with the factory registered by
    /// [`TheatreBuilder::activates`], unless it runs there already. Messages sent
    /// before the home has answered wait, in order, and follow.
    ///
    /// If the home becomes unreachable, letters in flight fail with
    /// `Failed(Unreachable)` and the next one asks the name's home again, which
    /// may now be another theatre (where a fresh actor starts). One actor runs per
    /// name while the members agree on who they are; theatres that see different
    /// members (during a join or a failure) can pick different homes.
    ///
    /// Two named addresses of the same name are equal; a named address is not
    /// equal to one found by [`Theatre::lookup`]. It travels inside messages as
    /// its name.
    pub fn named<A: Actor>(&self, name: &str) -> Addr<A> {
        let link = self.inner.named_link(name);
        remote::remote::<A>(&self.inner.stage, link, named::hash(&[name.as_bytes()]))
    }

    /// Removes the binding of `name` on this theatre; `true` if there was one. Once
    /// it returns, the name's home no longer lists it (unless the home could not be
    /// reached within `down_after`).
    /// Addresses already looked up keep working while the actor lives.
    pub fn unbind(&self, name: &str) -> bool {
        let bound = lock(&self.inner.names).remove(name).is_some();
        if bound {
            self.inner.unregister(name);
        }
        bound
    }

    /// The actor bound to `name`, here or on a connected theatre, as an address of
    /// type `A`.
    ///
    /// # Errors
    ///
    /// [`NetError::WrongType`] when the name is bound to an actor of another type;
    /// [`NetError::NotFound`] when no theatre answers that it is bound there within
    /// the failure detector's time.
    pub fn lookup<A: Actor>(&self, name: &str) -> Result<Addr<A>, NetError> {
        if let Some(inbound) = self.inner.bound_here(name) {
            return remote::local_addr::<A>(&*inbound).ok_or_else(|| NetError::WrongType {
                name: name.to_owned(),
                expected: std::any::type_name::<A>(),
                found: inbound.type_name().to_owned(),
            });
        }
        let wrong_type = |found: String| NetError::WrongType {
            name: name.to_owned(),
            expected: std::any::type_name::<A>(),
            found,
        };
        let found = |peer: Arc<Peer>, (actor, tag, type_name): (u64, u64, String)| {
            if tag != remote::type_tag::<A>() {
                return Err(wrong_type(type_name));
            }
            self.inner.hint(name, &peer);
            Ok(remote::remote::<A>(&self.inner.stage, peer, actor))
        };
        // Where an earlier lookup found it, asked of that theatre itself.
        if let Some((peer, bound)) = self.inner.ask_hinted(name) {
            return found(peer, bound);
        }
        // The name's home: one question to one theatre.
        if let Some(entry) = self.inner.resolve(name) {
            // An entry of a theatre this one cannot reach is not trusted: a
            // departed member's entries may outlive it briefly at their home.
            if entry.theatre != self.inner.id && self.inner.reaches(entry.theatre) {
                let peer = self.inner.link(entry.theatre, &entry.locator)?;
                return found(peer, (entry.actor, entry.tag, entry.type_name));
            }
        }
        // Not filed (started on demand, or the members just changed): every member.
        match self.inner.ask_peers(name, self.inner.live_peers()) {
            Some((peer, bound)) => found(peer, bound),
            None => Err(NetError::NotFound(name.to_owned())),
        }
    }

    /// How many questions about names this theatre has asked others (for tests
    /// of the directory's hints).
    #[doc(hidden)]
    pub fn questions_asked(&self) -> u64 {
        self.inner.questions.load(Ordering::Relaxed)
    }
}
