//! A blocking `wait()` inside a handler holds its worker thread. When it would
//! hold the last free worker of the stage whose actor must answer, the answer
//! could never come: the wait fails at once with `Failed(NoWorkerLeft)` instead
//! of hanging (issue 16, defect 8). Waits that other threads can answer still
//! block and succeed.

use std::sync::mpsc;
use std::time::Duration;

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

#[actor]
struct Waiter;

#[behaviour]
impl Waiter {
    /// Waits, blocking its worker, for `echo`'s answer.
    #[request]
    fn ask_and_wait(&mut self, echo: Addr<Echo>, n: u32) -> Result<u32, SpeechError> {
        query!(echo, echo(n)).wait()
    }

    /// As `ask_and_wait`, with a limit.
    #[request]
    fn ask_and_wait_a_while(&mut self, echo: Addr<Echo>, n: u32) -> Result<u32, SpeechError> {
        query!(echo, echo(n)).wait_timeout(Duration::from_secs(60))
    }
}

/// Runs `f` on another thread and gives its result, failing the test (rather
/// than hanging it) if it does not return within a minute.
fn within_a_minute<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the wait hung")
}

#[test]
fn a_wait_that_would_hold_a_one_worker_stages_only_worker_fails_at_once() {
    let outcome = within_a_minute(|| {
        let stage = Stage::builder().workers(1).build();
        let echo = stage.spawn(Echo);
        let waiter = stage.spawn(Waiter);
        let blocking = request!(waiter, ask_and_wait(echo.clone(), 7)).wait();
        let limited = request!(waiter, ask_and_wait_a_while(echo.clone(), 8)).wait();
        // The stage is not harmed: the actor waited for still answers.
        let direct = query!(echo, echo(9)).wait();
        (blocking, limited, direct)
    });
    let no_worker = Err(SpeechError::Failed(Failure::NoWorkerLeft));
    assert_eq!(outcome, (Ok(no_worker.clone()), Ok(no_worker), Ok(9)));
}

#[test]
fn with_a_worker_to_spare_a_blocking_wait_is_answered() {
    let outcome = within_a_minute(|| {
        let stage = Stage::builder().workers(2).build();
        let echo = stage.spawn(Echo);
        let waiter = stage.spawn(Waiter);
        request!(waiter, ask_and_wait(echo, 7)).wait()
    });
    assert_eq!(outcome, Ok(Ok(7)));
}

#[test]
fn a_blocking_wait_for_an_actor_on_another_stage_is_answered() {
    let outcome = within_a_minute(|| {
        let other = Stage::builder().workers(1).build();
        let echo = other.spawn(Echo);
        let stage = Stage::builder().workers(1).build();
        let waiter = stage.spawn(Waiter);
        request!(waiter, ask_and_wait(echo, 7)).wait()
    });
    assert_eq!(outcome, Ok(Ok(7)));
}

#[test]
fn the_last_of_several_blocked_workers_is_the_one_refused() {
    let outcome = within_a_minute(|| {
        let stage = Stage::builder().workers(2).build();
        // The first waiter blocks one worker on an actor of another stage that
        // answers only when the test says so.
        let other = Stage::builder().workers(1).build();
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let gate = other.spawn(Gate {
            open: std::sync::Mutex::new(Some(gate_rx)),
        });
        let held = stage.spawn(GateWaiter);
        let first = request!(held, pass(gate));
        wait_until_blocked(&stage);
        // The second would take the last worker for an actor of this stage.
        let echo = stage.spawn(Echo);
        let waiter = stage.spawn(Waiter);
        let second = request!(waiter, ask_and_wait(echo, 5)).wait();
        gate_tx.send(()).unwrap();
        (first.wait(), second)
    });
    assert_eq!(
        outcome,
        (
            Ok(Ok(true)),
            Ok(Err(SpeechError::Failed(Failure::NoWorkerLeft)))
        )
    );
}

/// Answers `pass` when the test opens it.
#[actor]
struct Gate {
    open: std::sync::Mutex<Option<mpsc::Receiver<()>>>,
}

#[behaviour]
impl Gate {
    #[query]
    fn pass(&self) -> bool {
        let open = self.open.lock().unwrap().take();
        open.is_some_and(|rx| rx.recv_timeout(Duration::from_secs(60)).is_ok())
    }
}

#[actor]
struct GateWaiter;

#[behaviour]
impl GateWaiter {
    #[request]
    fn pass(&mut self, gate: Addr<Gate>) -> Result<bool, SpeechError> {
        query!(gate, pass()).wait()
    }
}

/// Waits until one of `stage`'s workers is blocked (in `GateWaiter::pass`).
fn wait_until_blocked(stage: &Stage) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while stage.blocked_workers() < 1 {
        assert!(std::time::Instant::now() < deadline, "never blocked");
        std::thread::yield_now();
    }
}
