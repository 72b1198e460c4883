//! The result of a speech action, and who said it.
//!
//! Star's speech contract answers every speech action with
//! `success(t) / denied(busy | noPermission) / failed(exception)`. In Rust that is a
//! [`Result<T, SpeechError>`]: `Ok` is success, [`SpeechError::Denied`] carries a
//! [`Reason`], [`SpeechError::Failed`] a [`Failure`]. [`Outcome`] offers the same
//! three cases as one enum for code that wants a three-way `match`.

use std::fmt;

use crate::id::ActorId;

/// Why a speech action did not succeed.
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
///
/// let refused = SpeechError::Denied(Reason::Busy);
/// assert_eq!(refused.to_string(), "the actor refused the message: its mailbox is full");
/// assert!(refused.is_denied());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SpeechError {
    /// The actor (or its theatre) refused the message; it was never processed.
    Denied(Reason),
    /// The message was accepted but no answer can come.
    Failed(Failure),
}

impl SpeechError {
    /// `true` when the message was refused before it reached a handler.
    pub fn is_denied(&self) -> bool {
        matches!(self, SpeechError::Denied(_))
    }

    /// `true` when the message was accepted but could not be answered.
    pub fn is_failed(&self) -> bool {
        matches!(self, SpeechError::Failed(_))
    }
}

impl fmt::Display for SpeechError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpeechError::Denied(reason) => write!(f, "the actor refused the message: {reason}"),
            SpeechError::Failed(failure) => write!(f, "the speech action failed: {failure}"),
        }
    }
}

impl std::error::Error for SpeechError {}

/// Why an actor refused a message (Star's `denied(reason)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// The actor's bounded mailbox is full (`#[actor(mailbox = N)]`).
    Busy,
    /// The actor's `#[permit]` policy refused this speaker.
    NoPermission,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::Busy => "its mailbox is full",
            Reason::NoPermission => "its permission policy does not allow this speaker",
        })
    }
}

/// Why an accepted message could not be answered (Star's `failed(exception)`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Failure {
    /// The handler panicked. The panic was contained: the actor carries on with its
    /// next message and no other actor is affected.
    Panicked,
    /// The actor had stopped, or stopped before it reached this message.
    Dead,
    /// No answer came within the time the caller allowed (`Reply::wait_timeout`).
    TimedOut,
    /// Waiting for this answer would have closed a cycle of actors each waiting for
    /// the next (an `async` handler awaiting an actor that awaits it, directly or
    /// around a longer loop). The await that closes the cycle fails at once, instead
    /// of every actor in it hanging.
    Deadlock(Cycle),
    /// The actor's theatre cannot be reached: the connection to it broke, or it was
    /// declared down, before the answer came.
    Unreachable,
    /// A blocking [`Reply::wait`](crate::Reply::wait) inside a handler would have
    /// held the last free worker of the stage whose actor must answer: the answer
    /// could never come. The wait fails at once instead of hanging; `.await` the
    /// reply in a handler (an `async` handler gives its worker back while it
    /// waits).
    NoWorkerLeft,
    /// The message cannot cross the wire: the actor lives on another theatre and is
    /// not `#[actor(mobile)]`, or the speech form cannot be carried there. The text
    /// says which.
    NotPortable(std::sync::Arc<str>),
    /// A message or an answer could not be encoded or decoded on its way between
    /// theatres (the two ends run different code, or a value refused to serialise).
    Wire(std::sync::Arc<str>),
    /// A move between theatres (`Theatre::migrate`) did not happen; the actor
    /// carries on where it was.
    Migration(crate::speech::MigrationError),
}

