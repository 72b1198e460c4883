use stage_runtime::prelude::*;

#[actor]
struct Named { name: String }

#[behaviour]
impl Named {
    #[query]
    fn name(&self) -> &str { &self.name }
}

fn main() {}
