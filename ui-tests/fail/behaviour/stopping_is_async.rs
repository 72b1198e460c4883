use stage_runtime::prelude::*;

#[actor]
struct Shop { open: bool }

#[behaviour]
impl Shop {
    #[stopping]
    async fn close(&mut self) { self.open = false; }
}

fn main() {}
