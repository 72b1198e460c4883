//! `Recipient<T>`: an actor's address plus one of its channels, as a value.

use std::fmt;
use std::sync::Arc;

use crate::actor::Actor;
use crate::addr::Addr;
use crate::id::ActorId;
use crate::speech::Sent;

/// Somewhere to send events of type `T`: an actor and one of its channels.
///
/// Drivers ([`Timer`](crate::drivers::Timer), [`Topic`](crate::drivers::Topic),
/// [`Keyboard`](crate::drivers::Keyboard)) deliver to recipients, so that each
/// subscriber chooses the channel its events arrive on. Make one with
/// [`recipient!`](crate::recipient): the channel is checked against the actor's
/// channels at compile time, like `notify!`'s.
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
///
/// #[actor]
/// struct Ear { heard: Vec<String> }
///
/// #[behaviour]
/// impl Ear {
///     #[on(hear)]
///     fn hear(&mut self, words: String) { self.heard.push(words); }
///     #[query]
///     fn heard(&self) -> Vec<String> { self.heard.clone() }
/// }
///
/// let ear = spawn(Ear { heard: vec![] });
/// let to: Recipient<String> = recipient!(ear, hear);
/// assert!(to.send("hello".to_string()).is_ok());
/// assert_eq!(to.actor(), ear.id());
/// assert_eq!(query!(ear, heard()).wait(), Ok(vec!["hello".to_string()]));
/// ```
pub struct Recipient<T> {
    actor: ActorId,
    channel: &'static str,
    deliver: Arc<dyn Fn(T) -> Sent + Send + Sync>,
}

impl<T> Recipient<T> {
    /// A recipient that delivers with `deliver`, which `recipient!` writes; prefer it.
    pub fn new<A, F>(addr: &Addr<A>, channel: &'static str, deliver: F) -> Self
    where
        A: Actor,
        F: Fn(&Addr<A>, T) -> Sent + Send + Sync + 'static,
    {
        let addr = addr.clone();
        Recipient {
            actor: addr.id(),
            channel,
            deliver: Arc::new(move |value| deliver(&addr, value)),
        }
    }

    /// Notifies the recipient's channel with `value`.
    pub fn send(&self, value: T) -> Sent {
        (self.deliver)(value)
    }

    /// The actor it delivers to.
    pub fn actor(&self) -> ActorId {
        self.actor
    }

    /// The channel it delivers on.
    pub fn channel(&self) -> &'static str {
        self.channel
    }
}

impl<T> Clone for Recipient<T> {
    fn clone(&self) -> Self {
        Recipient {
            actor: self.actor,
            channel: self.channel,
            deliver: Arc::clone(&self.deliver),
        }
    }
}

impl<T> PartialEq for Recipient<T> {
    /// The same actor and channel.
    fn eq(&self, other: &Self) -> bool {
        self.actor == other.actor && self.channel == other.channel
    }
}

impl<T> fmt::Debug for Recipient<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({} on {})", self.actor, self.channel)
    }
}

/// `recipient!(addr, channel)`: a [`Recipient`] for one of an actor's channels.
///
/// The channel must exist on the actor (a misspelt one is a compile error at the
/// channel's name), and the recipient's event type is that channel's.
#[macro_export]
macro_rules! recipient {
    ($addr:expr, $channel:ident $(,)?) => {
        $crate::Recipient::new(&$addr, ::core::stringify!($channel), |__addr, __event| {
            $crate::__private::events(__addr).$channel(__event)
        })
    };
}
