//! Stage's train operator (section 3, lazy synchronisation):
//!
//! ```text
//! print sync(sync(sync(operator.trains()).fastest()).now())
//! print operator.trains().fastest().now()
//! ```
//!
//! The second line is the first without the waits: each answer is the target of the
//! next message before it has arrived (promise pipelining). Here, a `Reply<Addr<_>>`
//! is the target of the next speech action, with no `.await` between the steps.

use stage_runtime::prelude::*;

/// A train.
#[actor]
#[derive(Debug)]
pub struct Train {
    name: &'static str,
    speed: u32,
}

#[behaviour]
impl Train {
    #[query]
    fn speed(&self) -> u32 {
        self.speed
    }

    /// Where it is now.
    #[query]
    fn now(&self) -> String {
        format!("the {} is running at {} km/h", self.name, self.speed)
    }
}

/// The trains of one line.
#[actor]
#[derive(Debug)]
pub struct Trains {
    running: Vec<Addr<Train>>,
}

#[behaviour]
impl Trains {
    /// The fastest train running: asks each, and delegates the answer to that join
    /// (so this actor is free meanwhile). A line with no train fails the query, and so
    /// every message pipelined behind it, with `Failed(Dead)`.
    #[query]
    fn fastest(&self) -> Reply<Addr<Train>> {
        let running = self.running.clone();
        join_all(self.running.iter().map(|t| query!(t, speed()))).then(move |speeds| {
            match speeds.iter().zip(running).max_by_key(|(speed, _)| **speed) {
                Some((_, train)) => Reply::ready(train),
                None => Reply::failed(SpeechError::Failed(Failure::Dead)),
            }
        })
    }
}

/// The operator, who knows the lines.
#[actor]
#[derive(Debug, Default)]
pub struct Operator {
    line: Option<Addr<Trains>>,
}

#[behaviour]
impl Operator {
    #[request]
    fn trains(&mut self, ctx: &mut Ctx<Self>) -> Addr<Trains> {
        self.line
            .get_or_insert_with(|| {
                let running = [("slow train", 80), ("express", 300), ("sleeper", 120)]
                    .into_iter()
                    .map(|(name, speed)| ctx.spawn(Train { name, speed }))
                    .collect();
                ctx.spawn(Trains { running })
            })
            .clone()
    }
}

/// `print operator.trains().fastest().now()`.
pub async fn run(standard_output: Addr<Stdout>) -> Result<String, SpeechError> {
    let operator = spawn(Operator::default());
    // Three speech actions, sent at once; each waits for the address it goes to.
    let now = query!(query!(request!(operator, trains()), fastest()), now());
    let line = now.await?;
    request!(standard_output, println(line.clone())).await?;
    Ok(line)
}
