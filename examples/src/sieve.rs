//! The Sieve of Eratosthenes with concurrent filter actors (Star's classic actor
//! pipeline): a chain of filters, one per prime found; each passes on what its prime
//! does not divide, and a number that passes them all is the next prime, which gets
//! a filter of its own at the end of the chain.

use stage_runtime::prelude::*;

/// One stage of the sieve: holds a prime, filters out its multiples.
#[actor]
#[derive(Debug)]
pub struct Filter {
    prime: u64,
    next: Option<Addr<Filter>>,
    primes: Addr<Primes>,
}

#[behaviour]
impl Filter {
    #[on(candidate)]
    fn candidate(&mut self, ctx: &mut Ctx<Self>, n: u64) {
        if n % self.prime == 0 {
            return;
        }
        match &self.next {
            Some(next) => {
                notify!(next, candidate(n));
            }
            None => {
                // Through every filter: a prime. It gets the next filter.
                notify!(self.primes, found(n));
                self.next = Some(ctx.spawn(Filter {
                    prime: n,
                    next: None,
                    primes: self.primes.clone(),
                }));
            }
        }
    }
}

/// Collects the primes in the order found.
#[actor]
#[derive(Debug, Default)]
pub struct Primes {
    found: Vec<u64>,
}

#[behaviour]
impl Primes {
    #[on(found)]
    fn found(&mut self, prime: u64) {
        self.found.push(prime);
    }

    #[query]
    fn count(&self) -> usize {
        self.found.len()
    }

    #[query]
    fn list(&self) -> Vec<u64> {
        self.found.clone()
    }
}

/// How many candidates are fed between looks at the count.
const BATCH: u64 = 1_000;

/// Runs the sieve on `stage` until it has found `wanted` primes (2 included), and
/// returns them in order.
///
/// Feeds 3, 4, 5, .. a batch at a time; between batches it waits for the stage's
/// quiescence, when every candidate sent has gone as far down the chain as it can.
///
/// # Errors
///
/// A speech error from the collector (it does not fail in practice).
pub fn first_primes(stage: &Stage, wanted: usize) -> Result<Vec<u64>, SpeechError> {
    let primes = stage.spawn(Primes { found: vec![2] });
    let two = stage.spawn(Filter {
        prime: 2,
        next: None,
        primes: primes.clone(),
    });
    let mut next = 3;
    while query!(primes, count()).wait()? < wanted {
        for candidate in next..next + BATCH {
            notify!(two, candidate(candidate));
        }
        next += BATCH;
        stage.wait_quiescent();
    }
    // Found in increasing order, but reported by different filters: sort.
    let mut list = query!(primes, list()).wait()?;
    list.sort_unstable();
    list.truncate(wanted);
    Ok(list)
}
