//! Watching a cluster from outside: what a theatre reports of itself
//! ([`Report`]), and the [`Observer`] that asks for it (what the live console,
//! `stage-console`, is built on).
//!
//! An observer proves the cluster cookie exactly as a member does, then says
//! in its hello that it only observes: the theatre answers its questions and
//! does not take it as a member (it is not told to the others, gets no letters,
//! is never a name's home). A stranger without the cookie gets nothing, as
//! from any theatre. A theatre serves at most [`MAX_OBSERVERS`] observers at
//! once, each on a thread of its own, and closes an observer's connection that
//! asks nothing for [`OBSERVER_IDLE`].
//!
//! A report is a reading of counters, not rates: read twice, the differences
//! over the time between give letters per second, how busy the workers were,
//! and bytes per second on each link ([`Report::rates_since`]).
//!
//! # Examples
//!
//! ```
//! use stage_net::observer::Observer;
//! use stage_net::Theatre;
//!
//! let theatre = Theatre::builder()
//!     .listen("127.0.0.1:0")
//!     .cookie("s3cret-cookie-for-the-docs")
//!     .start()?;
//! let mut observer = Observer::builder()
//!     .cookie("s3cret-cookie-for-the-docs")
//!     .connect(theatre.locator())?;
//! let report = observer.report()?;
//! assert_eq!(report.locator, theatre.locator());
//! assert!(observer.members().is_empty(), "a theatre on its own");
//! # theatre.shutdown();
//! # Ok::<(), stage_net::NetError>(())
//! ```

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::deadline::{Deadline, Timed};
use crate::error::NetError;
use crate::handshake::{self, HandshakeError, Identity};
use crate::locator;
use crate::membership::Membership;
use crate::tls::Transport;
use crate::wire::frame::{self, Frame};
pub use crate::wire::report::{BusyReport, LinkReport, Rates, Report, TypeReport};

/// How many observers a theatre serves at once; one more is refused.
pub const MAX_OBSERVERS: usize = 8;

/// An observer that asks nothing for this long is let go.
pub const OBSERVER_IDLE: Duration = Duration::from_secs(60);

/// How long an observer waits for a theatre's handshake or report by default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest report an observer takes.
const REPORT_LIMIT: u32 = 4 << 20;

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// The report of the theatre of `members`, now.
pub(crate) fn report(members: &Membership) -> Report {
    let stage = members.stage();
    let load = stage.as_ref().map(stage_runtime::Stage::load);
    let census = stage
        .as_ref()
        .map(stage_runtime::Stage::census)
        .unwrap_or_default();
    let links = members
        .live_peers()
        .iter()
        .filter_map(|peer| {
            let counts = peer.live()?.counts();
            Some(LinkReport {
                theatre: peer.theatre,
                locator: peer.locator.clone(),
                bytes_out: counts.bytes_out,
                bytes_in: counts.bytes_in,
                backlog: counts.backlog as u64,
                in_care: counts.in_care,
                open_ms: millis(counts.open_for),
            })
        })
        .collect();
    Report {
        theatre: members.id(),
        locator: members.locator().to_owned(),
        workers: load.map_or(0, |l| u32::try_from(l.workers).unwrap_or(u32::MAX)),
        uptime_us: load.map_or(0, |l| micros(l.uptime)),
        done: load.map_or(0, |l| l.done),
        idle_us: load.map_or(0, |l| micros(l.idle)),
        waiting: load.map_or(0, |l| l.waiting),
        actors: load.map_or(0, |l| l.actors as u64),
        types: census
            .types
            .into_iter()
            .map(|t| TypeReport {
                name: t.name,
                live: t.live as u64,
            })
            .collect(),
        busiest: census
            .busiest
            .into_iter()
            .map(|b| BusyReport {
                actor: b.actor.to_wire(),
                type_name: b.type_name,
                full_turns: b.full_turns,
                last_seen_ms: millis(b.last_seen),
            })
            .collect(),
        links,
        load_average: stage_runtime::drivers::load_average().map(|[one, _, _]| one),
    }
}

