//! The cluster as the console sees it: one [`Observer`] per theatre, the last
//! two reports of each, and the members found through them.
//!
//! The console starts from its seeds, meets the members each theatre's
//! welcome names, and follows the links in each report to members that joined
//! later. A theatre that stops answering is shown as unreachable and tried
//! again at each refresh; one that no reachable theatre links to any more is
//! dropped after [`FORGET_AFTER`] refreshes.

use std::collections::BTreeMap;
use std::time::Duration;

use stage_net::observer::{Observer, ObserverBuilder, Rates, Report};
use stage_net::NetError;

/// Refreshes after which an unreachable theatre that nobody links to is
/// forgotten.
pub const FORGET_AFTER: u32 = 5;

/// One theatre, as watched.
#[derive(Debug, Default)]
pub struct Watched {
    observer: Option<Observer>,
    /// The last report, and the one before (for rates).
    pub last: Option<Report>,
    earlier: Option<Report>,
    /// Why the last refresh got no report, if it did not.
    pub error: Option<String>,
    /// Refreshes in a row without a report.
    misses: u32,
}

impl Watched {
    /// The rates between its last two reports.
    pub fn rates(&self) -> Option<Rates> {
        self.last.as_ref()?.rates_since(self.earlier.as_ref()?)
    }
}

/// The whole cluster, by locator.
pub struct Cluster {
    builder: ObserverBuilder,
    seeds: Vec<String>,
    /// Every theatre known, by locator.
    pub theatres: BTreeMap<String, Watched>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("seeds", &self.seeds)
            .field("theatres", &self.theatres.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// A cluster to watch through `seeds`, connecting with `builder` (which
    /// holds the cookie, and TLS if the cluster uses it).
    pub fn new(builder: ObserverBuilder, seeds: Vec<String>) -> Cluster {
        let theatres = seeds
            .iter()
            .map(|seed| (seed.clone(), Watched::default()))
            .collect();
        Cluster {
            builder,
            seeds,
            theatres,
        }
    }

    /// Asks every theatre for its report (connecting where there is no
    /// connection yet), and takes in the members the answers name.
    pub fn refresh(&mut self) {
        let mut found = Vec::new();
        for (locator, watched) in &mut self.theatres {
            if watched.observer.is_none() {
                match self.builder.connect(locator) {
                    Ok(observer) => {
                        found.extend(observer.members().iter().cloned());
                        watched.observer = Some(observer);
                    }
                    Err(error) => {
                        miss(watched, &error);
                        continue;
                    }
                }
            }
            let Some(observer) = watched.observer.as_mut() else {
                continue;
            };
            match observer.report() {
                Ok(report) => {
                    found.extend(report.links.iter().map(|link| link.locator.clone()));
                    watched.earlier = watched.last.replace(report);
                    watched.error = None;
                    watched.misses = 0;
                }
                Err(error) => {
                    watched.observer = None;
                    miss(watched, &error);
                }
            }
        }
        for locator in found {
            self.theatres.entry(locator).or_default();
        }
        // Forget theatres long unreachable that no reachable one links to
        // (they left); seeds stay, so that a restarted seed is found again.
        let linked: Vec<String> = self
            .theatres
            .values()
            .filter(|w| w.error.is_none())
            .filter_map(|w| w.last.as_ref())
            .flat_map(|r| r.links.iter().map(|l| l.locator.clone()))
            .collect();
        let seeds = &self.seeds;
        self.theatres.retain(|locator, watched| {
            watched.misses < FORGET_AFTER || linked.contains(locator) || seeds.contains(locator)
        });
    }

    /// The theatres that answered the last refresh.
    pub fn reachable(&self) -> impl Iterator<Item = (&String, &Watched, &Report)> {
        self.theatres.iter().filter_map(|(locator, watched)| {
            let report = watched.last.as_ref().filter(|_| watched.error.is_none())?;
            Some((locator, watched, report))
        })
    }

    /// Actors alive across the reachable theatres, by type: (type, live,
    /// theatres it runs on), most first.
    pub fn types(&self) -> Vec<(String, u64, usize)> {
        let mut by_type: BTreeMap<&str, (u64, usize)> = BTreeMap::new();
        for (_, _, report) in self.reachable() {
            for each in &report.types {
                let entry = by_type.entry(&each.name).or_default();
                entry.0 += each.live;
                entry.1 += 1;
            }
        }
        let mut types: Vec<(String, u64, usize)> = by_type
            .into_iter()
            .map(|(name, (live, on))| (name.to_owned(), live, on))
            .collect();
        types.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        types
    }

    /// The busiest actors across the cluster: (theatre, type, actor, turns
    /// ended with letters waiting per second since the last refresh, how long
    /// ago last seen so), busiest first; only those seen busy lately.
    pub fn busiest(&self) -> Vec<Busiest> {
        let mut busiest = Vec::new();
        for (locator, watched, report) in self.reachable() {
            let rates = watched.rates();
            for busy in &report.busiest {
                let per_second = rates
                    .as_ref()
                    .and_then(|r| r.full_turns.iter().find(|(a, _)| *a == busy.actor))
                    .map_or(0.0, |(_, rate)| *rate);
                busiest.push(Busiest {
                    theatre: locator.clone(),
                    type_name: busy.type_name.clone(),
                    actor: format!("actor#{}@{:x}", busy.actor.1, busy.actor.0),
                    full_turns_per_second: per_second,
                    last_seen: Duration::from_millis(busy.last_seen_ms),
                });
            }
        }
        busiest.sort_by(|a, b| {
            b.full_turns_per_second
                .total_cmp(&a.full_turns_per_second)
                .then_with(|| a.last_seen.cmp(&b.last_seen))
        });
        busiest
    }
}

/// One of the busiest actors, as [`Cluster::busiest`] lists them.
#[derive(Debug, Clone, PartialEq)]
pub struct Busiest {
    /// The theatre it runs on.
    pub theatre: String,
    /// Its type.
    pub type_name: String,
    /// Its identity (the theatre it was born on, and its number there).
    pub actor: String,
    /// Turns it ended with letters still waiting, per second, lately.
    pub full_turns_per_second: f64,
    /// How long ago it last did.
    pub last_seen: Duration,
}

fn miss(watched: &mut Watched, error: &NetError) {
    watched.error = Some(error.to_string());
    watched.misses = watched.misses.saturating_add(1);
}
