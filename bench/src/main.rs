//! The benchmark harness: each workload on each system, one fresh process per run.
//!
//! `cargo run --release -- [--quick] [--runs N] [--systems a,b] [--workloads x,y]`
//! writes `RESULTS.md` and `results.csv` beside this crate's manifest; a quick or
//! partial run (`--quick`, `--systems`, `--workloads`) writes `RESULTS-partial.md` and
//! `results-partial.csv` instead, so that it never overwrites the full results.

mod charts;
mod common;
mod report;
mod systems;

use std::io::Write as _;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use common::{Counting, Workload};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What the driver was asked for.
struct Options {
    quick: bool,
    runs: usize,
    systems: Vec<String>,
    workloads: Option<Vec<String>>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("cell") {
        return cell(&args[1..]);
    }
    match parse_options(&args) {
        Ok(options) => drive(&options),
        Err(message) => {
            eprintln!("stage-bench: {message}");
            eprintln!(
                "usage: stage-bench [--quick] [--runs N] [--systems a,b,..] [--workloads x,y,..]"
            );
            ExitCode::from(2)
        }
    }
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        quick: false,
        runs: 0,
        systems: systems::SYSTEMS.iter().map(|s| s.to_string()).collect(),
        workloads: None,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("`{arg}` needs a value"));
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--runs" => {
                options.runs = value()?
                    .parse()
                    .map_err(|_| "`--runs` takes a positive number".to_string())?
            }
            "--systems" => {
                let list: Vec<String> = value()?.split(',').map(str::to_string).collect();
                if let Some(bad) = list
                    .iter()
                    .find(|s| !systems::SYSTEMS.contains(&s.as_str()))
                {
                    return Err(format!(
                        "unknown system `{bad}`: expected some of {}",
                        systems::SYSTEMS.join(", ")
                    ));
                }
                options.systems = list;
            }
            "--workloads" => {
                options.workloads = Some(value()?.split(',').map(str::to_string).collect())
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if options.runs == 0 {
        options.runs = if options.quick { 1 } else { 5 };
    }
    Ok(options)
}

/// The cells to run, smallest sizes first.
fn workloads(quick: bool) -> Vec<Workload> {
    let scale = |full: u64, small: u64| if quick { small } else { full };
    let mut all = vec![
        Workload::PingPong {
            messages: scale(1_000_000, 100_000),
        },
        Workload::Ring {
            actors: 10_000,
            hops: scale(1_000_000, 100_000),
        },
        Workload::Ring {
            actors: 100_000,
            hops: scale(1_000_000, 100_000),
        },
        Workload::Spawn {
            actors: scale(1_000_000, 100_000),
        },
        Workload::ForkJoin {
            actors: 60,
            per_actor: scale(100_000, 10_000),
        },
        Workload::AskOutside {
            asks: scale(1_000_000, 100_000),
        },
        Workload::AskInside {
            asks: scale(1_000_000, 100_000),
        },
        Workload::Big {
            actors: 100,
            pings: scale(10_000, 1_000),
        },
        Workload::Chameneos {
            creatures: 100,
            meetings: scale(200_000, 20_000),
        },
    ];
    for workers in [1, 2, 4, 8] {
        all.push(Workload::Trapezoid {
            workers,
            points: scale(20_000_000, 2_000_000),
        });
    }
    all.push(Workload::StarForm {
        asks: scale(1_000_000, 100_000),
    });
    all.push(Workload::RemoteNotify {
        messages: scale(1_000_000, 100_000),
    });
    all.push(Workload::RemoteAsk {
        asks: scale(20_000, 2_000),
    });
    for bytes in [0, 100 << 10] {
        all.push(Workload::Migrate {
            moves: scale(1_000, 200),
            bytes,
        });
    }
    all.push(Workload::MigrateStream {
        messages: scale(1_000_000, 100_000),
    });
    all
}

/// One finished run of one cell.
pub struct Run {
    pub system: String,
    pub workload: Workload,
    pub figures: Vec<(String, f64)>,
    pub peak_rss: f64,
}

