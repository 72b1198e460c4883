//! A short tour of Stage for Rust: `cargo run -p stage-examples --bin tour`.
//!
//! Each step prints what it does and what came back.

use stage_examples::fibonacci::Fibonacci;
use stage_runtime::drivers::{Tick, Timer, Topic};
use stage_runtime::prelude::*;
use std::time::Duration;

/// A bank account, as in DESIGN.md section 2.
#[actor]
#[derive(Debug)]
struct Account {
    owner: String,
    balance: i64,
}

#[derive(Debug, Clone, PartialEq)]
struct Overdrawn {
    short_by: i64,
}

#[behaviour]
impl Account {
    #[birth]
    fn opened(&mut self) {
        println!("    [{}'s account] opened", self.owner);
    }

    /// An event rule: fires on every deposit.
    #[on(deposit)]
    fn credit(&mut self, amount: i64) {
        self.balance += amount;
    }

    /// A second rule on the same channel, with a guard: fires too, after the first.
    #[on(deposit, when = amount > 10_000)]
    fn audit(&mut self, amount: i64) {
        println!(
            "    [{}'s account] audit: large deposit of {amount}",
            self.owner
        );
    }

    /// A request may change state, and may refuse with its own error.
    #[request]
    fn withdraw(&mut self, amount: i64) -> Result<i64, Overdrawn> {
        if amount > self.balance {
            return Err(Overdrawn {
                short_by: amount - self.balance,
            });
        }
        self.balance -= amount;
        Ok(self.balance)
    }

    #[request]
    fn set_balance(&mut self, balance: i64) {
        self.balance = balance;
    }

    /// A query takes `&self`: it cannot change state.
    #[query]
    fn balance(&self) -> i64 {
        self.balance
    }

    #[query]
    fn interest(&self, percent: i64) -> i64 {
        self.balance * percent / 100
    }

    #[request]
    fn close(&mut self, ctx: &mut Ctx<Self>) -> i64 {
        ctx.stop();
        self.balance
    }

    #[stopping]
    fn closed(&mut self) {
        println!("    [{}'s account] closed", self.owner);
    }
}

/// A printer with room for two jobs, and a fuse that blows on an empty page.
#[actor(mailbox = 2)]
#[derive(Debug)]
struct Printer {
    printed: u32,
}

#[behaviour]
impl Printer {
    #[request]
    fn print(&mut self, page: String) -> u32 {
        assert!(!page.is_empty(), "cannot print an empty page");
        self.printed += 1;
        self.printed
    }

    /// Only actors may print; code outside any actor may only ask questions.
    #[permit]
    fn permit(&self, act: &SpeechAct) -> bool {
        act.kind() == SpeechKind::Query || act.speaker() != Speaker::Outside
    }

    #[query]
    fn printed(&self) -> u32 {
        self.printed
    }
}

/// An actor that prints on the printer's behalf.
#[actor]
#[derive(Debug)]
struct Clerk {
    printer: Addr<Printer>,
}

#[behaviour]
impl Clerk {
    #[request]
    async fn print(&mut self, page: String) -> Result<u32, SpeechError> {
        request!(self.printer, print(page)).await
    }
}

/// Opens accounts: its answer is an address, which can be spoken to at once.
#[actor]
#[derive(Debug)]
struct Bank;

#[behaviour]
impl Bank {
    #[request]
    fn open_account(&mut self, ctx: &mut Ctx<Self>, owner: String) -> Addr<Account> {
        ctx.spawn(Account { owner, balance: 7 })
    }
}

/// A worker whose panics its boss's policy handles.
#[actor]
#[derive(Debug)]
struct Worker {
    jobs: u32,
}

#[behaviour]
impl Worker {
    #[request]
    fn job(&mut self, fine: bool) -> u32 {
        assert!(fine, "the job went wrong");
        self.jobs += 1;
        self.jobs
    }
}

#[actor]
#[derive(Debug)]
struct Boss;

