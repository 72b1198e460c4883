//! The wire format: each frame is a 4-byte big-endian length and a MessagePack body
//! (rmp-serde) of one [`Frame`].
//!
//! The length is checked against the connection's limit before anything is
//! allocated for the body, so a peer cannot make a theatre reserve memory by
//! announcing a large frame. A body that does not decode as a `Frame` is an error of
//! that connection only.

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};
use stage_runtime::{DownReason, Failure, Reason, SpeechError};

/// The protocol version this build speaks; the handshake refuses any other.
/// Version 2 added [`Frame::Eval`]; version 3 names actors by their whole
/// identity ([`WireId`]: origin and serial), which they keep wherever they run,
/// has the connecting side prove the cookie first, and says goodbye
/// ([`Frame::Bye`]); version 4 bounds each connection's letters by a window the
/// receiver grants ([`Frame::Credit`]), and each side announces its window and
/// its frame limit in its first handshake frame; version 5 moves actors
/// ([`Frame::Migrate`], [`Frame::Migrated`], [`Frame::Flush`], [`Frame::Moved`],
/// [`Frame::Fence`]); version 6 tells peers its load ([`Frame::Load`]) and
/// orders a moving actor's own letters ([`Frame::Barrier`], [`Frame::Passed`]);
/// version 7 holds letters forwarded after a move to the receiver's window as
/// well (an earlier theatre sent them past it, which a theatre of version 7
/// refuses); version 8 marks forwarded letters ([`Frame::Forwarded`]);
/// version 9 lets an observer in ([`Frame::Hello`]'s `observer`,
/// [`Frame::Report`], [`Frame::Reported`]).
pub const VERSION: u32 = 9;

/// The default window: how many bytes of letters (by [`letter_cost`]) a theatre
/// holds from one peer, not yet taken by their actors, before that peer must
/// wait for [`Frame::Credit`]: 16 MiB.
pub const DEFAULT_WINDOW: u64 = 16 << 20;

/// What a letter of `body` bytes costs against a connection's window: its frame
/// and what it takes in memory besides (a letter in a mailbox, its node).
pub fn letter_cost(body: usize) -> u64 {
    body as u64 + 64
}

/// The default largest frame body accepted: 4 MiB.
pub const DEFAULT_FRAME_LIMIT: u32 = 4 << 20;

/// An actor's identity on the wire: its origin and serial (see
/// `stage_runtime::ActorId`).
pub type WireId = (u64, u64);

/// A bound actor as a `Found` frame carries it: its identity, its type's tag and
/// its type's name.
pub type Bound = (WireId, u64, String);

/// Where an actor runs, as an `Activated` frame carries it: the theatre's
/// identity, its locator, and the actor's identity.
pub type Whereabouts = (u64, String, WireId);

/// A directory entry as a `Resolved` frame carries it: the binding theatre's
/// identity and locator, the actor's identity, its type's tag and name.
pub type Filing = (u64, String, WireId, u64, String);

/// An actor on its way to the receiver, as a `Migrate` frame carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Traveller {
    /// Its identity, which it keeps.
    pub actor: WireId,
    /// Its type's tag: the receiver rebuilds only mobile types it knows.
    pub tag: u64,
    /// Its type's name, for error messages.
    pub type_name: String,
    /// Its serialised state.
    pub state: serde_bytes::ByteBuf,
    /// The universal names bound to it on the sender, which follow it.
    pub names: Vec<String>,
}

/// A theatre's load, as a `Load` frame carries it (see `balance.rs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gauge {
    /// Its worker threads.
    pub workers: u32,
    /// The share of its workers' time spent busy over the last period, in
    /// thousandths.
    pub busy_permille: u16,
    /// Letters handled per second over the last period.
    pub rate: u64,
    /// Letters waiting now.
    pub waiting: u64,
    /// Actors there that the load balancer may move.
    pub balanceable: u32,
    /// The machine's load average over a minute, in hundredths, where known.
    pub load_average: Option<u32>,
}

