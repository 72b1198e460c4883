//! The driver actors: timers, publish/subscribe, keyboard, theatre status.

use std::time::Duration;

use stage_runtime::drivers::{Keyboard, TheatreStatus, Tick, Timer, TimerId, Topic};
use stage_runtime::prelude::*;

#[actor]
struct Log {
    ticks: Vec<(&'static str, u64)>,
    lines: Vec<String>,
}

#[behaviour]
impl Log {
    #[on(first)]
    fn first(&mut self, tick: Tick) {
        self.ticks.push(("first", tick.count));
    }
    #[on(second)]
    fn second(&mut self, tick: Tick) {
        self.ticks.push(("second", tick.count));
    }
    #[on(third)]
    fn third(&mut self, tick: Tick) {
        self.ticks.push(("third", tick.count));
    }
    #[on(line)]
    fn line(&mut self, text: String) {
        self.lines.push(text);
    }
    #[query]
    fn ticks(&self) -> Vec<(&'static str, u64)> {
        self.ticks.clone()
    }
    #[query]
    fn lines(&self) -> Vec<String> {
        self.lines.clone()
    }
    #[request]
    fn leave(&mut self, ctx: &mut Ctx<Self>) {
        ctx.stop();
    }
}

fn log(stage: &Stage) -> Addr<Log> {
    stage.spawn(Log {
        ticks: vec![],
        lines: vec![],
    })
}

#[test]
fn timers_fire_in_deadline_order_and_a_cancelled_one_never_fires() {
    let stage = Stage::builder().workers(2).build();
    let timer = stage.spawn(Timer::new());
    let log = log(&stage);
    let ms = Duration::from_millis;
    // Armed out of order; they fire by deadline. The gaps are wide so that only a
    // stall of more than 200 ms could let two firings race each other.
    request!(timer, after(ms(450), recipient!(log, third)))
        .wait()
        .expect("armed");
    request!(timer, after(ms(50), recipient!(log, first)))
        .wait()
        .expect("armed");
    let doomed: TimerId = request!(timer, after(ms(250), recipient!(log, second)))
        .wait()
        .expect("armed");
    assert_eq!(request!(timer, cancel(doomed)).wait(), Ok(true));
    assert_eq!(
        request!(timer, cancel(doomed)).wait(),
        Ok(false),
        "already gone"
    );
    stage.wait_quiescent();
    assert_eq!(
        query!(log, ticks()).wait(),
        Ok(vec![("first", 1), ("third", 1)])
    );
    assert_eq!(query!(timer, armed()).wait(), Ok(0));
}

#[test]
fn a_repeating_timer_ticks_until_cancelled() {
    let stage = Stage::builder().workers(2).build();
    let timer = stage.spawn(Timer::new());
    let log = log(&stage);
    let every = request!(
        timer,
        every(Duration::from_millis(2), recipient!(log, first))
    )
    .wait()
    .expect("armed");
    // Wait for three ticks, by asking (never by sleeping a fixed time).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while query!(log, ticks()).wait().map(|t| t.len()).unwrap_or(0) < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the timer never ticked 3 times"
        );
        std::thread::yield_now();
    }
    assert_eq!(request!(timer, cancel(every)).wait(), Ok(true));
    let seen = query!(log, ticks()).wait().expect("answered");
    // Quiescence comes, since nothing can tick any more, and nothing ticked after.
    stage.wait_quiescent();
    assert_eq!(query!(log, ticks()).wait(), Ok(seen.clone()));
    let counts: Vec<u64> = seen.iter().map(|(_, n)| *n).collect();
    assert_eq!(counts, (1..=counts.len() as u64).collect::<Vec<_>>());
}

#[test]
fn a_dead_subscriber_does_not_break_publishing() {
    let stage = Stage::builder().workers(2).build();
    let topic = stage.spawn(Topic::<String>::new());
    let alive = log(&stage);
    let leaving = log(&stage);
    request!(topic, subscribe(recipient!(leaving, line)))
        .wait()
        .expect("subscribed");
    request!(topic, subscribe(recipient!(alive, line)))
        .wait()
        .expect("subscribed");
    request!(topic, subscribe(recipient!(alive, line)))
        .wait()
        .expect("no double");
    assert_eq!(query!(topic, subscribers()).wait(), Ok(2));
    request!(leaving, leave()).wait().expect("left");
    // Its answer comes before its end: wait until it no longer answers.
    while query!(leaving, lines()).wait().is_ok() {
        std::thread::yield_now();
    }
    assert!(notify!(topic, publish("one".to_string())).is_ok());
    assert!(notify!(topic with "two".to_string() on publish).is_ok());
    stage.wait_quiescent();
    assert_eq!(
        query!(alive, lines()).wait(),
        Ok(vec!["one".into(), "two".into()])
    );
    assert_eq!(
        query!(topic, subscribers()).wait(),
        Ok(1),
        "the dead one was dropped"
    );
    assert_eq!(request!(topic, unsubscribe(alive.id())).wait(), Ok(true));
    notify!(topic, publish("three".to_string()));
    stage.wait_quiescent();
    assert_eq!(query!(alive, lines()).wait().map(|l| l.len()), Ok(2));
}

#[test]
fn the_keyboard_delivers_scripted_lines_in_order_then_lets_the_program_end() {
    let stage = Stage::builder().workers(2).build();
    let script = "hello\r\nworld\n\nlast line without a newline";
    let keyboard = stage.spawn(Keyboard::from_reader(script.as_bytes()));
    let log = log(&stage);
    request!(keyboard, subscribe(recipient!(log, line)))
        .wait()
        .expect("subscribed");
    stage.wait_quiescent();
    assert_eq!(
        query!(log, lines()).wait(),
        Ok(vec![
            "hello".to_string(),
            "world".to_string(),
            String::new(),
            "last line without a newline".to_string()
        ])
    );
}

#[test]
fn theatre_status_counts_live_actors() {
    let stage = Stage::builder().workers(2).build();
    let status = stage.spawn(TheatreStatus);
    let before = query!(status, status()).wait().expect("answered");
    assert_eq!(before.actors, 1);
    assert_eq!(before.workers, 2);
    let logs: Vec<_> = (0..10).map(|_| log(&stage)).collect();
    assert_eq!(query!(status, status()).wait().map(|s| s.actors), Ok(11));
    for l in &logs[..4] {
        l.stop().wait().expect("stopped");
    }
    let after = query!(status, status()).wait().expect("answered");
    assert_eq!(after.actors, 7);
    assert!(after.uptime >= before.uptime);
    if cfg!(target_os = "linux") {
        assert!(after.load_average.is_some());
    }
}
