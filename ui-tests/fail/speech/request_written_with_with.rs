use stage_runtime::prelude::*;

#[actor]
struct Bank { balance: i64 }

#[behaviour]
impl Bank {
    #[request]
    fn set_balance(&mut self, balance: i64) { self.balance = balance; }
}

fn main() {
    let bank = spawn(Bank { balance: 0 });
    let _ = request!(bank 's set_balance with set_balance(5));
}