/// One unit on the wire between two theatres.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Frame {
    /// Handshake, first step (the connecting side): who it is and its challenge.
    Hello {
        /// [`VERSION`] of the sender.
        version: u32,
        /// The sender's theatre identity.
        theatre: u64,
        /// Where the sender listens (`stage://host:port`).
        locator: String,
        /// A fresh random challenge.
        #[serde(with = "serde_bytes")]
        nonce: Vec<u8>,
        /// The sender's window: how many bytes of letters (by [`letter_cost`]) it
        /// holds from the receiver before granting more ([`Frame::Credit`]).
        window: u64,
        /// The largest frame body the sender takes: the receiver refuses a longer
        /// letter at its own end, where it fails alone.
        frame_limit: u32,
        /// The sender only observes (the live console): the receiver answers
        /// its [`Frame::Report`]s and does not take it as a member.
        observer: bool,
    },
    /// Handshake, second step (the accepting side): who it is and its own
    /// challenge. No proof yet: the side that connected proves first.
    Challenge {
        /// [`VERSION`] of the sender.
        version: u32,
        /// The sender's theatre identity.
        theatre: u64,
        /// Where the sender listens.
        locator: String,
        /// A fresh random challenge.
        #[serde(with = "serde_bytes")]
        nonce: Vec<u8>,
        /// The sender's window: how many bytes of letters (by [`letter_cost`]) it
        /// holds from the receiver before granting more ([`Frame::Credit`]).
        window: u64,
        /// The largest frame body the sender takes: the receiver refuses a longer
        /// letter at its own end, where it fails alone.
        frame_limit: u32,
    },
    /// Handshake, third step (the connecting side): its proof that it holds the
    /// cookie, bound to both challenges.
    Response {
        /// HMAC-SHA256 over the transcript (see `handshake`).
        #[serde(with = "serde_bytes")]
        proof: Vec<u8>,
    },
    /// Handshake, last step: the accepting side took the proof, gives its own, and
    /// tells the other theatres it knows of (so that the newcomer meets them all).
    Welcome {
        /// HMAC-SHA256 over the transcript, the accepting side's.
        #[serde(with = "serde_bytes")]
        proof: Vec<u8>,
        /// Locators of the other members.
        members: Vec<String>,
    },
    /// The handshake failed; the connection closes after this frame.
    Refused {
        /// Why, for the log of the refused side.
        reason: String,
    },
    /// `notify!` to an actor exported by the receiver.
    Tell {
        /// The actor's identity.
        to: WireId,
        /// Its type's tag, checked against the exported actor's.
        tag: u64,
        /// The handler, by position.
        variant: u16,
        /// The encoded arguments.
        #[serde(with = "serde_bytes")]
        args: Vec<u8>,
    },
    /// `query!` or `request!` to an actor exported by the receiver.
    Ask {
        /// The actor's identity.
        to: WireId,
        /// Its type's tag.
        tag: u64,
        /// The handler, by position.
        variant: u16,
        /// The encoded arguments.
        #[serde(with = "serde_bytes")]
        args: Vec<u8>,
        /// The sender's number for the answer.
        call: u64,
    },
    /// `Addr::stop` for an actor exported by the receiver.
    Stop {
        /// The actor's identity.
        to: WireId,
        /// Its type's tag.
        tag: u64,
        /// The sender's number for the acknowledgement.
        call: u64,
    },
    /// The answer to an `Ask` or `Stop`.
    Answer {
        /// The number the asker gave.
        call: u64,
        /// The encoded answer, or why there is none.
        result: Result<serde_bytes::ByteBuf, WireError>,
    },
    /// Where is the actor bound to `name` on the receiver?
    Lookup {
        /// The universal name.
        name: String,
        /// The sender's number for the reply.
        call: u64,
    },
    /// The reply to a `Lookup`: the actor's number and type tag, if bound.
    Found {
        /// The number the asker gave.
        call: u64,
        /// The actor's number and its type's tag and name.
        actor: Option<Bound>,
    },
    /// Start the actor of type `tag` named `name` on the receiver, if it is not
    /// running there yet (activation on demand; the receiver is the name's home).
    Activate {
        /// The universal name.
        name: String,
        /// The actor type's tag.
        tag: u64,
        /// The sender's number for the reply.
        call: u64,
    },
    /// The reply to an `Activate`: where the actor runs (usually the receiver, or
    /// a theatre that started it while the members saw another home), or why it
    /// cannot run.
    Activated {
        /// The number the asker gave.
        call: u64,
        /// The actor's theatre identity, that theatre's locator, and the actor's
        /// number there; or the reason.
        result: Result<Whereabouts, String>,
    },
    /// The sender has `name` bound to its actor `actor`: the receiver, the name's
    /// home, keeps it in its part of the directory.
    Register {
        /// The universal name.
        name: String,
        /// The actor's identity.
        actor: WireId,
        /// Its type's tag.
        tag: u64,
        /// Its type's name, for error messages.
        type_name: String,
    },
    /// The sender no longer has `name` bound; answered by an empty `Resolved` once
    /// the entry is gone.
    Unregister {
        /// The universal name.
        name: String,
        /// The sender's number for the acknowledgement.
        call: u64,
    },
    /// Where is `name` bound, says the directory? (Asked of the name's home.)
    Resolve {
        /// The universal name.
        name: String,
        /// The sender's number for the reply.
        call: u64,
    },
    /// The reply to a `Resolve`: the binding theatre's identity and locator, the
    /// actor's number there, its type's tag and name; or nothing known.
    Resolved {
        /// The number the asker gave.
        call: u64,
        /// The directory's entry.
        entry: Option<Filing>,
    },
    /// Tell the sender when the actor ends (`ctx.monitor` across theatres).
    Watch {
        /// The actor's identity.
        to: WireId,
        /// Its type's tag.
        tag: u64,
        /// The sender's number for the notice.
        call: u64,
    },
    /// The actor watched under `call` has ended.
    Ended {
        /// The number the watcher gave.
        call: u64,
        /// How it ended ([`down_code`]).
        reason: u8,
    },
    /// Liveness, sent when a connection has been quiet.
    Ping,
    /// The sender is leaving the cluster (it shuts down): the last frame on its
    /// connection. The receiver closes the connection without trying to rejoin, and
    /// forgets the sender.
    Bye,
    /// A Star-form expression for an actor exported by the receiver: where its
    /// code lies in the program both theatres run, and its captured values.
    Eval {
        /// The actor's identity.
        to: WireId,
        /// Its type's tag.
        tag: u64,
        /// The expression's entry, as a distance within the program.
        site: i64,
        /// The hash of the expression's types, checked by the receiver.
        check: u64,
        /// The encoded captured values.
        #[serde(with = "serde_bytes")]
        captures: Vec<u8>,
        /// The sender's number for the answer.
        call: u64,
    },
    /// The receiver's actors have taken `bytes` worth of letters (by
    /// [`letter_cost`]) sent on this connection: the sender may send that much
    /// more (the window each side announced in its handshake frame is the
    /// first grant).
    Credit {
        /// How much more the sender may send.
        bytes: u64,
    },
    /// Take these actors (one, or a clique of friends) and run them: a move
    /// between theatres. All start, or none; answered by `Migrated`.
    Migrate {
        /// The actors, with their states.
        actors: Vec<Traveller>,
        /// The sender's number for the reply.
        call: u64,
    },
    /// The reply to a `Migrate`: the actors run on the sender now, or why they
    /// were refused.
    Migrated {
        /// The number the asker gave.
        call: u64,
        /// Once they run, the alias each was given here, in the order sent
        /// (letters the origin forwards go to it); the reason otherwise.
        result: Result<Vec<WireId>, String>,
    },
    /// Answer once the actor `to` has taken every letter sent before this one
    /// the same way (see `routes.rs`); forwarders pass it on.
    Flush {
        /// The actor's identity (or its alias on the receiver).
        to: WireId,
        /// Its type's tag.
        tag: u64,
        /// The sender's number for the answer.
        call: u64,
    },
    /// The actor `actor`, to which the sender's forwarder passed a letter from
    /// the receiver, runs on the theatre `theatre` at `locator` now, under
    /// `alias` there: send to it there (after a flush the old way).
    Moved {
        /// The actor's identity.
        actor: WireId,
        /// Its type's tag.
        tag: u64,
        /// Its theatre's identity.
        theatre: u64,
        /// Its theatre's locator.
        locator: String,
        /// Its alias there.
        alias: WireId,
    },
    /// Answer (`Passed`) once every frame sent before this one on this
    /// connection has been handed on: letters queued for their actors. A
    /// theatre an actor leaves sends one to each peer first, so that what the
    /// actor sent from there arrives before what it sends from its new place.
    Barrier {
        /// The sender's number for the answer.
        call: u64,
    },
    /// The answer to a `Barrier`.
    Passed {
        /// The number the asker gave.
        call: u64,
    },
    /// The sender's load over its last period (sent each period by a theatre
    /// that balances load; see `balance.rs`).
    Load(Gauge),
    /// A marker that follows the letters forwarded for the actor `to` (see
    /// `migration.rs`): passed on by a forwarder; at the theatre the actor
    /// returned to, it ends the return numbered `token`.
    Fence {
        /// The actor (or the alias its new place gave it).
        to: WireId,
        /// Its type's tag.
        tag: u64,
        /// The return it ends: the alias of the actor's arrival.
        token: WireId,
    },
    /// The letter frame that comes next on this connection was forwarded:
    /// sent to an actor that had moved on from the sender. Its receipt is
    /// kept while it is forwarded further; one sent directly gives its credit
    /// back once it is on its way (see `Conn::hold`).
    Forwarded,
    /// An observer asks the theatre for its report.
    Report {
        /// The observer's number for the reply.
        call: u64,
    },
    /// The reply to a `Report`.
    Reported {
        /// The number the observer gave.
        call: u64,
        /// What the theatre says of itself.
        report: Box<crate::wire::report::Report>,
    },
}

