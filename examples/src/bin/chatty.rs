//! Star's chatty ping and pong: `cargo run -p stage-examples --bin chatty [ROUNDS]`.

use stage_runtime::prelude::*;

#[stage_runtime::main]
async fn main() -> Result<(), SpeechError> {
    let rounds = std::env::args()
        .nth(1)
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    stage_examples::chatty::run(spawn(Stdout::new()), rounds).await
}
