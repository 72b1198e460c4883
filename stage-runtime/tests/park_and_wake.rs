//! Stress for the actor status machine: actors whose async handlers park and are
//! woken (sometimes while their turn is still running) while plain threads keep
//! sending to them. Every message must be answered exactly once, in order per sender.

use std::time::Duration;

use stage_runtime::prelude::*;

#[actor]
struct Echo;

#[behaviour]
impl Echo {
    #[query]
    fn echo(&self, n: u64) -> u64 {
        n
    }
}

#[actor]
struct Relay {
    echo: Addr<Echo>,
    seen: Vec<(u64, u64)>,
}

#[behaviour]
impl Relay {
    /// Waits for the echo: parks this actor until the answer wakes it.
    #[request]
    async fn relay(&mut self, sender: u64, n: u64) -> Result<u64, SpeechError> {
        let answer = query!(self.echo, echo(n)).await?;
        self.seen.push((sender, n));
        Ok(answer)
    }

    /// Per sender, were the numbers handled in the order sent, and how many?
    #[query]
    fn check(&self) -> (bool, usize) {
        let mut last: std::collections::HashMap<u64, u64> = Default::default();
        let in_order = self.seen.iter().all(|(sender, n)| {
            let ok = last.get(sender).is_none_or(|prev| n > prev);
            last.insert(*sender, *n);
            ok
        });
        (in_order, self.seen.len())
    }
}

#[test]
fn parked_actors_woken_under_concurrent_sends_answer_everything_in_order() {
    const RELAYS: usize = 8;
    const SENDERS: u64 = 4;
    const EACH: u64 = if cfg!(miri) { 5 } else { 500 };
    let stage = Stage::builder().workers(2).build();
    let echo = stage.spawn(Echo);
    let relays: Vec<_> = (0..RELAYS)
        .map(|_| {
            stage.spawn(Relay {
                echo: echo.clone(),
                seen: vec![],
            })
        })
        .collect();
    let threads: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let relays = relays.clone();
            std::thread::spawn(move || {
                // Send everything first, then collect: many requests queue behind
                // parked handlers.
                let replies: Vec<_> = (0..EACH)
                    .flat_map(|n| {
                        relays
                            .iter()
                            .map(move |r| (n, request!(r, relay(sender, n))))
                    })
                    .collect();
                replies
                    .into_iter()
                    .all(|(n, reply)| reply.wait_timeout(Duration::from_secs(60)) == Ok(Ok(n)))
            })
        })
        .collect();
    for thread in threads {
        assert!(
            thread.join().expect("sender thread"),
            "a reply was lost or wrong"
        );
    }
    stage.wait_quiescent();
    for relay in &relays {
        assert_eq!(
            query!(relay, check()).wait(),
            Ok((true, (SENDERS * EACH) as usize))
        );
    }
}
