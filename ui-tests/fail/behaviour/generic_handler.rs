use stage_runtime::prelude::*;

#[actor]
struct Store;

#[behaviour]
impl Store {
    #[request]
    fn put<T: Send>(&mut self, item: T) {}
}

fn main() {}
