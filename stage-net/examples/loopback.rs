//! Loopback figures for two theatres in one process: remote notify throughput,
//! remote query round trip, and a raw TCP ping-pong measured the same way (blocking
//! sockets, one thread each side). Run with
//! `cargo run --release -p stage-net --example loopback` (`-- --notify` for the
//! notify figure alone).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Instant;

use stage_net::Theatre;
use stage_runtime::prelude::*;

#[actor(mobile)]
struct Sink {
    seen: u64,
}

#[behaviour]
impl Sink {
    #[on(hit)]
    fn hit(&mut self, _n: u64) {
        self.seen += 1;
    }

    #[query]
    fn seen(&self) -> u64 {
        self.seen
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn raw_round_trip_us(rounds: u32) -> std::io::Result<f64> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let echo = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut s, _) = listener.accept()?;
        s.set_nodelay(true)?;
        let mut buf = [0u8; 16];
        while s.read_exact(&mut buf).is_ok() {
            s.write_all(&buf)?;
        }
        Ok(())
    });
    let mut s = TcpStream::connect(address)?;
    s.set_nodelay(true)?;
    let mut buf = [7u8; 16];
    let start = Instant::now();
    for _ in 0..rounds {
        s.write_all(&buf)?;
        s.read_exact(&mut buf)?;
    }
    let took = start.elapsed();
    drop(s);
    let _ = echo.join();
    Ok(took.as_secs_f64() * 1e6 / f64::from(rounds))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = Theatre::builder().cookie("bench").start()?;
    let b = Theatre::builder()
        .cookie("bench")
        .join([a.locator()])
        .start()?;
    a.bind("sink", &a.spawn(Sink { seen: 0 }))?;
    let sink = b.lookup::<Sink>("sink")?;

    const NOTIFIES: u64 = 1_000_000;
    let mut rates = Vec::new();
    for run in 0..3u64 {
        let start = Instant::now();
        for n in 0..NOTIFIES {
            notify!(sink, hit(n));
        }
        let seen = query!(sink, seen()).wait()?;
        let took = start.elapsed().as_secs_f64();
        if seen != NOTIFIES * (run + 1) {
            let sent = NOTIFIES * (run + 1);
            return Err(format!("{seen} messages counted of {sent} sent").into());
        }
        rates.push(NOTIFIES as f64 / took);
    }

    println!(
        "remote notify: {:.2} M msg/s (median of 3 x {NOTIFIES}, none lost)",
        median(rates) / 1e6
    );
    // `--notify` stops here (for profiling the notify path alone).
    if std::env::args().any(|a| a == "--notify") {
        return Ok(());
    }

    const ASKS: u32 = 20_000;
    let mut remote = Vec::new();
    let mut raw = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        for _ in 0..ASKS {
            query!(sink, seen()).wait()?;
        }
        remote.push(start.elapsed().as_secs_f64() * 1e6 / f64::from(ASKS));
        raw.push(raw_round_trip_us(ASKS)?);
    }
    let (remote, raw) = (median(remote), median(raw));
    println!("remote query round trip: {remote:.1} us (median of 3 x {ASKS})");
    println!("raw TCP ping-pong round trip: {raw:.1} us (same way)");
    println!("ratio: {:.2}x", remote / raw);
    Ok(())
}
