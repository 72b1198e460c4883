//! Stage's train operator: `cargo run -p stage-examples --bin trains`.

use stage_runtime::prelude::*;

#[stage_runtime::main]
async fn main() -> Result<(), SpeechError> {
    stage_examples::trains::run(spawn(Stdout::new()))
        .await
        .map(drop)
}
