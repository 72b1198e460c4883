//! `Topic<T>`: publish/subscribe. The one actor written by hand rather than with the
//! macros: it is generic over its events, which `#[actor]` does not support.

use std::fmt;

use crate::actor::{Actor, Declared, Waiting};
use crate::addr::Addr;
use crate::ctx::Ctx;
use crate::id::ActorId;
use crate::reply::{Reply, ReplySender};
use crate::speech::{Sent, Speech, SpeechError, SpeechKind};
use crate::Recipient;

/// A driver actor for publish/subscribe (Stage's `Topic`): every event published goes
/// to every subscriber, each on the channel it chose.
///
/// Notify `publish(event)`; request `subscribe(recipient)` and
/// `unsubscribe(actor) -> bool`; query `subscribers() -> usize`. Publishing is
/// fire-and-forget: a subscriber that has stopped is dropped from the topic, never an
/// error for the publisher; one whose bounded mailbox is full misses that event.
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
/// use stage_runtime::drivers::Topic;
///
/// #[actor]
/// struct Reader { read: Vec<String> }
///
/// #[behaviour]
/// impl Reader {
///     #[on(news)]
///     fn news(&mut self, story: String) { self.read.push(story); }
///     #[query]
///     fn read(&self) -> Vec<String> { self.read.clone() }
/// }
///
/// let stage = Stage::new();
/// let topic = stage.spawn(Topic::<String>::new());
/// let reader = stage.spawn(Reader { read: vec![] });
/// request!(topic, subscribe(recipient!(reader, news))).wait().unwrap();
/// notify!(topic, publish("actors everywhere".to_string()));
/// stage.wait_quiescent();
/// assert_eq!(query!(reader, read()).wait(), Ok(vec!["actors everywhere".to_string()]));
/// ```
pub struct Topic<T> {
    subscribers: Vec<Recipient<T>>,
}

impl<T> Topic<T> {
    /// A topic with no subscribers.
    pub fn new() -> Self {
        Topic {
            subscribers: Vec::new(),
        }
    }
}

impl<T> Default for Topic<T> {
    fn default() -> Self {
        Topic::new()
    }
}

impl<T> fmt::Debug for Topic<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Topic")
            .field("subscribers", &self.subscribers)
            .finish()
    }
}

impl<T: Clone + Send + 'static> Topic<T> {
    /// Sends `event` to every subscriber, on the channel each chose; a
    /// subscriber that has stopped is dropped.
    ///
    /// **Message:** an event on the channel `publish` of `Topic`:
    /// `notify!(topic, publish(event))`.
    pub fn publish(&mut self, event: T) {
        let Some((last, others)) = self.subscribers.split_last() else {
            return;
        };
        let mut gone: Vec<ActorId> = Vec::new();
        for to in others {
            if is_gone(&to.send(event.clone())) {
                gone.push(to.actor());
            }
        }
        if is_gone(&last.send(event)) {
            gone.push(last.actor());
        }
        if !gone.is_empty() {
            self.subscribers.retain(|to| !gone.contains(&to.actor()));
        }
    }
}

impl<T> Topic<T> {
    /// Adds `to`, once: subscribing the same actor and channel again changes
    /// nothing.
    ///
    /// **Message:** a request of `Topic`: `request!(topic, subscribe(to))`,
    /// answered with `Reply<()>`.
    pub fn subscribe(&mut self, to: Recipient<T>) {
        if !self.subscribers.contains(&to) {
            self.subscribers.push(to);
        }
    }

    /// Removes every subscription of `actor`; `true` if it had one.
    ///
    /// **Message:** a request of `Topic`: `request!(topic, unsubscribe(actor))`,
    /// answered with `Reply<bool>`.
    pub fn unsubscribe(&mut self, actor: ActorId) -> bool {
        let before = self.subscribers.len();
        self.subscribers.retain(|to| to.actor() != actor);
        self.subscribers.len() != before
    }

    /// How many subscriptions the topic has.
    ///
    /// **Message:** a query of `Topic`: `query!(topic, subscribers())`,
    /// answered with `Reply<usize>`.
    pub fn subscribers(&self) -> usize {
        self.subscribers.len()
    }
}

fn is_gone(sent: &Sent) -> bool {
    matches!(sent.err(), Some(SpeechError::Failed(_)))
}

