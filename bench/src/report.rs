//! `RESULTS.md` and `results.csv` from the runs: medians, spreads, ratios, the machine.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::common::Workload;
use crate::systems::SYSTEMS;
use crate::Run;

/// A cell: a workload with its sizes.
type Cell = (String, Vec<u64>);

fn cell_of(workload: &Workload) -> Cell {
    (workload.name().to_string(), workload.params())
}

fn label(cell: &Cell) -> String {
    let (name, params) = cell;
    let n = |x: u64| group(x);
    match (name.as_str(), params.as_slice()) {
        ("ping-pong", [m]) => format!("ping-pong, {} msgs", n(*m)),
        ("ring", [a, h]) => format!("ring, {} actors, {} hops", n(*a), n(*h)),
        ("spawn", [a]) => format!("spawn {} actors", n(*a)),
        ("fork-join", [a, p]) => format!("fork-join, {a} actors x {}", n(*p)),
        ("ask-outside", [k]) => format!("ask from outside, {} asks", n(*k)),
        ("ask-inside", [k]) => format!("ask actor to actor, {} asks", n(*k)),
        ("trapezoid", [w, p]) => format!("trapezoid, {w} workers, {} points", n(*p)),
        ("star-form", [k]) => format!("star form, {} asks", n(*k)),
        ("remote-notify", [m]) => format!("remote notify (loopback), {} msgs", n(*m)),
        ("remote-ask", [k]) => format!("remote ask (loopback), {} asks", n(*k)),
        ("migrate", [m, 0]) => format!("migrate a minimal actor (loopback), {} moves", n(*m)),
        ("migrate", [m, b]) => format!(
            "migrate a {} KiB actor (loopback), {} moves",
            b >> 10,
            n(*m)
        ),
        ("big", [a, p]) => format!("big, {a} actors x {} pings", n(*p)),
        ("chameneos", [c, m]) => format!("chameneos, {c} creatures, {} meetings", n(*m)),
        ("migrate-stream", [m]) => {
            format!("stream of {} msgs to an actor moving back and forth", n(*m))
        }
        _ => format!("{name} {params:?}"),
    }
}

/// `1000000` as `1,000,000`.
fn group(x: u64) -> String {
    let digits = x.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Median, min and max of one figure over the runs of a cell.
#[derive(Clone, Copy)]
struct Stat {
    median: f64,
    min: f64,
    max: f64,
}

fn stat(values: &mut [f64]) -> Option<Stat> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return None;
    }
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    Some(Stat {
        median,
        min: values[0],
        max: values[n - 1],
    })
}

/// Every figure of every (system, cell), in run order.
struct Table {
    figures: BTreeMap<(String, Cell), BTreeMap<String, Vec<f64>>>,
    cells: Vec<Cell>,
    /// The first figure a run of the cell reported: its headline.
    headlines: BTreeMap<Cell, String>,
}

impl Table {
    fn new(runs: &[Run]) -> Table {
        let mut figures: BTreeMap<(String, Cell), BTreeMap<String, Vec<f64>>> = BTreeMap::new();
        let mut cells = Vec::new();
        let mut headlines = BTreeMap::new();
        for run in runs {
            let cell = cell_of(&run.workload);
            if let Some((first, _)) = run.figures.first() {
                headlines
                    .entry(cell.clone())
                    .or_insert_with(|| first.clone());
            }
            if !cells.contains(&cell) {
                cells.push(cell.clone());
            }
            let entry = figures.entry((run.system.clone(), cell)).or_default();
            for (name, value) in &run.figures {
                entry.entry(name.clone()).or_default().push(*value);
            }
            entry
                .entry("peak RSS".to_string())
                .or_default()
                .push(run.peak_rss);
        }
        Table {
            figures,
            cells,
            headlines,
        }
    }

    fn stat(&self, system: &str, cell: &Cell, figure: &str) -> Option<Stat> {
        let mut values = self
            .figures
            .get(&(system.to_string(), cell.clone()))?
            .get(figure)?
            .clone();
        stat(&mut values)
    }

    /// The headline figure's name for a cell (the first a run reported).
    fn headline(&self, cell: &Cell) -> Option<String> {
        self.headlines.get(cell).cloned()
    }
}