/// The actors of a wait cycle, starting with the one whose await was refused and
/// ending with the one it would have waited for.
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
///
/// #[actor]
/// struct Ping { pong: Option<Addr<Pong>> }
/// #[actor]
/// struct Pong { ping: Addr<Ping> }
///
/// #[behaviour]
/// impl Ping {
///     #[request]
///     fn meet(&mut self, pong: Addr<Pong>) { self.pong = Some(pong); }
///     #[request]
///     async fn serve(&mut self) -> Result<u8, SpeechError> {
///         match &self.pong { Some(pong) => request!(pong, volley()).await, None => Ok(0) }
///     }
///     #[query]
///     fn score(&self) -> u8 { 1 }
/// }
///
/// #[behaviour]
/// impl Pong {
///     /// Waits for Ping, which is waiting for this: a cycle.
///     #[request]
///     async fn volley(&mut self) -> u8 {
///         match query!(self.ping, score()).await {
///             Err(SpeechError::Failed(Failure::Deadlock(cycle))) => cycle.actors().len() as u8,
///             _ => 0,
///         }
///     }
/// }
///
/// let ping = spawn(Ping { pong: None });
/// let pong = spawn(Pong { ping: ping.clone() });
/// request!(ping, meet(pong)).wait().unwrap();
/// // Pong's await fails at once with the two-actor cycle; both carry on.
/// assert_eq!(request!(ping, serve()).wait(), Ok(Ok(2)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cycle(std::sync::Arc<[ActorId]>);

impl Cycle {
    pub(crate) fn new(actors: Vec<ActorId>) -> Self {
        Cycle(actors.into())
    }

    /// The actors in the cycle, in waiting order.
    pub fn actors(&self) -> &[ActorId] {
        &self.0
    }
}

impl fmt::Display for Cycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, actor) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" waits for ")?;
            }
            write!(f, "{actor}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Panicked => f.write_str("the handler panicked"),
            Failure::Dead => f.write_str("the actor has stopped"),
            Failure::TimedOut => f.write_str("no answer came in time"),
            Failure::Deadlock(cycle) => write!(f, "deadlock: {cycle}, which waits for the first"),
            Failure::Unreachable => f.write_str("the actor's theatre cannot be reached"),
            Failure::NoWorkerLeft => f.write_str(
                "a blocking wait() in a handler would hold the last free worker of the stage \
                 that must answer it; `.await` the reply instead",
            ),
            Failure::NotPortable(why) => write!(f, "the message cannot cross the wire: {why}"),
            Failure::Wire(why) => write!(f, "a message or answer failed on the wire: {why}"),
            Failure::Migration(why) => write!(f, "the actor did not move: {why}"),
        }
    }
}

/// The three outcomes of Star's speech contract, as one enum.
///
/// `Result<T, SpeechError>` is what replies yield; convert it with
/// [`Outcome::from`] where a three-way `match` reads better.
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
///
/// let answer: Result<i64, SpeechError> = Err(SpeechError::Denied(Reason::NoPermission));
/// match Outcome::from(answer) {
///     Outcome::Success(balance) => println!("balance {balance}"),
///     Outcome::Denied(reason) => assert_eq!(reason, Reason::NoPermission),
///     Outcome::Failed(failure) => panic!("{failure}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Outcome<T> {
    /// The actor answered.
    Success(T),
    /// The actor refused the message.
    Denied(Reason),
    /// The message was accepted but could not be answered.
    Failed(Failure),
}

impl<T> Outcome<T> {
    /// Converts back into the `Result` form, so that `?` applies.
    pub fn into_result(self) -> Result<T, SpeechError> {
        match self {
            Outcome::Success(value) => Ok(value),
            Outcome::Denied(reason) => Err(SpeechError::Denied(reason)),
            Outcome::Failed(failure) => Err(SpeechError::Failed(failure)),
        }
    }
}

impl<T> From<Result<T, SpeechError>> for Outcome<T> {
    fn from(result: Result<T, SpeechError>) -> Self {
        match result {
            Ok(value) => Outcome::Success(value),
            Err(SpeechError::Denied(reason)) => Outcome::Denied(reason),
            Err(SpeechError::Failed(failure)) => Outcome::Failed(failure),
        }
    }
}