#[behaviour]
impl Boss {
    #[request]
    fn hire(&mut self, ctx: &mut Ctx<Self>) -> Addr<Worker> {
        ctx.supervise(|| Worker { jobs: 0 }, Policy::restart())
    }
}

/// One of two actors that ask each other and wait for the answer: the wait that
/// would close the cycle fails at once.
#[actor]
struct Partner {
    other: Option<Addr<Partner>>,
}

#[behaviour]
impl Partner {
    #[request]
    fn meet(&mut self, other: Addr<Partner>) {
        self.other = Some(other);
    }

    /// Asks the partner to ask back, `hops` times round, awaiting each answer.
    #[request]
    async fn ask(&mut self, hops: u32) -> Result<u32, SpeechError> {
        match (&self.other, hops) {
            (Some(other), 1..) => request!(other, ask(hops - 1)).await?,
            _ => Ok(0),
        }
    }
}

/// Reads the news a topic publishes, and answers a waiting reply when its
/// timer fires.
#[actor]
struct Reader {
    read: Vec<String>,
    woken: Option<ReplySender<u64>>,
}

#[behaviour]
impl Reader {
    #[on(news)]
    fn news(&mut self, story: String) {
        self.read.push(story);
    }

    #[on(wake)]
    fn wake(&mut self, tick: Tick) {
        if let Some(woken) = self.woken.take() {
            woken.send(tick.count);
        }
    }

    /// The reply that the next tick answers.
    #[request]
    fn wait_for_tick(&mut self, woken: ReplySender<u64>) {
        self.woken = Some(woken);
    }

    #[query]
    fn read(&self) -> Vec<String> {
        self.read.clone()
    }
}

fn step(title: &str) {
    println!("\n== {title}");
}

