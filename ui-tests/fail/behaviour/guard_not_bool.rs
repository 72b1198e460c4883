use stage_runtime::prelude::*;

#[actor]
struct Meter { total: i64 }

#[behaviour]
impl Meter {
    #[on(reading, when = value + 1)]
    fn add(&mut self, value: i64) { self.total += value; }
}

fn main() {}