/// How an actor ended, as an `Ended` frame carries it.
pub fn down_code(reason: DownReason) -> u8 {
    match reason {
        DownReason::Panicked => 2,
        DownReason::Escalated => 3,
        DownReason::Dropped => 4,
        DownReason::ShutDown => 5,
        DownReason::Unreachable => 6,
        // `Stopped`, and any reason a later release adds.
        _ => 1,
    }
}

/// The reason an `Ended` frame's code stands for (an unknown code reads as
/// `Stopped`).
pub fn down_reason(code: u8) -> DownReason {
    match code {
        2 => DownReason::Panicked,
        3 => DownReason::Escalated,
        4 => DownReason::Dropped,
        5 => DownReason::ShutDown,
        6 => DownReason::Unreachable,
        _ => DownReason::Stopped,
    }
}

/// A [`SpeechError`] as it crosses the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireError {
    /// `Denied(Busy)`.
    Busy,
    /// `Denied(NoPermission)`.
    NoPermission,
    /// `Failed(Panicked)`.
    Panicked,
    /// `Failed(Dead)`.
    Dead,
    /// `Failed(TimedOut)`.
    TimedOut,
    /// `Failed(Deadlock)`: the cycle's identities are local to the other theatre,
    /// so only the fact crosses.
    Deadlock,
    /// `Failed(Unreachable)`: the answering theatre could not reach a third one.
    Unreachable,
    /// `Failed(NotPortable)`.
    NotPortable(String),
    /// `Failed(Wire)`, or any failure this version does not know.
    Wire(String),
}

