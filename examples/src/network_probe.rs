//! Stage's network-monitoring probe (seed 000, section 2.1), on theatres over
//! loopback: a probe migrates to each theatre in turn, reads the theatre's
//! status there in `#[arrived]`, and reports it home. No theatre has the probe's
//! code installed beforehand beyond the program itself; nothing is polled from
//! afar: the probe measures in place and sends one report per theatre.
//!
//! ```text
//! class Probe(MobileActor):
//!     def birth(self, report, dest): ...; migrate_to(dest)
//!     def arrived(self):
//!         data = self.do_probe()
//!         self.report(summarise(data))
//!     def do_probe(self):
//!         status = TheatreStatus()
//!         return {'Theatre': self.dest, 'Load average': status.load(), ...}
//! ```

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use stage_net::{NetError, Theatre};
use stage_runtime::drivers::TheatreStatus;
use stage_runtime::prelude::*;

/// What the probe reports from one theatre.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// Which visit of the round it was (0 for the first).
    pub hop: usize,
    /// The theatre's locator.
    pub theatre: String,
    /// The machine's load average over one minute, where the OS tells it.
    pub load_average: Option<f64>,
    /// The operating system.
    pub os: String,
    /// How long the theatre's stage has run, in seconds.
    pub uptime_s: f64,
    /// How many actors run there (the probe among them).
    pub actors: usize,
}

/// Where the readings go: an actor at home.
#[actor(mobile)]
#[derive(Debug, Default)]
pub struct Collector {
    readings: Vec<Reading>,
    failures: Vec<String>,
}

#[behaviour]
impl Collector {
    /// A reading from one theatre, kept in the order of the round (they come
    /// in that order: a moving actor's letters keep their order).
    #[on(reading)]
    fn reading(&mut self, reading: Reading) {
        let at = self.readings.partition_point(|r| r.hop < reading.hop);
        self.readings.insert(at, reading);
    }

    /// A theatre the probe could not reach.
    #[on(unreached)]
    fn unreached(&mut self, why: String) {
        self.failures.push(why);
    }

    /// The readings so far, and the theatres not reached.
    #[query]
    fn readings(&self) -> (Vec<Reading>, Vec<String>) {
        (self.readings.clone(), self.failures.clone())
    }
}

/// The probe: the theatres still to visit, and where to report.
#[actor(mobile)]
#[derive(Debug)]
pub struct Probe {
    /// Theatres still to visit, the last first.
    to_visit: Vec<String>,
    /// Theatres visited so far.
    hops: usize,
    report: Addr<Collector>,
}

impl Probe {
    /// A probe that visits `places` in order and reports to `report`.
    pub fn new(places: Vec<String>, report: Addr<Collector>) -> Probe {
        let mut to_visit = places;
        to_visit.reverse();
        Probe {
            to_visit,
            hops: 0,
            report,
        }
    }

    fn next(&mut self, ctx: &mut Ctx<Self>) {
        if let Some(place) = self.to_visit.pop() {
            ctx.migrate_to(place);
        }
    }
}

#[behaviour]
impl Probe {
    /// Starts the round.
    #[on(go)]
    fn go(&mut self, ctx: &mut Ctx<Self>) {
        self.next(ctx);
    }

    /// On each theatre, first: probe it in place, report, and go on.
    #[arrived]
    async fn arrived(&mut self, ctx: &mut Ctx<Self>) {
        let status = ctx.spawn(TheatreStatus);
        if let Ok(now) = query!(status, status()).await {
            let reading = Reading {
                hop: self.hops,
                theatre: ctx.locator().unwrap_or_default(),
                load_average: now.load_average.map(|l| l[0]),
                os: now.os.to_owned(),
                uptime_s: now.uptime.as_secs_f64(),
                actors: now.actors,
            };
            notify!(self.report, reading(reading));
        }
        let _ = status.stop().await;
        self.hops += 1;
        self.next(ctx);
    }

    /// A theatre could not be reached: say so, and try the next one.
    #[migration_failed]
    fn stayed(&mut self, ctx: &mut Ctx<Self>, error: MigrationError) {
        self.hops += 1;
        notify!(self.report, unreached(error.to_string()));
        self.next(ctx);
    }
}

/// The round: `stops` theatres besides home (each running a few actors of its
/// own, to have something to report), the probe's visit to each and back home,
/// the readings printed as they come. `say` hears each line. Returns the
/// readings, in the order taken.
///
/// # Errors
///
/// A theatre that does not start.
pub fn run(stops: usize, mut say: impl FnMut(String)) -> Result<Vec<Reading>, NetError> {
    let home = Theatre::builder().cookie("probes-only").start()?;
    let mut theatres = Vec::new();
    // Kept: an actor whose every address is gone ends.
    let mut residents = Vec::new();
    for i in 0..stops {
        let theatre = Theatre::builder()
            .cookie("probes-only")
            .join([home.locator()])
            .start()?;
        for _ in 0..=i {
            residents.push(theatre.spawn(Collector::default()));
        }
        theatres.push(theatre);
    }
    let collector = home.spawn(Collector::default());
    let mut places: Vec<String> = theatres.iter().map(|t| t.locator().to_owned()).collect();
    places.push(home.locator().to_owned());
    let probe = home.spawn(Probe::new(places, collector.clone()));
    let _ = notify!(probe, go());
    let deadline = Instant::now() + Duration::from_secs(30);
    let (readings, failures) = loop {
        let (readings, failures) = query!(collector, readings()).wait().unwrap_or_default();
        if readings.len() + failures.len() > stops || Instant::now() > deadline {
            break (readings, failures);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    for reading in &readings {
        let load = reading
            .load_average
            .map_or_else(|| "n/a".to_owned(), |l| format!("{l:.2}"));
        say(format!(
            "{}: load {load}, {}, up {:.0} ms, {} actors",
            reading.theatre,
            reading.os,
            reading.uptime_s * 1e3,
            reading.actors
        ));
    }
    for failure in &failures {
        say(format!("not reached: {failure}"));
    }
    if readings.len() + failures.len() <= stops {
        say("the probe did not come home within 30 s".into());
    }
    for theatre in theatres.iter().rev() {
        theatre.shutdown();
    }
    home.shutdown();
    Ok(readings)
}
