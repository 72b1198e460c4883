//! Two theatres in separate processes: this test binary starts itself again as the
//! second theatre (selected by an environment variable), talks to it over loopback,
//! then kills it and watches the pending reply fail.

use std::time::{Duration, Instant};

use stage_net::Theatre;
use stage_runtime::prelude::*;

#[path = "support/child.rs"]
mod child;

use child::Killed;

const COOKIE: &str = "two-processes";
const CHILD: &str = "STAGE_NET_TEST_CHILD";

#[actor(mobile)]
struct Counter {
    n: u64,
}

#[behaviour]
impl Counter {
    #[on(add)]
    fn add(&mut self, k: u64) {
        self.n += k;
    }

    #[query]
    fn total(&self) -> u64 {
        self.n
    }

    #[query]
    fn pid(&self) -> u32 {
        std::process::id()
    }

    #[request]
    fn nap(&mut self, millis: u64) {
        std::thread::sleep(Duration::from_millis(millis));
    }
}

/// The child's side: a theatre with a bound counter; prints its locator, then
/// serves until killed.
fn child() {
    let theatre = Theatre::builder()
        .cookie(COOKIE)
        .start()
        .expect("child theatre");
    theatre
        .bind("counter", &theatre.spawn(Counter { n: 0 }))
        .expect("bind");
    println!("{}", theatre.locator());
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

fn start_child() -> (Killed, String) {
    child::start_child("a_theatre_in_another_process", &[(CHILD, "1")])
}

#[test]
fn a_theatre_in_another_process() {
    if std::env::var_os(CHILD).is_some() {
        child();
        return;
    }
    let (mut child, locator) = start_child();
    let down_after = Duration::from_millis(800);
    let here = Theatre::builder()
        .cookie(COOKIE)
        .down_after(down_after)
        .join([locator.as_str()])
        .start()
        .expect("joins the child");
    let counter = here.lookup::<Counter>("counter").expect("lookup");
    assert_ne!(query!(counter, pid()).wait(), Ok(std::process::id()));
    for k in 1..=100 {
        notify!(counter, add(k));
    }
    assert_eq!(query!(counter, total()).wait(), Ok(5050));
    // Star's form: the expression's code is found in the other process, where the
    // program was loaded at another address.
    let (offset, scale) = (50_u64, vec![2_u64, 3]);
    let scaled = query!(counter 's total 'n pid with {
        let far = pid();
        (scale.iter().map(|s| (total() - offset) * s).sum::<u64>(), far)
    });
    let (sum, far) = scaled.wait().expect("the expression ran there");
    assert_eq!(sum, 25_000);
    assert_ne!(far, std::process::id(), "it ran in the other process");
    let label = String::from("n=");
    let took = request!(counter 's total to {
        let before = total();
        format!("{label}{before}")
    });
    assert_eq!(took.wait().as_deref(), Ok("n=5050"));

    // Kill the other theatre while a request is pending there.
    let pending = request!(counter, nap(10_000));
    std::thread::sleep(Duration::from_millis(100));
    let killed = Instant::now();
    child.0.kill().expect("kill");
    assert_eq!(
        pending.wait(),
        Err(SpeechError::Failed(Failure::Unreachable))
    );
    assert!(
        killed.elapsed() < down_after * 2,
        "took {:?}",
        killed.elapsed()
    );
    assert_eq!(
        query!(counter, total()).wait(),
        Err(SpeechError::Failed(Failure::Unreachable))
    );
}
