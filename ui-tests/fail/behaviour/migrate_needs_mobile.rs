use stage_runtime::prelude::*;

#[actor]
struct Agent;

#[behaviour]
impl Agent {
    #[on(go)]
    fn go(&mut self, ctx: &mut Ctx<Self>, to: String) { ctx.migrate_to(to); }
}

fn main() {}
