use stage_runtime::prelude::*;

#[actor]
struct Borrower<'a> { name: &'a str }

fn main() {}
