use stage_runtime::prelude::*;

#[actor(balance)]
struct Worker {
    done: u64,
}

fn main() {}
