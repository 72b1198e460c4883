use stage_runtime::prelude::*;

#[actor]
struct Door { open: bool }

#[behaviour]
impl Door {
    #[request]
    fn shut(self) {}
}

fn main() {}
