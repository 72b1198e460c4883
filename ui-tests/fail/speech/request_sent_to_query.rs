use stage_runtime::prelude::*;

#[actor]
struct Account { balance: i64 }

#[behaviour]
impl Account {
    #[request]
    fn withdraw(&mut self, amount: i64) { self.balance -= amount; }
    #[query]
    fn balance(&self) -> i64 { self.balance }
}

fn main() {
    let acct = spawn(Account { balance: 0 });
    let _ = request!(acct, balance());
}
