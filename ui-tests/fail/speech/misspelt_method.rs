use stage_runtime::prelude::*;

#[actor]
struct Account { balance: i64 }

#[behaviour]
impl Account {
    #[query]
    fn balance(&self) -> i64 { self.balance }
}

fn main() {
    let acct = spawn(Account { balance: 0 });
    let _ = query!(acct, balanse());
}
