//! Promise pipelining (Stage's lazy `operator.trains().fastest().now()`): a
//! `Reply<Addr<B>>` is a target of speech actions before it has answered.

use std::time::Duration;

use stage_runtime::prelude::*;

#[actor]
struct Train {
    name: &'static str,
    speed: u32,
    log: Vec<u32>,
}

#[behaviour]
impl Train {
    #[query]
    fn now(&self) -> String {
        format!("{} at {} km/h", self.name, self.speed)
    }

    #[on(note)]
    fn note(&mut self, n: u32) {
        self.log.push(n);
    }

    #[query]
    fn log(&self) -> Vec<u32> {
        self.log.clone()
    }
}

#[actor]
struct Timetable {
    trains: Vec<Addr<Train>>,
}

#[behaviour]
impl Timetable {
    #[query]
    async fn fastest(&self) -> Addr<Train> {
        let mut best = self.trains[0].clone();
        let mut best_speed = 0;
        for train in &self.trains {
            let speed = query!(train 's now with now().len() as u32)
                .await
                .unwrap_or(0);
            if speed > best_speed {
                best_speed = speed;
                best = train.clone();
            }
        }
        best
    }
}

#[actor]
struct Operator;

#[behaviour]
impl Operator {
    #[request]
    fn trains(&mut self, ctx: &mut Ctx<Self>) -> Addr<Timetable> {
        let express = ctx.spawn(Train {
            name: "express",
            speed: 300,
            log: vec![],
        });
        let local = ctx.spawn(Train {
            name: "local",
            speed: 80,
            log: vec![],
        });
        ctx.spawn(Timetable {
            trains: vec![local, express],
        })
    }

    #[request]
    fn broken(&mut self) -> Addr<Timetable> {
        panic!("the timetable office is closed")
    }
}

#[test]
fn a_three_step_chain_without_await_between_steps() {
    let operator = spawn(Operator);
    // print operator.trains().fastest().now()
    let now = query!(query!(request!(operator, trains()), fastest()), now());
    assert_eq!(now.wait().as_deref(), Ok("express at 300 km/h"));
}

#[test]
fn messages_to_a_promise_keep_their_order() {
    let operator = spawn(Operator);
    let fastest = query!(request!(operator, trains()), fastest()).promise();
    for n in 0..1_000 {
        assert!(notify!(fastest, note(n)).is_ok());
    }
    assert_eq!(query!(fastest, log()).wait(), Ok((0..1_000).collect()));
    // Still forwarding once resolved.
    notify!(fastest, note(1_000));
    assert_eq!(query!(fastest, log()).wait().map(|l| l.len()), Ok(1_001));
}

#[test]
fn a_failed_reply_fails_every_message_sent_to_its_promise() {
    let operator = spawn(Operator);
    let timetable = request!(operator, broken()).promise();
    let early = query!(timetable, fastest());
    assert_eq!(
        early.wait().map(|_| ()),
        Err(SpeechError::Failed(Failure::Panicked))
    );
    // Sent after the failure is known: refused at once, with the same error.
    assert_eq!(
        query!(timetable, fastest()).wait().map(|_| ()),
        Err(SpeechError::Failed(Failure::Panicked))
    );
}

#[test]
fn star_forms_and_notifies_go_through_a_promise_too() {
    let operator = spawn(Operator);
    let fastest = query!(request!(operator, trains()), fastest());
    let shout = query!(fastest 's now with now().to_uppercase());
    let answer = shout.wait_timeout(Duration::from_secs(60));
    assert_eq!(answer.as_deref(), Ok("EXPRESS AT 300 KM/H"));
}