impl From<&SpeechError> for WireError {
    fn from(error: &SpeechError) -> Self {
        match error {
            SpeechError::Denied(Reason::Busy) => WireError::Busy,
            SpeechError::Denied(Reason::NoPermission) => WireError::NoPermission,
            SpeechError::Failed(Failure::Panicked) => WireError::Panicked,
            SpeechError::Failed(Failure::Dead) => WireError::Dead,
            SpeechError::Failed(Failure::TimedOut) => WireError::TimedOut,
            SpeechError::Failed(Failure::Deadlock(_)) => WireError::Deadlock,
            SpeechError::Failed(Failure::Unreachable) => WireError::Unreachable,
            SpeechError::Failed(Failure::NotPortable(why)) => {
                WireError::NotPortable(why.to_string())
            }
            SpeechError::Failed(Failure::Wire(why)) => WireError::Wire(why.to_string()),
            other => WireError::Wire(other.to_string()),
        }
    }
}

impl From<WireError> for SpeechError {
    fn from(error: WireError) -> Self {
        match error {
            WireError::Busy => SpeechError::Denied(Reason::Busy),
            WireError::NoPermission => SpeechError::Denied(Reason::NoPermission),
            WireError::Panicked => SpeechError::Failed(Failure::Panicked),
            WireError::Dead => SpeechError::Failed(Failure::Dead),
            WireError::TimedOut => SpeechError::Failed(Failure::TimedOut),
            WireError::Deadlock => SpeechError::Failed(Failure::Wire(
                "the answering actor was refused a wait that would have deadlocked".into(),
            )),
            WireError::Unreachable => SpeechError::Failed(Failure::Unreachable),
            WireError::NotPortable(why) => SpeechError::Failed(Failure::NotPortable(why.into())),
            WireError::Wire(why) => SpeechError::Failed(Failure::Wire(why.into())),
        }
    }
}

