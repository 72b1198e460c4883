//! What the full mesh costs as a cluster grows (the baseline issue 18's SWIM
//! membership is to be measured against).
//!
//! For each size N, N theatres start in this process, each joining the first;
//! the example measures:
//! - the time until every theatre sees every other;
//! - the threads, open files and resident memory the cluster added, per
//!   theatre;
//! - the membership upkeep: bytes each theatre writes per second to its peers
//!   while no letter is sent (pings and credit);
//! - the time from killing one more theatre (a child process, SIGKILL) until
//!   every other has dropped it. The kernel resets the dead process's
//!   connections, so this is the time to notice a reset, not the failure
//!   detector's: a machine that goes silent takes `down_after` (2 s), which
//!   the fault suite measures with cut links.
//!
//! ```sh
//! cargo run --release -p stage-net --example mesh_scale -- 10 25 50
//! ```
//!
//! Linux only (it reads `/proc/self`). All N theatres share one process, whose
//! open files grow as N squared (about 3 per connection end): with
//! `ulimit -n` at 20,000, 75 theatres fit and 100 do not.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use stage_net::Theatre;

const COOKIE: &str = "mesh-scale-cookie-0123456789abcdef";
const CHILD: &str = "STAGE_MESH_SCALE_CHILD";

fn theatre(seed: Option<&str>) -> Theatre {
    Theatre::builder()
        .cookie(COOKIE)
        .join(seed.map(str::to_owned))
        .start()
        .unwrap_or_else(|e| panic!("a theatre starts: {e}"))
}

/// Threads, open files, and resident memory in KiB, of this process.
fn process() -> (usize, usize, u64) {
    let threads = std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count());
    let files = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count());
    let rss = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    (threads, files, rss)
}

fn wait_until(limit: Duration, ok: impl Fn() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while !ok() {
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Some(start.elapsed())
}

fn bytes_written(theatres: &[Theatre]) -> u64 {
    theatres
        .iter()
        .flat_map(|t| t.report().links)
        .map(|link| link.bytes_out)
        .sum()
}

fn measure(n: usize) {
    let (threads0, files0, rss0) = process();
    let start = Instant::now();
    let first = theatre(None);
    let seed = first.locator().to_owned();
    let mut all = vec![first];
    for _ in 1..n {
        all.push(theatre(Some(&seed)));
    }
    let meshed = wait_until(Duration::from_secs(120), || {
        all.iter().all(|t| t.peers().len() == n - 1)
    })
    .map(|_| start.elapsed());
    let (threads, files, rss) = process();

    // Upkeep: what the idle mesh writes over three seconds.
    let before = bytes_written(&all);
    std::thread::sleep(Duration::from_secs(3));
    let upkeep = (bytes_written(&all) - before) as f64 / 3.0 / n as f64;

    // One more theatre, in a process of its own, killed.
    let mut child = Command::new(std::env::current_exe().expect("this program"))
        .env(CHILD, &seed)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the child starts");
    let stdout = child.stdout.take().expect("its output");
    let locator = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .next()
        .expect("the child's locator");
    let seen = wait_until(Duration::from_secs(120), || {
        all.iter().all(|t| t.peers().contains(&locator))
    });
    let _ = child.kill();
    let down = seen.and_then(|_| {
        wait_until(Duration::from_secs(120), || {
            all.iter().all(|t| !t.peers().contains(&locator))
        })
    });
    let _ = child.wait();

    let per = |now: usize, then: usize| now.saturating_sub(then) as f64 / n as f64;
    println!(
        "| {n} | {} | {:.1} | {:.1} | {:.0} | {:.0} | {} |",
        meshed.map_or("over 120 s".into(), |d| format!("{:.2} s", d.as_secs_f64())),
        per(threads, threads0),
        per(files, files0),
        rss.saturating_sub(rss0) as f64 / n as f64,
        upkeep,
        down.map_or("never".into(), |d| format!("{:.2} s", d.as_secs_f64())),
    );
    for theatre in &all {
        theatre.shutdown();
    }
}

fn main() {
    if let Ok(seed) = std::env::var(CHILD) {
        let theatre = theatre(Some(&seed));
        println!("{}", theatre.locator());
        loop {
            std::thread::sleep(Duration::from_secs(60));
        }
    }
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .filter(|n| *n >= 2)
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10, 25, 50]
    } else {
        sizes
    };
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown".to_owned(), |(_, v)| v.trim().to_owned());
    println!(
        "full mesh, {cpu}, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| theatres | all see all | threads / theatre | open files / theatre | RSS KiB / theatre | upkeep bytes/s / theatre | a killed process dropped by all |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for n in sizes {
        measure(n);
    }
}
