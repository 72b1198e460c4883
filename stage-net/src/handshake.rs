//! The handshake: protocol version, theatre identities, and mutual proof of the
//! cluster cookie by HMAC-SHA256 challenge-response.
//!
//! ```text
//!   connecting side (C)                         accepting side (S)
//!   Hello { version, id_c, locator_c, n_c }  ->
//!                                            <-  Challenge { version, id_s, locator_s, n_s }
//!   Response { HMAC(k, "C" n_c n_s id_c id_s) } ->
//!                                            <-  Welcome { HMAC(k, "S" n_c n_s id_c id_s),
//!                                                          members }
//!                                              |  Refused { reason }
//! ```
//!
//! Each side proves it holds the cookie `k` over a transcript that includes the
//! other side's fresh 32-byte nonce, so a recorded transcript replayed later fails:
//! the listener's new nonce is not the one the recorded proof covers. The labels
//! keep a proof of one side from serving as the other's. The side that connects
//! proves first (as Erlang's distribution does): a stranger who reaches a
//! theatre's port is refused before it is given anything made with the cookie, so
//! it has no proof to test guesses against offline. The cookie never crosses the
//! wire. Proofs are compared in constant time (`hmac`'s `verify_slice`). Nothing a
//! peer sends reaches an actor before the handshake has succeeded.

use std::io::{Read, Write};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::wire::frame::{self, Frame, FrameError, VERSION};

/// Bytes in a challenge.
pub const NONCE_LEN: usize = 32;

/// Largest handshake frame: the handshake needs far less, and a peer that is not
/// yet trusted gets no more.
pub const HANDSHAKE_FRAME_LIMIT: u32 = 64 << 10;

/// Why a handshake failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The peer speaks another protocol version.
    Version {
        /// This build's version.
        ours: u32,
        /// The peer's.
        theirs: u32,
    },
    /// The peer's proof is wrong: it does not hold the cluster cookie, or it
    /// replayed an old transcript.
    BadProof,
    /// The peer refused us, with its reason.
    Refused(String),
    /// The peer sent a frame the handshake does not expect at this step.
    Unexpected(&'static str),
    /// A nonce of the wrong length.
    BadNonce,
    /// The connection failed, closed, or sent a bad frame.
    Frame(FrameError),
    /// The peer is this theatre itself: a seed or locator that leads back here
    /// (a DNS name that lists every member, this one too). Nothing is proved.
    Myself,
}

impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandshakeError::Version { ours, theirs } => write!(
                f,
                "the peer speaks protocol version {theirs}; this theatre speaks {ours}"
            ),
            HandshakeError::BadProof => f.write_str(
                "the peer's proof is wrong: it does not hold the cluster cookie, or replayed an old handshake",
            ),
            HandshakeError::Refused(reason) => write!(f, "the peer refused the handshake: {reason}"),
            HandshakeError::Unexpected(step) => write!(f, "unexpected frame during the handshake: expected {step}"),
            HandshakeError::BadNonce => write!(f, "a challenge must be {NONCE_LEN} bytes"),
            HandshakeError::Frame(error) => write!(f, "handshake failed: {error}"),
            HandshakeError::Myself => f.write_str("that locator leads back to this theatre"),
        }
    }
}

impl std::error::Error for HandshakeError {}

impl From<FrameError> for HandshakeError {
    fn from(error: FrameError) -> Self {
        HandshakeError::Frame(error)
    }
}

impl From<std::io::Error> for HandshakeError {
    fn from(error: std::io::Error) -> Self {
        HandshakeError::Frame(FrameError::Io(error))
    }
}

/// What a side knows of itself for the handshake.
#[derive(Debug, Clone)]
pub struct Identity<'a> {
    /// This theatre's identity.
    pub theatre: u64,
    /// Where it listens.
    pub locator: &'a str,
    /// The cluster cookie.
    pub cookie: &'a [u8],
    /// How many bytes of letters it holds from one peer before granting more
    /// (`TheatreBuilder::window`).
    pub window: u64,
    /// The largest frame body it takes (`TheatreBuilder::frame_limit`).
    pub frame_limit: u32,
    /// This side only observes (the live console, [`Observer`](crate::observer::Observer)):
    /// the accepting theatre answers its questions about itself and does not
    /// take it as a member.
    pub observer: bool,
}

