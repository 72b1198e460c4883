use stage_runtime::prelude::*;

#[actor(mobile)]
struct Agent {
    hops: u32,
    log: std::fs::File,
}

#[behaviour]
impl Agent {
    #[query]
    fn hops(&self) -> u32 {
        self.hops
    }
}

fn main() {}
