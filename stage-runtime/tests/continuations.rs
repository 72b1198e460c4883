//! SALSA's continuations: token-passing (`then`), join, first-class (delegation), and
//! Stage's handlers for answers. None of them blocks the caller or any actor.

use std::time::Duration;

use stage_runtime::prelude::*;

#[actor]
struct Account {
    balance: i64,
}

#[behaviour]
impl Account {
    #[query]
    fn balance(&self) -> i64 {
        self.balance
    }

    #[request]
    fn deposit(&mut self, amount: i64) -> i64 {
        self.balance += amount;
        self.balance
    }

    #[request]
    fn fail(&mut self) -> i64 {
        panic!("this account refuses")
    }
}

/// Waits for a reply, failing the test (with `TimedOut`) instead of hanging.
fn within<T>(reply: Reply<T>) -> Result<T, SpeechError> {
    reply.wait_timeout(Duration::from_secs(60))
}

#[test]
fn a_ten_step_then_chain_passes_each_token_on() {
    let acct = spawn(Account { balance: 1 });
    let mut chain = query!(acct, balance());
    for _ in 0..10 {
        let acct = acct.clone();
        chain = chain.then(move |token| request!(acct, deposit(token)));
    }
    // 1 -> 2 -> 4 -> ... -> 1024: each step deposits the previous balance.
    assert_eq!(within(chain), Ok(1024));
}

#[test]
fn a_failure_stops_the_chain_with_its_error() {
    let acct = spawn(Account { balance: 5 });
    let after = acct.clone();
    let chain = request!(acct, fail()).then(move |t| request!(after, deposit(t)));
    assert_eq!(within(chain), Err(SpeechError::Failed(Failure::Panicked)));
    assert_eq!(
        query!(acct, balance()).wait(),
        Ok(5),
        "the second step never ran"
    );
}

#[test]
fn join_all_over_a_thousand_replies_keeps_their_order() {
    let n = if cfg!(miri) { 50 } else { 1_000 };
    let accounts: Vec<_> = (0..n).map(|i| spawn(Account { balance: i })).collect();
    let all = join_all(accounts.iter().map(|a| query!(a, balance())));
    assert_eq!(within(all), Ok((0..n).collect::<Vec<i64>>()));
}

#[test]
fn join_fails_with_the_failing_part_s_error() {
    let acct = spawn(Account { balance: 1 });
    let joined = join!(
        query!(acct, balance()),
        request!(acct, fail()),
        query!(acct, balance())
    );
    assert_eq!(within(joined), Err(SpeechError::Failed(Failure::Panicked)));
    let fine = join!(query!(acct, balance()), request!(acct, deposit(1)));
    assert_eq!(within(fine), Ok((1, 2)));
}

/// Delegates down a chain of `depth` relays; the last one answers.
#[actor]
struct Relay {
    next: Option<Addr<Relay>>,
}

#[behaviour]
impl Relay {
    #[request]
    fn ask(&mut self, ctx: &mut Ctx<Self>, depth: u32) -> Reply<u32> {
        if depth == 0 {
            return Reply::ready(0);
        }
        let next = self
            .next
            .get_or_insert_with(|| ctx.spawn(Relay { next: None }))
            .clone();
        request!(next, ask(depth - 1)).map(|n| n + 1)
    }

    #[query]
    fn alive(&self) -> bool {
        true
    }
}

#[test]
fn delegation_twenty_deep_on_one_worker_blocks_no_actor() {
    // With one worker, a relay that blocked waiting for the next would deadlock.
    let stage = Stage::builder().workers(1).build();
    let head = stage.spawn(Relay { next: None });
    let answer = request!(head, ask(20));
    // The head is free at once: it answers a query while the chain is still working.
    assert_eq!(query!(head, alive()).wait(), Ok(true));
    assert_eq!(within(answer), Ok(20));
}

/// SALSA's Fibonacci (figure 4): join + delegation, every actor free while it waits.
#[actor]
struct Fib;

#[behaviour]
impl Fib {
    #[request]
    fn compute(&mut self, ctx: &mut Ctx<Self>, n: u64) -> Reply<u64> {
        if n < 2 {
            return Reply::ready(n);
        }
        let (a, b) = (ctx.spawn(Fib), ctx.spawn(Fib));
        join!(request!(a, compute(n - 1)), request!(b, compute(n - 2))).map(|(x, y)| x + y)
    }
}

#[test]
fn fibonacci_by_join_and_delegation() {
    let stage = Stage::builder().workers(2).build();
    let fib = stage.spawn(Fib);
    // fib(15) makes ~2,000 actors; under Miri's interpreter fib(8) says the same.
    let (n, expected) = if cfg!(miri) { (8, 21) } else { (15, 610) };
    let answer = request!(fib, compute(n));
    assert_eq!(within(answer), Ok(expected));
}

#[actor]
struct Asker {
    oracle: Addr<Account>,
    heard: Vec<Result<i64, SpeechError>>,
}

impl Asker {
    fn on_answer(&mut self, _ctx: &mut Ctx<Self>, answer: Result<i64, SpeechError>) {
        self.heard.push(answer);
    }
}

#[behaviour]
impl Asker {
    #[permit]
    fn permit(&self, act: &SpeechAct) -> bool {
        act.kind() != SpeechKind::Request
    }

    #[on(ask)]
    fn ask(&mut self, ctx: &mut Ctx<Self>) {
        let reply = query!(self.oracle, balance());
        ctx.handle(reply, Self::on_answer);
        let failing = request!(self.oracle, fail());
        ctx.handle(failing, |me: &mut Self, _ctx, answer| me.heard.push(answer));
    }

    #[query]
    fn heard(&self) -> Vec<Result<i64, SpeechError>> {
        self.heard.clone()
    }
}

#[test]
fn handlers_deliver_answers_as_messages_and_bypass_the_policy() {
    let stage = Stage::builder().workers(2).build();
    let oracle = stage.spawn(Account { balance: 9 });
    let asker = stage.spawn(Asker {
        oracle,
        heard: vec![],
    });
    notify!(asker, ask());
    stage.wait_quiescent();
    let mut heard = query!(asker, heard()).wait().expect("answered");
    heard.sort_by_key(|a| a.is_err());
    assert_eq!(heard, [Ok(9), Err(SpeechError::Failed(Failure::Panicked))]);
}