/// What `notify!` evaluates to: whether the event was accepted.
///
/// A notify is fire-and-forget, so ignoring this value is not a mistake and draws no
/// warning (unlike a `Result`). Code that cares asks [`Sent::result`], which also
/// makes `?` available.
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
///
/// #[actor]
/// struct Log { lines: usize }
///
/// #[behaviour]
/// impl Log {
///     #[on(line)]
///     fn count(&mut self, _text: String) { self.lines += 1; }
/// }
///
/// let log = spawn(Log { lines: 0 });
/// notify!(log, line("ignored outcome".to_string()));
/// let sent = notify!(log, line("checked outcome".to_string()));
/// assert!(sent.is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent(Result<(), SpeechError>);

impl Sent {
    pub(crate) fn new(result: Result<(), SpeechError>) -> Self {
        Sent(result)
    }

    /// The outcome as a `Result`, for `?` or a `match`.
    ///
    /// # Errors
    ///
    /// [`SpeechError::Denied`] with [`Reason::Busy`] when a bounded mailbox is full,
    /// [`SpeechError::Failed`] with [`Failure::Dead`] when the actor has stopped.
    pub fn result(self) -> Result<(), SpeechError> {
        self.0
    }

    /// `true` when the event was accepted.
    pub fn is_ok(&self) -> bool {
        self.0.is_ok()
    }

    /// The refusal, if the event was not accepted.
    pub fn err(&self) -> Option<SpeechError> {
        self.0.clone().err()
    }
}

impl From<Sent> for Result<(), SpeechError> {
    fn from(sent: Sent) -> Self {
        sent.0
    }
}

/// The three speech actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpeechKind {
    /// `notify!`: an event on a channel.
    Notify,
    /// `query!`: a question; cannot change the actor's state.
    Query,
    /// `request!`: an action that may change the actor's state.
    Request,
}

impl fmt::Display for SpeechKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SpeechKind::Notify => "notify",
            SpeechKind::Query => "query",
            SpeechKind::Request => "request",
        })
    }
}

/// Who performed a speech action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Speaker {
    /// Code outside any actor: `main`, a test, a plain thread.
    Outside,
    /// The actor with this identity, from one of its handlers.
    Actor(ActorId),
}

/// One speech action as an actor's `#[permit]` policy sees it.
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
///
/// #[actor]
/// struct Vault { owner: Option<ActorId> }
///
/// #[behaviour]
/// impl Vault {
///     /// Outsiders may only ask questions.
///     #[permit]
///     fn permit(&self, act: &SpeechAct) -> bool {
///         act.kind() == SpeechKind::Query || act.speaker() != Speaker::Outside
///     }
///     #[request]
///     fn open(&mut self) {}
///     #[query]
///     fn is_owned(&self) -> bool { self.owner.is_some() }
/// }
///
/// # stage_runtime::block_on(async {
/// let vault = spawn(Vault { owner: None });
/// assert_eq!(query!(vault, is_owned()).await, Ok(false));
/// assert_eq!(
///     request!(vault, open()).await,
///     Err(SpeechError::Denied(Reason::NoPermission))
/// );
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeechAct {
    kind: SpeechKind,
    name: &'static str,
    speaker: Speaker,
}

impl SpeechAct {
    pub(crate) fn new(kind: SpeechKind, name: &'static str, speaker: Speaker) -> Self {
        SpeechAct {
            kind,
            name,
            speaker,
        }
    }

    /// Which speech action this is.
    pub fn kind(&self) -> SpeechKind {
        self.kind
    }

    /// The channel (for a notify) or handler (for a query or request) it names;
    /// `"with"` for a Star-form expression, which may call several handlers.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Who said it.
    pub fn speaker(&self) -> Speaker {
        self.speaker
    }
}

