use stage_runtime::prelude::*;

#[actor]
union Bits { a: u32, b: f32 }

fn main() {}
