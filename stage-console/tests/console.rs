//! The console, driven in `tmux` as a user would run it: two theatres on
//! loopback with actors at work, the console joined to one of them with the
//! cookie; the test reads the screen until it shows both theatres, the actors
//! by type, a busy mailbox and the links, then presses `q`.
//!
//! Skipped, with a message, where `tmux` is not installed (CI installs it).

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stage_net::Theatre;
use stage_runtime::prelude::*;

const COOKIE: &str = "console-test-cookie";

#[actor]
struct Worker;

#[behaviour]
impl Worker {
    #[on(work)]
    fn work(&mut self, micros: u64) {
        std::thread::sleep(Duration::from_micros(micros));
    }

    #[query]
    fn ping(&self) {}
}

/// A tmux server of the test's own (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// `command` in a new detached session of `width` by `height`; `None`
    /// where tmux is not installed.
    fn start(command: &[&str], width: u16, height: u16) -> Option<Tmux> {
        let installed = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        if !installed {
            return None;
        }
        let tmux = Tmux {
            socket: format!("stage-console-test-{}", std::process::id()),
        };
        let status = tmux
            .command()
            .args(["new-session", "-d", "-s", "console", "-x"])
            .arg(width.to_string())
            .arg("-y")
            .arg(height.to_string())
            .args(command)
            .status()
            .expect("tmux runs");
        assert!(status.success(), "tmux did not start the console");
        Some(tmux)
    }

    fn command(&self) -> Command {
        let mut command = Command::new("tmux");
        command.args(["-L", &self.socket]);
        command
    }

    /// What the pane shows now.
    fn screen(&self) -> String {
        let output = self
            .command()
            .args(["capture-pane", "-p", "-t", "console"])
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn keys(&self, keys: &str) {
        let status = self
            .command()
            .args(["send-keys", "-t", "console", keys])
            .status()
            .expect("tmux runs");
        assert!(status.success());
    }

    /// Whether the session (the console) is still running.
    fn running(&self) -> bool {
        self.command()
            .args(["has-session", "-t", "console"])
            .output()
            .is_ok_and(|o| o.status.success())
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").output();
    }
}

fn theatre(seeds: &[&Theatre]) -> Theatre {
    Theatre::builder()
        .listen("127.0.0.1:0")
        .cookie(COOKIE)
        .join(seeds.iter().map(|t| t.locator().to_owned()))
        .start()
        .expect("a theatre starts")
}

#[test]
fn the_console_shows_theatres_actors_busy_mailboxes_and_links_and_quits_on_q() {
    let a = theatre(&[]);
    let b = theatre(&[&a]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while a.peers().is_empty() || b.peers().is_empty() {
        assert!(Instant::now() < deadline, "b did not join a");
        std::thread::sleep(Duration::from_millis(10));
    }
    let on_a: Vec<Addr<Worker>> = (0..4).map(|_| a.spawn(Worker)).collect();
    let on_b: Vec<Addr<Worker>> = (0..2).map(|_| b.spawn(Worker)).collect();

    // One worker on b stays a few hundred letters behind while the test runs.
    let flooding = Arc::new(AtomicBool::new(true));
    let flood = std::thread::spawn({
        let flooding = Arc::clone(&flooding);
        let busy = on_b[0].clone();
        move || {
            while flooding.load(Ordering::Relaxed) {
                for _ in 0..300 {
                    notify!(busy, work(20));
                }
                let _ = query!(busy, ping()).wait();
            }
        }
    });

    let console = env!("CARGO_BIN_EXE_stage-console");
    let locator = a.locator().to_owned();
    let Some(tmux) = Tmux::start(
        &[
            console, "--join", &locator, "--cookie", COOKIE, "--every", "0.3",
        ],
        160,
        48,
    ) else {
        flooding.store(false, Ordering::Relaxed);
        let _ = flood.join();
        eprintln!("SKIPPED: tmux is not installed");
        return;
    };

    let short = |t: &Theatre| t.locator().trim_start_matches("stage://").to_owned();
    let wanted = [
        "2 of 2 theatres answering".to_owned(),
        a.locator().to_owned(),
        b.locator().to_owned(),
        // The type's row: six live workers, on two theatres.
        "console::Worker".to_owned(),
        // The busy worker, on b.
        "actor#".to_owned(),
    ];
    let deadline = Instant::now() + Duration::from_secs(60);
    let screen = loop {
        let screen = tmux.screen();
        let types_row = screen.lines().any(|line| {
            line.contains("console::Worker") && line.contains(" 6 ") && line.contains(" 2 ")
        });
        let busy_row = screen
            .lines()
            .any(|line| line.contains("actor#") && line.contains(&short(&b)));
        // Both links, each way: "from  to" rows.
        let link = |from: &Theatre, to: &Theatre| {
            screen.lines().any(|line| {
                line.find(&short(from))
                    .zip(line.find(&short(to)))
                    .is_some_and(|(f, t)| f < t)
            })
        };
        let links = link(&a, &b) && link(&b, &a);
        // Rates need two reports of each theatre; b's worker keeps them above 0.
        let rates = screen
            .lines()
            .next()
            .is_some_and(|title| title.contains("letters/s") && !title.contains(" 0 letters/s"));
        if rates
            && types_row
            && busy_row
            && links
            && wanted.iter().all(|w| screen.contains(w.as_str()))
        {
            break screen;
        }
        assert!(
            Instant::now() < deadline,
            "the console never showed it all; its screen:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    println!("the console's screen:\n{screen}");

    // The console is not a member: the theatres still know only each other.
    assert_eq!(a.peers(), [b.locator().to_owned()]);
    assert_eq!(b.peers(), [a.locator().to_owned()]);

    tmux.keys("q");
    let deadline = Instant::now() + Duration::from_secs(30);
    while tmux.running() {
        assert!(
            Instant::now() < deadline,
            "q did not quit the console:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    flooding.store(false, Ordering::Relaxed);
    flood.join().expect("the flooding thread");
    drop((on_a, on_b));
    a.shutdown();
    b.shutdown();
}

/// `stage-console --once` joined to `theatre` with `cookie`: its exit and its text.
fn once(theatre: &Theatre, cookie: &str) -> (std::process::ExitStatus, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_stage-console"))
        .args(["--join", theatre.locator(), "--cookie", cookie])
        .args(["--every", "0.1", "--once"])
        .output()
        .expect("the console runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    (output.status, text)
}

#[test]
fn once_prints_one_screen_as_text() {
    let a = theatre(&[]);
    let _worker = a.spawn(Worker);
    let (status, text) = once(&a, COOKIE);
    assert!(status.success(), "{status:?}: {text}");
    assert!(text.contains("1 of 1 theatres answering"), "{text}");
    assert!(text.contains(a.locator()), "{text}");
    assert!(text.contains("console::Worker"), "{text}");
    a.shutdown();
}

#[test]
fn a_wrong_cookie_shows_the_theatre_unreachable_with_the_reason() {
    let a = theatre(&[]);
    let (_, text) = once(&a, "not-the-cookie");
    assert!(text.contains("0 of 1 theatres answering"), "{text}");
    assert!(text.contains("unreachable"), "{text}");
    a.shutdown();
}

#[test]
fn bad_flags_are_refused_with_the_usage() {
    let output = Command::new(env!("CARGO_BIN_EXE_stage-console"))
        .args(["--cookie", COOKIE])
        .output()
        .expect("the console runs");
    assert_eq!(output.status.code(), Some(2));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("--join"), "{text}");
}
