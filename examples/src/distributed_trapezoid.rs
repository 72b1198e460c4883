//! Stage's trapezoidal approximation across hosts (seed 000, section 5.1,
//! figure 6): the integral of `f(x) = sin(x^3 - 1) / (x + 1) * sqrt(1 +
//! e^sqrt(2x))` over [0, 10], split among integrators spread over 1, 2, ... N
//! theatres ("work-willing hosts"), with the time and the speed-up of each.
//!
//! Each theatre here runs a stage of one worker, as a host of one core would.
//! The integrators are made at home and moved to their theatres
//! (`Theatre::migrate`), then asked for their share; the answer is complete when
//! the slowest share is. On one machine the speed-up stops at its number of
//! cores.

use std::time::{Duration, Instant};

use stage_net::{NetError, Theatre};
use stage_runtime::prelude::*;

/// The seed's integrand.
pub fn f(x: f64) -> f64 {
    (x * x * x - 1.0).sin() / (x + 1.0) * (1.0 + (2.0 * x).sqrt().exp()).sqrt()
}

/// The interval integrated.
pub const INTERVAL: (f64, f64) = (0.0, 10.0);

/// An integrator: integrates its share where it runs.
#[actor(mobile)]
#[derive(Debug, Default)]
pub struct Integrator;

#[behaviour]
impl Integrator {
    /// The trapezoid rule for `f` over `[a, b]` with `n` trapezoids.
    #[query]
    fn integrate(&self, a: f64, b: f64, n: u64) -> f64 {
        let n = n.max(1);
        let h = (b - a) / n as f64;
        let mut sum = (f(a) + f(b)) / 2.0;
        for i in 1..n {
            sum += f(a + i as f64 * h);
        }
        sum * h
    }

    /// Where it runs.
    #[query]
    fn place(&self, ctx: &mut Ctx<Self>) -> String {
        ctx.locator().unwrap_or_default()
    }
}

/// One measurement: how many theatres, how long, and the integral.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    /// Theatres (each with one integrator) that shared the work.
    pub hosts: usize,
    /// From the first question to the last answer.
    pub took: Duration,
    /// The integral.
    pub integral: f64,
}

/// Integrates with `points` trapezoids on 1, 2, ... `hosts` theatres, each
/// with a stage of one worker; `say` hears each line (the speed-up over one
/// theatre among them).
///
/// # Errors
///
/// A theatre that does not start, or an integrator that could not move or
/// answer (as `NetError::Io`, with the reason).
pub fn run(
    hosts: usize,
    points: u64,
    mut say: impl FnMut(String),
) -> Result<Vec<Measure>, NetError> {
    let one_worker = || Stage::builder().workers(1).build();
    let home = Theatre::builder()
        .cookie("trapezoids")
        .stage(one_worker())
        .start()?;
    let mut theatres = vec![home.clone()];
    for _ in 1..hosts.max(1) {
        theatres.push(
            Theatre::builder()
                .cookie("trapezoids")
                .stage(one_worker())
                .join([home.locator()])
                .start()?,
        );
    }
    let failed = |what: String| NetError::Io(std::io::Error::other(what));
    let mut measures: Vec<Measure> = Vec::new();
    for k in 1..=theatres.len() {
        // One integrator per theatre: made at home, sent to its host.
        let mut integrators = Vec::with_capacity(k);
        for theatre in &theatres[..k] {
            let integrator = home.spawn(Integrator);
            if theatre.locator() != home.locator() {
                home.migrate(&integrator, theatre.locator())
                    .wait()
                    .map_err(|e| failed(format!("an integrator did not move: {e}")))?;
            }
            integrators.push(integrator);
        }
        let (a, b) = INTERVAL;
        let width = (b - a) / k as f64;
        let start = Instant::now();
        let shares: Vec<_> = integrators
            .iter()
            .enumerate()
            .map(|(i, integrator)| {
                let from = a + i as f64 * width;
                query!(integrator, integrate(from, from + width, points / k as u64))
            })
            .collect();
        let mut integral = 0.0;
        for share in shares {
            integral += share
                .wait()
                .map_err(|e| failed(format!("a share was not answered: {e}")))?;
        }
        let took = start.elapsed();
        let speed_up = measures.first().map_or(1.0, |one| {
            one.took.as_secs_f64() / took.as_secs_f64().max(1e-9)
        });
        say(format!(
            "{k} host{}: {:.1} ms, integral {integral:.9}, speed-up {speed_up:.2}",
            if k == 1 { "" } else { "s" },
            took.as_secs_f64() * 1e3
        ));
        measures.push(Measure {
            hosts: k,
            took,
            integral,
        });
        for integrator in integrators {
            let _ = integrator.stop().wait();
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    say(format!(
        "(this machine has {cores} cores: the speed-up stops there; Stage's figure 6 used separate hosts)"
    ));
    for theatre in theatres.iter().skip(1).rev() {
        theatre.shutdown();
    }
    home.shutdown();
    Ok(measures)
}
