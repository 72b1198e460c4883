//! SALSA's Fibonacci: `cargo run -p stage-examples --bin fibonacci [N]`.

use stage_runtime::prelude::*;

#[stage_runtime::main]
async fn main() -> Result<(), SpeechError> {
    let n = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    stage_examples::fibonacci::run(n, spawn(Stdout::new()))
        .await
        .map(drop)
}
