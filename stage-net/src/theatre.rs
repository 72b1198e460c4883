//! The public face of a theatre: [`Theatre`] and its [`TheatreBuilder`]. Each call
//! is handed to the service that owns it (see [`node`](crate::node)).

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use stage_runtime::remote;
use stage_runtime::{Actor, ActorId, Addr, Movable, Reply, Stage};

use crate::activation::Factory;
use crate::balance::Balancer;
use crate::directory;
use crate::error::NetError;
use crate::locator;
use crate::membership::Settings;
use crate::node::Node;
use crate::peer::Peer;
#[cfg(feature = "tls")]
use crate::tls::TlsConfig;
use crate::wire::frame::{Bound, DEFAULT_FRAME_LIMIT, DEFAULT_WINDOW};

/// The shortest cluster cookie `start` takes without a warning.
const MIN_COOKIE: usize = 16;

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
    node: Arc<Node>,
}

impl std::fmt::Debug for Theatre {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Theatre")
            .field("locator", &self.node.members.locator())
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
    window: u64,
    down_after: Duration,
    rejoin_for: Duration,
    #[cfg(feature = "tls")]
    tls: Option<TlsConfig>,
    stage: Option<Stage>,
    factories: HashMap<u64, Factory>,
    balancer: Option<Balancer>,
}

