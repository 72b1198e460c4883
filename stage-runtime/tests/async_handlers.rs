//! An `async` handler that waits keeps its actor's other messages waiting (one
//! message at a time), without blocking the worker thread.

use std::sync::{Arc, Mutex};

use stage_runtime::prelude::*;

#[actor]
struct Bank {
    log: Arc<Mutex<Vec<String>>>,
    rate: Option<Addr<Oracle>>,
}

#[behaviour]
impl Bank {
    #[request]
    async fn convert(&mut self, amount: u64) -> u64 {
        self.log.lock().unwrap().push("convert starts".into());
        let rate = match &self.rate {
            Some(oracle) => query!(oracle, rate()).await.unwrap_or(0),
            None => 0,
        };
        self.log.lock().unwrap().push("convert ends".into());
        amount * rate
    }

    #[query]
    fn ping(&self) -> &'static str {
        self.log.lock().unwrap().push("ping".into());
        "pong"
    }
}

/// Answers on its own turn, so the bank's `convert` must wait for it.
#[actor]
struct Oracle {
    rate: u64,
}

#[behaviour]
impl Oracle {
    #[query]
    async fn rate(&self) -> u64 {
        self.rate
    }
}

#[test]
fn messages_wait_while_an_async_handler_awaits() {
    let stage = Stage::builder().workers(1).build();
    let log = Arc::new(Mutex::new(Vec::new()));
    let oracle = stage.spawn(Oracle { rate: 3 });
    let bank = stage.spawn(Bank {
        log: log.clone(),
        rate: Some(oracle),
    });
    let converted = request!(bank, convert(5));
    let ping = query!(bank, ping());
    assert_eq!(ping.wait(), Ok("pong"));
    assert_eq!(converted.wait(), Ok(15));
    // With one worker, the oracle ran while the bank waited: the worker was not
    // blocked. And the ping, sent second, ran after `convert` finished.
    assert_eq!(
        *log.lock().unwrap(),
        ["convert starts", "convert ends", "ping"]
    );
}

#[test]
fn many_actors_await_each_other_on_one_worker() {
    let stage = Stage::builder().workers(1).build();
    let oracle = stage.spawn(Oracle { rate: 2 });
    let banks: Vec<_> = (0..if cfg!(miri) { 20 } else { 200 })
        .map(|_| {
            stage.spawn(Bank {
                log: Arc::default(),
                rate: Some(oracle.clone()),
            })
        })
        .collect();
    let replies: Vec<_> = banks.iter().map(|b| request!(b, convert(10))).collect();
    for reply in replies {
        assert_eq!(reply.wait(), Ok(20));
    }
}

#[test]
fn an_actor_waiting_for_an_answer_is_not_collected_when_its_address_goes() {
    let stage = Stage::builder().workers(2).build();
    let oracle = stage.spawn(Oracle { rate: 7 });
    let bank = stage.spawn(Bank {
        log: Arc::default(),
        rate: Some(oracle),
    });
    let converted = request!(bank, convert(3));
    // The caller keeps only the reply; the bank is mid-handler, waiting on the oracle.
    drop(bank);
    assert_eq!(converted.wait(), Ok(21));
}
