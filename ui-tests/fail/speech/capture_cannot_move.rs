use stage_runtime::prelude::*;

#[actor]
struct Stocker { prices: Vec<f64> }

#[behaviour]
impl Stocker {
    #[query]
    fn average(&self, weight: f64) -> f64 { weight }
}

fn main() {
    let stocker = spawn(Stocker { prices: vec![] });
    let weight = std::rc::Rc::new(2.0);
    let _ = query!(stocker 's average with average(*weight));
}
