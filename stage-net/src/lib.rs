//! Stage for Rust across machines: theatres over TCP.
//!
//! A [`Theatre`] is a stage whose actors other theatres can reach. Theatres
//! connect over TCP (one connection per pair), prove to each other that they hold
//! the cluster's cookie (HMAC-SHA256 challenge-response, see [`handshake`]), and
//! carry speech acts as length-prefixed MessagePack frames ([`frame`]). An
//! [`Addr`](stage_runtime::Addr) of an actor on another theatre is used exactly like
//! a local one: `notify!`, `query!`, `request!` (in both forms: a Star-form
//! expression runs on the actor's theatre, with the values it captures serialised),
//! replies and continuations.
//!
//! Only `#[actor(mobile)]` actors can be spoken to from another theatre: their
//! messages and answers are serialisable. A message to any other actor fails with
//! `Failed(NotPortable)` and never leaves its process. Addresses travel inside
//! messages and still work where they arrive.
//!
//! Actors are found by universal name: [`Theatre::bind`] and the type-checked
//! [`Theatre::lookup`], or [`Theatre::named`], whose first message starts the actor
//! on the name's home theatre (activation on demand). `ctx.monitor` works across
//! theatres. A broken connection fails what was pending on it with
//! `Failed(Unreachable)` and is rejoined. [`cli::Options`] reads a standalone
//! theatre's command line.
//!
//! See [`Theatre`] for an example, and the workspace README's section on theatres
//! for what this release carries and what it does not yet.

pub mod cli;
pub mod frame;
#[doc(hidden)]
pub mod fuzzing;
pub mod handshake;
mod link;
mod named;
mod theatre;
pub mod tls;

pub use theatre::{Theatre, TheatreBuilder};

use handshake::HandshakeError;

/// Why a network operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum NetError {
    /// A socket operation failed.
    Io(std::io::Error),
    /// The handshake with a peer failed.
    Handshake(HandshakeError),
    /// Not a locator: expected `stage://host:port` or `host:port`.
    BadLocator(String),
    /// A theatre needs a cluster cookie: `Theatre::builder().cookie(secret)`.
    NoCookie,
    /// The name is bound on this theatre already.
    NameTaken(String),
    /// No theatre has this name bound.
    NotFound(String),
    /// The name is bound to an actor of another type.
    WrongType {
        /// The name.
        name: String,
        /// The type asked for.
        expected: &'static str,
        /// The type bound.
        found: String,
    },
    /// Only an actor of this theatre can be bound here.
    NotLocal,
    /// The stage given to `TheatreBuilder::stage` serves another theatre already.
    StageTaken,
    /// A command line that [`cli::Options::parse`] cannot take; the text says why
    /// and how to write it.
    Usage(String),
    /// TLS could not be set up: a certificate or key that cannot be read or used,
    /// or a TLS handshake that failed (the text says which).
    Tls(String),
}

impl std::fmt::Display for NetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetError::Io(error) => write!(f, "network error: {error}"),
            NetError::Handshake(error) => error.fmt(f),
            NetError::BadLocator(text) => {
                write!(f, "`{text}` is not a locator: write `stage://host:port`")
            }
            NetError::NoCookie => {
                f.write_str("a theatre needs a cluster cookie: `Theatre::builder().cookie(secret)`")
            }
            NetError::NameTaken(name) => write!(f, "the name `{name}` is bound already"),
            NetError::NotFound(name) => write!(f, "no theatre has the name `{name}` bound"),
            NetError::WrongType {
                name,
                expected,
                found,
            } => write!(
                f,
                "the name `{name}` is bound to a `{found}`, not a `{expected}`"
            ),
            NetError::NotLocal => f.write_str("only an actor of this theatre can be bound on it"),
            NetError::Usage(why) => f.write_str(why),
            NetError::Tls(why) => write!(f, "TLS: {why}"),
            NetError::StageTaken => f.write_str(
                "that stage serves another theatre already: give each theatre its own stage",
            ),
        }
    }
}

impl std::error::Error for NetError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NetError::Io(error) => Some(error),
            NetError::Handshake(error) => Some(error),
            _ => None,
        }
    }
}

impl From<std::io::Error> for NetError {
    fn from(error: std::io::Error) -> Self {
        NetError::Io(error)
    }
}

impl From<HandshakeError> for NetError {
    fn from(error: HandshakeError) -> Self {
        NetError::Handshake(error)
    }
}
