//! SALSA's bank across theatres on loopback:
//! `cargo run -p stage-examples --bin net_bank`.

fn main() -> Result<(), stage_examples::net_bank::BankError> {
    let (checking, savings) = stage_examples::net_bank::run(|line| println!("{line}"))?;
    println!("balances: checking {checking}, savings {savings}");
    Ok(())
}