/// Who the peer turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Its theatre identity.
    pub theatre: u64,
    /// Where it listens.
    pub locator: String,
    /// The other members it told us of (for the connecting side).
    pub members: Vec<String>,
    /// Its window: how many bytes of letters it holds from this theatre before
    /// granting more.
    pub window: u64,
    /// The largest frame body it takes.
    pub frame_limit: u32,
    /// It only observes: it is not a member (see [`Identity::observer`]).
    pub observer: bool,
}

/// A fresh random challenge.
///
/// # Errors
///
/// When the operating system has no randomness to give.
pub fn nonce() -> Result<Vec<u8>, std::io::Error> {
    let mut nonce = vec![0; NONCE_LEN];
    getrandom::getrandom(&mut nonce).map_err(std::io::Error::other)?;
    Ok(nonce)
}

fn mac(cookie: &[u8], label: &[u8], n_c: &[u8], n_s: &[u8], id_c: u64, id_s: u64) -> Hmac<Sha256> {
    // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(cookie)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
    mac.update(b"stage-handshake-v3/");
    mac.update(label);
    mac.update(n_c);
    mac.update(n_s);
    mac.update(&id_c.to_be_bytes());
    mac.update(&id_s.to_be_bytes());
    mac
}

fn proof(cookie: &[u8], label: &[u8], n_c: &[u8], n_s: &[u8], id_c: u64, id_s: u64) -> Vec<u8> {
    mac(cookie, label, n_c, n_s, id_c, id_s)
        .finalize()
        .into_bytes()
        .to_vec()
}

fn verify(
    cookie: &[u8],
    label: &[u8],
    transcript: (&[u8], &[u8], u64, u64),
    claimed: &[u8],
) -> Result<(), HandshakeError> {
    let (n_c, n_s, id_c, id_s) = transcript;
    mac(cookie, label, n_c, n_s, id_c, id_s)
        .verify_slice(claimed)
        .map_err(|_| HandshakeError::BadProof)
}

fn refuse(stream: &mut impl Write, error: HandshakeError) -> HandshakeError {
    // The peer is told why; if it has gone, there is nobody to tell.
    let _ = frame::write(
        stream,
        &Frame::Refused {
            reason: error.to_string(),
        },
    );
    let _ = stream.flush();
    error
}

/// Checks the peer's version and challenge, refusing it (and telling it why) when
/// either is wrong.
fn check(stream: &mut impl Write, version: u32, nonce: &[u8]) -> Result<(), HandshakeError> {
    if version != VERSION {
        let error = HandshakeError::Version {
            ours: VERSION,
            theirs: version,
        };
        return Err(refuse(stream, error));
    }
    if nonce.len() != NONCE_LEN {
        return Err(refuse(stream, HandshakeError::BadNonce));
    }
    Ok(())
}

