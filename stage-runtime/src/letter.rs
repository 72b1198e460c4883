//! A letter: what travels in a mailbox. A short-form message, a Star-form
//! expression, a stop, or the actor's own continuation; each carries its reply's
//! sender where it has one. In the mailbox a letter rides in an [`Envelope`] with
//! its speaker.

use crate::actor::Actor;
use crate::ctx::Ctx;
use crate::reply::ReplySender;
use crate::speech::{Speaker, SpeechError, SpeechKind};

/// A letter in a mailbox, with who sent it.
pub(crate) struct Envelope<A: Actor> {
    pub(crate) letter: Letter<A>,
    pub(crate) from: Speaker,
}

/// A Star-form expression sent to an actor: a closure that runs inside it in one turn
/// and answers through its reply.
pub(crate) trait StarCall<A: Actor>: Send {
    fn kind(&self) -> SpeechKind;
    fn run(self: Box<Self>, actor: &mut A, ctx: &mut Ctx<A>);
    fn refuse(self: Box<Self>, error: SpeechError);
    /// The call encoded for an actor on another theatre; refused with the error when
    /// it cannot cross the wire (a closure, rather than a macro's Star form).
    fn portable(self: Box<Self>) -> Result<crate::fabric::Body, SpeechError> {
        let error = crate::wire::not_portable(
            "a closure sent with `Speech::_query`, `_request` or `_notify` cannot cross \
             the wire: write the expression in Star's form (`query!(x 's .. with ..)`), \
             whose captured values are serialised",
        );
        self.refuse(error.clone());
        Err(error)
    }
}

pub(crate) struct QueryCall<F, R> {
    pub(crate) f: F,
    pub(crate) reply: ReplySender<R>,
}

impl<A, F, R> StarCall<A> for QueryCall<F, R>
where
    A: Actor,
    F: FnOnce(&A, &mut Ctx<A>) -> R + Send,
    R: Send,
{
    fn kind(&self) -> SpeechKind {
        SpeechKind::Query
    }
    fn run(self: Box<Self>, actor: &mut A, ctx: &mut Ctx<A>) {
        let QueryCall { f, reply } = *self;
        reply.send(f(actor, ctx));
    }
    fn refuse(self: Box<Self>, error: SpeechError) {
        self.reply.fail(error);
    }
}

pub(crate) struct RequestCall<F, R> {
    pub(crate) f: F,
    pub(crate) reply: ReplySender<R>,
}

impl<A, F, R> StarCall<A> for RequestCall<F, R>
where
    A: Actor,
    F: FnOnce(&mut A, &mut Ctx<A>) -> R + Send,
    R: Send,
{
    fn kind(&self) -> SpeechKind {
        SpeechKind::Request
    }
    fn run(self: Box<Self>, actor: &mut A, ctx: &mut Ctx<A>) {
        let RequestCall { f, reply } = *self;
        reply.send(f(actor, ctx));
    }
    fn refuse(self: Box<Self>, error: SpeechError) {
        self.reply.fail(error);
    }
}

pub(crate) struct NotifyCall<F> {
    pub(crate) f: F,
}

impl<A, F> StarCall<A> for NotifyCall<F>
where
    A: Actor,
    F: FnOnce(&mut A, &mut Ctx<A>) + Send,
{
    fn kind(&self) -> SpeechKind {
        SpeechKind::Notify
    }
    fn run(self: Box<Self>, actor: &mut A, ctx: &mut Ctx<A>) {
        (self.f)(actor, ctx);
    }
    fn refuse(self: Box<Self>, _error: SpeechError) {}
}

/// What travels in a mailbox.
pub(crate) enum Letter<A: Actor> {
    /// A short-form speech action: a variant of the actor's message enum.
    Speech(A::__Message),
    /// A Star-form expression (or the speech contract's closure form).
    Star(Box<dyn StarCall<A>>),
    /// `Addr::stop`: end the actor after the messages sent before this one.
    Stop(ReplySender<()>),
    /// The actor's own continuation (`Ctx::handle`, a `#[down]` notice): not a speech
    /// act of anyone else's, so the permission policy does not see it.
    Own(Box<dyn StarCall<A>>),
    /// A supervised child escalated its failure: handled as this actor's own panic.
    Escalated,
    /// A peer's receipt for the letters queued before it: taking it (or refusing
    /// it) drops it, which tells the network layer they are no longer held here.
    Receipt(crate::fabric::Receipt),
    /// A marker that follows letters along the forwarders an actor left behind
    /// (see `Body::Fence`): it does nothing where the actor runs.
    Fence(crate::id::ActorId),
    /// Answered when the actor takes it (see `Body::Flush`).
    Flush(ReplySender<()>),
    /// What is left of a letter whose reply has been answered already (by a link
    /// that could not take it): refusing it does nothing, and it is never queued.
    Answered,
}

impl<A: Actor> Letter<A> {
    pub(crate) fn describe(&self) -> (SpeechKind, &'static str) {
        match self {
            Letter::Speech(msg) => A::__describe(msg),
            Letter::Star(call) => (call.kind(), "with"),
            Letter::Stop(_) => (SpeechKind::Request, "stop"),
            Letter::Own(_) => (SpeechKind::Notify, "handle"),
            Letter::Escalated => (SpeechKind::Notify, "escalated"),
            Letter::Answered => (SpeechKind::Notify, "answered"),
            Letter::Receipt(_) => (SpeechKind::Notify, "receipt"),
            Letter::Fence(_) => (SpeechKind::Notify, "fence"),
            Letter::Flush(_) => (SpeechKind::Notify, "flush"),
        }
    }

    pub(crate) fn refuse(self, error: SpeechError) {
        match self {
            Letter::Speech(msg) => A::__refuse(msg, error),
            Letter::Star(call) => call.refuse(error),
            Letter::Stop(reply) | Letter::Flush(reply) => reply.fail(error),
            Letter::Own(call) => call.refuse(error),
            Letter::Escalated | Letter::Answered | Letter::Receipt(_) | Letter::Fence(_) => {}
        }
    }
}
