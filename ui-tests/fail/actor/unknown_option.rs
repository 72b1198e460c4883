use stage_runtime::prelude::*;

#[actor(mailbox = 8, priority = 3)]
struct Busy;

fn main() {}
