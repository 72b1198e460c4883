use stage_runtime::prelude::*;

#[actor]
struct Cache<T> { value: T }

#[behaviour]
impl<T: Send + 'static> Cache<T> {
    #[on(put)]
    fn put(&mut self, _ctx: &mut Ctx<Self>, value: T) { self.value = value; }
}

fn main() {}