impl std::fmt::Debug for TheatreBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TheatreBuilder")
            .field("listen", &self.listen)
            .field("seeds", &self.seeds)
            .field("frame_limit", &self.frame_limit)
            .field("window", &self.window)
            .field("down_after", &self.down_after)
            .field("tls", &self.tls_configured())
            .field("balancer", &self.balancer)
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
    ///
    /// Use at least 16 random bytes (`start` warns, through `log`, of a shorter
    /// one): [`cli::new_cookie_file`](crate::cli::new_cookie_file) writes a strong
    /// one. The handshake gives a stranger no proof to test guesses against offline,
    /// and slows an address whose proofs keep failing, but a short cookie is still
    /// a short password.
    pub fn cookie(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.cookie = Some(secret.as_ref().to_vec());
        self
    }

    /// Theatres to join at start: the theatre connects to each, and to every
    /// member they tell it of. A seed given by a DNS name is resolved to all
    /// its addresses, and each is joined (so a Kubernetes headless Service or a
    /// compose service name works as one seed for every member); an address
    /// that is this theatre itself is skipped. A theatre that later finds
    /// itself with no live peer resolves its seeds again while it rejoins (the
    /// members may have come back at new addresses).
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

    /// How many bytes of letters this theatre holds from one peer, delivered and
    /// not yet taken by their actors, before that peer must wait (default 16 MiB).
    /// A letter costs its encoded size plus 64 bytes. A peer whose window is
    /// full refuses further `notify!`, `query!` and `request!` at the sender with
    /// `Denied(Busy)`, as a full bounded mailbox does, until the actors here
    /// catch up: memory stays bounded on both sides of a flood, and nothing
    /// accepted is dropped. Each theatre announces its own window in the
    /// handshake. Answers, pings and the cluster's own traffic are not counted.
    ///
    /// ```
    /// let theatre = stage_net::Theatre::builder()
    ///     .cookie("s3cret-cookie-for-the-docs")
    ///     .window(1 << 20)
    ///     .start()?;
    /// # theatre.shutdown();
    /// # Ok::<(), stage_net::NetError>(())
    /// ```
    pub fn window(mut self, bytes: u64) -> Self {
        self.window = bytes;
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

    /// Whether TLS is configured (see [`TheatreBuilder::tls`]).
    #[cfg(feature = "tls")]
    fn tls_configured(&self) -> bool {
        self.tls.is_some()
    }

    /// Whether TLS is configured: never, in a build without it.
    #[cfg(not(feature = "tls"))]
    fn tls_configured(&self) -> bool {
        false
    }

    /// Runs every connection over TLS with this identity and authority (default:
    /// plain TCP). Behind the `tls` feature, on by default. Every theatre of the cluster must use TLS, with certificates the
    /// same authority signed; the certificate of each must name the host of its
    /// locator. The cookie handshake still runs, inside TLS.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: TlsConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// Balances load with the other theatres that do (default: none): every
    /// period the theatre measures its load, tells the others, and moves some
    /// of its actors declared `#[actor(mobile, balance)]` as `balancer`'s
    /// strategy decides (see [`balance`](crate::balance)). A theatre without a
    /// balancer moves none of its actors and receives none from balancers.
    ///
    /// ```
    /// use stage_net::{Balancer, Theatre};
    ///
    /// let theatre = Theatre::builder()
    ///     .cookie("s3cret-cookie-for-the-docs")
    ///     .balance(Balancer::by_traffic())
    ///     .start()?;
    /// # theatre.shutdown();
    /// # Ok::<(), stage_net::NetError>(())
    /// ```
    pub fn balance(mut self, balancer: Balancer) -> Self {
        self.balancer = Some(balancer);
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
    ///
    /// # Blocking
    ///
    /// It blocks the calling thread while it joins the seeds (a handshake with
    /// each, and for an unreachable one up to the operating system's connect
    /// timeout). From async code, await [`TheatreBuilder::start_async`].
    pub fn start(self) -> Result<Theatre, NetError> {
        let cookie = self.cookie.ok_or(NetError::NoCookie)?;
        if cookie.len() < MIN_COOKIE {
            log::warn!(
                "stage-net: the cluster cookie is {} bytes: use at least {MIN_COOKIE} random \
                 bytes (`stage_net::cli::new_cookie_file` writes one)",
                cookie.len()
            );
        }
        let address = locator::parse(&self.listen)?;
        let listener = TcpListener::bind(&address)?;
        let local = listener.local_addr()?;
        let mut id = [0u8; 8];
        getrandom::getrandom(&mut id).map_err(std::io::Error::other)?;
        let settings = Settings {
            id: u64::from_le_bytes(id),
            locator: format!("stage://{local}"),
            cookie,
            frame_limit: self.frame_limit,
            window: self.window,
            down_after: self.down_after,
            rejoin_for: self.rejoin_for,
            seeds: self.seeds,
            #[cfg(feature = "tls")]
            tls: self.tls,
        };
        let stage = self.stage.unwrap_or_default();
        let node = Node::start(settings, stage, self.factories, listener)?;
        let theatre = Theatre { node };
        if let Some(balancer) = self.balancer {
            if let Err(error) = theatre.node.balance.start(&theatre.node.members, balancer) {
                theatre.shutdown();
                return Err(error.into());
            }
        }
        if let Err(error) = theatre.node.members.join_seeds(log::Level::Warn) {
            // Frees the port and the stage.
            theatre.shutdown();
            return Err(error);
        }
        Ok(theatre)
    }
}

impl TheatreBuilder {
    /// [`TheatreBuilder::start`] for async code: the joining runs on a thread of
    /// a pool for blocking work (the `blocking` crate's), so the executor's
    /// thread is not held.
    ///
    /// ```
    /// # stage_runtime::block_on(async {
    /// let theatre = stage_net::Theatre::builder()
    ///     .cookie("s3cret-cookie-for-the-docs")
    ///     .start_async()
    ///     .await?;
    /// assert!(theatre.locator().starts_with("stage://"));
    /// # Ok::<(), stage_net::NetError>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// As [`TheatreBuilder::start`].
    pub async fn start_async(self) -> Result<Theatre, NetError> {
        blocking::unblock(move || self.start()).await
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
            window: DEFAULT_WINDOW,
            down_after: Duration::from_secs(2),
            rejoin_for: Duration::from_secs(60),
            #[cfg(feature = "tls")]
            tls: None,
            stage: None,
            factories: HashMap::new(),
            balancer: None,
        }
    }

    /// Where this theatre listens: `stage://host:port`.
    pub fn locator(&self) -> &str {
        self.node.members.locator()
    }

    /// What this theatre says of itself to an observer (the live console):
    /// its stage's counts, its actors by type, its busiest actors, its links.
    /// See [`observer`](crate::observer) for reading it from outside.
    ///
    /// ```
    /// let theatre = stage_net::Theatre::builder()
    ///     .cookie("s3cret-cookie-for-the-docs")
    ///     .start()?;
    /// let report = theatre.report();
    /// assert_eq!(report.theatre, theatre.id());
    /// assert!(report.links.is_empty());
    /// # theatre.shutdown();
    /// # Ok::<(), stage_net::NetError>(())
    /// ```
    pub fn report(&self) -> crate::observer::Report {
        crate::observer::report(&self.node.members)
    }

    /// This theatre's identity (random, fresh at each start).
    pub fn id(&self) -> u64 {
        self.node.members.id()
    }

    /// The stage running this theatre's actors.
    pub fn stage(&self) -> &Stage {
        &self.node.stage
    }

    /// Creates an actor on this theatre's stage.
    pub fn spawn<A: Actor>(&self, actor: A) -> Addr<A> {
        self.node.stage.spawn(actor)
    }

    /// Connects to the theatre at `locator` (and the members it knows), if not
    /// connected already.
    ///
    /// # Errors
    ///
    /// A bad locator, the connection's error, or the handshake's.
    pub fn connect(&self, locator: &str) -> Result<(), NetError> {
        self.node.members.connect_to(locator)
    }

    /// Breaks the connection to the theatre at `locator` as a failing network
    /// would (for tests of what follows: pending replies fail, both sides try to
    /// rejoin). `false` if there was no live connection to it.
    #[doc(hidden)]
    pub fn sever(&self, locator: &str) -> bool {
        let peer = self.node.members.peer_at(locator);
        match peer.and_then(|p| p.live()) {
            Some(conn) => {
                conn.sever();
                true
            }
            None => false,
        }
    }

    /// Leaves the cluster. First its mobile actors that peers can reach (every
    /// actor whose address has left the process, every bound one) move to the
    /// live members, in turn, cliques together, names following them; each
    /// member is told where each went and switches to the new place (waiting at
    /// most `down_after`, and at least a second, for all of that). Then it
    /// closes the listener, writes what is queued for each peer
    /// followed by a goodbye (waiting at most half a second for that), and closes
    /// every connection. The peers close their side without trying to rejoin and
    /// forget this theatre; replies pending on them resolve to
    /// `Failed(Unreachable)`. The stage and the actors that stayed carry on,
    /// reachable locally. Calling it again does nothing.
    pub fn shutdown(&self) {
        self.node.balance.stop();
        if !self.node.members.is_closed() {
            let within = self.node.members.down_after().max(Duration::from_secs(1));
            let started_on_demand = self.node.activation.started_here();
            self.node.migration.evacuate(within, &started_on_demand);
        }
        self.node.members.close();
        let waiting = crate::sync::lock(&self.node.closing).take();
        for closed in waiting.into_iter().flatten() {
            closed.send(());
        }
    }

    /// A reply answered once this theatre has left the cluster (by
    /// [`Theatre::shutdown`], called anywhere, or by the signal
    /// [`Theatre::leave_on_terminate`] waits for), at once if it has already.
    ///
    /// A listening theatre is not work that keeps a program running: under
    /// `#[stage_runtime::main]` the program ends when its body has and its stage
    /// is quiet. A server awaits this at the end of `main`, and serves until it
    /// is told to stop:
    ///
    /// ```no_run
    /// use stage_net::Theatre;
    ///
    /// #[stage_runtime::main]
    /// async fn main() -> Result<(), Box<dyn std::error::Error>> {
    ///     let theatre = Theatre::builder()
    ///         .listen("0.0.0.0:7070")
    ///         .cookie("s3cret-cookie-for-the-docs")
    ///         .start()?;
    ///     // Ctrl-C or SIGTERM: the mobile actors move to the other members,
    ///     // names following, then the process ends.
    ///     theatre.leave_on_terminate()?;
    ///     // ... spawn and bind the service's actors ...
    ///     theatre.closed().await?; // until then
    ///     Ok(())
    /// }
    /// ```
    ///
    /// `.wait()` on it blocks a plain thread the same way.
    pub fn closed(&self) -> Reply<()> {
        let (reply, closed) = Reply::pair();
        match crate::sync::lock(&self.node.closing).as_mut() {
            Some(waiting) => {
                // Waits given up (a reply dropped after a timeout, or by a
                // `select!`) go, so that asking in a loop keeps one each.
                waiting.retain(|sender| !sender.is_abandoned());
                waiting.push(closed);
            }
            None => closed.send(()),
        }
        reply
    }

    /// Leaves the cluster without disruption when the process is asked to stop
    /// (`SIGTERM` or `SIGINT`, as a service manager, Kubernetes or Ctrl-C
    /// sends): a thread waits for the signal, runs [`Theatre::shutdown`] (so the
    /// theatre's mobile actors move to the other members first, names
    /// following), then ends the process as the signal would have (its exit
    /// status says which signal). A second signal during the move ends the
    /// process at once. Call it once, after the theatre has started. Unix only:
    /// elsewhere it does nothing.
    ///
    /// ```no_run
    /// let theatre = stage_net::Theatre::builder().cookie("s3cret-cookie-for-the-docs").start()?;
    /// theatre.leave_on_terminate()?;
    /// # Ok::<(), stage_net::NetError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When the signal handlers or their thread cannot be installed.
    pub fn leave_on_terminate(&self) -> Result<(), NetError> {
        #[cfg(unix)]
        {
            use std::sync::atomic::{AtomicBool, Ordering};

            use signal_hook::consts::{SIGINT, SIGTERM};
            // Armed once the first signal is being handled: a second one then
            // ends the process as it would have without this theatre.
            let second = Arc::new(AtomicBool::new(false));
            for signal in [SIGTERM, SIGINT] {
                signal_hook::flag::register_conditional_default(signal, Arc::clone(&second))?;
            }
            let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT])?;
            let theatre = self.clone();
            std::thread::Builder::new()
                .name("stage-net-signals".into())
                .spawn(move || {
                    if let Some(signal) = signals.forever().next() {
                        log::info!(
                            "stage-net: signal {signal}: moving this theatre's actors away, then leaving"
                        );
                        second.store(true, Ordering::SeqCst);
                        theatre.shutdown();
                        let _ = signal_hook::low_level::emulate_default_handler(signal);
                        std::process::exit(128 + signal);
                    }
                })?;
        }
        Ok(())
    }

    /// The locators of the theatres this one is connected to.
    pub fn peers(&self) -> Vec<String> {
        self.node.members.members()
    }

    /// Binds `name` to the actor at `addr`, which must live on this theatre, and
    /// makes it reachable from the others (Stage's rendezvous, SALSA's universal
    /// names).
    ///
    /// # Errors
    ///
    /// [`NetError::NameTaken`] if `name` is bound here already;
    /// [`NetError::NotLocal`] for the address of an actor on another theatre.
    ///
    /// # Blocking
    ///
    /// It tells the name's home theatre and waits for its answer (at most the
    /// failure detector's time, `down_after`). From async code, await
    /// [`Theatre::bind_async`].
    pub fn bind<A: Actor>(&self, name: &str, addr: &Addr<A>) -> Result<(), NetError> {
        let inbound = remote::export(addr).ok_or(NetError::NotLocal)?;
        let exports = &self.node.exports;
        self.node
            .directory
            .bind(name, inbound, |inbound| exports.export(Arc::clone(inbound)))
    }

    /// [`Theatre::bind`] for async code: the wait runs on a thread of a pool for
    /// blocking work, so the executor's thread is not held.
    ///
    /// # Errors
    ///
    /// As [`Theatre::bind`].
    pub async fn bind_async<A: Actor>(&self, name: &str, addr: &Addr<A>) -> Result<(), NetError> {
        let (theatre, name, addr) = (self.clone(), name.to_owned(), addr.clone());
        blocking::unblock(move || theatre.bind(&name, &addr)).await
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
        let link = self.node.activation.named_link(name);
        let id = ActorId::named(directory::hash(&[name.as_bytes()]));
        remote::remote::<A>(&self.node.stage, link, id)
    }

    /// Removes the binding of `name` on this theatre; `true` if there was one. Once
    /// it returns, the name's home no longer lists it (unless the home could not be
    /// reached within `down_after`).
    /// Addresses already looked up keep working while the actor lives.
    ///
    /// # Blocking
    ///
    /// It waits for the home's answer (at most `down_after`). From async code,
    /// await [`Theatre::unbind_async`].
    pub fn unbind(&self, name: &str) -> bool {
        self.node.directory.unbind(name)
    }

    /// [`Theatre::unbind`] for async code: the wait runs on a thread of a pool
    /// for blocking work, so the executor's thread is not held.
    pub async fn unbind_async(&self, name: &str) -> bool {
        let (theatre, name) = (self.clone(), name.to_owned());
        blocking::unblock(move || theatre.unbind(&name)).await
    }

    /// The actor bound to `name`, here or on a connected theatre, as an address of
    /// type `A`.
    ///
    /// # Errors
    ///
    /// [`NetError::WrongType`] when the name is bound to an actor of another type;
    /// [`NetError::NotFound`] when no theatre answers that it is bound there within
    /// the failure detector's time.
    ///
    /// # Blocking
    ///
    /// A name not bound here is asked of the other theatres, and the calling
    /// thread waits for the answer: for a name bound nowhere, the whole failure
    /// detector's time (`down_after`, 2 s by default). From async code, await
    /// [`Theatre::lookup_async`].
    pub fn lookup<A: Actor>(&self, name: &str) -> Result<Addr<A>, NetError> {
        let node = &self.node;
        let here = node.directory.bound_here(name);
        if let Some(inbound) = here.or_else(|| node.activation.running(name)) {
            return remote::local_addr::<A>(&*inbound).ok_or_else(|| NetError::WrongType {
                name: name.to_owned(),
                expected: std::any::type_name::<A>(),
                found: inbound.type_name().to_owned(),
            });
        }
        let Some((peer, bound)) = node.directory.find(name)? else {
            return Err(NetError::NotFound(name.to_owned()));
        };
        self.remote_named(name, &peer, bound)
    }

    /// [`Theatre::lookup`] for async code: the question runs on a thread of a
    /// pool for blocking work, so the executor's thread is not held.
    ///
    /// ```
    /// use stage_net::{NetError, Theatre};
    /// use stage_runtime::prelude::*;
    ///
    /// #[actor]
    /// struct Clock;
    ///
    /// #[behaviour]
    /// impl Clock {
    ///     #[query]
    ///     fn now(&self) -> u64 { 12 }
    /// }
    ///
    /// # stage_runtime::block_on(async {
    /// let theatre = Theatre::builder().cookie("s3cret-cookie-for-the-docs").start_async().await?;
    /// theatre.bind_async("clock", &theatre.spawn(Clock)).await?;
    /// let clock = theatre.lookup_async::<Clock>("clock").await?;
    /// assert_eq!(query!(clock, now()).await, Ok(12));
    /// # theatre.shutdown();
    /// # Ok::<(), NetError>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Theatre::lookup`].
    pub async fn lookup_async<A: Actor>(&self, name: &str) -> Result<Addr<A>, NetError> {
        let (theatre, name) = (self.clone(), name.to_owned());
        blocking::unblock(move || theatre.lookup::<A>(&name)).await
    }

    /// The address of `bound`, found on `peer` under `name`, as an `A`.
    fn remote_named<A: Actor>(
        &self,
        name: &str,
        peer: &Arc<Peer>,
        (actor, tag, type_name): Bound,
    ) -> Result<Addr<A>, NetError> {
        if tag != remote::type_tag::<A>() {
            return Err(NetError::WrongType {
                name: name.to_owned(),
                expected: std::any::type_name::<A>(),
                found: type_name,
            });
        }
        self.node.directory.hint(name, peer);
        let actor = ActorId::from_wire(actor).ok_or_else(|| NetError::NotFound(name.to_owned()))?;
        let link = Arc::clone(peer) as Arc<dyn remote::Link>;
        Ok(remote::remote::<A>(&self.node.stage, link, actor))
    }

    /// Moves the actor at `addr`, which runs on this theatre, to the theatre at
    /// `locator` (Stage's `migrate_to`, asked from outside the actor).
    ///
    /// The move happens between two of the actor's turns: once its current
    /// handler has returned, it takes no further letter here, its state goes to
    /// the target, and every letter queued here or still on its way follows it
    /// there, in order; `#[arrived]` runs there first. Its friends
    /// ([`Ctx::befriend`](stage_runtime::Ctx::befriend)) go with it. Every
    /// address of it, here, elsewhere, inside messages or behind names, keeps
    /// working.
    ///
    /// The reply answers once the actor runs at the target. It fails with
    /// `Failed(Migration(..))` when the actor could not move (the target cannot be
    /// reached, or refuses it; the actor is on another theatre): the actor then
    /// carries on here, with its state and its letters. An actor that has just
    /// come back to this theatre, while letters sent to it the old way round
    /// are still on their way here, stays: `Failed(Migration(Busy))`, which
    /// passes within a round trip to the theatre it came from; ask again.
    ///
    /// # Examples
    ///
    /// ```
    /// use stage_runtime::prelude::*;
    /// use stage_net::Theatre;
    ///
    /// #[actor(mobile)]
    /// struct Counter { count: u32, moves: u32 }
    ///
    /// #[behaviour]
    /// impl Counter {
    ///     #[on(add)]
    ///     fn add(&mut self, n: u32) { self.count += n; }
    ///     #[arrived]
    ///     fn arrived(&mut self) { self.moves += 1; }
    ///     #[query]
    ///     fn seen(&self) -> (u32, u32) { (self.count, self.moves) }
    /// }
    ///
    /// let here = Theatre::builder().cookie("secret").start()?;
    /// let there = Theatre::builder().cookie("secret").join([here.locator()]).start()?;
    /// let counter = here.spawn(Counter { count: 0, moves: 0 });
    /// notify!(counter, add(2)).result()?;
    /// here.migrate(&counter, there.locator()).wait()?;
    /// notify!(counter, add(3)).result()?; // the same address: it follows the actor
    /// assert_eq!(query!(counter, seen()).wait()?, (5, 1));
    /// assert!(!counter.is_local());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn migrate<A: Movable>(&self, addr: &Addr<A>, locator: &str) -> Reply<()> {
        remote::migrate(addr, locator.to_owned())
    }

    /// How many questions about names this theatre has asked others (for tests
    /// of the directory's hints).
    #[doc(hidden)]
    pub fn questions_asked(&self) -> u64 {
        self.node.directory.questions_asked()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_given_up_on_closed_do_not_pile_up() {
        let theatre = Theatre::builder()
            .listen("127.0.0.1:0")
            .cookie("closed-waiters")
            .start()
            .unwrap();
        for _ in 0..1_000 {
            assert!(theatre
                .closed()
                .wait_timeout(Duration::from_micros(1))
                .is_err());
        }
        let kept = crate::sync::lock(&theatre.node.closing)
            .as_ref()
            .map_or(0, Vec::len);
        assert!(kept <= 1, "{kept} waiters kept for one live wait at most");
        let waiting = theatre.closed();
        theatre.shutdown();
        assert_eq!(waiting.wait_timeout(Duration::from_secs(30)), Ok(()));
    }
}
