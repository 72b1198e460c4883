//! Driver actors: the outside world as actors (Stage's drivers).
//!
//! [`Stdout`] prints in the order it is told. Keyboard, timers, theatre status and
//! publish/subscribe come with the coordination issue.

mod stdout;

pub use stdout::Stdout;
