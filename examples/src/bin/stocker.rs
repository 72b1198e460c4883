//! Star's stocker: `cargo run -p stage-examples --bin stocker`.

use stage_runtime::prelude::*;

#[stage_runtime::main]
async fn main() -> Result<(), SpeechError> {
    stage_examples::stocker::run(spawn(Stdout::new()))
        .await
        .map(drop)
}
