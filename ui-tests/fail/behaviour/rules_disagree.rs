use stage_runtime::prelude::*;

#[actor]
struct Meter { total: i64 }

#[behaviour]
impl Meter {
    #[on(reading)]
    fn add(&mut self, value: i64) { self.total += value; }
    #[on(reading)]
    fn log(&mut self, value: String) { println!("{value}"); }
}

fn main() {}
