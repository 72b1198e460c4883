//! SALSA's "Hello World!": `cargo run -p stage-examples --bin hello`.

use stage_runtime::prelude::*;

#[stage_runtime::main]
async fn main() -> Result<(), SpeechError> {
    stage_examples::hello::run(spawn(Stdout::new())).await
}