/// Why a frame could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum FrameError {
    /// The connection failed or closed.
    Io(io::Error),
    /// The announced length is over the limit; nothing was allocated for it.
    TooLong {
        /// The announced length.
        len: u32,
        /// The connection's limit.
        limit: u32,
    },
    /// The body is not a frame.
    Malformed(String),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Io(error) => write!(f, "connection error: {error}"),
            FrameError::TooLong { len, limit } => {
                write!(f, "a frame of {len} bytes is over the limit of {limit}")
            }
            FrameError::Malformed(why) => write!(f, "malformed frame: {why}"),
        }
    }
}

impl std::error::Error for FrameError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FrameError::Io(error) => Some(error),
            _ => None,
        }
    }
}

impl From<io::Error> for FrameError {
    fn from(error: io::Error) -> Self {
        FrameError::Io(error)
    }
}

/// Appends `frame`, with its length prefix, to `out`; on an error `out` is left as
/// it was.
///
/// # Errors
///
/// When the frame does not serialise (it always does for the frames this crate
/// builds) or is longer than `u32::MAX`.
pub fn encode(frame: &Frame, out: &mut Vec<u8>) -> Result<(), FrameError> {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    let written = rmp_serde::encode::write(out, frame)
        .map_err(|e| FrameError::Malformed(e.to_string()))
        .and_then(|()| {
            u32::try_from(out.len() - start - 4)
                .map_err(|_| FrameError::Malformed("frame longer than 4 GiB".into()))
        });
    match written {
        Ok(len) => {
            out[start..start + 4].copy_from_slice(&len.to_be_bytes());
            Ok(())
        }
        Err(error) => {
            // `out` may hold other frames: leave no part of this one.
            out.truncate(start);
            Err(error)
        }
    }
}

/// Writes one frame.
///
/// # Errors
///
/// As [`encode`], and the writer's errors.
pub fn write(writer: &mut impl Write, frame: &Frame) -> Result<(), FrameError> {
    let mut buf = Vec::new();
    encode(frame, &mut buf)?;
    writer.write_all(&buf)?;
    Ok(())
}

/// Reads one frame whose body is at most `limit` bytes long.
///
/// # Errors
///
/// [`FrameError::TooLong`] before reading (or allocating) the body of a longer one;
/// [`FrameError::Malformed`] for a body that is not a frame; the reader's errors.
pub fn read(reader: &mut impl Read, limit: u32) -> Result<Frame, FrameError> {
    read_into(reader, limit, &mut Vec::new())
}

/// As [`read`], reading the body into `body` (a buffer kept from frame to frame).
///
/// # Errors
///
/// As [`read`].
pub fn read_into(
    reader: &mut impl Read,
    limit: u32,
    body: &mut Vec<u8>,
) -> Result<Frame, FrameError> {
    read_body(reader, limit, body)?;
    decode(body)
}

/// A body this long or shorter is read into a buffer sized for it at once; a
/// longer one grows its buffer as its bytes arrive, so that a peer announcing a
/// large frame and sending little makes the theatre reserve little.
const READ_AT_ONCE: usize = 64 << 10;

/// Reads one frame's body (at most `limit` bytes) into `body`, undecoded.
///
/// # Errors
///
/// As [`read`], but for [`FrameError::Malformed`].
pub fn read_body(reader: &mut impl Read, limit: u32, body: &mut Vec<u8>) -> Result<(), FrameError> {
    let mut prefix = [0; 4];
    reader.read_exact(&mut prefix)?;
    let len = u32::from_be_bytes(prefix);
    if len > limit {
        return Err(FrameError::TooLong { len, limit });
    }
    let len = len as usize;
    body.clear();
    if len <= READ_AT_ONCE.max(body.capacity()) {
        body.resize(len, 0);
        reader.read_exact(body)?;
    } else {
        reader.take(len as u64).read_to_end(body)?;
        if body.len() != len {
            return Err(FrameError::Io(io::ErrorKind::UnexpectedEof.into()));
        }
    }
    Ok(())
}

