//! SALSA's Fibonacci (figure 4): join continuation plus first-class continuation.
//!
//! ```text
//! int compute(){
//!   if (n < 2) return n;
//!   Fibonacci fib1 = new Fibonacci(n-1);
//!   Fibonacci fib2 = new Fibonacci(n-2);
//!   join (fib1<-compute(), fib2<-compute()) @ add @ currentContinuation;
//! }
//! ```
//!
//! `compute` returns a `Reply`: its caller's answer is the join's, added up. No actor
//! waits: each is free as soon as it has delegated.

use stage_runtime::prelude::*;

/// SALSA's `Fibonacci` behaviour.
#[actor]
#[derive(Debug)]
pub struct Fibonacci {
    n: u64,
}

impl Fibonacci {
    /// `new Fibonacci(n)`.
    pub fn new(n: u64) -> Self {
        Fibonacci { n }
    }
}

#[behaviour]
impl Fibonacci {
    #[request]
    fn compute(&mut self, ctx: &mut Ctx<Self>) -> Reply<u64> {
        if self.n < 2 {
            return Reply::ready(self.n);
        }
        let fib1 = ctx.spawn(Fibonacci { n: self.n - 1 });
        let fib2 = ctx.spawn(Fibonacci { n: self.n - 2 });
        join!(request!(fib1, compute()), request!(fib2, compute())).map(|(a, b)| a + b)
    }
}

/// `compute() @ standardOutput<-println`.
pub async fn run(n: u64, standard_output: Addr<Stdout>) -> Result<u64, SpeechError> {
    let fib = spawn(Fibonacci::new(n));
    let value = request!(fib, compute()).await?;
    request!(standard_output, println(format!("fib({n}) = {value}"))).await?;
    Ok(value)
}
