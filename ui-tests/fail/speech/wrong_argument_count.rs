use stage_runtime::prelude::*;

#[actor]
struct Account { balance: i64 }

#[behaviour]
impl Account {
    #[request]
    fn withdraw(&mut self, amount: i64) { self.balance -= amount; }
}

fn main() {
    let acct = spawn(Account { balance: 0 });
    let _ = request!(acct, withdraw(5, 6));
}