/// The connecting side's handshake.
///
/// # Errors
///
/// Any [`HandshakeError`]; the caller closes the connection.
pub fn connect(
    stream: &mut (impl Read + Write),
    me: &Identity<'_>,
) -> Result<Peer, HandshakeError> {
    let n_c = nonce()?;
    frame::write(
        stream,
        &Frame::Hello {
            version: VERSION,
            theatre: me.theatre,
            locator: me.locator.to_owned(),
            nonce: n_c.clone(),
            window: me.window,
            frame_limit: me.frame_limit,
            observer: me.observer,
        },
    )?;
    stream.flush()?;
    let (id_s, locator, n_s, (window, frame_limit)) =
        match frame::read(stream, HANDSHAKE_FRAME_LIMIT)? {
            Frame::Challenge {
                version,
                theatre,
                locator,
                nonce,
                window,
                frame_limit,
            } => {
                check(stream, version, &nonce)?;
                (theatre, locator, nonce, (window, frame_limit))
            }
            Frame::Refused { reason } => return Err(HandshakeError::Refused(reason)),
            _ => return Err(refuse(stream, HandshakeError::Unexpected("a challenge"))),
        };
    if id_s == me.theatre {
        // Dialled itself: no proof is sent; the accepting side stops too.
        return Err(HandshakeError::Myself);
    }
    frame::write(
        stream,
        &Frame::Response {
            proof: proof(me.cookie, b"C", &n_c, &n_s, me.theatre, id_s),
        },
    )?;
    stream.flush()?;
    let (claimed, members) = match frame::read(stream, HANDSHAKE_FRAME_LIMIT)? {
        Frame::Welcome { proof, members } => (proof, members),
        Frame::Refused { reason } => return Err(HandshakeError::Refused(reason)),
        _ => return Err(refuse(stream, HandshakeError::Unexpected("a welcome"))),
    };
    let transcript = (&n_c[..], &n_s[..], me.theatre, id_s);
    if let Err(error) = verify(me.cookie, b"S", transcript, &claimed) {
        return Err(refuse(stream, error));
    }
    Ok(Peer {
        theatre: id_s,
        locator,
        members,
        window,
        frame_limit,
        observer: false,
    })
}

/// A peer the accepting side has passed: who it is, and this side's own proof,
/// which the welcome carries.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// Who the peer is.
    pub peer: Peer,
    proof: Vec<u8>,
}

impl Accepted {
    /// The frame that ends the handshake: this side's proof, and the other
    /// theatres (`members`) for the newcomer to meet.
    pub fn welcome(&self, members: Vec<String>) -> Frame {
        Frame::Welcome {
            proof: self.proof.clone(),
            members,
        }
    }
}

/// The accepting side's handshake, up to the proof of the peer: the caller then
/// takes the connection and sends [`Accepted::welcome`] as its first frame, so that
/// by the time the peer's `connect` returns, this side has the connection in place.
/// Nothing made with the cookie is sent before the peer's proof is checked.
///
/// # Errors
///
/// Any [`HandshakeError`]; the peer has been sent a `Refused` frame where it could
/// be, and the caller closes the connection.
pub fn accept(
    stream: &mut (impl Read + Write),
    me: &Identity<'_>,
) -> Result<Accepted, HandshakeError> {
    let (id_c, locator, n_c, (window, frame_limit, observer)) =
        match frame::read(stream, HANDSHAKE_FRAME_LIMIT)? {
            Frame::Hello {
                version,
                theatre,
                locator,
                nonce,
                window,
                frame_limit,
                observer,
            } => {
                check(stream, version, &nonce)?;
                (theatre, locator, nonce, (window, frame_limit, observer))
            }
            _ => return Err(refuse(stream, HandshakeError::Unexpected("a hello"))),
        };
    let n_s = nonce()?;
    frame::write(
        stream,
        &Frame::Challenge {
            version: VERSION,
            theatre: me.theatre,
            locator: me.locator.to_owned(),
            nonce: n_s.clone(),
            window: me.window,
            frame_limit: me.frame_limit,
        },
    )?;
    stream.flush()?;
    if id_c == me.theatre {
        // Dialled by itself: the connecting side stops at this challenge.
        return Err(HandshakeError::Myself);
    }
    let claimed = match frame::read(stream, HANDSHAKE_FRAME_LIMIT)? {
        Frame::Response { proof } => proof,
        Frame::Refused { reason } => return Err(HandshakeError::Refused(reason)),
        _ => return Err(refuse(stream, HandshakeError::Unexpected("a response"))),
    };
    let transcript = (&n_c[..], &n_s[..], id_c, me.theatre);
    if let Err(error) = verify(me.cookie, b"C", transcript, &claimed) {
        return Err(refuse(stream, error));
    }
    Ok(Accepted {
        peer: Peer {
            theatre: id_c,
            locator,
            members: Vec::new(),
            window,
            frame_limit,
            observer,
        },
        proof: proof(me.cookie, b"S", &n_c, &n_s, id_c, me.theatre),
    })
}