/// Serves an observer whose handshake passed: writes `welcome`, then answers
/// its `Report`s until it leaves, breaks the protocol, goes quiet for
/// [`OBSERVER_IDLE`], or the theatre closes. Runs on a thread of its own; the
/// caller counted it in `members.observers`.
pub(crate) fn serve(members: &Arc<Membership>, mut stream: Transport, welcome: &Frame) {
    let result = (|| -> Result<(), String> {
        frame::write(&mut stream, welcome).map_err(|e| e.to_string())?;
        // Woken every second to see whether the theatre has closed: the wait
        // is a peek, so that no part of a frame is read under the short limit.
        let tick = Duration::from_secs(1);
        let socket = stream.socket().try_clone().map_err(|e| e.to_string())?;
        let mut quiet = Duration::ZERO;
        let mut body = Vec::new();
        loop {
            if members.is_closed() {
                return Ok(());
            }
            socket
                .set_read_timeout(Some(tick))
                .map_err(|e| e.to_string())?;
            match socket.peek(&mut [0u8; 1]) {
                Ok(0) => return Ok(()),
                Ok(_) => quiet = Duration::ZERO,
                Err(error)
                    if matches!(
                        error.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    quiet += tick;
                    if quiet >= OBSERVER_IDLE {
                        return Err("the observer asked nothing for a minute".into());
                    }
                    continue;
                }
                Err(error) => return Err(error.to_string()),
            }
            socket
                .set_read_timeout(Some(DEFAULT_TIMEOUT))
                .map_err(|e| e.to_string())?;
            frame::read_body(&mut stream, 1 << 10, &mut body).map_err(|e| e.to_string())?;
            match frame::decode(&body).map_err(|e| e.to_string())? {
                Frame::Report { call } => {
                    let report = Box::new(report(members));
                    frame::write(&mut stream, &Frame::Reported { call, report })
                        .map_err(|e| e.to_string())?;
                }
                Frame::Bye => return Ok(()),
                _ => return Err("an observer may only ask for reports".into()),
            }
        }
    })();
    if let Err(why) = result {
        log::info!("stage-net: an observer's connection ended: {why}");
    }
    let _ = stream.socket().shutdown(std::net::Shutdown::Both);
    members.observers.fetch_sub(1, Ordering::AcqRel);
}

/// Configures an [`Observer`]: the cookie (required), TLS if the cluster uses
/// it, and how long to wait for a theatre.
#[derive(Default)]
pub struct ObserverBuilder {
    cookie: Option<Vec<u8>>,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::TlsConfig>,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for ObserverBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObserverBuilder")
            .field("cookie", &self.cookie.as_ref().map(|_| "<secret>"))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ObserverBuilder {
    /// The cluster cookie. Required.
    pub fn cookie(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.cookie = Some(secret.as_ref().to_vec());
        self
    }

    /// Connects over TLS, as the cluster's theatres do when they were given
    /// [`TheatreBuilder::tls`](crate::TheatreBuilder::tls); this certificate
    /// must be one the theatres' authority signed.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: crate::tls::TlsConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// How long to wait for the handshake and for each report (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Connects to the theatre at `locator` and proves the cookie.
    ///
    /// # Errors
    ///
    /// [`NetError::NoCookie`] without a cookie; [`NetError::BadLocator`],
    /// [`NetError::Io`] when the theatre cannot be reached;
    /// [`NetError::Handshake`] when it refuses (a wrong cookie, another
    /// protocol version, too many observers).
    pub fn connect(&self, locator: &str) -> Result<Observer, NetError> {
        let cookie = self.cookie.as_deref().ok_or(NetError::NoCookie)?;
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let address = locator::parse(locator)?;
        let socket = locator::dial(&address, timeout)?;
        let deadline = Deadline::after(timeout);
        #[cfg(feature = "tls")]
        let mut stream = match &self.tls {
            Some(tls) => tls.connect(locator::host_of(&address), socket, deadline)?,
            None => Transport::Plain(socket),
        };
        #[cfg(not(feature = "tls"))]
        let mut stream = Transport::Plain(socket);
        let handle = stream.socket().try_clone()?;
        let me = Identity {
            theatre: fresh_identity()?,
            locator: "observer",
            cookie,
            window: 0,
            frame_limit: REPORT_LIMIT,
            observer: true,
        };
        let met = handshake::connect(&mut Timed::new(&mut stream, handle, deadline), &me)?;
        stream.socket().set_read_timeout(Some(timeout))?;
        stream.socket().set_write_timeout(Some(timeout))?;
        Ok(Observer {
            stream,
            theatre: met.theatre,
            locator: met.locator,
            members: met.members,
            next_call: 1,
        })
    }
}

/// A random identity for an observer (never a member's: members do not meet it).
fn fresh_identity() -> Result<u64, NetError> {
    let bytes = handshake::nonce()?;
    let mut id = [0u8; 8];
    id.copy_from_slice(&bytes[..8]);
    Ok(u64::from_le_bytes(id))
}

/// A connection to one theatre that asks it for [`Report`]s. Made by
/// [`Observer::builder`]; see the [module](self) for an example.
pub struct Observer {
    stream: Transport,
    theatre: u64,
    locator: String,
    members: Vec<String>,
    next_call: u64,
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observer")
            .field("theatre", &self.theatre)
            .field("locator", &self.locator)
            .finish_non_exhaustive()
    }
}

