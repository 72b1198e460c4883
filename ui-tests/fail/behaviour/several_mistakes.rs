use stage_runtime::prelude::*;

#[actor]
struct Door { open: bool }

#[behaviour]
impl Door {
    #[query]
    fn open(&mut self) -> bool { self.open = true; true }
    #[request]
    fn shut(self) {}
    #[birth]
    fn built(&mut self, colour: String) {}
    #[birth]
    fn painted(&mut self) {}
    #[request]
    fn label(&mut self, text: &str) {}
}

fn main() {}
