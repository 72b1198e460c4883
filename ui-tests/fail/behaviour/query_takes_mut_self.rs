use stage_runtime::prelude::*;

#[actor]
struct Counter { n: u32 }

#[behaviour]
impl Counter {
    #[query]
    fn next(&mut self) -> u32 { self.n += 1; self.n }
}

fn main() {}