impl Observer {
    /// An observer's configuration.
    pub fn builder() -> ObserverBuilder {
        ObserverBuilder::default()
    }

    /// The theatre's identity.
    pub fn theatre(&self) -> u64 {
        self.theatre
    }

    /// Where the theatre listens.
    pub fn locator(&self) -> &str {
        &self.locator
    }

    /// The other members the theatre knew of when the observer connected.
    pub fn members(&self) -> &[String] {
        &self.members
    }

    /// Asks the theatre for its report and waits for it.
    ///
    /// # Errors
    ///
    /// [`NetError::Io`] when the connection fails or the theatre does not
    /// answer within the timeout; [`NetError::Handshake`] (as
    /// [`HandshakeError::Unexpected`]) when it answers with something else.
    /// The observer is of no more use after an error: connect again.
    pub fn report(&mut self) -> Result<Report, NetError> {
        let call = self.next_call;
        self.next_call += 1;
        frame::write(&mut self.stream, &Frame::Report { call }).map_err(HandshakeError::from)?;
        match frame::read(&mut self.stream, REPORT_LIMIT).map_err(HandshakeError::from)? {
            Frame::Reported {
                call: answered,
                report,
            } if answered == call => Ok(*report),
            _ => Err(NetError::Handshake(HandshakeError::Unexpected("a report"))),
        }
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        let _ = frame::write(&mut self.stream, &Frame::Bye);
        let _ = self.stream.socket().shutdown(std::net::Shutdown::Both);
    }
}

/// Takes the connection of an observer whose handshake passed (`welcome` is
/// this side's last handshake frame): served on a thread of its own, or
/// refused when [`MAX_OBSERVERS`] are being served.
pub(crate) fn admit(members: &Arc<Membership>, mut stream: Transport, welcome: Frame) {
    let admitted = members
        .observers
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < MAX_OBSERVERS).then_some(n + 1)
        })
        .is_ok();
    if !admitted {
        crate::observe::handshake_refused("observers");
        let _ = frame::write(
            &mut stream,
            &Frame::Refused {
                reason: format!("this theatre serves {MAX_OBSERVERS} observers already"),
            },
        );
        return;
    }
    let members = Arc::clone(members);
    let spawned = std::thread::Builder::new()
        .name("stage-net-observer".into())
        .spawn({
            let members = Arc::clone(&members);
            move || serve(&members, stream, &welcome)
        });
    if let Err(error) = spawned {
        members.observers.fetch_sub(1, Ordering::AcqRel);
        log::warn!("stage-net: no thread for an observer: {error}");
    }
}
