use stage_runtime::prelude::*;

struct Plain { n: u32 }

#[behaviour]
impl Plain {
    #[query]
    fn n(&self) -> u32 { self.n }
}

fn main() {}