/// Whether more of a figure is better.
fn higher_is_better(figure: &str) -> bool {
    figure.contains("/s")
}

pub(crate) fn fmt(x: f64) -> String {
    if x >= 100.0 {
        group(x.round() as u64)
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn mib(bytes: f64) -> String {
    format!("{:.0} MiB", bytes / (1024.0 * 1024.0))
}

/// How many times faster this project is than `peer` on a figure (> 1: faster).
fn speed_ratio(figure: &str, stage: f64, peer: f64) -> f64 {
    if higher_is_better(figure) {
        stage / peer
    } else {
        peer / stage
    }
}

/// Writes the Markdown report and the CSV to `(md, csv)`.
pub fn write(
    (md, csv_path): (&Path, &Path),
    command: &str,
    quick: bool,
    runs: &[Run],
    failures: &[String],
    took: Duration,
) -> std::io::Result<()> {
    // Read before they are replaced: the figures this run is compared with.
    let previous = Previous::read(csv_path, md);
    std::fs::write(csv_path, csv(runs))?;
    let dir = md.parent().unwrap_or(Path::new("."));
    let chart = md.with_extension("svg");
    let drawn = crate::charts::draw(&panels(&Table::new(runs)), &chart);
    let chart_name = match drawn {
        Ok(()) => chart.file_name().map(|n| n.to_string_lossy().into_owned()),
        Err(why) => {
            eprintln!("the chart was not drawn: {why}");
            None
        }
    };
    let mut text = markdown(dir, command, quick, runs, failures, took, chart_name);
    if let Some(previous) = previous {
        since(&mut text, &Table::new(runs), &previous);
    }
    std::fs::write(md, text)
}

/// The results a run replaces: the medians of the last `results.csv`, and the
/// CPU its `RESULTS.md` names.
struct Previous {
    /// (system, workload, params as written) -> figure -> values.
    figures: BTreeMap<(String, String, String), BTreeMap<String, Vec<f64>>>,
    cpu: String,
}

impl Previous {
    fn read(csv: &Path, md: &Path) -> Option<Previous> {
        let text = std::fs::read_to_string(csv).ok()?;
        let mut figures: BTreeMap<(String, String, String), BTreeMap<String, Vec<f64>>> =
            BTreeMap::new();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split(',').collect();
            let [system, workload, params, _run, figure, value] = fields[..] else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            figures
                .entry((system.into(), workload.into(), params.into()))
                .or_default()
                .entry(figure.into())
                .or_default()
                .push(value);
        }
        let cpu = std::fs::read_to_string(md)
            .ok()
            .and_then(|md| {
                md.lines()
                    .find(|l| l.starts_with("- ") && l.contains(" cores: "))
                    .and_then(|l| l.split_once(" cores: "))
                    .map(|(_, cpu)| cpu.trim().to_owned())
            })
            .unwrap_or_else(|| "an unknown CPU".into());
        (!figures.is_empty()).then_some(Previous { figures, cpu })
    }

    fn median(&self, system: &str, cell: &Cell, figure: &str) -> Option<f64> {
        let params = cell
            .1
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("x");
        let mut values = self
            .figures
            .get(&(system.to_owned(), cell.0.clone(), params))?
            .get(figure)?
            .clone();
        stat(&mut values).map(|s| s.median)
    }
}

/// How the headline medians moved since the results this run replaced: this
/// project's, and the peers' taken together (their geometric mean), which says
/// how much of a move is the machine rather than the code.
fn since(md: &mut String, table: &Table, previous: &Previous) {
    let _ = writeln!(md, "\n## Since the last results\n");
    let _ = writeln!(
        md,
        "Against the `results.csv` this run replaced (made on {}{}). \"Change\" is how many times faster now (above 1: faster; in bold where 10% or more slower). \"Peers\" is the same for the peer systems together (geometric mean): when they moved as much, the machine moved, not the code.\n",
        previous.cpu,
        if table_cpu_differs(&previous.cpu) { "; **another CPU than this run's: figures move for that alone**" } else { ", as this run" },
    );
    let _ = writeln!(
        md,
        "| workload | figure | stage before | stage now | change | peers |"
    );
    let _ = writeln!(md, "|---|---|---:|---:|---:|---:|");
    for cell in &table.cells {
        let Some(figure) = table.headline(cell) else {
            continue;
        };
        let (Some(now), Some(before)) = (
            table.stat("stage", cell, &figure).map(|s| s.median),
            previous.median("stage", cell, &figure),
        ) else {
            continue;
        };
        let change = speed_ratio(&figure, now, before);
        let peers: Vec<f64> = SYSTEMS
            .iter()
            .filter(|s| **s != "stage")
            .filter_map(|s| {
                let now = table.stat(s, cell, &figure)?.median;
                let before = previous.median(s, cell, &figure)?;
                (now > 0.0 && before > 0.0).then(|| speed_ratio(&figure, now, before))
            })
            .collect();
        let peers = if peers.is_empty() {
            "-".to_owned()
        } else {
            let mean = (peers.iter().map(|r| r.ln()).sum::<f64>() / peers.len() as f64).exp();
            format!("{mean:.2} x")
        };
        let change = if change < 0.9 {
            format!("**{change:.2} x**")
        } else {
            format!("{change:.2} x")
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            label(cell),
            figure,
            fmt(before),
            fmt(now),
            change,
            peers
        );
    }
}

/// Whether `cpu` is not this machine's.
fn table_cpu_differs(cpu: &str) -> bool {
    cpu_model() != cpu
}

/// This machine's CPU, as `/proc/cpuinfo` names it.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown".to_string(), |(_, v)| v.trim().to_string())
}

