use stage_runtime::prelude::*;

#[actor]
struct Agent { hops: u32 }

#[behaviour]
impl Agent {
    #[arrived]
    fn landed(&mut self) { self.hops += 1; }
}

fn main() {}
