use stage_runtime::prelude::*;

#[actor]
struct Holder<T> { value: T }

fn main() {}
