//! One module per system measured; each runs any [`Workload`] in this process.

use crate::common::{Report, Workload};

mod actix;
mod kameo;
mod ractor;
mod smol_raw;
mod stage;
mod tokio_raw;

/// The systems, in table order: this project first, then the peers, then the floors.
pub const SYSTEMS: &[&str] = &[
    "stage",
    "actix",
    "ractor",
    "kameo",
    "tokio",
    "async-executor",
];

/// Runs `workload` on `system`; `None` for a system this harness does not know or a
/// workload it does not apply to.
pub fn run(system: &str, workload: Workload) -> Option<Report> {
    if !workload.applies_to(system) {
        return None;
    }
    Some(match system {
        "stage" => stage::run(workload),
        "actix" => actix::run(workload),
        "ractor" => ractor::run(workload),
        "kameo" => kameo::run(workload),
        "tokio" => tokio_raw::run(workload),
        "async-executor" => smol_raw::run(workload),
        _ => return None,
    })
}
