//! After `Stage::shutdown`, nothing hangs: every message queued or sent later is
//! refused with `Failed(Dead)`.

use stage_runtime::prelude::*;

#[actor]
struct Echo;

#[behaviour]
impl Echo {
    #[query]
    fn echo(&self, n: u32) -> u32 {
        n
    }
}

#[test]
fn messages_after_shutdown_are_refused_not_lost_in_a_queue() {
    let stage = Stage::builder().workers(2).build();
    let echo = stage.spawn(Echo);
    assert_eq!(query!(echo, echo(1)).wait(), Ok(1));
    stage.shutdown();
    assert_eq!(
        query!(echo, echo(2)).wait(),
        Err(SpeechError::Failed(Failure::Dead))
    );
    let late = stage.spawn(Echo);
    assert_eq!(
        query!(late, echo(3)).wait(),
        Err(SpeechError::Failed(Failure::Dead))
    );
    let task = stage.spawn_task(async { 4 });
    assert_eq!(task.wait(), Err(SpeechError::Failed(Failure::Dead)));
    stage.shutdown();
}

#[test]
fn shutdown_racing_with_senders_leaves_no_reply_hanging() {
    let (rounds, asks) = if cfg!(miri) { (2, 20) } else { (20, 500) };
    for _ in 0..rounds {
        let stage = Stage::builder().workers(2).build();
        let echo = stage.spawn(Echo);
        let senders: Vec<_> = (0..4)
            .map(|_| {
                let echo = echo.clone();
                std::thread::spawn(move || {
                    (0..asks)
                        .map(|n| query!(echo, echo(n)).wait())
                        .filter(Result::is_err)
                        .count()
                })
            })
            .collect();
        stage.shutdown();
        for sender in senders {
            // Every reply resolved (answered before, or refused after, the shutdown).
            sender.join().expect("sender thread");
        }
    }
}
