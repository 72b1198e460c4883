//! Actors are cheap: a hundred thousand of them, each sent one message.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use stage_runtime::prelude::*;

#[actor]
struct Cell {
    value: u64,
    done: Arc<AtomicUsize>,
}

#[behaviour]
impl Cell {
    #[on(set)]
    fn set(&mut self, value: u64) {
        self.value = value;
        self.done.fetch_add(1, Ordering::Relaxed);
    }

    #[query]
    fn value(&self) -> u64 {
        self.value
    }
}

#[test]
fn a_hundred_thousand_actors_each_get_their_message() {
    const N: usize = 100_000;
    let stage = Stage::builder().workers(2).build();
    let done = Arc::new(AtomicUsize::new(0));
    let cells: Vec<Addr<Cell>> = (0..N)
        .map(|i| {
            let cell = stage.spawn(Cell {
                value: 0,
                done: done.clone(),
            });
            assert!(notify!(cell, set(i as u64)).is_ok());
            cell
        })
        .collect();
    stage.wait_quiescent();
    assert_eq!(done.load(Ordering::Relaxed), N);
    // Spot-check that each got its own message.
    for i in (0..N).step_by(9_973) {
        assert_eq!(query!(cells[i], value()).wait(), Ok(i as u64));
    }
}
