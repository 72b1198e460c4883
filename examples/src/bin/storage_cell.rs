//! Hewitt's storage cell: `cargo run -p stage-examples --bin storage_cell`.

use stage_runtime::prelude::*;

#[stage_runtime::main]
async fn main() -> Result<(), SpeechError> {
    let stage = Stage::current();
    stage_examples::storage_cell::run(&stage, spawn(Stdout::new()))
        .await
        .map(drop)
}
