//! Mobility (weak mobility, Stage's `migrate_to`): not built yet. This is its room.
//!
//! What will live here: taking an `#[actor(mobile)]` actor's snapshot between two
//! turns (its state, serialised, and its queued letters), restoring it on the
//! target theatre under the same [`ActorId`](crate::ActorId), running
//! `#[arrived]` there before any forwarded letter, and turning the cell left
//! behind into a forwarder (a third kind of stand-in, see `stand_in.rs`).
