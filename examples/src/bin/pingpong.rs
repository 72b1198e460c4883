//! A quick measurement, not a test: `cargo run --release -p stage-examples --bin pingpong [MESSAGES]`.
//!
//! Two actors bounce one message back and forth (one in flight), then 100,000
//! sequential queries are asked from outside any actor. Prints ns per one-way message
//! and ns per ask. The full harness, side by side with other frameworks, is `bench/`.

use std::sync::mpsc;
use std::time::Instant;

use stage_runtime::prelude::*;

#[actor]
#[derive(Debug)]
struct Player {
    peer: Option<Addr<Player>>,
    done: Option<mpsc::Sender<Instant>>,
}

#[behaviour]
impl Player {
    #[request]
    fn meet(&mut self, peer: Addr<Player>) {
        self.peer = Some(peer);
    }

    #[on(ball)]
    fn ball(&mut self, left: u64) {
        if left == 0 {
            if let Some(done) = &self.done {
                let _ = done.send(Instant::now());
            }
        } else if let Some(peer) = &self.peer {
            notify!(peer, ball(left - 1));
        }
    }

    #[query]
    fn echo(&self, n: u64) -> u64 {
        n
    }
}

fn main() {
    let messages: u64 = std::env::args()
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(1_000_000);
    let stage = Stage::new();
    for round in 1..=5 {
        let (done_tx, done_rx) = mpsc::channel();
        let ping = stage.spawn(Player {
            peer: None,
            done: Some(done_tx.clone()),
        });
        let pong = stage.spawn(Player {
            peer: None,
            done: Some(done_tx),
        });
        let _ = request!(ping, meet(pong.clone())).wait();
        let _ = request!(pong, meet(ping.clone())).wait();
        let start = Instant::now();
        notify!(ping, ball(messages));
        let Ok(end) = done_rx.recv() else {
            eprintln!("the players stopped before the end");
            return;
        };
        let ns = (end - start).as_nanos() as f64 / messages as f64;
        let asks = 100_000u64;
        let start = Instant::now();
        for n in 0..asks {
            let _ = query!(ping, echo(n)).wait();
        }
        let ask_ns = start.elapsed().as_nanos() as f64 / asks as f64;
        println!(
            "round {round}: ping-pong {ns:.1} ns/message, ask {ask_ns:.0} ns/ask ({} workers)",
            stage.workers()
        );
    }
}
