//! SALSA's multicast protocols: `cargo run -p stage-examples --bin multicast [SIZE]`.

use stage_runtime::prelude::*;

#[stage_runtime::main]
async fn main() -> Result<(), SpeechError> {
    let size = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    stage_examples::multicast::run(size, spawn(Stdout::new())).await
}