#[stage_runtime::main]
async fn main() -> Result<(), SpeechError> {
    println!("Stage for Rust: a tour. Every line below comes from an actor or a reply.");

    step("spawn: an actor is a struct marked #[actor], its handlers an impl marked #[behaviour]");
    let acct = spawn(Account {
        owner: "Ada".into(),
        balance: 0,
    });
    println!("    spawned {acct:?}");

    step("notify!: an event on a channel; fire-and-forget; every rule whose guard holds fires");
    notify!(acct, deposit(100));
    notify!(acct, deposit(20_000));
    println!("    notify!(acct, deposit(100)); notify!(acct, deposit(20_000));");

    step("query! and request!: replies are futures of Result<T, SpeechError>");
    println!(
        "    query!(acct, balance())             -> {:?}",
        query!(acct, balance()).await
    );
    println!(
        "    request!(acct, withdraw(50))        -> {:?}",
        request!(acct, withdraw(50)).await
    );
    println!(
        "    request!(acct, withdraw(1_000_000)) -> {:?}",
        request!(acct, withdraw(1_000_000)).await
    );

    step("Star's form: the expression runs inside the actor, in one turn; free names are captured");
    let percent = 3;
    let star = query!(acct 's balance 'n interest with balance() + interest(percent));
    println!(
        "    query!(acct 's balance 'n interest with balance() + interest(percent)) -> {:?}",
        star.await
    );
    request!(acct 's set_balance 'n balance to set_balance(balance() * 12 / 10)).await?;
    println!("    request!(acct 's set_balance 'n balance to set_balance(balance() * 12 / 10))");
    println!("    balance now {:?}", query!(acct, balance()).await);

    step("Stage's `ready`: a reply can be polled without blocking");
    let mut pending = query!(acct, balance());
    let answer = loop {
        match pending.try_take() {
            Ok(answer) => break answer,
            Err(reply) => {
                pending = reply;
                std::thread::yield_now();
            }
        }
    };
    println!("    try_take() -> {answer:?}");

    step("Star's result: success / denied(busy | noPermission) / failed");
    let printer = spawn(Printer { printed: 0 });
    let clerk = spawn(Clerk {
        printer: printer.clone(),
    });
    println!(
        "    from outside:   {:?}",
        Outcome::from(request!(printer, print("memo".into())).await)
    );
    println!(
        "    via a clerk:    {:?}",
        request!(clerk, print("memo".into()))
            .await
            .map(Outcome::from)
    );
    // The panic is contained by the runtime; this hook only keeps the tour's output short.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        println!("    (a handler panicked: {info})")
    }));
    let panicked = request!(clerk, print(String::new())).await;
    std::panic::set_hook(default_hook);
    println!("    a panic:        {:?}", panicked.map(Outcome::from));
    println!(
        "    still serving:  {:?}",
        request!(clerk, print("memo 2".into()))
            .await
            .map(Outcome::from)
    );
    let burst: Vec<_> = (0..50).map(|_| query!(printer, printed())).collect();
    let mut busy = 0;
    for reply in burst {
        if reply.await == Err(SpeechError::Denied(Reason::Busy)) {
            busy += 1;
        }
    }
    println!("    50 queries at once into a 2-slot mailbox: {busy} denied(Busy) (varies per run)");

    step("continuations: then (token passing), join!, delegation (SALSA)");
    // SALSA's Fibonacci (examples/src/fibonacci.rs): a handler returning `Reply<T>`.
    let fib = spawn(Fibonacci::new(20));
    println!(
        "    fib(20) by join + delegation      -> {:?}",
        request!(fib, compute()).await
    );
    let next = query!(acct, balance()).then(move |b| Reply::ready(b + 1));
    println!("    query!(..).then(|b| b + 1)        -> {:?}", next.await);
    let two = join!(query!(acct, balance()), query!(acct, interest(10)));
    println!("    join!(balance(), interest(10))    -> {:?}", two.await);

    step("promise pipelining: the answer is the next target before it arrives (Stage)");
    let bank = spawn(Bank);
    let opened = query!(request!(bank, open_account("Grace".to_string())), balance());
    println!(
        "    query!(request!(bank, open_account(..)), balance()) -> {:?}",
        opened.await
    );

    step("supervision: a supervised worker that panics is restarted with fresh state");
    let worker = request!(spawn(Boss), hire()).await?;
    println!("    job(true)   -> {:?}", request!(worker, job(true)).await);
    std::panic::set_hook(Box::new(|_| {
        println!("    (a handler panicked; its supervisor restarts it)")
    }));
    let failed = request!(worker, job(false)).await;
    let _ = std::panic::take_hook();
    println!("    job(false)  -> {failed:?}");
    println!(
        "    job(true)   -> {:?} (a fresh worker)",
        request!(worker, job(true)).await
    );

    step("deadlock detection: an await that would close a cycle of waiting actors fails at once");
    let (ann, bob) = (
        spawn(Partner { other: None }),
        spawn(Partner { other: None }),
    );
    request!(ann, meet(bob.clone())).await?;
    request!(bob, meet(ann.clone())).await?;
    println!("    ann awaits bob, who awaits ann, who would await bob:");
    println!(
        "    request!(ann, ask(2)) -> {:?}",
        request!(ann, ask(2)).await
    );

    step("drivers: a Timer notifies an actor later; a Topic publishes to every subscriber");
    let timer = spawn(Timer::new());
    let topic = spawn(Topic::<String>::new());
    let reader = spawn(Reader {
        read: vec![],
        woken: None,
    });
    request!(topic, subscribe(recipient!(reader, news))).await?;
    notify!(topic, publish("actors everywhere".to_string()));
    println!(
        "    request!(topic, subscribe(recipient!(reader, news))); notify!(topic, publish(..))"
    );
    // Answered after the publish before it (one sender's letters keep their
    // order), which has put the story in the reader's mailbox by then.
    let subscribers = query!(topic, subscribers()).await?;
    println!("    query!(topic, subscribers()) -> {subscribers}");
    println!(
        "    query!(reader, read())  -> {:?}",
        query!(reader, read()).await
    );
    let (tick, woken) = Reply::pair();
    request!(reader, wait_for_tick(woken)).await?;
    let later = Duration::from_millis(20);
    request!(timer, after(later, recipient!(reader, wake))).await?;
    println!("    request!(timer, after(20 ms, recipient!(reader, wake)))");
    println!("    the reader woke, tick {:?}", tick.await);

    step("lifecycle: ctx.stop() ends an actor; speaking to it afterwards is an error value");
    println!(
        "    request!(acct, close())  -> {:?}",
        request!(acct, close()).await
    );
    println!(
        "    query!(acct, balance())  -> {:?}",
        query!(acct, balance()).await
    );

    step("theatres: three stages on loopback, an account on each of two, a teller on the third");
    for line in [
        "let branch = Theatre::builder().cookie(cookie).join([seed]).start()?;",
        "branch.bind(\"bank/savings\", &branch.spawn(Account { balance: 1_000 }))?;",
        "let savings = teller.lookup::<Account>(\"bank/savings\")?;   // on another theatre",
        "query!(checking, balance()).then(move |token| request!(savings, transfer(token)))",
        "    // checking <- getBalance() @ savings <- transfer(token): the same macros",
        "(the code: examples/src/net_bank.rs)",
    ] {
        println!("    {line}");
    }
    // The theatres' replies are waited for on a thread of their own, off this stage.
    if let Some((checking, savings)) = off_stage("the bank", || {
        stage_examples::net_bank::run(|line| println!("    {line}"))
    }) {
        println!("    balances now: checking {checking}, savings {savings}");
    }

    step("migration: an #[actor(mobile)] agent moves itself from theatre to theatre between two turns");
    println!(
        "    #[on(go)]      fn go(&mut self, ctx: &mut Ctx<Self>)      {{ ctx.migrate_to(next) }}"
    );
    println!("    #[arrived]     fn arrived(&mut self, ctx: &mut Ctx<Self>) {{ record ctx.locator(); go on }}");
    println!("    #[migration_failed] fn stayed(&mut self, error: MigrationError) {{ .. }}");
    println!("    (from outside: theatre.migrate(&addr, locator); every address keeps working)");
    off_stage("the agent", || {
        stage_examples::migrating_agent::run(3, |line| {
            if !line.starts_with("so far") {
                println!("    {line}");
            }
        })
    });

    step("a network probe (Stage 2.1): it migrates to each theatre and reads its status in #[arrived]");
    println!("    #[arrived] async fn arrived(&mut self, ctx: &mut Ctx<Self>) {{");
    println!("        let status = ctx.spawn(TheatreStatus);");
    println!("        notify!(self.report, reading(query!(status, status()).await ..));");
    println!("        self.next(ctx); // ctx.migrate_to(the next theatre)");
    println!("    }}");
    off_stage("the probe", || {
        stage_examples::network_probe::run(3, |line| println!("    {line}"))
    });

    step("the trapezoid rule across theatres (Stage 5.1): integrators moved to their hosts, then asked");
    println!("    home.migrate(&integrator, host.locator()).wait()?;");
    println!("    query!(integrator, integrate(a, b, n))  // on each host, summed at home");
    off_stage("the integration", || {
        stage_examples::distributed_trapezoid::run(2, 2_000_000, |line| println!("    {line}"))
    });

    step("quiescence: main returns, the stage waits until no work is left, then the program exits");
    Ok(())
}

/// Runs a step whose theatres wait for replies on a thread of their own, off
/// this stage; says so if its theatres could not start here or it panicked.
fn off_stage<T: Send + 'static, E: std::fmt::Display + Send + 'static>(
    what: &str,
    step: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Option<T> {
    match std::thread::spawn(step).join() {
        Ok(Ok(value)) => Some(value),
        Ok(Err(error)) => {
            println!("    the theatres could not run here: {error}");
            None
        }
        Err(_) => {
            println!("    {what}'s thread panicked");
            None
        }
    }
}
