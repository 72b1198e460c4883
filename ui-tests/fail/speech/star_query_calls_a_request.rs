use stage_runtime::prelude::*;

#[actor]
struct Bank { balance: i64 }

#[behaviour]
impl Bank {
    #[request]
    fn set_balance(&mut self, balance: i64) { self.balance = balance; }
    #[query]
    fn current_balance(&self) -> i64 { self.balance }
}

fn main() {
    let bank = spawn(Bank { balance: 0 });
    let _ = query!(bank 's set_balance 'n current_balance with set_balance(current_balance() + 1));
}
