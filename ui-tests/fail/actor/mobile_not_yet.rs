use stage_runtime::prelude::*;

#[actor(mobile)]
struct Agent { hops: u32 }

fn main() {}
