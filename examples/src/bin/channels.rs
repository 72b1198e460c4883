//! Channels as actors (seed 004): `cargo run -p stage-examples --bin channels`.

use stage_runtime::prelude::*;

#[stage_runtime::main]
async fn main() -> Result<(), SpeechError> {
    stage_examples::channels::run(spawn(Stdout::new())).await
}
