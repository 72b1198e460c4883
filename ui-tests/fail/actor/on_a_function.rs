use stage_runtime::prelude::*;

#[actor]
fn counter() -> u32 { 0 }

fn main() {}
