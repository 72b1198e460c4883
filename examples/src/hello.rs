//! SALSA's "Hello World!" (figure 3):
//!
//! ```text
//! behavior HelloWorld {
//!   void act(String arguments[]){
//!     standardOutput <- print("Hello ") @
//!     standardOutput <- print("World!");
//!   }
//! }
//! ```
//!
//! The `@` (token-passing continuation) sends the second message only after the first
//! has been processed: here, awaiting the first request before sending the second.

use stage_runtime::prelude::*;

/// SALSA's `HelloWorld` behaviour.
#[actor]
#[derive(Debug)]
pub struct HelloWorld {
    standard_output: Addr<Stdout>,
}

#[behaviour]
impl HelloWorld {
    /// SALSA's `act`, sent by the runtime with the command-line arguments.
    #[request]
    async fn act(&mut self, _arguments: Vec<String>) -> Result<(), SpeechError> {
        request!(self.standard_output, print("Hello ".to_string())).await?;
        request!(self.standard_output, println("World!".to_string())).await
    }
}

/// Creates the actor and sends it `act`, as SALSA's runtime does.
pub async fn run(standard_output: Addr<Stdout>) -> Result<(), SpeechError> {
    let hello = spawn(HelloWorld { standard_output });
    request!(hello, act(std::env::args().skip(1).collect())).await?
}
