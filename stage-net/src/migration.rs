//! Migration (weak mobility, Stage's `migrate_to`, SALSA's migrating agents): not
//! built yet. This is its room.
//!
//! What will live here: moving an `#[actor(mobile)]` actor, or a clique of
//! friends, to another theatre between two of its turns: snapshot, install on the
//! target, acknowledgement, the directory's switch, forwarding of queued and
//! in-flight letters in order, and `#[arrived]`. It will listen to membership (a
//! target that leaves mid-move) and use the directory and exports; the router
//! will hand it the migration frames.
