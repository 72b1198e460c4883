use stage_runtime::prelude::*;

#[actor]
struct Named;

#[behaviour]
impl std::fmt::Debug for Named {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("Named") }
}

fn main() {}
