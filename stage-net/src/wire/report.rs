//! What a theatre reports of itself to an observer (see
//! [`observer`](crate::observer)): counters, read twice for rates.

use serde::{Deserialize, Serialize};

use crate::wire::frame::WireId;

/// What a theatre says of itself: its stage's counts, its actors by type, its
/// busiest actors and its links. Counters are totals since the theatre (or the
/// link) started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Report {
    /// The theatre's identity.
    pub theatre: u64,
    /// Where it listens.
    pub locator: String,
    /// Its stage's worker threads.
    pub workers: u32,
    /// How long it has been running, in microseconds.
    pub uptime_us: u64,
    /// Letters handled (and futures completed) since it started.
    pub done: u64,
    /// How long its workers have been out of work, all added, in microseconds.
    pub idle_us: u64,
    /// Letters waiting in mailboxes or being handled now.
    pub waiting: u64,
    /// Actors alive now.
    pub actors: u64,
    /// Actors alive by type, most first.
    pub types: Vec<TypeReport>,
    /// Actors whose turns ended with letters still waiting, most lately first.
    pub busiest: Vec<BusyReport>,
    /// Its connections to the other members.
    pub links: Vec<LinkReport>,
    /// The machine's load average over a minute, where the OS tells it.
    pub load_average: Option<f64>,
}

/// Live actors of one type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeReport {
    /// The type's name, with its module path.
    pub name: String,
    /// How many are alive.
    pub live: u64,
}

/// An actor whose mailbox ran ahead of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusyReport {
    /// The actor's identity, as it crosses the wire.
    pub actor: WireId,
    /// Its type's name.
    pub type_name: String,
    /// Turns it ended with letters still waiting, since first seen so.
    pub full_turns: u64,
    /// How long ago it last did, in milliseconds.
    pub last_seen_ms: u64,
}

/// One of a theatre's connections to another member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkReport {
    /// The other member's identity.
    pub theatre: u64,
    /// Where it listens.
    pub locator: String,
    /// Bytes written to it since the connection opened.
    pub bytes_out: u64,
    /// Bytes read from it.
    pub bytes_in: u64,
    /// Letters forwarded to it waiting for room in its window.
    pub backlog: u64,
    /// Bytes of its letters here not yet taken by their actors.
    pub in_care: u64,
    /// How long the connection has been open, in milliseconds.
    pub open_ms: u64,
}

/// What changed between two reports of one theatre, per second.
#[derive(Debug, Clone, PartialEq)]
pub struct Rates {
    /// Letters handled per second.
    pub letters: f64,
    /// The share of the workers' time spent busy, from 0 to 1.
    pub busy: f64,
    /// Bytes per second written to each link, by the peer's locator (links
    /// opened since the earlier report count from zero).
    pub bytes_out: Vec<(String, f64)>,
    /// The same, read.
    pub bytes_in: Vec<(String, f64)>,
    /// Turns that ended with letters waiting, per second, by actor.
    pub full_turns: Vec<(WireId, f64)>,
}

impl Report {
    /// The rates since `earlier`, a report of the same theatre: `None` if it is
    /// another theatre's, or not earlier.
    pub fn rates_since(&self, earlier: &Report) -> Option<Rates> {
        if self.theatre != earlier.theatre || self.uptime_us <= earlier.uptime_us {
            return None;
        }
        let seconds = (self.uptime_us - earlier.uptime_us) as f64 / 1e6;
        let idle = self.idle_us.saturating_sub(earlier.idle_us) as f64 / 1e6;
        let per_second = |now: u64, then: u64| now.saturating_sub(then) as f64 / seconds;
        let link = |locator: &str| earlier.links.iter().find(|l| l.locator == locator);
        Some(Rates {
            letters: per_second(self.done, earlier.done),
            busy: (1.0 - idle / (seconds * f64::from(self.workers.max(1)))).clamp(0.0, 1.0),
            bytes_out: self.link_rates(|l| l.bytes_out, &link, &per_second),
            bytes_in: self.link_rates(|l| l.bytes_in, &link, &per_second),
            full_turns: self
                .busiest
                .iter()
                .map(|b| {
                    let then = earlier
                        .busiest
                        .iter()
                        .find(|e| e.actor == b.actor)
                        .map_or(0, |e| e.full_turns);
                    (b.actor, per_second(b.full_turns, then))
                })
                .collect(),
        })
    }

    /// Per second, by link: `counter` now, less what `earlier_link` had.
    fn link_rates<'a>(
        &self,
        counter: impl Fn(&LinkReport) -> u64,
        earlier_link: &impl Fn(&str) -> Option<&'a LinkReport>,
        per_second: &impl Fn(u64, u64) -> f64,
    ) -> Vec<(String, f64)> {
        self.links
            .iter()
            .map(|l| {
                let then = earlier_link(&l.locator).map_or(0, &counter);
                (l.locator.clone(), per_second(counter(l), then))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(uptime_ms: u64, done: u64, idle_ms: u64, bytes_out: u64) -> Report {
        Report {
            theatre: 1,
            locator: "stage://127.0.0.1:1".into(),
            workers: 2,
            uptime_us: uptime_ms * 1000,
            done,
            idle_us: idle_ms * 1000,
            waiting: 0,
            actors: 0,
            types: Vec::new(),
            busiest: Vec::new(),
            links: vec![LinkReport {
                theatre: 2,
                locator: "stage://127.0.0.1:2".into(),
                bytes_out,
                bytes_in: 0,
                backlog: 0,
                in_care: 0,
                open_ms: uptime_ms,
            }],
            load_average: None,
        }
    }

    #[test]
    fn rates_are_the_differences_over_the_time_between() {
        let earlier = report(1_000, 100, 1_000, 0);
        let later = report(3_000, 20_100, 2_000, 4_000);
        let rates = later.rates_since(&earlier).expect("same theatre, later");
        assert_eq!(rates.letters, 10_000.0);
        // Two workers over two seconds, one second idle: three quarters busy.
        assert_eq!(rates.busy, 0.75);
        assert_eq!(
            rates.bytes_out,
            vec![("stage://127.0.0.1:2".into(), 2_000.0)]
        );
        assert!(earlier.rates_since(&later).is_none(), "not earlier");
    }
}
