//! Typed models of what the user wrote, keeping the user's spans.
//!
//! Parsers here report problems local to one item (an unknown option, a malformed
//! attribute) and still return a best-effort model; rules that relate several items
//! live in `check.rs`.

pub(crate) mod actor;
pub(crate) mod behaviour;
pub(crate) mod speech;