/// The headline chart's panels: the workloads that more than one system ran.
fn panels(table: &Table) -> Vec<crate::charts::Panel> {
    let systems: Vec<&str> = SYSTEMS.to_vec();
    table
        .cells
        .iter()
        .filter_map(|cell| {
            let figure = table.headline(cell)?;
            let bars: Vec<(String, f64)> = systems
                .iter()
                .filter_map(|s| Some((s.to_string(), table.stat(s, cell, &figure)?.median)))
                .filter(|(_, median)| *median > 0.0)
                .collect();
            (bars.len() > 1 && bars.iter().any(|(s, _)| s == "stage")).then(|| {
                crate::charts::Panel {
                    title: label(cell),
                    higher_is_better: higher_is_better(&figure),
                    figure,
                    bars,
                }
            })
        })
        .collect()
}

fn csv(runs: &[Run]) -> String {
    let mut out = String::from("system,workload,params,run,figure,value\n");
    let mut counts: BTreeMap<(String, Cell), usize> = BTreeMap::new();
    for run in runs {
        let cell = cell_of(&run.workload);
        let n = counts
            .entry((run.system.clone(), cell.clone()))
            .or_default();
        *n += 1;
        let params = cell
            .1
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("x");
        let peak = ("peak RSS".to_string(), run.peak_rss);
        for (figure, value) in run.figures.iter().chain(std::iter::once(&peak)) {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{}",
                run.system, cell.0, params, n, figure, value
            );
        }
    }
    out
}

