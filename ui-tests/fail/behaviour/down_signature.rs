use stage_runtime::prelude::*;

#[actor]
struct Watcher;

#[behaviour]
impl Watcher {
    #[down]
    fn gone(&mut self, first: Down, second: Down) -> bool { true }
}

fn main() {}
