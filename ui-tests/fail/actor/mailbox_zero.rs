use stage_runtime::prelude::*;

#[actor(mailbox = 0)]
struct Closed;

fn main() {}