/// Whether `buffered` (bytes read from the connection but not yet taken) holds the
/// next frame whole, so that reading it will not wait for the network.
pub fn buffered_whole(buffered: &[u8]) -> bool {
    match buffered {
        [a, b, c, d, rest @ ..] => rest.len() >= u32::from_be_bytes([*a, *b, *c, *d]) as usize,
        _ => false,
    }
}

/// The first bytes of a `Tell` frame's body as rmp-serde writes it: a map of one
/// entry, the variant's name, and an array of its four fields.
const TELL: [u8; 7] = [0x81, 0xa4, b'T', b'e', b'l', b'l', 0x94];

/// Writes a `Tell` frame, byte for byte what [`encode`] writes for
/// `Frame::Tell { to, tag, variant, args }`, without building the frame (the
/// arguments are not copied into one).
pub fn encode_tell(to: WireId, tag: u64, variant: u16, args: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&TELL);
    // Writing to a `Vec` cannot fail. The identity is a pair: an array of two.
    let _ = rmp::encode::write_array_len(out, 2);
    let _ = rmp::encode::write_uint(out, to.0);
    let _ = rmp::encode::write_uint(out, to.1);
    let _ = rmp::encode::write_uint(out, tag);
    let _ = rmp::encode::write_uint(out, u64::from(variant));
    let _ = rmp::encode::write_bin(out, args);
    // A frame over 4 GiB cannot be sent: its length is clamped, and the peer's
    // limit (far below) refuses it.
    let len = u32::try_from(out.len() - start - 4).unwrap_or(u32::MAX);
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
}

/// A `Tell` frame read in place: the arguments are borrowed from the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TellRef<'a> {
    /// The actor's identity.
    pub to: WireId,
    /// Its type's tag.
    pub tag: u64,
    /// The handler, by position.
    pub variant: u16,
    /// The encoded arguments.
    pub args: &'a [u8],
}

/// Reads `body` as a `Tell` frame if it is one written as [`encode_tell`] (and
/// [`encode`]) write it; `None` for anything else, which [`decode`] then reads (so
/// that what is accepted, and how, is decided by the one decoder).
pub fn tell_in(body: &[u8]) -> Option<TellRef<'_>> {
    let mut rest = body.strip_prefix(&TELL)?;
    if rmp::decode::read_array_len(&mut rest).ok()? != 2 {
        return None;
    }
    let to = (
        rmp::decode::read_int(&mut rest).ok()?,
        rmp::decode::read_int(&mut rest).ok()?,
    );
    let tag = rmp::decode::read_int(&mut rest).ok()?;
    let variant = rmp::decode::read_int(&mut rest).ok()?;
    let len = rmp::decode::read_bin_len(&mut rest).ok()? as usize;
    (rest.len() == len).then_some(TellRef {
        to,
        tag,
        variant,
        args: rest,
    })
}

