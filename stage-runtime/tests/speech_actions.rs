//! The three speech actions, in both forms, and the rules of event channels.

use stage_runtime::prelude::*;

#[derive(Debug, Clone, PartialEq)]
struct Overdrawn;

#[actor]
struct Account {
    balance: i64,
    audited: Vec<i64>,
    log: Vec<String>,
}

#[behaviour]
impl Account {
    #[on(deposit)]
    fn credit(&mut self, amount: i64) {
        self.balance += amount;
        self.log.push(format!("credit {amount}"));
    }

    #[on(deposit, when = amount > 10_000)]
    fn audit(&mut self, amount: i64) {
        self.audited.push(amount);
        self.log.push(format!("audit {amount}"));
    }

    #[on(transfer)]
    fn moved(&mut self, (from, amount): (String, i64), note: String) {
        self.log.push(format!("{from} sent {amount}: {note}"));
    }

    #[on(reset)]
    fn reset(&mut self) {
        self.balance = 0;
    }

    #[request]
    fn withdraw(&mut self, amount: i64) -> Result<(), Overdrawn> {
        if amount > self.balance {
            return Err(Overdrawn);
        }
        self.balance -= amount;
        Ok(())
    }

    #[request]
    fn set_balance(&mut self, balance: i64) {
        self.balance = balance;
    }

    #[query]
    fn balance(&self) -> i64 {
        self.balance
    }

    #[query]
    fn current_balance(&self, ctx: &mut Ctx<Self>) -> i64 {
        let _ = ctx.id();
        self.balance
    }

    #[query]
    fn audited(&self) -> Vec<i64> {
        self.audited.clone()
    }

    #[query]
    fn log(&self) -> Vec<String> {
        self.log.clone()
    }

    #[query]
    async fn slow_balance(&self) -> i64 {
        self.balance
    }
}

fn account() -> Addr<Account> {
    spawn(Account {
        balance: 0,
        audited: vec![],
        log: vec![],
    })
}

#[test]
fn short_forms() {
    block_on(async {
        let acct = account();
        assert!(notify!(acct, deposit(100)).is_ok());
        assert_eq!(request!(acct, withdraw(30)).await, Ok(Ok(())));
        assert_eq!(request!(acct, withdraw(500)).await, Ok(Err(Overdrawn)));
        assert_eq!(query!(acct, balance()).await, Ok(70));
        assert_eq!(query!(&acct, current_balance()).await, Ok(70));
        assert_eq!(query!(acct, slow_balance()).await, Ok(70));
    });
}

#[test]
fn every_rule_whose_guard_holds_fires_in_declaration_order() {
    block_on(async {
        let acct = account();
        notify!(acct, deposit(5));
        notify!(acct, deposit(20_000));
        assert_eq!(query!(acct, balance()).await, Ok(20_005));
        assert_eq!(query!(acct, audited()).await, Ok(vec![20_000]));
        assert_eq!(
            query!(acct, log()).await,
            Ok(vec![
                "credit 5".to_string(),
                "credit 20000".to_string(),
                "audit 20000".to_string()
            ])
        );
    });
}

#[test]
fn channels_with_patterns_and_several_parameters() {
    block_on(async {
        let acct = account();
        notify!(acct, transfer(("ada".to_string(), 3), "rent".to_string()));
        let event = (("bob".to_string(), 4), "tip".to_string());
        notify!(acct with event on transfer);
        notify!(acct, reset());
        let log = query!(acct, log()).await.expect("answered");
        assert_eq!(log, ["ada sent 3: rent", "bob sent 4: tip"]);
    });
}

#[test]
fn star_forms_run_inside_the_actor_with_captured_values() {
    block_on(async {
        let acct = account();
        notify!(acct with 100 on deposit);
        let factor = 3;
        assert_eq!(
            query!(acct 's balance with balance() * factor).await,
            Ok(300)
        );
        // Star's bank: request bank's setBalance 'n currentBalance to setBalance(currentBalance()*1.2)
        request!(acct 's set_balance 'n current_balance to set_balance(current_balance() * 12 / 10))
            .await
            .expect("answered");
        assert_eq!(query!(acct, balance()).await, Ok(120));
        let owned = String::from("captured");
        let answer = query!(acct 's balance 'n log with format!("{owned}: {} after {} entries", balance(), log().len()));
        assert_eq!(answer.await.as_deref(), Ok("captured: 120 after 1 entries"));
    });
}
