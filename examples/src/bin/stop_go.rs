//! Seed 004's X/Y/Z program: `cargo run -p stage-examples --bin stop_go`.

use stage_runtime::prelude::*;

#[stage_runtime::main]
async fn main() -> Result<(), SpeechError> {
    stage_examples::stop_go::run(spawn(Stdout::new())).await
}
