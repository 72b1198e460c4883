//! A cycle of actors awaiting each other ends in `Failed(Deadlock)` at once instead
//! of hanging; a long chain that is not a cycle is never mistaken for one.

use std::time::{Duration, Instant};

use stage_runtime::prelude::*;

#[actor]
struct Link {
    next: Option<Addr<Link>>,
}

#[behaviour]
impl Link {
    #[request]
    fn point(&mut self, next: Addr<Link>) {
        self.next = Some(next);
    }

    /// Asks the next link, `hops` times around, waiting for each answer.
    #[request]
    async fn around(&mut self, hops: u32) -> Result<u32, SpeechError> {
        if hops == 0 {
            return Ok(0);
        }
        match &self.next {
            Some(next) => match request!(next, around(hops - 1)).await {
                Ok(inner) => inner.map(|n| n + 1),
                Err(error) => Err(error),
            },
            None => Ok(0),
        }
    }

    /// Waits for an answer from itself.
    #[request]
    async fn ask_myself(&mut self, ctx: &mut Ctx<Self>) -> Result<u32, SpeechError> {
        let me = ctx.addr();
        request!(me, around(0)).await?
    }
}

fn ring(stage: &Stage, size: usize) -> Vec<Addr<Link>> {
    let links: Vec<_> = (0..size)
        .map(|_| stage.spawn(Link { next: None }))
        .collect();
    for (i, link) in links.iter().enumerate() {
        let next = links[(i + 1) % size].clone();
        request!(link, point(next)).wait().expect("linked");
    }
    links
}

fn chain(stage: &Stage, size: usize) -> Vec<Addr<Link>> {
    let links: Vec<_> = (0..size)
        .map(|_| stage.spawn(Link { next: None }))
        .collect();
    for pair in links.windows(2) {
        request!(pair[0], point(pair[1].clone()))
            .wait()
            .expect("linked");
    }
    links
}

/// Waits for a reply, failing the test (with `TimedOut`) instead of hanging.
fn within<T>(reply: Reply<T>, limit: Duration) -> Result<T, SpeechError> {
    reply.wait_timeout(limit)
}

fn deadlock_cycle(answer: Result<Result<u32, SpeechError>, SpeechError>) -> Vec<ActorId> {
    match answer {
        Ok(Err(SpeechError::Failed(Failure::Deadlock(cycle)))) => cycle.actors().to_vec(),
        other => panic!("expected a deadlock, got {other:?}"),
    }
}

#[test]
fn a_three_actor_await_cycle_fails_within_a_second() {
    let stage = Stage::builder().workers(2).build();
    let links = ring(&stage, 3);
    let started = Instant::now();
    // a waits for b, b for c, and c's wait for a closes the cycle.
    let answer = within(request!(links[0], around(3)), Duration::from_secs(30));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    let cycle = deadlock_cycle(answer);
    assert_eq!(cycle, [links[2].id(), links[0].id(), links[1].id()]);
    // Everyone carries on afterwards.
    assert_eq!(
        within(request!(links[1], around(0)), Duration::from_secs(30)),
        Ok(Ok(0))
    );
}

#[test]
fn a_two_actor_cycle_and_waiting_for_oneself_are_deadlocks() {
    let stage = Stage::builder().workers(1).build();
    let pair = ring(&stage, 2);
    let cycle = deadlock_cycle(within(
        request!(pair[0], around(2)),
        Duration::from_secs(30),
    ));
    assert_eq!(cycle.len(), 2);
    let alone = stage.spawn(Link { next: None });
    let cycle = deadlock_cycle(within(
        request!(alone, ask_myself()),
        Duration::from_secs(30),
    ));
    assert_eq!(cycle, [alone.id()]);
}

#[test]
fn a_twenty_deep_await_chain_is_not_a_deadlock() {
    let stage = Stage::builder().workers(2).build();
    let links = chain(&stage, 21);
    assert_eq!(
        within(request!(links[0], around(20)), Duration::from_secs(60)),
        Ok(Ok(20))
    );
}

#[test]
fn going_around_a_ring_many_times_is_a_deadlock_only_when_it_loops_back() {
    let stage = Stage::builder().workers(2).build();
    let links = ring(&stage, 5);
    // Four hops from the first link stay within the ring without returning to it.
    assert_eq!(
        within(request!(links[0], around(4)), Duration::from_secs(30)),
        Ok(Ok(4))
    );
    // Five come back to the first link, which is still waiting: a cycle.
    let cycle = deadlock_cycle(within(
        request!(links[0], around(5)),
        Duration::from_secs(30),
    ));
    assert_eq!(cycle.len(), 5);
}
