use stage_runtime::prelude::*;

#[actor]
struct Ear;

#[behaviour]
impl Ear {
    #[on(ear)]
    fn hear(&mut self, msg: String) {}
}

fn main() {
    let ping = spawn(Ear);
    notify!(ping with "hello".to_string());
}
