use std::time::Instant;

use stage_runtime::prelude::*;

#[actor(mobile)]
struct Agent {
    hops: u32,
}

#[behaviour]
impl Agent {
    #[on(hop)]
    fn hop(&mut self, at: Instant) {
        let _ = at;
        self.hops += 1;
    }

    #[query]
    fn started(&self) -> Instant {
        Instant::now()
    }
}

fn main() {}
