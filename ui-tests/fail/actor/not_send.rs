use stage_runtime::prelude::*;

#[actor]
struct Shared { counter: std::rc::Rc<u32> }

#[behaviour]
impl Shared {}

fn main() {}