/// Decodes a frame body (without its length prefix).
///
/// # Errors
///
/// [`FrameError::Malformed`] for bytes that are not exactly one frame.
pub fn decode(body: &[u8]) -> Result<Frame, FrameError> {
    let mut de = rmp_serde::Deserializer::new(body);
    let frame = Frame::deserialize(&mut de).map_err(|e| FrameError::Malformed(e.to_string()))?;
    if !de.get_ref().is_empty() {
        return Err(FrameError::Malformed(format!(
            "{} bytes follow the frame",
            de.get_ref().len()
        )));
    }
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let frames = [
            Frame::Tell {
                to: (11, 3),
                tag: 9,
                variant: 1,
                args: vec![0x91, 0x05],
            },
            Frame::Answer {
                call: 4,
                result: Err(WireError::Dead),
            },
            Frame::Welcome {
                proof: vec![9; 32],
                members: vec!["stage://127.0.0.1:1".into()],
            },
            Frame::Ping,
            Frame::Eval {
                to: (u64::MAX, 3),
                tag: 9,
                site: -4096,
                check: u64::MAX,
                captures: vec![0x92, 0x01, 0xa1, b'x'],
                call: 5,
            },
            Frame::Credit { bytes: 1 << 40 },
            Frame::Barrier { call: 9 },
            Frame::Passed { call: u64::MAX },
            Frame::Load(Gauge {
                workers: 2,
                busy_permille: 1000,
                rate: u64::MAX,
                waiting: 3,
                balanceable: 7,
                load_average: Some(150),
            }),
        ];
        let mut buf = Vec::new();
        for frame in &frames {
            encode(frame, &mut buf).unwrap();
        }
        let mut reader = &buf[..];
        for frame in &frames {
            assert_eq!(&read(&mut reader, DEFAULT_FRAME_LIMIT).unwrap(), frame);
        }
        assert!(reader.is_empty());
    }

    #[test]
    fn tells_written_and_read_in_place_are_the_frames_encode_and_decode_handle() {
        let edges = [
            0,
            1,
            127,
            128,
            255,
            256,
            65_535,
            65_536,
            u64::from(u32::MAX),
            u64::MAX,
        ];
        let args: [&[u8]; 3] = [&[], &[0x91, 0x05], &[7; 300]];
        for (i, &serial) in edges.iter().enumerate() {
            let to = (edges[(i * 5 + 1) % edges.len()], serial);
            let tag = edges[(i * 7 + 3) % edges.len()];
            let variant = u16::try_from(edges[(i * 3) % 6]).unwrap();
            let args = args[i % 3];
            let frame = Frame::Tell {
                to,
                tag,
                variant,
                args: args.to_vec(),
            };
            let mut ours = Vec::new();
            encode_tell(to, tag, variant, args, &mut ours);
            let mut theirs = Vec::new();
            encode(&frame, &mut theirs).unwrap();
            assert_eq!(ours, theirs, "{frame:?}");
            let read = tell_in(&ours[4..]).unwrap();
            assert_eq!(
                (read.to, read.tag, read.variant, read.args),
                (to, tag, variant, args)
            );
            assert_eq!(decode(&ours[4..]).unwrap(), frame);
        }
        // Anything else is left to the decoder: other frames, a short or long body.
        let mut ping = Vec::new();
        encode(&Frame::Ping, &mut ping).unwrap();
        assert_eq!(tell_in(&ping[4..]), None);
        let mut tell = Vec::new();
        encode_tell((9, 1), 2, 3, &[4, 5], &mut tell);
        assert_eq!(tell_in(&tell[4..tell.len() - 1]), None);
        tell.push(0);
        assert_eq!(tell_in(&tell[4..]), None);
        // A variant beyond u16 is not a Tell to read in place.
        let mut wide = TELL.to_vec();
        rmp::encode::write_array_len(&mut wide, 2).unwrap();
        for value in [9, 1, 2, 70_000] {
            rmp::encode::write_uint(&mut wide, value).unwrap();
        }
        rmp::encode::write_bin(&mut wide, &[]).unwrap();
        assert_eq!(tell_in(&wide), None);
    }

    #[test]
    fn an_oversized_length_is_refused_before_the_body_is_read() {
        // Announces 4 GiB and sends nothing more: refused at once, not after
        // allocating or waiting for 4 GiB.
        let bytes = u32::MAX.to_be_bytes();
        let error = read(&mut &bytes[..], DEFAULT_FRAME_LIMIT).unwrap_err();
        assert!(matches!(error, FrameError::TooLong { len: u32::MAX, .. }));
    }

    #[test]
    fn garbage_is_malformed_and_trailing_bytes_too() {
        assert!(matches!(
            decode(&[0xc1, 0xff, 0x00]),
            Err(FrameError::Malformed(_))
        ));
        let mut buf = Vec::new();
        encode(&Frame::Ping, &mut buf).unwrap();
        let mut body = buf[4..].to_vec();
        body.push(0);
        assert!(matches!(decode(&body), Err(FrameError::Malformed(_))));
    }

    #[test]
    fn errors_cross_and_come_back_the_same() {
        for error in [
            SpeechError::Denied(Reason::Busy),
            SpeechError::Failed(Failure::Panicked),
            SpeechError::Failed(Failure::Unreachable),
            SpeechError::Failed(Failure::NotPortable("x".into())),
            SpeechError::Failed(Failure::Wire("y".into())),
        ] {
            assert_eq!(SpeechError::from(WireError::from(&error)), error);
        }
    }
}