/// Star's speech contract: the three functions every speech action becomes.
///
/// `#[behaviour]` implements it for each actor. Star encodes `notify A with E on C`
/// as `_notify(A, (AA) => C(E))`, and a query or request as a function evaluated
/// against the actor's schema; here those functions are closures that run inside the
/// actor, in one turn, atomically with respect to its other messages. The Star forms
/// of the speech macros (`query!(stocker 's average with average(1, 2))`) expand to
/// these calls; the short forms (`query!(stocker, average(1, 2))`) to a variant of
/// the actor's message enum, which is cheaper.
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
///
/// #[actor]
/// struct Bank { balance: i64 }
///
/// #[behaviour]
/// impl Bank {
///     #[query]
///     fn current_balance(&self) -> i64 { self.balance }
///     #[request]
///     fn set_balance(&mut self, balance: i64) { self.balance = balance; }
/// }
///
/// # stage_runtime::block_on(async {
/// let bank = spawn(Bank { balance: 100 });
/// Bank::_request(&bank, |bank, _ctx| bank.balance = bank.balance * 12 / 10).await.unwrap();
/// assert_eq!(Bank::_query(&bank, |bank, _ctx| bank.balance).await, Ok(120));
/// # });
/// ```
pub trait Speech: crate::Actor {
    /// Runs `event` inside the actor; fire-and-forget.
    fn _notify<F>(to: &crate::Addr<Self>, event: F) -> Sent
    where
        F: FnOnce(&mut Self, &mut crate::Ctx<Self>) + Send + 'static,
    {
        Sent::new(to.star_notify(event))
    }

    /// Evaluates `question` inside the actor, which it cannot change.
    fn _query<R, F>(to: &crate::Addr<Self>, question: F) -> crate::Reply<R>
    where
        F: FnOnce(&Self, &mut crate::Ctx<Self>) -> R + Send + 'static,
        R: Send + 'static,
    {
        to.star_query(question)
    }

    /// Performs `action` inside the actor, which it may change.
    fn _request<R, F>(to: &crate::Addr<Self>, action: F) -> crate::Reply<R>
    where
        F: FnOnce(&mut Self, &mut crate::Ctx<Self>) -> R + Send + 'static,
        R: Send + 'static,
    {
        to.star_request(action)
    }
}

/// Why an actor could not move. The actor carries on where it was, with its state
/// and its queued letters.
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
///
/// #[actor(mobile)]
/// struct Walker { steps: u32 }
///
/// #[behaviour]
/// impl Walker {
///     #[request]
///     fn walk(&mut self, ctx: &mut Ctx<Self>) { ctx.migrate_to("stage://127.0.0.1:1"); }
///     #[query]
///     fn steps(&self) -> u32 { self.steps }
/// }
///
/// // A stage that belongs to no theatre has nowhere to move to.
/// let walker = spawn(Walker { steps: 3 });
/// request!(walker, walk()).wait().unwrap();
/// assert_eq!(query!(walker, steps()).wait(), Ok(3));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MigrationError {
    /// The actor's stage is not part of an open theatre.
    NoTheatre,
    /// The target is this theatre.
    AlreadyThere,
    /// The target could not be reached, or the connection broke before it
    /// acknowledged.
    Unreachable(std::sync::Arc<str>),
    /// The target refused the actor: its type is not a mobile type it knows, its
    /// state did not decode, or it is over the target's size limit. The text says
    /// which.
    Refused(std::sync::Arc<str>),
    /// The state is larger than the link carries.
    TooLarge {
        /// The snapshot's size, in bytes.
        size: usize,
        /// The most the link carries.
        limit: usize,
    },
    /// The state could not be serialised.
    Snapshot(std::sync::Arc<str>),
    /// The actor is moving already, or stopping, or (on a theatre of
    /// `stage-net`) has just come back to a theatre it had left, while letters
    /// sent to it there the old way round are still on their way: ask again.
    Busy,
}

impl fmt::Display for MigrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MigrationError::NoTheatre => {
                f.write_str("the actor's stage is not part of an open theatre")
            }
            MigrationError::AlreadyThere => f.write_str("the actor is on that theatre already"),
            MigrationError::Unreachable(why) => write!(f, "the target is unreachable: {why}"),
            MigrationError::Refused(why) => write!(f, "the target refused the actor: {why}"),
            MigrationError::TooLarge { size, limit } => write!(
                f,
                "the actor's state is {size} bytes, over the link's limit of {limit}"
            ),
            MigrationError::Snapshot(why) => write!(f, "the state did not serialise: {why}"),
            MigrationError::Busy => f.write_str("the actor is moving already, or stopping"),
        }
    }
}

impl std::error::Error for MigrationError {}
