//! Stage's chat room on one machine: `cargo run -p stage-examples --bin chat`.
//!
//! Two users, "john" and "susan": susan types on standard input; john's lines come from
//! a short script. Type lines, then end the input (Ctrl-D).

use stage_runtime::drivers::Keyboard;
use stage_runtime::prelude::*;

#[stage_runtime::main]
async fn main() -> Result<(), SpeechError> {
    let john = Keyboard::from_reader(&b"hello, is anybody there?\n"[..]);
    let susan = Keyboard::new();
    stage_examples::chat::run(vec![("john", john), ("susan", susan)], spawn(Stdout::new()))
        .await
        .map(drop)
}
