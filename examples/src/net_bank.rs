//! SALSA's bank across two theatres (seed 002, section 3):
//!
//! ```text
//! checking <- getBalance() @ savings <- transfer(token);
//! ```
//!
//! The checking account lives on one theatre and the savings account on another;
//! a teller on a third finds both by universal name. The balance of checking is
//! the token passed to savings: the second message is sent only once the first
//! has answered, and no one waits in between. Then savings earns interest in one
//! Star-form request, whose expression runs on savings' theatre.

use stage_net::{NetError, Theatre};
use stage_runtime::prelude::*;

/// A bank account that other theatres may speak to.
#[actor(mobile)]
#[derive(Debug)]
pub struct Account {
    /// The balance.
    pub balance: i64,
}

#[behaviour]
impl Account {
    /// SALSA's `getBalance`.
    #[query]
    pub fn balance(&self) -> i64 {
        self.balance
    }

    /// Takes `amount` in; the new balance.
    #[request]
    pub fn transfer(&mut self, amount: i64) -> i64 {
        self.balance += amount;
        self.balance
    }

    /// Takes `amount` out, if there is that much; the new balance.
    #[request]
    pub fn withdraw(&mut self, amount: i64) -> Result<i64, String> {
        if amount > self.balance {
            return Err(format!("only {} left", self.balance));
        }
        self.balance -= amount;
        Ok(self.balance)
    }
}

/// Why the bank run stopped.
#[derive(Debug)]
pub enum BankError {
    /// A theatre could not start, or a name was not found.
    Net(NetError),
    /// A speech act failed.
    Speech(SpeechError),
    /// The bank refused a withdrawal.
    Refused(String),
}

impl From<NetError> for BankError {
    fn from(error: NetError) -> Self {
        BankError::Net(error)
    }
}

impl From<SpeechError> for BankError {
    fn from(error: SpeechError) -> Self {
        BankError::Speech(error)
    }
}

impl std::fmt::Display for BankError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BankError::Net(error) => error.fmt(f),
            BankError::Speech(error) => error.fmt(f),
            BankError::Refused(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for BankError {}

/// Starts three theatres on loopback (checking's, savings', the teller's), moves
/// checking's balance to savings with a token-passing continuation, and returns
/// the balances afterwards: `(checking, savings)`. Each step is written to `say`.
pub fn run(mut say: impl FnMut(String)) -> Result<(i64, i64), BankError> {
    let cookie = "salsa-bank";
    let branch_a = Theatre::builder().cookie(cookie).start()?;
    let branch_b = Theatre::builder()
        .cookie(cookie)
        .join([branch_a.locator()])
        .start()?;
    let teller = Theatre::builder()
        .cookie(cookie)
        .join([branch_a.locator()])
        .start()?;
    say(format!(
        "theatres: {} (checking), {} (savings), {} (teller)",
        branch_a.locator(),
        branch_b.locator(),
        teller.locator()
    ));
    branch_a.bind("bank/checking", &branch_a.spawn(Account { balance: 250 }))?;
    branch_b.bind("bank/savings", &branch_b.spawn(Account { balance: 1_000 }))?;

    let checking = teller.lookup::<Account>("bank/checking")?;
    let savings = teller.lookup::<Account>("bank/savings")?;
    // checking <- getBalance() @ savings <- transfer(token)
    let moved = query!(checking, balance()).then({
        let savings = savings.clone();
        move |token| request!(savings, transfer(token))
    });
    let savings_now = moved.wait()?;
    say(format!(
        "savings <- transfer(checking's balance): {savings_now}"
    ));
    // And take it out of checking, so that no money was made.
    let taken = query!(checking, balance()).then({
        let checking = checking.clone();
        move |token| request!(checking, withdraw(token))
    });
    let checking_now = taken.wait()?.map_err(BankError::Refused)?;
    say(format!("checking <- withdraw(its balance): {checking_now}"));
    // Star's form across the wire: the expression runs on savings' theatre, in one
    // turn, with the rate it captures from the teller.
    let rate_percent = 2;
    let interest = request!(savings 's transfer 'n balance to {
        let interest = balance() * rate_percent / 100;
        transfer(interest);
        interest
    });
    say(format!(
        "savings <- interest at {rate_percent}% (one Star-form request): {}",
        interest.wait()?
    ));
    let balances = (
        query!(checking, balance()).wait()?,
        query!(savings, balance()).wait()?,
    );
    for theatre in [&teller, &branch_b, &branch_a] {
        theatre.shutdown();
    }
    Ok(balances)
}
