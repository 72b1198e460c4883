use stage_runtime::prelude::*;

#[actor]
struct Meter { total: i64 }

#[behaviour]
impl Meter {
    #[query(cached)]
    fn total(&self) -> i64 { self.total }
}

fn main() {}