fn markdown(
    dir: &Path,
    command: &str,
    quick: bool,
    runs: &[Run],
    failures: &[String],
    took: Duration,
    chart: Option<String>,
) -> String {
    let table = Table::new(runs);
    let systems: Vec<&str> = SYSTEMS
        .iter()
        .copied()
        .filter(|s| runs.iter().any(|r| r.system == *s))
        .collect();
    let peers: Vec<&str> = systems.iter().copied().filter(|s| *s != "stage").collect();
    let mut md = String::new();
    let _ = writeln!(md, "# Stage for Rust: benchmark results\n");
    let _ = writeln!(
        md,
        "Generated by `{command}` (from `bench/`: `cargo run --release --{}`), {} runs per cell, each in a fresh process; {:.0} s in all.{}\n",
        if quick { " --quick" } else { "" },
        runs_per_cell(runs),
        took.as_secs_f64(),
        if quick { " **Quick mode: small sizes, not the figures to quote.**" } else { "" },
    );
    let _ = writeln!(md, "Figures are medians over the runs, with the spread (min-max) under them. \"Stage is N x\" is how many times faster this project is than the peer on the headline figure (above 1: faster).\n");
    machine(&mut md, dir);

    let main_cells: Vec<&Cell> = table
        .cells
        .iter()
        .filter(|c| c.0 != "trapezoid" && c.0 != "star-form")
        .collect();

    let _ = writeln!(md, "## Headline figures\n");
    if let Some(chart) = chart {
        let _ = writeln!(
            md,
            "![Each workload, each system: bars as long as the speed relative to the fastest, labelled with the median]({chart})\n"
        );
    }
    header(
        &mut md,
        &["workload", "figure"],
        systems.iter().map(|s| s.to_string()),
    );
    for cell in &main_cells {
        let Some(figure) = table.headline(cell) else {
            continue;
        };
        let _ = write!(md, "| {} | {} |", label(cell), figure);
        for s in &systems {
            match table.stat(s, cell, &figure) {
                Some(st) => {
                    let _ = write!(
                        md,
                        " **{}**<br><sub>{}-{}</sub> |",
                        fmt(st.median),
                        fmt(st.min),
                        fmt(st.max)
                    );
                }
                None => md.push_str(" - |"),
            }
        }
        let _ = writeln!(md);
    }

    let _ = writeln!(
        md,
        "\n## Stage against each peer (times faster; above 1 is faster)\n"
    );
    header(
        &mut md,
        &["workload"],
        peers.iter().map(|p| format!("vs {p}")),
    );
    for cell in &main_cells {
        let Some(figure) = table.headline(cell) else {
            continue;
        };
        let Some(ours) = table.stat("stage", cell, &figure) else {
            continue;
        };
        let _ = write!(md, "| {} |", label(cell));
        for p in &peers {
            match table.stat(p, cell, &figure) {
                Some(theirs) => {
                    let _ = write!(
                        md,
                        " {:.2} x |",
                        speed_ratio(&figure, ours.median, theirs.median)
                    );
                }
                None => md.push_str(" - |"),
            }
        }
        let _ = writeln!(md);
    }

    let _ = writeln!(md, "\n## Other figures: creation, memory\n");
    header(
        &mut md,
        &["workload", "figure"],
        systems.iter().map(|s| s.to_string()),
    );
    for cell in &main_cells {
        let headline = table.headline(cell);
        let mut names: Vec<String> = systems
            .iter()
            .filter_map(|s| table.figures.get(&(s.to_string(), (*cell).clone())))
            .flat_map(|f| f.keys().cloned())
            .filter(|k| Some(k) != headline.as_ref() && k != "integral")
            .collect();
        names.sort();
        names.dedup();
        for name in names {
            let _ = write!(md, "| {} | {} |", label(cell), name);
            for s in &systems {
                match table.stat(s, cell, &name) {
                    Some(st) if name == "peak RSS" => {
                        let _ = write!(md, " {} |", mib(st.median));
                    }
                    Some(st) => {
                        let _ = write!(md, " {} |", fmt(st.median));
                    }
                    None => md.push_str(" - |"),
                }
            }
            let _ = writeln!(md);
        }
    }

    trapezoid(&mut md, &table, &systems);
    star_form(&mut md, &table);
    targets(&mut md, &table);

    if !failures.is_empty() {
        let _ = writeln!(md, "\n## Runs that failed\n");
        for f in failures {
            let _ = writeln!(md, "- {f}");
        }
    }
    let _ = writeln!(md, "\n## How each system is configured\n");
    let _ = writeln!(md, "- **stage**: this project, written with `#[actor]`, `#[behaviour]`, `notify!`, `query!`, `request!` (`bench/src/systems/stage.rs`); `Stage::new()`: one worker per core, unbounded mailboxes.");
    let _ = writeln!(md, "- **actix** 0.13: `Actor` + `Handler`, `do_send` (ignores the mailbox capacity: unbounded in effect) and `send().await`; one `System` (its single-threaded arbiter, actix's default); the trapezoid's workers each on an `Arbiter` of their own, actix's way to use several cores.");
    let _ = writeln!(md, "- **ractor** 0.16: `Actor` with `pre_start`/`handle`, `cast` and `call`; unbounded mailboxes (its only kind); tokio multi-threaded runtime, one worker per core.");
    let _ = writeln!(md, "- **kameo** 0.22: `#[derive(Actor)]`, `Message<M>`, `tell().try_send()` and `ask().await`; `spawn_with_mailbox(.., mailbox::unbounded())` (its default is bounded to 64); tokio multi-threaded runtime.");
    let _ = writeln!(md, "- **tokio**: a task per actor with an unbounded `mpsc` mailbox and a `oneshot` per answer; multi-threaded runtime.");
    let _ = writeln!(md, "- **async-executor**: a task per actor on one `Executor` run by one thread per core, an unbounded `async-channel` mailbox, a one-slot channel per answer.");
    let _ = writeln!(md, "\nEvery cell's completion is signalled the same way (an `async-channel` the main thread waits on). Fork-join's one sender is a plain thread for every system. \"Ask from outside\" asks from outside any actor: for stage and the tokio-based systems and async-executor, a spawned task that is not an actor (their best case: from a blocked thread each answer must wake that thread; stage also reports that case, the main thread blocking in `wait()`, as \"blocking ns/ask\"); for actix its `System::block_on` (its one thread). Spawn's bytes per actor are (peak RSS after - RSS before) / actors, with every address kept alive.");
    let _ = writeln!(md, "\nThe network workloads run on stage (two `stage-net` theatres in one process over loopback TCP, the handshake done before timing; `notify!` from the main thread to a mobile actor on the other theatre, timed until it has counted every message; `query!(..).wait()` one at a time) and on tokio as the floor (raw loopback TCP: 12-byte frames through a 64 KiB `BufWriter`, read with a `BufReader` and counted; a 16-byte ping-pong for the ask). ractor_cluster and kameo's remote actors are not set up here.");
    md
}

