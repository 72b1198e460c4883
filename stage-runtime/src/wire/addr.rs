//! Addresses inside messages. A local actor's address leaves as its theatre's
//! locator and the actor's identity (the actor is exported, so that the peer can
//! reach it); a remote one as the location it already holds; a named one as its
//! name. Where it arrives it becomes a local address again, or a stand-in that
//! reaches the actor through the link to its theatre.
//!
//! Decoding needs to know which theatre it decodes for: the network layer wraps
//! its reading of a peer's frames in [`decoding_for`].

use std::sync::Arc;

use crate::actor::Actor;
use crate::addr::Addr;
use crate::fabric::Fabric;
use crate::id::ActorId;
use crate::inbound::{export, local_addr};
use crate::stage::Stage;
use crate::stand_in::remote;
use crate::wire::type_tag;

thread_local! {
    /// The theatre (and its stage) whose peer's bytes this thread is decoding, for
    /// addresses inside them.
    static DECODING: std::cell::RefCell<Option<(Arc<dyn Fabric>, Stage)>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `f` with `fabric` as the theatre, and `stage` as its stage, that addresses
/// decoded on this thread belong to (a network layer wraps its reading of a
/// peer's frames in this).
pub fn decoding_for<R>(fabric: Arc<dyn Fabric>, stage: &Stage, f: impl FnOnce() -> R) -> R {
    struct Reset(Option<(Arc<dyn Fabric>, Stage)>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let previous = self.0.take();
            DECODING.with(|d| *d.borrow_mut() = previous);
        }
    }
    let previous = DECODING.with(|d| d.borrow_mut().replace((fabric, stage.clone())));
    let _reset = Reset(previous);
    f()
}

/// An address on the wire: the actor's theatre (identity and locator), the actor's
/// identity (origin, serial), and its type's tag; or, for an address by universal
/// name, the name.
#[derive(serde::Serialize, serde::Deserialize)]
struct WireAddr<'a> {
    theatre: u64,
    #[serde(borrow)]
    locator: std::borrow::Cow<'a, str>,
    actor: (u64, u64),
    tag: u64,
    #[serde(borrow)]
    name: Option<std::borrow::Cow<'a, str>>,
}

/// An address sent to another theatre: a local actor is exported through its
/// stage's theatre; a remote one is sent as the location it already holds.
impl<A: Actor> serde::Serialize for Addr<A> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let wire = match self.remote_actor() {
            // The actor's own identity: the stand-in of a cell it left reaches it
            // under an alias.
            Some(remote) => WireAddr {
                theatre: remote.link.theatre(),
                locator: remote.link.locator().into(),
                actor: self.id().to_wire(),
                tag: type_tag::<A>(),
                name: remote.link.name().map(Into::into),
            },
            None => {
                let Some(cell) = self.local_cell() else {
                    return Err(S::Error::custom("an address with no actor"));
                };
                let Some(fabric) = crate::stage::fabric_of(cell.stage()) else {
                    return Err(S::Error::custom(format_args!(
                        "an address of a `{}` cannot leave its process: its stage is not \
                         part of an open theatre",
                        std::any::type_name::<A>()
                    )));
                };
                let actor = cell.id();
                if fabric.exported(actor).is_none() {
                    if let Some(exported) = export(self) {
                        fabric.export(exported);
                    }
                }
                WireAddr {
                    theatre: fabric.theatre(),
                    locator: fabric.locator().to_owned().into(),
                    actor: actor.to_wire(),
                    tag: type_tag::<A>(),
                    name: None,
                }
            }
        };
        wire.serialize(serializer)
    }
}

/// An address received from another theatre: one of this theatre's own actors
/// becomes a local address again; any other, an address through the link to its
/// theatre.
impl<'de, A: Actor> serde::Deserialize<'de> for Addr<A> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let wire = WireAddr::deserialize(deserializer)?;
        if wire.tag != type_tag::<A>() {
            return Err(D::Error::custom(format_args!(
                "an address of another actor type where a `{}` was expected",
                std::any::type_name::<A>()
            )));
        }
        let Some((fabric, stage)) = DECODING.with(|d| d.borrow().clone()) else {
            return Err(D::Error::custom(
                "an address arrived outside any theatre (nothing to reach it through)",
            ));
        };
        if !fabric.is_open() {
            return Err(D::Error::custom("this theatre has shut down"));
        }
        let actor = ActorId::from_wire(wire.actor)
            .ok_or_else(|| D::Error::custom("an address with no actor identity"))?;
        if let Some(name) = wire.name {
            let link = fabric.named(&name).map_err(D::Error::custom)?;
            return Ok(remote::<A>(&stage, link, actor));
        }
        if wire.theatre == fabric.theatre() {
            let inbound = fabric.exported(actor).ok_or_else(|| {
                D::Error::custom(format_args!(
                    "{actor} of this theatre is no longer exported"
                ))
            })?;
            return local_addr(&*inbound)
                .ok_or_else(|| D::Error::custom("an exported actor of another type"));
        }
        let link = fabric
            .link(wire.theatre, &wire.locator)
            .map_err(D::Error::custom)?;
        Ok(remote::<A>(&stage, link, actor))
    }
}
