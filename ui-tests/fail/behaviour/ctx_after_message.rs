use stage_runtime::prelude::*;

#[actor]
struct Counter { count: u32 }

#[behaviour]
impl Counter {
    #[request]
    fn add(&mut self, n: u32, ctx: &mut Ctx<Self>) -> u32 {
        let _ = ctx;
        self.count += n;
        self.count
    }
}

fn main() {}
