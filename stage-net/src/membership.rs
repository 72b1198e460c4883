//! Membership: who is in the cluster and reachable. Joining through seeds, meeting
//! the members a peer tells of, accepting newcomers (each handshake on a thread of
//! its own, their number capped), keeping one connection per pair, rejoining a
//! peer whose connection broke, and announcing every change to the services that
//! listen ([`Listener`]): the directory re-spreads its names, for one.
//!
//! Failure detection is per connection (see [`conn`](crate::conn)): a peer silent
//! for `down_after` is closed, which membership hears as a departure.

use std::collections::HashMap;
use std::net::{IpAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::{Duration, Instant};

use stage_runtime::remote::Fabric;
use stage_runtime::Stage;

use crate::conn::{self, Ends, Setup, Sink};
use crate::deadline::{Deadline, Timed};
use crate::error::NetError;
use crate::handshake::{self, HandshakeError, Identity};
use crate::locator;
use crate::peer::Peer;
use crate::routes::Routes;
use crate::sync::{lock, read, write};
#[cfg(feature = "tls")]
use crate::tls::TlsConfig;
use crate::tls::Transport;
use crate::traffic::Traffic;
use crate::wire::frame::{self, Frame};

/// How long a handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a theatre that shuts down waits for its goodbyes to be written.
const GOODBYE_WITHIN: Duration = Duration::from_millis(500);

/// At most this many incoming handshakes run at once; a connection beyond them is
/// closed at once, so that a flood of connections cannot exhaust threads.
const MAX_HANDSHAKES: usize = 64;

/// At most this many of them from one address: strangers at one address cannot
/// take every slot and lock members out (it takes four addresses, each renewing
/// its connections within `HANDSHAKE_TIMEOUT`).
const MAX_HANDSHAKES_PER_ADDRESS: usize = MAX_HANDSHAKES / 4;

/// Failed proofs an address may make in a row before its handshakes are slowed.
const FREE_FAILURES: u32 = 3;

/// The longest an address whose proofs keep failing is refused for.
const MAX_PENALTY: Duration = Duration::from_secs(10);

/// How long an address's failures are remembered after its last one.
const PENALTY_MEMORY: Duration = Duration::from_secs(60);

/// The most addresses remembered for their failures; past it the stalest go.
const MAX_PENALISED: usize = 4096;

/// Addresses whose handshakes failed their proof (a wrong cookie: someone
/// guessing): after [`FREE_FAILURES`] in a row, each further failure refuses the
/// address's connections, unheard, for twice as long as the last (from 100 ms up
/// to [`MAX_PENALTY`]). Guessing a cookie online then takes years; a theatre
/// restarted with the right cookie is heard again at once after its first success.
#[derive(Default)]
struct Penalties {
    by_address: Mutex<HashMap<IpAddr, Penalty>>,
}

#[derive(Clone, Copy, Debug)]
struct Penalty {
    failures: u32,
    last: Instant,
    until: Instant,
}

impl Penalties {
    /// How long connections from `from` are still refused, if they are.
    fn refused_for(&self, from: IpAddr) -> Option<Duration> {
        let now = Instant::now();
        let by_address = lock(&self.by_address);
        let until = by_address.get(&from)?.until;
        (until > now).then(|| until - now)
    }

    /// `from` failed a proof.
    fn failed(&self, from: IpAddr) {
        let now = Instant::now();
        let mut by_address = lock(&self.by_address);
        if by_address.len() >= MAX_PENALISED && !by_address.contains_key(&from) {
            by_address.retain(|_, p| p.until > now || now - p.last < PENALTY_MEMORY);
            if by_address.len() >= MAX_PENALISED {
                let stalest = by_address
                    .iter()
                    .min_by_key(|(_, p)| p.last)
                    .map(|(a, _)| *a);
                if let Some(stalest) = stalest {
                    by_address.remove(&stalest);
                }
            }
        }
        let penalty = by_address.entry(from).or_insert(Penalty {
            failures: 0,
            last: now,
            until: now,
        });
        if now - penalty.last >= PENALTY_MEMORY {
            penalty.failures = 0;
        }
        penalty.failures += 1;
        penalty.last = now;
        if penalty.failures > FREE_FAILURES {
            let doublings = (penalty.failures - FREE_FAILURES - 1).min(16);
            let wait = (Duration::from_millis(100) * (1u32 << doublings)).min(MAX_PENALTY);
            penalty.until = now + wait;
        }
    }

    /// `from` passed a handshake: its failures are forgotten.
    fn passed(&self, from: IpAddr) {
        lock(&self.by_address).remove(&from);
    }
}

/// The slots of the incoming handshakes in progress, in all and by address.
#[derive(Default)]
struct Handshakes {
    slots: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

impl Handshakes {
    /// Takes a slot for a handshake with a peer at `from`.
    ///
    /// # Errors
    ///
    /// Why not: every slot, or every slot of that address, is taken.
    fn take(&self, from: Option<IpAddr>) -> Result<(), String> {
        let mut slots = lock(&self.slots);
        let (total, by_address) = &mut *slots;
        if *total >= MAX_HANDSHAKES {
            return Err(format!("{MAX_HANDSHAKES} handshakes are in progress"));
        }
        if let Some(from) = from {
            let taken = by_address.entry(from).or_insert(0);
            if *taken >= MAX_HANDSHAKES_PER_ADDRESS {
                return Err(format!(
                    "{MAX_HANDSHAKES_PER_ADDRESS} handshakes from {from} are in progress"
                ));
            }
            *taken += 1;
        }
        *total += 1;
        Ok(())
    }

    /// Gives back the slot [`Handshakes::take`] gave.
    fn give_back(&self, from: Option<IpAddr>) {
        let mut slots = lock(&self.slots);
        let (total, by_address) = &mut *slots;
        *total = total.saturating_sub(1);
        if let Some(from) = from {
            if let Some(taken) = by_address.get_mut(&from) {
                *taken -= 1;
                if *taken == 0 {
                    by_address.remove(&from);
                }
            }
        }
    }
}

/// What a theatre is and how it speaks, fixed at its start.
pub(crate) struct Settings {
    /// This theatre's identity (random, fresh at each start).
    pub(crate) id: u64,
    /// Where it listens: `stage://host:port`.
    pub(crate) locator: String,
    /// The cluster cookie.
    pub(crate) cookie: Vec<u8>,
    /// The largest frame body taken from a peer.
    pub(crate) frame_limit: u32,
    /// How many bytes of letters are held from one peer before it must wait.
    pub(crate) window: u64,
    /// How long a peer may stay silent before it is declared down.
    pub(crate) down_after: Duration,
    /// How long to keep dialling a peer whose connection broke.
    pub(crate) rejoin_for: Duration,
    /// The seeds as given (DNS names kept as names: each join resolves them
    /// again).
    pub(crate) seeds: Vec<String>,
    /// TLS under the handshake, if configured.
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<TlsConfig>,
}

/// A change of members, as listeners hear it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Change {
    /// A connection to this theatre came up.
    Joined(u64),
    /// The last connection to this theatre went, and none replaced it.
    Left(u64),
    /// A connection to this theatre ended, whether or not another replaced
    /// it: what was on its way over it is lost. (Announced before `Left`.)
    Ended(u64),
}

/// A service that hears of changes of members.
pub(crate) trait Listener: Send + Sync {
    /// The members changed. Called on the thread that saw the change, with no lock
    /// of membership held.
    fn changed(&self, change: Change);
}

/// Makes the sink (the router) for each new connection to a peer.
pub(crate) type SinkMaker = Box<dyn Fn(&Arc<Peer>) -> Box<dyn Sink> + Send + Sync>;

/// How connections are wired to the rest of the theatre, set once it is built.
pub(crate) struct Wiring {
    /// The theatre that addresses decoded from peers belong to.
    pub(crate) fabric: Arc<dyn Fabric>,
    /// Its stage.
    pub(crate) stage: Stage,
    /// A fresh sink (the router) for each connection to `peer`.
    pub(crate) sink: SinkMaker,
    /// Takes an observer whose handshake passed, with the welcome to send it
    /// (see `observer.rs`).
    pub(crate) observer: Box<dyn Fn(Transport, Frame) + Send + Sync>,
}

/// The members of the cluster this theatre knows, and how to reach them.
pub(crate) struct Membership {
    pub(crate) settings: Settings,
    peers: Mutex<HashMap<u64, Arc<Peer>>>,
    closed: AtomicBool,
    /// Incoming handshakes in progress.
    handshakes: Handshakes,
    /// Addresses refused for a while after failing proofs.
    penalties: Penalties,
    /// Observers being served (see `observer.rs`).
    pub(crate) observers: std::sync::atomic::AtomicUsize,
    wiring: OnceLock<Wiring>,
    listeners: RwLock<Vec<Weak<dyn Listener>>>,
    /// Where letters go for actors that moved (shared by the peers).
    pub(crate) routes: Arc<Routes>,
    /// The letters between balanceable actors here and each peer (counted only
    /// while the load balancer learns traffic).
    pub(crate) traffic: Arc<Traffic>,
    me: Weak<Membership>,
}

impl Membership {
    pub(crate) fn new(settings: Settings) -> Arc<Self> {
        Arc::new_cyclic(|me| Membership {
            settings,
            peers: Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
            handshakes: Handshakes::default(),
            penalties: Penalties::default(),
            observers: std::sync::atomic::AtomicUsize::new(0),
            wiring: OnceLock::new(),
            listeners: RwLock::new(Vec::new()),
            routes: Arc::default(),
            traffic: Arc::default(),
            me: me.clone(),
        })
    }

    /// Wires connections to the theatre: before any connection is made.
    pub(crate) fn wire(&self, wiring: Wiring) {
        let _ = self.wiring.set(wiring);
    }

    /// The theatre that addresses decoded here belong to, once wired.
    pub(crate) fn fabric(&self) -> Option<Arc<dyn Fabric>> {
        self.wiring.get().map(|wiring| Arc::clone(&wiring.fabric))
    }

    /// The theatre's stage, once wired.
    pub(crate) fn stage(&self) -> Option<Stage> {
        self.wiring.get().map(|wiring| wiring.stage.clone())
    }

    /// Adds a listener to changes of members.
    pub(crate) fn listen(&self, listener: Weak<dyn Listener>) {
        write(&self.listeners).push(listener);
    }

    fn announce(&self, change: Change) {
        let listeners: Vec<Arc<dyn Listener>> = read(&self.listeners)
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        for listener in listeners {
            listener.changed(change);
        }
    }

    /// This theatre's identity.
    pub(crate) fn id(&self) -> u64 {
        self.settings.id
    }

    /// Where this theatre listens.
    pub(crate) fn locator(&self) -> &str {
        &self.settings.locator
    }

    /// How long a peer may stay silent (and how long a question waits for it).
    pub(crate) fn down_after(&self) -> Duration {
        self.settings.down_after
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    fn refuse_if_closed(&self) -> Result<(), NetError> {
        if self.is_closed() {
            return Err(NetError::Handshake(HandshakeError::Refused(
                "this theatre has shut down".into(),
            )));
        }
        Ok(())
    }

    /// The locators of the peers with a live connection.
    pub(crate) fn members(&self) -> Vec<String> {
        lock(&self.peers)
            .values()
            .filter(|p| p.live().is_some())
            .map(|p| p.locator.clone())
            .collect()
    }

    /// The peers with a live connection.
    pub(crate) fn live_peers(&self) -> Vec<Arc<Peer>> {
        lock(&self.peers)
            .values()
            .filter(|p| p.live().is_some())
            .cloned()
            .collect()
    }

    /// The peer `theatre`, known or not yet met, live or not.
    pub(crate) fn peer(&self, theatre: u64) -> Option<Arc<Peer>> {
        lock(&self.peers).get(&theatre).cloned()
    }

    /// The peer listening at `locator`.
    pub(crate) fn peer_at(&self, locator: &str) -> Option<Arc<Peer>> {
        lock(&self.peers)
            .values()
            .find(|p| p.locator == locator)
            .cloned()
    }

    /// Whether a live connection to the theatre `theatre` is in place.
    pub(crate) fn reaches(&self, theatre: u64) -> bool {
        self.peer(theatre).is_some_and(|peer| peer.live().is_some())
    }

    /// The peer with identity `theatre`, listening at `locator`. A theatre not met
    /// yet is met in the background (the caller may be a reader thread, which must
    /// not wait for a handshake); until then, sends to it fail fast with
    /// `Failed(Unreachable)`.
    pub(crate) fn link(&self, theatre: u64, locator: &str) -> Result<Arc<Peer>, NetError> {
        locator::parse(locator)?;
        self.refuse_if_closed()?;
        let peer = {
            let mut peers = lock(&self.peers);
            if let Some(peer) = peers.get(&theatre) {
                return Ok(Arc::clone(peer));
            }
            let peer = Arc::new(Peer::new(
                theatre,
                locator.to_owned(),
                Arc::clone(&self.routes),
                Arc::clone(&self.traffic),
            ));
            peers.insert(theatre, Arc::clone(&peer));
            peer
        };
        let me = self.me.clone();
        let locator = locator.to_owned();
        std::thread::Builder::new()
            .name("stage-net-meet".into())
            .spawn(move || {
                let Some(members) = me.upgrade() else { return };
                if let Err(error) = members.connect(&locator) {
                    log::warn!("stage-net: could not meet {locator}: {error}");
                }
            })?;
        Ok(peer)
    }

    /// Connects to `locator` unless a live connection to it is in place.
    pub(crate) fn connect_to(&self, locator: &str) -> Result<(), NetError> {
        let known = self
            .peer_at(locator)
            .is_some_and(|peer| peer.live().is_some());
        if !known {
            self.connect(locator)?;
        }
        Ok(())
    }

    fn identity(&self) -> Identity<'_> {
        Identity {
            theatre: self.settings.id,
            locator: &self.settings.locator,
            cookie: &self.settings.cookie,
            window: self.settings.window,
            frame_limit: self.settings.frame_limit,
            observer: false,
        }
    }

    /// Dials `locator`, shakes hands, and attaches the connection; then meets the
    /// members the peer told of.
    pub(crate) fn connect(&self, locator: &str) -> Result<Arc<Peer>, NetError> {
        self.connect_at(locator, None)?
            .ok_or(NetError::Handshake(HandshakeError::Myself))
    }

    /// Joins through the seeds: each resolved to all its addresses (a DNS name
    /// with several records gives several theatres), each address dialled. A
    /// seed address that is this theatre itself (a Service that lists every
    /// member, this one too) is skipped, and so is one where a live peer
    /// listens already. `Ok` if there were no seeds, or one address was joined
    /// (or was this theatre); else the last error. Each failure is logged at
    /// `level` (a start warns; a rejoin, which tries again and again, does not).
    pub(crate) fn join_seeds(&self, level: log::Level) -> Result<(), NetError> {
        let mut last_error = None;
        let mut joined = self.settings.seeds.is_empty();
        for seed in &self.settings.seeds {
            let addresses = locator::parse(seed).and_then(|a| locator::resolve_all(&a));
            let addresses = match addresses {
                Ok(addresses) => addresses,
                Err(error) => {
                    log::log!(
                        level,
                        "stage-net: could not resolve the seed {seed}: {error}"
                    );
                    last_error = Some(error);
                    continue;
                }
            };
            for address in addresses {
                // Met already (through a member named in an earlier welcome).
                let met = self.peer_at(&format!("stage://{address}"));
                if met.is_some_and(|peer| peer.live().is_some()) {
                    joined = true;
                    continue;
                }
                match self.connect_at(seed, Some(address)) {
                    Ok(_) => joined = true,
                    Err(error) => {
                        log::log!(
                            level,
                            "stage-net: could not join {seed} at {address}: {error}"
                        );
                        last_error = Some(error);
                    }
                }
            }
        }
        match (joined, last_error) {
            (false, Some(error)) => Err(error),
            _ => Ok(()),
        }
    }

    /// Dials `locator` (at `at`, one of its addresses, when given: TLS still
    /// checks the certificate against the locator's host), shakes hands, and
    /// attaches the connection; then meets the members the peer told of.
    /// `None` when the theatre there is this one.
    fn connect_at(
        &self,
        locator: &str,
        at: Option<std::net::SocketAddr>,
    ) -> Result<Option<Arc<Peer>>, NetError> {
        let address = locator::parse(locator)?;
        let socket = match at {
            Some(at) => locator::dial_at(at, HANDSHAKE_TIMEOUT)?,
            None => locator::dial(&address, HANDSHAKE_TIMEOUT)?,
        };
        let deadline = Deadline::after(HANDSHAKE_TIMEOUT);
        #[cfg(feature = "tls")]
        let mut stream = match &self.settings.tls {
            Some(tls) => tls.connect(locator::host_of(&address), socket, deadline)?,
            None => Transport::Plain(socket),
        };
        #[cfg(not(feature = "tls"))]
        let mut stream = Transport::Plain(socket);
        let socket = stream.socket().try_clone()?;
        let met = match handshake::connect(
            &mut Timed::new(&mut stream, socket, deadline),
            &self.identity(),
        ) {
            Ok(met) if met.theatre != self.settings.id => met,
            Ok(_) | Err(HandshakeError::Myself) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let peer = self.attach(stream, None, &met)?;
        for member in met.members {
            let known = self
                .peer_at(&member)
                .is_some_and(|peer| peer.live().is_some());
            if member != self.settings.locator && !known {
                if let Err(error) = self.connect(&member) {
                    log::warn!("stage-net: could not meet member {member}: {error}");
                }
            }
        }
        Ok(Some(peer))
    }

    /// Takes a connection whose handshake succeeded; `welcome` is the accepting
    /// side's last handshake frame (`None` on the connecting side), sent before any
    /// other. Of two live connections to the same theatre, both ends keep the one
    /// opened by the theatre with the smaller identity, so that two theatres
    /// dialling each other at once agree.
    fn attach(
        &self,
        mut stream: Transport,
        welcome: Option<Frame>,
        met: &handshake::Peer,
    ) -> Result<Arc<Peer>, NetError> {
        let (theatre, locator) = (met.theatre, met.locator.clone());
        let initiated = welcome.is_none();
        self.refuse_if_closed()?;
        let Some(wiring) = self.wiring.get() else {
            return Err(NetError::Handshake(HandshakeError::Refused(
                "this theatre is still starting".into(),
            )));
        };
        let peer = Arc::clone(lock(&self.peers).entry(theatre).or_insert_with(|| {
            Arc::new(Peer::new(
                theatre,
                locator,
                Arc::clone(&self.routes),
                Arc::clone(&self.traffic),
            ))
        }));
        let mut current = write(&peer.conn);
        if let Some(existing) = current.as_ref().filter(|c| c.is_alive()) {
            let opened_by_smaller = |initiated: bool| initiated == (self.settings.id < theatre);
            if opened_by_smaller(existing.initiated) || !opened_by_smaller(initiated) {
                // The peer drops this connection too once its handshake ends.
                if let Some(welcome) = welcome {
                    frame::write(&mut stream, &welcome).map_err(HandshakeError::from)?;
                }
                return Ok(Arc::clone(&peer));
            }
            existing.close("replaced by the connection both ends keep");
        }
        let setup = Setup {
            peer: peer.locator.clone(),
            welcome,
            frame_limit: self.settings.frame_limit,
            window: self.settings.window,
            peer_window: met.window,
            peer_frame_limit: met.frame_limit,
            down_after: self.settings.down_after,
            fabric: Arc::clone(&wiring.fabric),
            stage: wiring.stage.clone(),
        };
        let ends = Arc::new(PeerEnds {
            members: self.me.clone(),
            peer: Arc::clone(&peer),
            dial: initiated,
        });
        let conn = conn::start(stream, setup, (wiring.sink)(&peer), ends)?;
        *current = Some(conn);
        drop(current);
        self.announce(Change::Joined(theatre));
        Ok(Arc::clone(&peer))
    }

    /// Shakes hands with a connection that came in, and attaches it. The whole
    /// handshake (TLS included) has `HANDSHAKE_TIMEOUT`, however the peer paces
    /// its bytes.
    fn accept(&self, socket: TcpStream) {
        let deadline = Deadline::after(HANDSHAKE_TIMEOUT);
        #[cfg(feature = "tls")]
        let mut stream = match &self.settings.tls {
            Some(tls) => match tls.accept(socket, deadline) {
                Ok(stream) => stream,
                Err(error) => {
                    crate::observe::handshake_refused("tls");
                    log::warn!("stage-net: refused a connection: {error}");
                    return;
                }
            },
            None => Transport::Plain(socket),
        };
        #[cfg(not(feature = "tls"))]
        let mut stream = Transport::Plain(socket);
        let socket = match stream.socket().try_clone() {
            Ok(socket) => socket,
            Err(error) => return log::warn!("stage-net: refused a connection: {error}"),
        };
        let from = stream.socket().peer_addr().map(|address| address.ip()).ok();
        let shaken = handshake::accept(
            &mut Timed::new(&mut stream, socket, deadline),
            &self.identity(),
        );
        match (&shaken, from) {
            (Ok(_), Some(from)) => self.penalties.passed(from),
            (Err(HandshakeError::BadProof), Some(from)) => self.penalties.failed(from),
            _ => {}
        }
        match shaken {
            Ok(accepted) if accepted.peer.observer => {
                let welcome = accepted.welcome(self.members());
                if let Some(wiring) = self.wiring.get() {
                    (wiring.observer)(stream, welcome);
                }
            }
            Ok(accepted) => {
                let welcome = accepted.welcome(self.members());
                let met = accepted.peer;
                if let Err(error) = self.attach(stream, Some(welcome), &met) {
                    log::warn!("stage-net: could not take a connection: {error}");
                }
            }
            Err(HandshakeError::Myself) => {
                log::debug!("stage-net: this theatre dialled itself (a seed that leads back here)");
            }
            Err(error) => {
                crate::observe::handshake_refused("handshake");
                log::warn!("stage-net: refused a connection: {error}");
            }
        }
    }

    /// A connection to `peer` has ended: unless another is in place, the peer has
    /// left.
    fn peer_lost(&self, peer: &Peer) {
        if peer.live().is_some() || self.is_closed() {
            return;
        }
        self.announce(Change::Left(peer.theatre));
    }

    /// Stops taking connections and closes every one. Idempotent: `true` for the
    /// call that closed.
    pub(crate) fn close(&self) -> bool {
        if self.closed.swap(true, Ordering::SeqCst) {
            return false;
        }
        // Wakes the accepting thread, which sees `closed` and ends.
        if let Ok(address) = locator::parse(&self.settings.locator) {
            let _ = TcpStream::connect(address);
        }
        // Every peer is told goodbye (after the letters queued for it), so that none
        // tries to rejoin a theatre that has gone for good.
        let peers: Vec<Arc<Peer>> = lock(&self.peers).drain().map(|(_, p)| p).collect();
        let deadline = Instant::now() + GOODBYE_WITHIN;
        for peer in &peers {
            if let Some(conn) = peer.live() {
                conn.leave(deadline.saturating_duration_since(Instant::now()));
                conn.close("this theatre shut down");
            }
            peer.release_closed();
        }
        true
    }

    /// Lets go of a peer whose connection has ended: its socket always; its place
    /// in the table when it said goodbye or `for_good` (rejoining it gave up). A
    /// peer kept in the table is the one a new connection from it attaches to, so
    /// that the addresses already held through it work again.
    fn forget(&self, peer: &Arc<Peer>, for_good: bool) {
        peer.release_closed();
        if peer.live().is_some() || !(for_good || peer.has_left()) {
            return;
        }
        let mut peers = lock(&self.peers);
        if peers
            .get(&peer.theatre)
            .is_some_and(|known| Arc::ptr_eq(known, peer))
        {
            peers.remove(&peer.theatre);
        }
    }
}

/// What a connection to one peer tells membership of its end.
struct PeerEnds {
    members: Weak<Membership>,
    peer: Arc<Peer>,
    /// This theatre opened the connection, so it is the one to dial again.
    dial: bool,
}

impl Ends for PeerEnds {
    fn broke(&self) {
        if !self.peer.has_left() {
            rejoin(&self.members, &self.peer, self.dial);
        }
    }

    fn ended(&self) {
        if let Some(members) = self.members.upgrade() {
            members.announce(Change::Ended(self.peer.theatre));
            members.peer_lost(&self.peer);
            members.forget(&self.peer, false);
        }
    }
}

/// Accepts connections until the theatre closes; each handshake runs on a thread
/// of its own, so that a slow or silent peer does not hold up the others.
pub(crate) fn accept_loop(listener: &TcpListener, members: &Weak<Membership>) {
    for stream in listener.incoming() {
        let Some(members) = members.upgrade() else {
            return;
        };
        if members.is_closed() {
            return;
        }
        match stream {
            Ok(stream) => {
                let from = stream.peer_addr().map(|address| address.ip()).ok();
                if let Some(left) = from.and_then(|from| members.penalties.refused_for(from)) {
                    crate::observe::handshake_refused("penalised");
                    log::warn!(
                        "stage-net: refused a connection from {from:?} for {left:?} more: \
                         its proofs of the cookie failed"
                    );
                    continue;
                }
                if let Err(why) = members.handshakes.take(from) {
                    crate::observe::handshake_refused("slots");
                    log::warn!("stage-net: refused a connection: {why}");
                    continue;
                }
                let spawned = std::thread::Builder::new()
                    .name("stage-net-handshake".into())
                    .spawn({
                        let members = Arc::clone(&members);
                        move || {
                            members.accept(stream);
                            members.handshakes.give_back(from);
                        }
                    });
                if let Err(error) = spawned {
                    members.handshakes.give_back(from);
                    log::warn!("stage-net: no thread for a handshake: {error}");
                }
            }
            Err(error) => log::warn!("stage-net: accept failed: {error}"),
        }
    }
}

/// After a connection broke: for the theatre's `rejoin_for`, until a connection is
/// in place again or this theatre shuts down, either dials the peer (with
/// backoff) or, with `dial` false, waits for the peer to dial. Only the side that
/// opened the broken connection dials: it knows it can reach the other, and two
/// sides dialling at once would make two connections, of which the tie-break
/// closes one with whatever was already in flight on it.
fn rejoin(members: &Weak<Membership>, peer: &Arc<Peer>, dial: bool) {
    let members = members.clone();
    let lost = Arc::clone(peer);
    let spawned = std::thread::Builder::new()
        .name("stage-net-rejoin".into())
        .spawn(move || {
            let Some(window) = members.upgrade().map(|m| m.settings.rejoin_for) else {
                return;
            };
            let deadline = Instant::now() + window;
            let mut wait = Duration::from_millis(50);
            while Instant::now() < deadline {
                std::thread::sleep(wait);
                let Some(members) = members.upgrade() else {
                    return;
                };
                if members.is_closed() || lost.live().is_some() {
                    return;
                }
                if dial {
                    match members.connect_to(&lost.locator) {
                        Ok(()) => {
                            log::info!("stage-net: rejoined {}", lost.locator);
                            return;
                        }
                        Err(error) => {
                            log::debug!("stage-net: rejoining {}: {error}", lost.locator);
                        }
                    }
                }
                // Alone: the seeds are resolved again, in case the members came
                // back at new addresses (a rescheduled pod).
                if members.live_peers().is_empty() && !members.settings.seeds.is_empty() {
                    if let Err(error) = members.join_seeds(log::Level::Debug) {
                        log::debug!("stage-net: rejoining through the seeds: {error}");
                    }
                }
                wait = (wait * 2).min(Duration::from_secs(2));
            }
            log::warn!("stage-net: gave up rejoining {}", lost.locator);
            if let Some(members) = members.upgrade() {
                members.forget(&lost, true);
            }
        });
    if let Err(error) = spawned {
        log::warn!("stage-net: no thread to rejoin {}: {error}", peer.locator);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    fn settings() -> Settings {
        Settings {
            id: 1,
            locator: "stage://127.0.0.1:1".into(),
            cookie: b"k".to_vec(),
            frame_limit: 1 << 20,
            window: 1 << 20,
            down_after: Duration::from_secs(2),
            rejoin_for: Duration::ZERO,
            seeds: Vec::new(),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    #[derive(Default)]
    struct Heard(Mutex<Vec<String>>);

    impl Listener for Heard {
        fn changed(&self, change: Change) {
            self.0.lock().unwrap().push(format!("{change:?}"));
        }
    }

    #[test]
    fn a_peer_lost_with_no_connection_left_is_announced_as_gone() {
        let members = Membership::new(settings());
        let heard = Arc::new(Heard::default());
        members.listen(Arc::downgrade(&heard) as Weak<dyn Listener>);
        let peer = Peer::new(
            7,
            "stage://127.0.0.1:2".into(),
            Arc::default(),
            Arc::default(),
        );
        members.peer_lost(&peer);
        assert_eq!(*heard.0.lock().unwrap(), vec!["Left(7)".to_owned()]);
    }

    #[test]
    fn a_closed_theatre_announces_nothing_and_links_to_none() {
        let members = Membership::new(settings());
        let heard = Arc::new(Heard::default());
        members.listen(Arc::downgrade(&heard) as Weak<dyn Listener>);
        assert!(members.close());
        assert!(!members.close(), "closing twice closes once");
        members.peer_lost(&Peer::new(
            7,
            "stage://127.0.0.1:2".into(),
            Arc::default(),
            Arc::default(),
        ));
        assert!(heard.0.lock().unwrap().is_empty());
        assert!(members.link(7, "stage://127.0.0.1:2").is_err());
    }

    #[test]
    fn a_listener_that_is_gone_is_skipped_and_the_others_still_hear() {
        let members = Membership::new(settings());
        let gone = Arc::new(Heard::default());
        let staying = Arc::new(Heard::default());
        members.listen(Arc::downgrade(&gone) as Weak<dyn Listener>);
        members.listen(Arc::downgrade(&staying) as Weak<dyn Listener>);
        drop(gone);
        members.peer_lost(&Peer::new(
            7,
            "stage://127.0.0.1:2".into(),
            Arc::default(),
            Arc::default(),
        ));
        assert_eq!(*staying.0.lock().unwrap(), vec!["Left(7)".to_owned()]);
    }

    #[test]
    fn one_address_takes_at_most_a_quarter_of_the_handshake_slots() {
        let slots = Handshakes::default();
        let stranger: IpAddr = "127.0.0.2".parse().unwrap();
        let member: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..MAX_HANDSHAKES_PER_ADDRESS {
            slots.take(Some(stranger)).unwrap();
        }
        assert!(slots.take(Some(stranger)).is_err());
        assert!(
            slots.take(Some(member)).is_ok(),
            "another address still gets one"
        );
        slots.give_back(Some(stranger));
        assert!(
            slots.take(Some(stranger)).is_ok(),
            "a slot given back is taken again"
        );
        // The total cap holds across addresses.
        let mut taken = MAX_HANDSHAKES_PER_ADDRESS + 1;
        for i in 0u8.. {
            if taken == MAX_HANDSHAKES {
                break;
            }
            if slots.take(Some(IpAddr::from([10, 0, 0, i]))).is_ok() {
                taken += 1;
            }
        }
        assert!(slots.take(Some(IpAddr::from([10, 9, 9, 9]))).is_err());
    }

    #[test]
    fn failed_proofs_from_one_address_refuse_it_for_longer_and_longer() {
        let penalties = Penalties::default();
        let guesser: IpAddr = "127.0.0.2".parse().unwrap();
        for _ in 0..FREE_FAILURES {
            penalties.failed(guesser);
            assert_eq!(
                penalties.refused_for(guesser),
                None,
                "a few failures are free"
            );
        }
        penalties.failed(guesser);
        let first = penalties.refused_for(guesser).expect("refused after that");
        assert!(first <= Duration::from_millis(100), "{first:?}");
        for _ in 0..20 {
            penalties.failed(guesser);
        }
        let long = penalties.refused_for(guesser).expect("refused for longer");
        assert!(
            long > Duration::from_secs(5) && long <= MAX_PENALTY,
            "{long:?}"
        );
        let other: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(
            penalties.refused_for(other),
            None,
            "other addresses are heard"
        );
        penalties.passed(guesser);
        assert_eq!(penalties.refused_for(guesser), None, "a success forgives");
    }
}
