use stage_runtime::prelude::*;

#[actor]
struct Stocker { prices: Vec<f64> }

#[behaviour]
impl Stocker {
    #[query]
    fn average(&self) -> f64 { 0.0 }
}

fn main() {
    let stocker = spawn(Stocker { prices: vec![] });
    let _ = query!(stocker 's averag with averag() * 2.0);
}
