//! What crosses the wire between theatres: the frame format ([`frame`]) and an
//! observer's reports ([`report`]). The
//! handshake that opens a connection is in [`handshake`](crate::handshake); the
//! encoding of a message's arguments and answers is the runtime's.

pub mod frame;
pub mod report;
