//! Every handler kind and speech form of the language core.
#![deny(missing_docs, unused, clippy::all)]
//! Crate docs.

use stage_runtime::prelude::*;

/// An account.
#[actor(mailbox = 64)]
pub struct Account {
    balance: i64,
}

/// Refusal.
#[derive(Debug)]
pub struct Overdrawn;

#[behaviour]
impl Account {
    #[birth]
    async fn opened(&mut self, ctx: &mut Ctx<Self>) {
        let _ = ctx.id();
    }
    #[stopping]
    fn closing(&mut self) {}
    #[down]
    fn gone(&mut self, ctx: &mut Ctx<Self>, down: Down) {
        let _ = (ctx.id(), down.reason);
    }
    #[query]
    fn delegated(&self, ctx: &mut Ctx<Self>) -> Reply<i64> {
        query!(ctx.addr(), balance())
    }
    #[permit]
    fn permit(&self, act: &SpeechAct) -> bool {
        act.kind() != SpeechKind::Request || act.speaker() != Speaker::Outside
    }
    #[on(deposit)]
    fn credit(&mut self, amount: i64) {
        self.balance += amount;
    }
    #[on(deposit, when = amount > 10_000 && self.balance >= 0)]
    fn audit(&mut self, amount: i64) {}
    #[on(tick)]
    fn tick(&self, (price, when): (f64, u64), _note: String) {
        let _ = (price, when);
    }
    #[on(ping)]
    async fn ping(&mut self, ctx: &mut Ctx<Self>) {
        let _ = ctx.addr();
    }
    #[request]
    fn withdraw(&mut self, amount: i64) -> Result<(), Overdrawn> {
        self.balance -= amount;
        Ok(())
    }
    #[request]
    fn set_balance(&mut self, balance: i64) {
        self.balance = balance;
    }
    #[query]
    fn balance(&self) -> i64 {
        self.helper()
    }
    #[query]
    fn peer(&self, ctx: &mut Ctx<Self>) -> Addr<Self> {
        ctx.addr()
    }
    #[query]
    async fn slow(&self) -> &'static str {
        "slow"
    }
    fn helper(&self) -> i64 {
        self.balance
    }
}

async fn speak(acct: Addr<Account>) -> Result<(), SpeechError> {
    let _: Sent = notify!(acct, deposit(1));
    notify!(acct, tick((1.0, 2), "n".to_string()));
    notify!(&acct, ping());
    notify!(acct with 5 on deposit);
    notify!(acct with ((1.0, 2), String::new()) on tick);
    let _: Result<(), Overdrawn> = request!(acct, withdraw(1)).await?;
    let _: i64 = query!(acct, balance()).await?;
    let _: Addr<Account> = query!(acct, peer()).await?;
    let _: &str = query!(acct, slow()).await?;
    let _: i64 = query!(acct, delegated()).await?;
    let _: (i64, i64) = join!(query!(acct, balance()), query!(acct, delegated())).await?;
    let _: Vec<i64> = join_all(vec![query!(acct, balance())]).await?;
    let _: i64 = query!(acct, balance()).then(|b| Reply::ready(b + 1)).await?;
    let k = 2;
    let _: i64 = query!(acct 's balance with balance() * k).await?;
    request!(acct 's set_balance 'n balance to set_balance(balance() + k)).await?;
    let _ = acct.stop().await;
    Ok(())
}

#[stage_runtime::main]
async fn main() {
    let acct = spawn(Account { balance: 0 });
    let _ = speak(acct.clone()).await;
    let _ = acct.clone().id();
}