/// A table's header: left-aligned `lead` columns, then right-aligned `columns`.
fn header(md: &mut String, lead: &[&str], columns: impl Iterator<Item = String>) {
    let columns: Vec<String> = columns.collect();
    let _ = writeln!(md, "| {} | {} |", lead.join(" | "), columns.join(" | "));
    let _ = writeln!(
        md,
        "|{}{}",
        "---|".repeat(lead.len()),
        "---:|".repeat(columns.len())
    );
}

fn runs_per_cell(runs: &[Run]) -> usize {
    let mut counts: BTreeMap<(String, Cell), usize> = BTreeMap::new();
    for run in runs {
        *counts
            .entry((run.system.clone(), cell_of(&run.workload)))
            .or_default() += 1;
    }
    counts.values().copied().max().unwrap_or(0)
}

fn trapezoid(md: &mut String, table: &Table, systems: &[&str]) {
    let cells: Vec<&Cell> = table.cells.iter().filter(|c| c.0 == "trapezoid").collect();
    if cells.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "\n## Trapezoid integration (seed 000 section 5.1): ms, and speed-up over one worker\n"
    );
    header(
        md,
        &["system"],
        cells.iter().map(|c| format!("{} workers", c.1[0])),
    );
    for s in systems {
        let one = cells
            .iter()
            .find(|c| c.1[0] == 1)
            .and_then(|c| table.stat(s, c, "ms"));
        let _ = write!(md, "| {s} |");
        for c in &cells {
            match (table.stat(s, c, "ms"), one) {
                (Some(st), Some(one)) => {
                    let _ = write!(
                        md,
                        " {} ms ({:.2} x) |",
                        fmt(st.median),
                        one.median / st.median
                    );
                }
                (Some(st), None) => {
                    let _ = write!(md, " {} ms |", fmt(st.median));
                }
                _ => md.push_str(" - |"),
            }
        }
        let _ = writeln!(md);
    }
}

fn star_form(md: &mut String, table: &Table) {
    let Some(cell) = table.cells.iter().find(|c| c.0 == "star-form") else {
        return;
    };
    let get = |f: &str| table.stat("stage", cell, f).map(|s| s.median);
    if let (Some(short), Some(star), Some(short_a), Some(star_a)) = (
        get("short ns/ask"),
        get("star ns/ask"),
        get("short allocs/ask"),
        get("star allocs/ask"),
    ) {
        let _ = writeln!(md, "\n## Star-form cost ({})\n", label(cell));
        let _ = writeln!(md, "| form | ns/ask | allocations/ask |");
        let _ = writeln!(md, "|---|---:|---:|");
        let _ = writeln!(
            md,
            "| `query!(echo, asked())` | {} | {:.2} |",
            fmt(short),
            short_a
        );
        let _ = writeln!(
            md,
            "| `query!(echo 's asked with asked())` | {} | {:.2} |",
            fmt(star),
            star_a
        );
        let _ = writeln!(
            md,
            "\nThe Star form costs {:+.2} allocations per ask (the bar: at most one more).",
            star_a - short_a
        );
    }
}

