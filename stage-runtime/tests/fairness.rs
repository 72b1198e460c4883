//! A busy actor cannot starve the others: a turn processes a bounded number of
//! messages, then the actor goes to the back of the queue.

use std::time::Duration;

use stage_runtime::prelude::*;

/// Sends itself a message for every message it gets: it always has work.
#[actor]
struct Spinner {
    spins: u64,
}

#[behaviour]
impl Spinner {
    #[on(spin)]
    fn spin(&mut self, ctx: &mut Ctx<Self>) {
        self.spins += 1;
        notify!(ctx.addr(), spin());
    }

    #[query]
    fn spins(&self) -> u64 {
        self.spins
    }
}

#[actor]
struct Clerk;

#[behaviour]
impl Clerk {
    #[query]
    fn ready(&self) -> bool {
        true
    }
}

#[test]
fn a_self_feeding_actor_does_not_starve_a_single_worker() {
    let stage = Stage::builder().workers(1).build();
    let spinners: Vec<_> = (0..3).map(|_| stage.spawn(Spinner { spins: 0 })).collect();
    for spinner in &spinners {
        notify!(spinner, spin());
    }
    let clerk = stage.spawn(Clerk);
    // A starved clerk would time out here rather than hang the test run.
    let limit = Duration::from_secs(30);
    for _ in 0..100 {
        assert_eq!(query!(clerk, ready()).wait_timeout(limit), Ok(true));
    }
    // Every spinner got turns too, and answers queries between its own messages.
    for spinner in &spinners {
        assert!(
            query!(spinner, spins())
                .wait_timeout(limit)
                .expect("answered")
                > 0
        );
        spinner.stop().wait_timeout(limit).expect("stopped");
    }
    stage.wait_quiescent();
}
