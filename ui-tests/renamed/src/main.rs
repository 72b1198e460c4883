//! Every macro, with the runtime known only as `stage`.

use stage::prelude::*;

// Mobile, so that the serde derive's path follows the rename too.
#[actor(mobile)]
struct Account {
    balance: i64,
}

#[behaviour]
impl Account {
    #[on(deposit)]
    fn credit(&mut self, amount: i64) {
        self.balance += amount;
    }
    #[request]
    fn withdraw(&mut self, amount: i64) -> i64 {
        self.balance -= amount;
        self.balance
    }
    #[query]
    fn balance(&self) -> i64 {
        self.balance
    }
}

#[stage::main]
async fn main() {
    let acct = spawn(Account { balance: 0 });
    notify!(acct, deposit(10));
    notify!(acct with 5 on deposit);
    let left = request!(acct, withdraw(3)).await;
    let doubled = query!(acct 's balance with balance() * 2).await;
    let both = join!(query!(acct, balance()), query!(acct, balance())).await;
    println!("{left:?} {doubled:?} {both:?}");
}
