//! What the runtime tells `tracing` and the `metrics` facade, each behind its
//! feature (`tracing`, `metrics`). Without the feature a hook is an empty
//! inline function: nothing is compiled in. With it but no subscriber or
//! recorder installed, a hook costs a check of a global.
//!
//! Spans and events (`tracing`):
//!
//! | name or target | level | when | fields |
//! |---|---|---|---|
//! | span `turn` | trace | a handler runs for a letter (an `async` one's first poll) | `actor`, `kind`, `message` |
//! | span `resume` | trace | an `async` handler is polled again | `actor` |
//! | event, target `stage_runtime::speech` | trace | a letter is sent | `actor`, `kind`, `message` |
//! | event, target `stage_runtime::refused` | debug | a letter is refused | `actor`, `kind`, `message`, `error` |
//! | event, target `stage_runtime::lifecycle` | debug, error for a panic | an actor starts, panics, restarts, ends | `actor`, `reason` |
//!
//! Metrics (`metrics`). Nothing is counted per letter as it goes (even a
//! facade with no recorder costs a lookup per call, 5% of the fan-in
//! workload's throughput when it was): the stage counts its letters anyway,
//! and [`crate::Stage::record_metrics`] hands on its counts.
//!
//! | name | kind | what |
//! |---|---|---|
//! | `stage_letters_done_total` | counter | letters handled and futures completed by a stage, by `stage` (set by [`crate::Stage::record_metrics`]) |
//! | `stage_letters_refused_total` | counter | letters refused, by `actor` and `reason` (`busy`, `no_permission`, `failed`) |
//! | `stage_actors_started_total` | counter | actors started |
//! | `stage_actors_stopped_total` | counter | actors ended, by `actor` and `reason` |
//! | `stage_handler_panics_total` | counter | handlers that panicked |
//! | `stage_restarts_total` | counter | supervised actors restarted |
//! | `stage_letters_waiting` | gauge | letters waiting in a stage's mailboxes or being handled, by `stage` (set by [`crate::Stage::record_metrics`]) |
//! | `stage_actors` | gauge | a stage's live actors, by `stage` (the same) |

#![cfg_attr(
    not(all(feature = "tracing", feature = "metrics")),
    allow(unused_variables)
)]

use crate::actor::Actor;
use crate::letter::Letter;
use crate::speech::SpeechError;
use crate::supervision::DownReason;

