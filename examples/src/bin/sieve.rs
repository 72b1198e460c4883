//! The Sieve of Eratosthenes with filter actors: `cargo run -p stage-examples --bin sieve [COUNT]`.

use stage_runtime::Stage;

fn main() {
    let wanted = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000);
    let stage = Stage::new();
    match stage_examples::sieve::first_primes(&stage, wanted) {
        Ok(primes) => {
            let last = primes.last().copied().unwrap_or(0);
            println!("the first {} primes end with {last}", primes.len());
            let head: Vec<String> = primes.iter().take(10).map(u64::to_string).collect();
            println!("they begin {}", head.join(", "));
        }
        Err(error) => {
            eprintln!("sieve: {error}");
            std::process::exit(1);
        }
    }
}
