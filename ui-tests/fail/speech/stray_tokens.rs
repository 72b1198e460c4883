use stage_runtime::prelude::*;

#[actor]
struct Account { balance: i64 }

#[behaviour]
impl Account {
    #[on(deposit)]
    fn credit(&mut self, amount: i64) { self.balance += amount; }
}

fn main() {
    let acct = spawn(Account { balance: 0 });
    notify!(acct, deposit(5) now);
}
