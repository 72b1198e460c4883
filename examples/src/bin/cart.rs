//! Stage's shopping cart: `cargo run -p stage-examples --bin cart`.

use stage_runtime::prelude::*;

#[stage_runtime::main]
async fn main() -> Result<(), SpeechError> {
    stage_examples::cart::run(spawn(Stdout::new()))
        .await
        .map(drop)
}
