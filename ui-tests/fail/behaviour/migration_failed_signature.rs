use stage_runtime::prelude::*;

#[actor(mobile)]
struct Agent { hops: u32 }

#[behaviour]
impl Agent {
    #[migration_failed]
    fn stayed(&mut self) { self.hops += 1; }
}

fn main() {}