#[diagnostic::do_not_recommend]
impl<T: Clone + Send + 'static> Declared for Topic<T> {
    const MAILBOX: Option<usize> = None;
    type Mobility = crate::actor::Local;

    fn __kind() -> &'static crate::census::Kind {
        static KIND: crate::census::Kind =
            crate::census::Kind::named("stage_runtime::drivers::Topic");
        &KIND
    }
}

#[doc(hidden)]
#[derive(Debug)]
pub enum TopicMessage<T> {
    Publish(T),
    Subscribe(Recipient<T>, ReplySender<()>),
    Unsubscribe(ActorId, ReplySender<bool>),
    Subscribers(ReplySender<usize>),
}

/// The proxy `notify!(topic, publish(event))` resolves against.
#[doc(hidden)]
#[derive(Debug)]
pub struct TopicNotify<'a, T: Clone + Send + 'static>(&'a Addr<Topic<T>>);

impl<T: Clone + Send + 'static> TopicNotify<'_, T> {
    /// Publishes `event` to every subscriber.
    pub fn publish(self, event: T) -> Sent {
        self.0.__tell(TopicMessage::Publish(event))
    }
}

/// The proxy `notify!(topic with event on publish)` resolves against.
#[doc(hidden)]
#[derive(Debug)]
pub struct TopicEvents<'a, T: Clone + Send + 'static>(&'a Addr<Topic<T>>);

impl<T: Clone + Send + 'static> TopicEvents<'_, T> {
    /// Publishes `event` to every subscriber.
    pub fn publish(self, event: T) -> Sent {
        self.0.__tell(TopicMessage::Publish(event))
    }
}

/// The proxy `query!(topic, ..)` resolves against.
#[doc(hidden)]
#[derive(Debug)]
pub struct TopicQuery<'a, T: Clone + Send + 'static>(&'a Addr<Topic<T>>);

impl<T: Clone + Send + 'static> TopicQuery<'_, T> {
    /// How many subscribers the topic has.
    pub fn subscribers(self) -> Reply<usize> {
        self.0.__ask(TopicMessage::Subscribers)
    }
}

/// `Topic`'s handler names, for the speech macros' "did you mean".
#[doc(hidden)]
#[derive(Debug)]
pub struct TopicNames {
    pub publish: (),
    pub subscribe: (),
    pub unsubscribe: (),
    pub subscribers: (),
}

/// The proxy `request!(topic, ..)` resolves against.
#[doc(hidden)]
#[derive(Debug)]
pub struct TopicRequest<'a, T: Clone + Send + 'static>(&'a Addr<Topic<T>>);

impl<T: Clone + Send + 'static> TopicRequest<'_, T> {
    /// Adds `to` (once: subscribing the same actor and channel again changes nothing).
    pub fn subscribe(self, to: Recipient<T>) -> Reply<()> {
        self.0
            .__ask(move |reply| TopicMessage::Subscribe(to, reply))
    }

    /// Removes every subscription of `actor`; `true` if it had one.
    pub fn unsubscribe(self, actor: ActorId) -> Reply<bool> {
        self.0
            .__ask(move |reply| TopicMessage::Unsubscribe(actor, reply))
    }
}

#[diagnostic::do_not_recommend]
impl<T: Clone + Send + 'static> Actor for Topic<T> {
    type __Message = TopicMessage<T>;
    type __Notify<'a> = TopicNotify<'a, T>;
    type __Events<'a> = TopicEvents<'a, T>;
    type __Query<'a> = TopicQuery<'a, T>;
    type __Request<'a> = TopicRequest<'a, T>;
    type __Names = TopicNames;

    fn __notify(addr: &Addr<Self>) -> TopicNotify<'_, T> {
        TopicNotify(addr)
    }
    fn __events(addr: &Addr<Self>) -> TopicEvents<'_, T> {
        TopicEvents(addr)
    }
    fn __query(addr: &Addr<Self>) -> TopicQuery<'_, T> {
        TopicQuery(addr)
    }
    fn __request(addr: &Addr<Self>) -> TopicRequest<'_, T> {
        TopicRequest(addr)
    }

    fn __dispatch<'a>(&'a mut self, _ctx: &'a mut Ctx<Self>, msg: TopicMessage<T>) -> Waiting<'a> {
        match msg {
            TopicMessage::Publish(event) => self.publish(event),
            TopicMessage::Subscribe(to, reply) => {
                self.subscribe(to);
                reply.send(());
            }
            TopicMessage::Unsubscribe(actor, reply) => reply.send(self.unsubscribe(actor)),
            TopicMessage::Subscribers(reply) => reply.send(self.subscribers()),
        }
        None
    }

    fn __describe(msg: &TopicMessage<T>) -> (SpeechKind, &'static str) {
        match msg {
            TopicMessage::Publish(_) => (SpeechKind::Notify, "publish"),
            TopicMessage::Subscribe(..) => (SpeechKind::Request, "subscribe"),
            TopicMessage::Unsubscribe(..) => (SpeechKind::Request, "unsubscribe"),
            TopicMessage::Subscribers(_) => (SpeechKind::Query, "subscribers"),
        }
    }

    fn __refuse(msg: TopicMessage<T>, error: SpeechError) {
        match msg {
            TopicMessage::Publish(_) => {}
            TopicMessage::Subscribe(_, reply) => reply.fail(error),
            TopicMessage::Unsubscribe(_, reply) => reply.fail(error),
            TopicMessage::Subscribers(reply) => reply.fail(error),
        }
    }
}

