// The map, in the order a letter meets the files: the public face, the services
// it wires, the connection a letter leaves on, and the wire.
//
// theatre.rs     the public API: `Theatre`, `TheatreBuilder`
// node.rs        wires the services below together; the runtime's `Fabric`
// exports.rs     the actors peers can reach, by identity
// directory.rs   names: bind, lookup, hints, homes by rendezvous hashing
// activation.rs  starting named actors on demand; the links behind named addresses
// peer.rs        a member as a link: where a remote address's letters go
// conn.rs        a socket with its writer and reader; calls awaiting replies
// router.rs      hands each arriving frame to the service that owns its kind
// routes.rs      where letters go for actors that moved: senders switch after a flush
// inbound.rs     delivering what arrives to local actors, events in runs
// membership.rs  joins, handshakes, one connection per pair, rejoin, who is there
// migration.rs   moving actors and cliques between theatres
// held.rs        letters held for an actor that came back, until its fence returns
// balance.rs     load balancing: probes, reports, strategies, the balancer thread
// traffic.rs     who talks with whom across theatres, for the traffic strategy
// observe.rs     what the `metrics` facade is told (feature `metrics`)
// observer.rs    what a theatre reports of itself, and the observer that asks
// wire.rs        what crosses the wire
// wire/frame.rs  the frame format
// wire/report.rs what a theatre reports of itself to an observer
// handshake.rs   proving the cookie
// deadline.rs    a time limit on a whole handshake, not on each read
// tls.rs         TLS under the handshake
// locator.rs     `stage://host:port`
// cli.rs         a standalone theatre's command line
// error.rs       `NetError`
// sync.rs        locks that outlive a panic
// fuzzing.rs     entry points for the fuzz targets (hidden)

//! Stage for Rust across machines: theatres over TCP.
//!
//! A [`Theatre`] is a stage whose actors other theatres can reach. Theatres
//! connect over TCP (one connection per pair), prove to each other that they hold
//! the cluster's cookie (HMAC-SHA256 challenge-response, see [`handshake`]), and
//! carry speech acts as length-prefixed MessagePack frames ([`wire::frame`]). An
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

#![forbid(unsafe_code)]

mod activation;
pub mod balance;
pub mod cli;
mod conn;
mod deadline;
mod directory;
mod error;
mod exports;
#[doc(hidden)]
pub mod fuzzing;
pub mod handshake;
mod held;
mod inbound;
mod locator;
mod membership;
mod migration;
mod node;
mod observe;
pub mod observer;
mod peer;
mod router;
mod routes;
mod sync;
mod theatre;
pub mod tls;
mod traffic;
pub mod wire;

pub use balance::Balancer;
pub use error::NetError;
pub use theatre::{Theatre, TheatreBuilder};
/// The frame format (now [`wire::frame`]; kept here for earlier users).
#[doc(hidden)]
pub use wire::frame;
