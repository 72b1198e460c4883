use stage_runtime::prelude::*;

#[actor]
struct Clock;

#[behaviour]
impl Clock {
    #[query]
    fn now() -> u64 { 0 }
}

fn main() {}
