//! Driver actors: the outside world as actors (Stage's drivers).
//!
//! - [`Stdout`] prints in the order it is told (SALSA's `standardOutput`);
//! - [`Keyboard`] turns lines of input into events;
//! - [`Timer`] notifies after a delay, or every period;
//! - [`TheatreStatus`] reports load, OS, uptime and actor count;
//! - [`Topic`] publishes events to subscribers.
//!
//! Drivers that deliver events do so to a [`Recipient`](crate::Recipient): an
//! address plus the channel the subscriber chose, made with
//! [`recipient!`](crate::recipient).

mod keyboard;
mod status;
mod stdout;
mod timer;
mod topic;

pub use keyboard::Keyboard;
pub use status::{load_average, Status, TheatreStatus};
pub use stdout::Stdout;
pub use timer::{Tick, Timer, TimerId};
pub use topic::{
    Topic, TopicEvents, TopicMessage, TopicNotify, TopicQuery, TopicRequest, TopicSpeak,
};
