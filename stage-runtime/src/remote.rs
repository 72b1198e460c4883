//! What `stage-net` and generated code use of the runtime's network seam, in one
//! place. The pieces live in their own rooms:
//!
//! - `fabric.rs`: the traits a network layer implements ([`Fabric`], [`Link`])
//!   and the letters that cross ([`Body`], [`Delivery`], [`Answer`], [`Respond`]);
//! - `stand_in.rs`: the address of an actor elsewhere ([`remote`], [`location`]);
//! - `inbound.rs`: a local actor as peers reach it ([`export`], [`local_addr`]);
//! - `wire.rs`, `wire/addr.rs`: how arguments, answers and addresses are encoded
//!   ([`ArgWriter`], [`ArgReader`], [`type_tag`], [`decoding_for`]).
//!
//! Users never need it, hence hidden.

use std::sync::Arc;

pub use crate::fabric::{
    Answer, Arrival, Body, Delivery, Emigrant, Fabric, FabricError, Inbound, Landing, Link,
    Receipt, Respond,
};
pub use crate::inbound::{export, local_addr, respond_with, Incoming};
pub use crate::mobility::{
    balanceable, fresh_alias, is_mobile_type, migrate, rebuild_arrival, Roamer, Settler,
};
pub use crate::speaker::current_actor;
pub use crate::stand_in::{location, remote};
pub use crate::wire::addr::decoding_for;
pub use crate::wire::{fnv1a, type_tag, unknown_variant, ArgReader, ArgWriter, Decoder, Put, Take};

/// Makes `stage` part of the theatre behind `fabric`: addresses of its actors sent
/// to other theatres are exported through it. `false` if the stage belongs to an
/// open theatre already (a stage serves one theatre at a time).
pub fn attach(stage: &crate::Stage, fabric: Arc<dyn Fabric>) -> bool {
    crate::stage::attach(stage, fabric)
}
