use std::fmt;
use std::time::Duration;

use crate::prelude::*;

/// What [`TheatreStatus`] reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// The machine's load average over 1, 5 and 15 minutes, where the OS tells it.
    pub load_average: Option<[f64; 3]>,
    /// The operating system (`std::env::consts::OS`).
    pub os: &'static str,
    /// How long the stage has been running.
    pub uptime: Duration,
    /// How many actors on this stage are alive (born and not yet ended).
    pub actors: usize,
    /// The stage's worker threads.
    pub workers: usize,
}

/// A driver actor that reports on its stage and machine (Stage's theatre status, on
/// which its load balancer's probes are built).
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
/// use stage_runtime::drivers::TheatreStatus;
///
/// let status = spawn(TheatreStatus);
/// let now = query!(status, status()).wait().unwrap();
/// assert!(now.actors >= 1);
/// assert_eq!(now.os, std::env::consts::OS);
/// ```
#[actor]
pub struct TheatreStatus;

impl fmt::Debug for TheatreStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TheatreStatus")
    }
}

#[behaviour]
impl TheatreStatus {
    /// The status now.
    #[query]
    pub fn status(&self, ctx: &mut Ctx<Self>) -> Status {
        let stage = ctx.stage();
        Status {
            load_average: load_average(),
            os: std::env::consts::OS,
            uptime: stage.uptime(),
            actors: stage.actors(),
            workers: stage.workers(),
        }
    }
}

/// The machine's load average over 1, 5 and 15 minutes (`/proc/loadavg` on
/// Linux); `None` where there is no such file or it does not parse.
///
/// ```
/// if let Some([one, _, _]) = stage_runtime::drivers::load_average() {
///     assert!(one >= 0.0);
/// }
/// ```
pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_whitespace().map(str::parse::<f64>);
    Some([
        fields.next()?.ok()?,
        fields.next()?.ok()?,
        fields.next()?.ok()?,
    ])
}
