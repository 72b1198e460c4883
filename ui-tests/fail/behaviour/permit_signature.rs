use stage_runtime::prelude::*;

#[actor]
struct Vault;

#[behaviour]
impl Vault {
    #[permit]
    fn permit(&mut self, act: &SpeechAct) {}
}

fn main() {}
