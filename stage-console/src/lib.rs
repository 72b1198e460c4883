//! `stage-console`: a live console for a cluster of Stage theatres, like
//! Erlang's observer or tokio-console, in the terminal.
//!
//! It joins the cluster as an *observer* (see [`stage_net::observer`]): it
//! proves the cluster cookie like a member, but is not one, so it gets no
//! letters, homes no names and leaves no trace when it quits. Every period it
//! asks each theatre for its report and shows:
//!
//! - **Theatres**: workers, how busy they were, letters handled per second,
//!   letters waiting, actors, links, uptime and the machine's load;
//! - **Actors by type**, across the cluster, and on how many theatres;
//! - **Busiest mailboxes**: actors whose turns ended with letters still
//!   waiting, the most often first;
//! - **Links**: bytes per second each way, letters waiting for a peer's
//!   window, and letters in care.
//!
//! ```text
//! stage-console --join stage://10.0.0.5:7000 --cookie-file cluster.cookie [--every 1] [--once]
//! ```
//!
//! `--once` prints one screen as text after two reports (so that rates show)
//! and exits, for scripts; otherwise `q`, Esc or Ctrl-C quits. The TLS flags
//! are those of every theatre (`--tls-cert`, `--tls-key`, `--tls-ca`).

pub mod cluster;
pub mod view;

use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::Terminal;
use stage_net::cli;
use stage_net::observer::Observer;
use stage_net::NetError;

use crate::cluster::Cluster;

/// The usage line.
pub const USAGE: &str = "stage-console --join stage://HOST:PORT [--join ..] \
                         (--cookie SECRET | --cookie-file PATH) [--every SECONDS] [--once] \
                         [--tls-cert PEM --tls-key PEM --tls-ca PEM]";

/// What the console was asked to do.
#[derive(Debug)]
pub struct Options {
    /// The theatres to start from.
    pub seeds: Vec<String>,
    /// How often to ask each theatre for its report.
    pub every: Duration,
    /// Print one screen as text and exit.
    pub once: bool,
    theatre: cli::Options,
}

impl Options {
    /// Reads the console's flags (without the program's name).
    ///
    /// ```
    /// let options = stage_console::Options::parse(
    ///     ["--join", "stage://127.0.0.1:7000", "--cookie", "s3cret", "--every", "0.5"]
    ///         .map(String::from),
    /// )?;
    /// assert_eq!(options.seeds, ["stage://127.0.0.1:7000"]);
    /// assert_eq!(options.every, std::time::Duration::from_millis(500));
    /// # Ok::<(), stage_net::NetError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`NetError::Usage`] without a seed or a cookie, for a period that is
    /// not a positive number of seconds, or for a flag the console does not
    /// know; [`NetError::Io`] for a cookie file that cannot be read.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, NetError> {
        let usage = |why: &str| NetError::Usage(format!("{why}; usage: {USAGE}"));
        let theatre = cli::Options::parse(args).map_err(|error| match error {
            NetError::Usage(why) => usage(why.split("; usage").next().unwrap_or(&why)),
            other => other,
        })?;
        let mut every = Duration::from_secs(1);
        let mut once = false;
        let mut rest = theatre.rest.iter();
        while let Some(arg) = rest.next() {
            match arg.as_str() {
                "--once" => once = true,
                "--every" => {
                    let value = rest.next().ok_or_else(|| usage("--every needs seconds"))?;
                    every = value
                        .parse::<f64>()
                        .ok()
                        .filter(|s| s.is_finite() && *s >= 0.05 && *s <= 3_600.0)
                        .map(Duration::from_secs_f64)
                        .ok_or_else(|| usage("--every takes seconds, from 0.05 to 3600"))?;
                }
                other => return Err(usage(&format!("unknown argument {other:?}"))),
            }
        }
        if theatre.join.is_empty() {
            return Err(usage("give at least one theatre with --join"));
        }
        Ok(Options {
            seeds: theatre.join.clone(),
            every,
            once,
            theatre,
        })
    }

    /// The cluster these options watch (nothing is connected yet).
    pub fn cluster(&self) -> Cluster {
        let builder = Observer::builder()
            .cookie(&self.theatre.cookie)
            .timeout(Duration::from_secs(2));
        #[cfg(feature = "tls")]
        let builder = match &self.theatre.tls {
            Some(tls) => builder.tls(tls.clone()),
            None => builder,
        };
        Cluster::new(builder, self.seeds.clone())
    }
}

/// One screen of `cluster`, `width` by `height`, as lines of text.
pub fn snapshot(cluster: &Cluster, every: Duration, width: u16, height: u16) -> String {
    let mut terminal = match Terminal::new(TestBackend::new(width, height)) {
        Ok(terminal) => terminal,
        Err(error) => return format!("cannot draw: {error}"),
    };
    if let Err(error) = terminal.draw(|frame| view::draw(frame, cluster, every)) {
        return format!("cannot draw: {error}");
    }
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..buffer.area.height {
        let line: String = (0..buffer.area.width)
            .map(|x| buffer[(x, y)].symbol())
            .collect();
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// Runs the console until the user quits (or, with `--once`, prints one
/// screen).
///
/// # Errors
///
/// The terminal's errors ([`std::io::Error`]).
pub fn run(options: &Options) -> std::io::Result<()> {
    let mut cluster = options.cluster();
    if options.once {
        cluster.refresh();
        std::thread::sleep(options.every);
        cluster.refresh();
        print!("{}", snapshot(&cluster, options.every, 160, 48));
        return Ok(());
    }
    let mut terminal = ratatui::init();
    let result = watch(&mut terminal, &mut cluster, options.every);
    ratatui::restore();
    result
}

/// Refreshes and draws every `every` until a key says to quit.
fn watch(
    terminal: &mut ratatui::DefaultTerminal,
    cluster: &mut Cluster,
    every: Duration,
) -> std::io::Result<()> {
    loop {
        let next = Instant::now() + every;
        cluster.refresh();
        terminal.draw(|frame| view::draw(frame, cluster, every))?;
        loop {
            let left = next.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            if !event::poll(left)? {
                break;
            }
            match event::read()? {
                Event::Key(key) if key.kind == KeyEventKind::Press => {
                    let ctrl_c = key.modifiers.contains(KeyModifiers::CONTROL)
                        && key.code == KeyCode::Char('c');
                    if ctrl_c || matches!(key.code, KeyCode::Char('q') | KeyCode::Esc) {
                        return Ok(());
                    }
                }
                Event::Resize(..) => {
                    terminal.draw(|frame| view::draw(frame, cluster, every))?;
                }
                _ => {}
            }
        }
    }
}
