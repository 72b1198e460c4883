//! SALSA's termination detection: the stage knows when no work is left, even with
//! actors still alive and idle.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use stage_runtime::prelude::*;

#[actor]
struct Hop {
    next: Option<Addr<Hop>>,
    hops: Arc<AtomicU64>,
}

#[behaviour]
impl Hop {
    #[request]
    fn link(&mut self, next: Addr<Hop>) {
        self.next = Some(next);
    }

    #[on(token)]
    fn token(&mut self, left: u64) {
        self.hops.fetch_add(1, Ordering::SeqCst);
        if left > 0 {
            if let Some(next) = &self.next {
                notify!(next, token(left - 1));
            }
        }
    }

    #[query]
    fn alive(&self) -> bool {
        true
    }
}

/// Waits on another actor from inside an async handler: a pending reply that can
/// still produce work must hold quiescence off.
#[actor]
struct Asker {
    target: Addr<Hop>,
    answered: Arc<AtomicU64>,
}

#[behaviour]
impl Asker {
    #[on(go)]
    async fn go(&mut self) {
        if query!(self.target, alive()).await == Ok(true) {
            self.answered.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[test]
fn quiescence_comes_after_all_work_with_actors_still_alive() {
    let stage = Stage::builder().workers(2).build();
    let hops = Arc::new(AtomicU64::new(0));
    let ring: Vec<Addr<Hop>> = (0..100)
        .map(|_| {
            stage.spawn(Hop {
                next: None,
                hops: hops.clone(),
            })
        })
        .collect();
    for (i, hop) in ring.iter().enumerate() {
        let next = ring[(i + 1) % ring.len()].clone();
        request!(hop, link(next)).wait().expect("linked");
    }
    let answered = Arc::new(AtomicU64::new(0));
    let askers: Vec<_> = (0..50)
        .map(|i| {
            stage.spawn(Asker {
                target: ring[i].clone(),
                answered: answered.clone(),
            })
        })
        .collect();
    notify!(ring[0], token(10_000));
    for asker in &askers {
        notify!(asker, go());
    }
    stage.wait_quiescent();
    assert_eq!(hops.load(Ordering::SeqCst), 10_001);
    assert_eq!(answered.load(Ordering::SeqCst), 50);
    // Still alive, and idle: quiescence is not death.
    for hop in &ring {
        assert_eq!(query!(hop, alive()).wait(), Ok(true));
    }
    stage.wait_quiescent();
}

#[test]
fn a_spawned_task_holds_quiescence_until_it_finishes() {
    let stage = Stage::builder().workers(2).build();
    let hops = Arc::new(AtomicU64::new(0));
    let hop = stage.spawn(Hop {
        next: None,
        hops: hops.clone(),
    });
    let task = stage.spawn_task(async move {
        for _ in 0..10 {
            query!(hop, alive()).await.expect("alive");
            notify!(hop, token(0));
        }
    });
    stage.wait_quiescent();
    assert!(task.is_ready());
    assert_eq!(hops.load(Ordering::SeqCst), 10);
}
