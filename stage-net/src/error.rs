//! [`NetError`]: why a theatre's operation failed.

use crate::handshake::HandshakeError;

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
    /// A command line that [`cli::Options::parse`](crate::cli::Options::parse) cannot take; the text says why
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