/// What a hook is told of a letter: its kind and its handler's name, when a
/// feature is on to use them.
#[cfg(any(feature = "tracing", feature = "metrics"))]
pub(crate) type Described = (crate::speech::SpeechKind, &'static str);
/// What a hook is told of a letter: nothing, with no feature on.
#[cfg(not(any(feature = "tracing", feature = "metrics")))]
#[derive(Clone, Copy)]
pub(crate) struct Described;

/// Describes `letter` for the hooks.
#[cfg(any(feature = "tracing", feature = "metrics"))]
#[inline(always)]
pub(crate) fn describe<A: Actor>(letter: &Letter<A>) -> Described {
    letter.describe()
}

/// Describes `letter` for the hooks: nothing, with no feature on.
#[cfg(not(any(feature = "tracing", feature = "metrics")))]
#[inline(always)]
pub(crate) fn describe<A: Actor>(_: &Letter<A>) -> Described {
    Described
}

/// What a hook on a turn keeps while the turn runs: the entered span.
#[cfg(feature = "tracing")]
pub(crate) type InTurn = tracing::span::EnteredSpan;
/// What a hook on a turn keeps while the turn runs: nothing.
#[cfg(not(feature = "tracing"))]
pub(crate) struct InTurn;

/// A handler of `actor` runs for a letter.
#[inline(always)]
pub(crate) fn turn(actor: &'static str, described: Described) -> InTurn {
    turn_span(actor, described)
}

#[cfg(feature = "tracing")]
#[inline(always)]
fn turn_span(actor: &'static str, (kind, message): Described) -> InTurn {
    tracing::trace_span!("turn", actor, kind = %kind, message).entered()
}

#[cfg(not(feature = "tracing"))]
#[inline(always)]
fn turn_span(_: &'static str, _: Described) -> InTurn {
    InTurn
}

/// An `async` handler of `actor` is polled again.
#[cfg(feature = "tracing")]
#[inline(always)]
pub(crate) fn resume(actor: &'static str) -> InTurn {
    tracing::trace_span!("resume", actor).entered()
}

/// An `async` handler of `actor` is polled again: nothing to tell.
#[cfg(not(feature = "tracing"))]
#[inline(always)]
pub(crate) fn resume(_: &'static str) -> InTurn {
    InTurn
}

/// A letter for `actor` was accepted by its mailbox.
#[inline(always)]
pub(crate) fn sent(actor: &'static str, described: Described) {
    #[cfg(feature = "tracing")]
    {
        let (kind, message) = described;
        tracing::trace!(target: "stage_runtime::speech", actor, kind = %kind, message);
    }
}

/// A letter for `actor` was refused with `error`.
#[inline(always)]
pub(crate) fn refused(actor: &'static str, described: Described, error: &SpeechError) {
    #[cfg(feature = "metrics")]
    {
        let reason = match error {
            SpeechError::Denied(crate::speech::Reason::Busy) => "busy",
            SpeechError::Denied(_) => "no_permission",
            _ => "failed",
        };
        metrics::counter!("stage_letters_refused_total", "actor" => actor, "reason" => reason)
            .increment(1);
    }
    #[cfg(feature = "tracing")]
    {
        let (kind, message) = described;
        tracing::debug!(target: "stage_runtime::refused", actor, kind = %kind, message, %error);
    }
}

/// An actor of type `actor` has started.
#[inline(always)]
pub(crate) fn started(actor: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("stage_actors_started_total", "actor" => actor).increment(1);
    #[cfg(feature = "tracing")]
    tracing::debug!(target: "stage_runtime::lifecycle", actor, "started");
}

/// An actor of type `actor` has ended.
#[inline(always)]
pub(crate) fn stopped(actor: &'static str, reason: DownReason) {
    #[cfg(feature = "metrics")]
    metrics::counter!("stage_actors_stopped_total", "actor" => actor, "reason" => reason_label(reason))
        .increment(1);
    #[cfg(feature = "tracing")]
    tracing::debug!(target: "stage_runtime::lifecycle", actor, reason = %reason, "ended");
}

/// A handler of `actor` panicked.
#[inline(always)]
pub(crate) fn panicked(actor: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("stage_handler_panics_total", "actor" => actor).increment(1);
    #[cfg(feature = "tracing")]
    tracing::error!(target: "stage_runtime::lifecycle", actor, "a handler panicked");
}

/// A supervised actor of type `actor` was restarted with fresh state.
#[inline(always)]
pub(crate) fn restarted(actor: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("stage_restarts_total", "actor" => actor).increment(1);
    #[cfg(feature = "tracing")]
    tracing::debug!(target: "stage_runtime::lifecycle", actor, "restarted");
}

/// Sets a stage's gauges from its load.
#[cfg(feature = "metrics")]
pub(crate) fn stage_load(stage: &str, load: &crate::StageLoad) {
    let stage = stage.to_owned();
    metrics::counter!("stage_letters_done_total", "stage" => stage.clone()).absolute(load.done);
    metrics::gauge!("stage_letters_waiting", "stage" => stage.clone()).set(load.waiting as f64);
    metrics::gauge!("stage_actors", "stage" => stage).set(load.actors as f64);
}

#[cfg(feature = "metrics")]
fn reason_label(reason: DownReason) -> &'static str {
    match reason {
        DownReason::Stopped => "stopped",
        DownReason::Panicked => "panicked",
        DownReason::Escalated => "escalated",
        DownReason::Dropped => "dropped",
        DownReason::ShutDown => "shut_down",
        DownReason::Unreachable => "unreachable",
    }
}