fn targets(md: &mut String, table: &Table) {
    let find = |name: &str, first: Option<u64>| {
        table
            .cells
            .iter()
            .find(|c| c.0 == name && first.is_none_or(|f| c.1.first() == Some(&f)))
            .cloned()
    };
    let value = |name: &str, first: Option<u64>, figure: &str| {
        find(name, first).and_then(|c| table.stat("stage", &c, figure).map(|s| s.median))
    };
    let _ = writeln!(
        md,
        "\n## Stage against the issue's targets (full sizes only mean anything)\n"
    );
    let _ = writeln!(md, "| target | stage | met |");
    let _ = writeln!(md, "|---|---:|:---:|");
    let mut row = |what: &str, got: Option<f64>, ok: &dyn Fn(f64) -> bool| {
        if let Some(got) = got {
            let _ = writeln!(
                md,
                "| {what} | {} | {} |",
                fmt(got),
                if ok(got) { "yes" } else { "no" }
            );
        }
    };
    row(
        "ping-pong <= 60 ns/msg",
        value("ping-pong", None, "ns/msg"),
        &|x| x <= 60.0,
    );
    row(
        "ring, 10,000 actors <= 200 ns/hop",
        value("ring", Some(10_000), "ns/hop"),
        &|x| x <= 200.0,
    );
    row(
        "ring, 100,000 actors <= 300 ns/hop",
        value("ring", Some(100_000), "ns/hop"),
        &|x| x <= 300.0,
    );
    row(
        "spawn 1,000,000 <= 600 ms",
        value("spawn", None, "ms"),
        &|x| x <= 600.0,
    );
    row(
        "spawn <= 400 bytes per idle actor",
        value("spawn", None, "B/actor"),
        &|x| x <= 400.0,
    );
    row(
        "fork-join >= 30 M msgs/s",
        value("fork-join", None, "M msg/s"),
        &|x| x >= 30.0,
    );
    row(
        "ask <= 250 ns",
        value("ask-outside", None, "ns/ask"),
        &|x| x <= 250.0,
    );
    let one = value("trapezoid", Some(1), "ms");
    let two = value("trapezoid", Some(2), "ms");
    if let (Some(one), Some(two)) = (one, two) {
        row("trapezoid >= 1.8 x with 2 workers", Some(one / two), &|x| {
            x >= 1.8
        });
    }
}

fn machine(md: &mut String, dir: &Path) {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpu = cpu_model();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = read("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or("unknown".to_string(), |kb| {
            format!("{:.1} GiB", kb / 1024.0 / 1024.0)
        });
    let kernel = read("/proc/sys/kernel/osrelease").trim().to_string();
    let rustc = std::process::Command::new("rustc")
        .arg("-V")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let _ = writeln!(md, "## Machine\n");
    let _ = writeln!(md, "- {cores} cores: {cpu}");
    let _ = writeln!(md, "- memory: {memory}; kernel {kernel}");
    let _ = writeln!(
        md,
        "- {rustc}; release profile with thin LTO, one codegen unit"
    );
    let lock = std::fs::read_to_string(dir.join("Cargo.lock")).unwrap_or_default();
    let versions: Vec<String> = [
        "actix",
        "ractor",
        "kameo",
        "tokio",
        "async-executor",
        "async-channel",
    ]
    .iter()
    .filter_map(|name| locked_version(&lock, name).map(|v| format!("{name} {v}")))
    .collect();
    let _ = writeln!(
        md,
        "- crates (from `bench/Cargo.lock`): {}\n",
        versions.join(", ")
    );
}

/// The version of `name` in a `Cargo.lock`.
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let needle = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == needle {
            return lines
                .next()
                .and_then(|v| v.trim().strip_prefix("version = "))
                .map(|v| v.trim_matches('"').to_string());
        }
    }
    None
}
