//! SALSA's worldwide migrating agent (seed 002, section 4.4, figure 14), on
//! theatres over loopback: an agent visits a list of theatres, records where it
//! has been, answers `itinerary` queries from anywhere at any time during the
//! trip, and reports its hops and the average time a move took once home again.
//!
//! ```text
//! behavior Agent {
//!   void visit(UAL[] itinerary) { ... self <- migrate(next) @ visit(rest) ... }
//! }
//! ```
//!
//! Here the agent asks for each move itself (`ctx.migrate_to`), and `#[arrived]`,
//! which runs first on each new theatre, records the place and goes on.

use std::time::{Duration, Instant};

use stage_net::{NetError, Theatre};
use stage_runtime::prelude::*;

/// The agent: where it still has to go, and where it has been.
#[actor(mobile)]
#[derive(Debug)]
pub struct Agent {
    /// Theatres still to visit, the last first.
    to_visit: Vec<String>,
    /// The theatres it has run on, in order.
    itinerary: Vec<String>,
    /// When the current move was asked for: wall-clock microseconds, which
    /// travel with the state (the theatres of this example share one clock).
    left_at: Option<u64>,
    /// Each move's time, in microseconds.
    moves_us: Vec<u64>,
    /// Why a move did not happen, if one did not.
    failures: Vec<String>,
}

impl Agent {
    /// An agent that will visit `places` in order, starting from `home`.
    pub fn new(home: &str, places: Vec<String>) -> Agent {
        let mut to_visit = places;
        to_visit.reverse();
        Agent {
            to_visit,
            itinerary: vec![home.to_owned()],
            left_at: None,
            moves_us: Vec::new(),
            failures: Vec::new(),
        }
    }

    fn next(&mut self, ctx: &mut Ctx<Self>) {
        if let Some(place) = self.to_visit.pop() {
            self.left_at = Some(now_us());
            ctx.migrate_to(place);
        }
    }
}

/// Wall-clock time, in microseconds.
fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_micros() as u64)
}

#[behaviour]
impl Agent {
    /// Starts the trip.
    #[on(go)]
    fn go(&mut self, ctx: &mut Ctx<Self>) {
        self.next(ctx);
    }

    /// On each theatre, first: note the place and the move's time, and go on.
    #[arrived]
    fn arrived(&mut self, ctx: &mut Ctx<Self>) {
        if let Some(left) = self.left_at.take() {
            self.moves_us.push(now_us().saturating_sub(left));
        }
        self.itinerary.push(ctx.locator().unwrap_or_default());
        self.next(ctx);
    }

    /// A move failed: the agent stays, notes why, and tries the next place.
    #[migration_failed]
    fn stayed(&mut self, ctx: &mut Ctx<Self>, error: MigrationError) {
        self.left_at = None;
        self.failures.push(error.to_string());
        self.next(ctx);
    }

    /// Where it has been so far (SALSA's `printItinerary`).
    #[query]
    fn itinerary(&self) -> Vec<String> {
        self.itinerary.clone()
    }

    /// Whether the trip is over, with the moves' times and the failures.
    #[query]
    fn report(&self) -> (bool, Vec<u64>, Vec<String>) {
        (
            self.to_visit.is_empty() && self.left_at.is_none(),
            self.moves_us.clone(),
            self.failures.clone(),
        )
    }
}

/// The trip: `stops` theatres besides home, the agent's round trip through all
/// of them and back, its itinerary read from home while it travels. `say` hears
/// each line. Returns the itinerary and the average move, in microseconds.
///
/// # Errors
///
/// A theatre that does not start.
pub fn run(stops: usize, say: impl FnMut(String)) -> Result<(Vec<String>, f64), NetError> {
    let home = Theatre::builder().cookie("agents").start()?;
    let mut theatres = Vec::new();
    for _ in 0..stops {
        theatres.push(
            Theatre::builder()
                .cookie("agents")
                .join([home.locator()])
                .start()?,
        );
    }
    let places: Vec<String> = theatres.iter().map(|t| t.locator().to_owned()).collect();
    let trip = trip(&home, places, say);
    for theatre in theatres.iter().rev() {
        theatre.shutdown();
    }
    home.shutdown();
    Ok(trip)
}

/// The agent's round trip from `home` through `places` (theatres of the same
/// program, in this process or others) and back home, its itinerary read from
/// home while it travels. `say` hears each line. Returns the itinerary and the
/// average move, in microseconds.
pub fn trip(
    home: &Theatre,
    places: Vec<String>,
    mut say: impl FnMut(String),
) -> (Vec<String>, f64) {
    let mut places = places;
    places.push(home.locator().to_owned());
    let agent = home.spawn(Agent::new(home.locator(), places));
    let _ = notify!(agent, go());
    // Asked from home while the agent travels: the address follows it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (moves, failures) = loop {
        if let Ok((true, moves, failures)) = query!(agent, report()).wait() {
            break (moves, failures);
        }
        if let Ok(so_far) = query!(agent, itinerary()).wait() {
            say(format!("so far: {} places", so_far.len()));
        }
        if Instant::now() > deadline {
            say("the trip did not end within 30 s".into());
            break (Vec::new(), Vec::new());
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    for failure in &failures {
        say(format!("a move failed: {failure}"));
    }
    let itinerary = query!(agent, itinerary()).wait().unwrap_or_default();
    for (hop, place) in itinerary.iter().enumerate() {
        say(format!("hop {hop}: {place}"));
    }
    let average = moves.iter().sum::<u64>() as f64 / moves.len().max(1) as f64;
    say(format!(
        "{} moves, {average:.0} us each on average (SALSA's LAN agent: 150-160 ms)",
        moves.len()
    ));
    (itinerary, average)
}
