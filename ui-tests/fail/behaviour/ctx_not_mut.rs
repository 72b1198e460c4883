use stage_runtime::prelude::*;

#[actor]
struct Counter { n: u32 }

#[behaviour]
impl Counter {
    #[request]
    fn bump(&mut self, ctx: &Ctx<Self>) -> u32 { self.n += 1; self.n }
}

fn main() {}