fn drive(options: &Options) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("stage-bench: cannot find my own executable: {e}");
            return ExitCode::FAILURE;
        }
    };
    let limit = Duration::from_secs(if options.quick { 60 } else { 600 });
    let started = Instant::now();
    let mut runs = Vec::new();
    let mut failures = Vec::new();
    for workload in workloads(options.quick) {
        if let Some(only) = &options.workloads {
            if !only.iter().any(|w| w == workload.name()) {
                continue;
            }
        }
        for system in &options.systems {
            if !workload.applies_to(system) {
                continue;
            }
            for run in 0..options.runs {
                eprint!(
                    "{:>14} {:>12} {:<18} run {}/{} ... ",
                    system,
                    workload.name(),
                    format!("{:?}", workload.params()),
                    run + 1,
                    options.runs
                );
                match run_cell(&exe, system, workload, limit) {
                    Ok(result) => {
                        eprintln!("{}", describe(&result.figures));
                        runs.push(result);
                    }
                    Err(why) => {
                        eprintln!("FAILED: {why}");
                        failures.push(format!(
                            "{system} {} {:?}: {why}",
                            workload.name(),
                            workload.params()
                        ));
                    }
                }
            }
        }
    }
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let partial = options.quick
        || options.workloads.is_some()
        || options.systems.len() < systems::SYSTEMS.len();
    let (md, csv) = if partial {
        ("RESULTS-partial.md", "results-partial.csv")
    } else {
        ("RESULTS.md", "results.csv")
    };
    let written = report::write(
        (&dir.join(md), &dir.join(csv)),
        &command,
        options.quick,
        &runs,
        &failures,
        started.elapsed(),
    );
    match written {
        Ok(()) => {
            eprintln!(
                "wrote {} and {} in {:.0} s",
                dir.join(md).display(),
                dir.join(csv).display(),
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("stage-bench: writing the results: {e}");
            ExitCode::FAILURE
        }
    }
}

fn describe(figures: &[(String, f64)]) -> String {
    figures
        .iter()
        .map(|(name, value)| format!("{value:.1} {name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs one cell in a fresh process and reads back its figures.
fn run_cell(
    exe: &std::path::Path,
    system: &str,
    workload: Workload,
    limit: Duration,
) -> Result<Run, String> {
    let mut child = Command::new(exe)
        .arg("cell")
        .arg(system)
        .arg(workload.name())
        .args(workload.params().iter().map(u64::to_string))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start: {e}"))?;
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no answer within {} s", limit.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting: {e}")),
        }
    }
    let output = child
        .wait_with_output()
        .map_err(|e| format!("reading its output: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or("").to_string();
        return Err(format!("exited with {}: {last}", output.status));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut figures = Vec::new();
    let mut peak_rss = 0.0;
    for line in stdout.lines() {
        if let Some((name, value)) = line.split_once('=') {
            let value: f64 = value
                .trim()
                .parse()
                .map_err(|_| format!("bad figure `{line}`"))?;
            if name == "peak RSS" {
                peak_rss = value;
            } else {
                figures.push((name.to_string(), value));
            }
        }
    }
    if figures.is_empty() {
        return Err("no figures".to_string());
    }
    Ok(Run {
        system: system.to_string(),
        workload,
        figures,
        peak_rss,
    })
}

/// The child: runs one cell and prints `name=value` lines.
fn cell(args: &[String]) -> ExitCode {
    let (Some(system), Some(name)) = (args.first(), args.get(1)) else {
        eprintln!("usage: stage-bench cell SYSTEM WORKLOAD PARAMS..");
        return ExitCode::from(2);
    };
    let params: Result<Vec<u64>, _> = args[2..].iter().map(|p| p.parse::<u64>()).collect();
    let Some(workload) = params.ok().and_then(|p| Workload::parse(name, &p)) else {
        eprintln!("stage-bench: bad workload `{}`", args[1..].join(" "));
        return ExitCode::from(2);
    };
    let Some(report) = systems::run(system, workload) else {
        eprintln!("stage-bench: `{system}` does not run `{name}`");
        return ExitCode::from(2);
    };
    // A closed stdout (`| head`) is not worth a panic: the figures are simply lost.
    let mut out = std::io::stdout().lock();
    for (name, value) in report.0 {
        let _ = writeln!(out, "{name}={value}");
    }
    let _ = writeln!(out, "peak RSS={}", common::rss().1);
    drop(out);
    // Some runtimes wait for their tasks on drop; the figures are out, leave now.
    std::process::exit(0)
}
