//! The examples that run across theatres: SALSA's bank on loopback in one process,
//! and Stage's chat with each user a separate `theatre` process.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

#[test]
fn salsa_bank_moves_checking_to_savings_across_theatres() {
    let mut said = Vec::new();
    let balances = stage_examples::net_bank::run(|line| said.push(line)).unwrap();
    assert_eq!(balances, (0, 1_275));
    assert!(said[1].ends_with(": 1250"), "{said:?}");
    assert!(said[2].ends_with(": 0"), "{said:?}");
    assert!(said[3].ends_with(": 25"), "{said:?}");
}

/// A `theatre --chat` process: its input, and its output lines as they come.
struct User {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl User {
    fn start(name: &str, join: Option<&str>) -> User {
        let mut args = vec!["--cookie", "chat-test", "--name", name, "--chat"];
        if let Some(locator) = join {
            args.extend(["--join", locator]);
        }
        User::run(&args)
    }

    /// A `theatre` process with these arguments.
    fn run(args: &[&str]) -> User {
        let mut child = Command::new(env!("CARGO_BIN_EXE_theatre"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the theatre binary starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        User {
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line containing `text`; returns it.
    fn expect(&mut self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        if let Some(line) = self.seen.iter().find(|l| l.contains(text)) {
            return line.clone();
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => panic!("no line with {text:?}; saw {:?}", self.seen),
            }
        }
    }

    fn say(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("still typing");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Ends the input; the user leaves and the process ends well.
    fn quit(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "{status}; saw {:?}", self.seen);
                return;
            }
            assert!(
                Instant::now() < deadline,
                "did not end; saw {:?}",
                self.seen
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for User {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn chat_across_three_theatre_processes_with_the_room_found_by_name() {
    let mut ann = User::start("ann", None);
    let listening = ann.expect("listening on ");
    let ann_at = listening.trim_start_matches("listening on ").to_owned();
    ann.expect("ann is in the chat room (1 here)");

    let mut bob = User::start("bob", Some(&ann_at));
    // One room, started once, whichever theatre is its home.
    bob.expect("bob is in the chat room (2 here)");
    ann.expect("[ann] > bob entered");

    bob.say("hello from bob");
    ann.expect("[ann] > bob: hello from bob");
    bob.expect("[bob] > bob: hello from bob");

    // carol joins through bob, and meets ann through it.
    let bob_at = bob
        .expect("listening on ")
        .trim_start_matches("listening on ")
        .to_owned();
    let mut carol = User::start("carol", Some(&bob_at));
    carol.expect("carol is in the chat room (3 here)");
    carol.say("hi both");
    ann.expect("[ann] > carol: hi both");
    bob.expect("[bob] > carol: hi both");
    carol.expect("[carol] > carol: hi both");

    carol.quit();
    ann.expect("[ann] > carol left");
    bob.quit();
    ann.quit();
}

#[test]
fn the_migrating_agent_visits_every_theatre_and_comes_home() {
    let mut said = Vec::new();
    let (itinerary, average_us) =
        stage_examples::migrating_agent::run(3, |line| said.push(line)).unwrap();
    // Home, three stops, home again.
    assert_eq!(itinerary.len(), 5, "{said:?}");
    assert_eq!(itinerary.first(), itinerary.last());
    let distinct: std::collections::HashSet<_> = itinerary.iter().collect();
    assert_eq!(distinct.len(), 4, "{itinerary:?}");
    assert!(average_us > 0.0);
    assert!(
        said.iter().any(|line| line.starts_with("hop 4:")),
        "{said:?}"
    );
    assert!(!said.iter().any(|line| line.contains("failed")), "{said:?}");
}

#[test]
fn the_migrating_agent_travels_through_theatres_in_other_processes() {
    // Two `theatre` processes of the examples, which know the agent's type.
    let mut hosts: Vec<User> = (0..2)
        .map(|_| User::run(&["--cookie", "agents-abroad"]))
        .collect();
    let places: Vec<String> = hosts
        .iter_mut()
        .map(|host| {
            host.expect("listening on ")
                .trim_start_matches("listening on ")
                .to_owned()
        })
        .collect();
    let home = stage_net::Theatre::builder()
        .cookie("agents-abroad")
        .start()
        .unwrap();
    let mut said = Vec::new();
    let (itinerary, average_us) =
        stage_examples::migrating_agent::trip(&home, places.clone(), |line| {
            if !line.starts_with("so far") {
                said.push(line);
            }
        });
    assert!(!said.iter().any(|line| line.contains("failed")), "{said:?}");
    assert_eq!(
        itinerary,
        [
            vec![home.locator().to_owned()],
            places,
            vec![home.locator().to_owned()]
        ]
        .concat(),
        "{said:?}"
    );
    assert!(average_us > 0.0);
    home.shutdown();
    for mut host in hosts {
        host.quit();
    }
}

#[cfg(unix)]
#[test]
fn a_theatre_process_that_gets_sigterm_moves_its_actors_away_first() {
    use stage_runtime::prelude::*;
    use std::os::unix::process::ExitStatusExt;

    let mut host = User::run(&["--cookie", "leaving-nicely"]);
    let at = host
        .expect("listening on ")
        .trim_start_matches("listening on ")
        .to_owned();
    let home = stage_net::Theatre::builder()
        .cookie("leaving-nicely")
        .join([at.as_str()])
        .start()
        .unwrap();
    // An agent with no trip planned, sent to the other process.
    let agent = home.spawn(stage_examples::migrating_agent::Agent::new(
        home.locator(),
        Vec::new(),
    ));
    home.migrate(&agent, &at).wait().expect("it moves there");
    let there = query!(agent, itinerary()).wait().unwrap();
    assert_eq!(there, [home.locator().to_owned(), at.clone()]);

    let pid = host.child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    // The process ends by the signal, once the agent has moved home.
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = host.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the process did not end");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.signal(), Some(15), "{status}");
    let back = query!(agent, itinerary())
        .wait()
        .expect("the agent lives on");
    assert_eq!(
        back,
        [home.locator().to_owned(), at, home.locator().to_owned()],
        "it came home with its state, and #[arrived] ran here"
    );
    home.shutdown();
}

#[test]
fn the_network_probe_reads_every_theatre_in_place_and_reports_home() {
    let mut said = Vec::new();
    let readings = stage_examples::network_probe::run(3, |line| said.push(line)).unwrap();
    // Three theatres, then home.
    assert_eq!(readings.len(), 4, "{said:?}");
    let places: std::collections::HashSet<_> = readings.iter().map(|r| &r.theatre).collect();
    assert_eq!(places.len(), 4, "each theatre once: {readings:?}");
    // The i-th theatre runs i + 1 actors of its own, and the probe and the
    // status driver it started there.
    for (i, reading) in readings.iter().take(3).enumerate() {
        assert_eq!(reading.actors, i + 3, "{readings:?}");
        assert_eq!(reading.os, std::env::consts::OS);
    }
    assert!(
        !said.iter().any(|line| line.contains("not reached")),
        "{said:?}"
    );
}

#[test]
fn the_distributed_trapezoid_gives_one_integral_on_any_number_of_theatres() {
    let mut said = Vec::new();
    let measures =
        stage_examples::distributed_trapezoid::run(3, 30_000, |line| said.push(line)).unwrap();
    assert_eq!(measures.len(), 3, "{said:?}");
    let one = measures[0].integral;
    assert!(one.is_finite(), "{said:?}");
    for measure in &measures {
        assert!(
            (measure.integral - one).abs() < 1e-6 * one.abs().max(1.0),
            "{measure:?} differs from {one}"
        );
    }
    assert!(
        said.iter().any(|line| line.starts_with("3 hosts:")),
        "{said:?}"
    );
    assert!(
        said.iter().any(|line| line.contains("speed-up")),
        "{said:?}"
    );
}