impl<T: Clone + Send + 'static> Speech for Topic<T> {}

/// A name as the speech macros encode it (see `__private::Name`).
macro_rules! name {
    ($name:ident) => { crate::__private::Name<{ crate::__private::name_hash(stringify!($name)) }> };
}

/// How the speech macros reach `Topic`'s handlers by name.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`Topic` has no such handler",
    label = "not a handler of `Topic` for this speech action",
    note = "a `Topic` is notified with `publish(event)`; it answers `request!` with `subscribe(recipient)` and `unsubscribe(actor)`, and `query!` with `subscribers()`"
)]
pub trait TopicSpeak<N> {
    /// The arguments, as a tuple (the event itself for Star's form).
    type Args;
    /// What the speech action gives back.
    type Out;
    /// Sends it.
    fn __speak(self, args: Self::Args) -> Self::Out;
}

macro_rules! speak_by_name {
    ($proxy:ident { $( ($($arg:ident: $ty:ty),*) -> $out:ty => $method:ident; )* }) => {
        #[diagnostic::do_not_recommend]
        impl<T: Clone + Send + 'static> TopicSpeak<()> for $proxy<'_, T> {
            type Args = std::convert::Infallible;
            type Out = std::convert::Infallible;
            fn __speak(self, never: Self::Args) -> Self::Out {
                never
            }
        }
        $(
            #[diagnostic::do_not_recommend]
            impl<T: Clone + Send + 'static> TopicSpeak<name!($method)> for $proxy<'_, T> {
                type Args = ($($ty,)*);
                type Out = $out;
                fn __speak(self, ($($arg,)*): Self::Args) -> $out {
                    self.$method($($arg),*)
                }
            }
        )*
        impl<T: Clone + Send + 'static> $proxy<'_, T> {
            /// The speech macros' entry point.
            #[doc(hidden)]
            pub fn __speak<N>(self, args: <Self as TopicSpeak<N>>::Args) -> <Self as TopicSpeak<N>>::Out
            where
                Self: TopicSpeak<N>,
            {
                <Self as TopicSpeak<N>>::__speak(self, args)
            }
        }
    };
}

speak_by_name!(TopicNotify {
    (event: T) -> Sent => publish;
});
speak_by_name!(TopicQuery {
    () -> Reply<usize> => subscribers;
});
speak_by_name!(TopicRequest {
    (to: Recipient<T>) -> Reply<()> => subscribe;
    (actor: ActorId) -> Reply<bool> => unsubscribe;
});

// Star's form of notify passes the event itself, not a tuple of arguments.
#[diagnostic::do_not_recommend]
impl<T: Clone + Send + 'static> TopicSpeak<()> for TopicEvents<'_, T> {
    type Args = std::convert::Infallible;
    type Out = std::convert::Infallible;
    fn __speak(self, never: Self::Args) -> Self::Out {
        never
    }
}

#[diagnostic::do_not_recommend]
impl<T: Clone + Send + 'static> TopicSpeak<name!(publish)> for TopicEvents<'_, T> {
    type Args = T;
    type Out = Sent;
    fn __speak(self, event: T) -> Sent {
        self.publish(event)
    }
}

impl<T: Clone + Send + 'static> TopicEvents<'_, T> {
    /// The speech macros' entry point.
    #[doc(hidden)]
    pub fn __speak<N>(self, args: <Self as TopicSpeak<N>>::Args) -> <Self as TopicSpeak<N>>::Out
    where
        Self: TopicSpeak<N>,
    {
        <Self as TopicSpeak<N>>::__speak(self, args)
    }
}
