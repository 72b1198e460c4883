//! A move whose target dies at each step of the migration protocol (issue 17,
//! DESIGN 6): the actor exists exactly once afterwards, at the origin if the
//! target had not acknowledged, at the target (and so gone with it) if it had;
//! nothing the origin accepted is dropped silently.
//!
//! The steps: the target dies (1) before the handshake, (2) once the `Migrate`
//! frame has arrived and before it answers, (3) after it answered. A target
//! played by this test over real TCP (it proves the cookie with the crate's
//! handshake, then reads frames) dies exactly where asked. Then a real theatre in
//! another process (this test binary started again) dies while it decodes the
//! arriving state, and another is killed after a move that ended.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use stage_net::frame::{self, Frame, DEFAULT_FRAME_LIMIT, DEFAULT_WINDOW};
use stage_net::handshake::{self, Identity};
use stage_net::Theatre;
use stage_runtime::prelude::*;

#[path = "support/child.rs"]
mod child;

use child::Killed;

const COOKIE: &str = "a cookie for moves that fail.....";
const CHILD: &str = "STAGE_NET_MIGRATION_FAULTS_CHILD";
/// Set in the child: a `Tripwire` that arrives armed kills the process.
const ARMED: &str = "STAGE_NET_TRIPWIRE";

/// A field that kills the process decoding it, where `ARMED` is set and the
/// wire is armed: a target that dies in the middle of rebuilding an actor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
struct Tripwire {
    armed: bool,
}

impl<'de> Deserialize<'de> for Tripwire {
    fn deserialize<D: serde::Deserializer<'de>>(decoder: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            armed: bool,
        }
        let raw = Raw::deserialize(decoder)?;
        if raw.armed && std::env::var_os(ARMED).is_some() {
            std::process::abort();
        }
        Ok(Tripwire { armed: raw.armed })
    }
}

/// The actor that tries to move: it logs what it takes and why it stayed.
#[actor(mobile)]
struct Parcel {
    taken: Vec<u32>,
    stayed: Vec<String>,
    wire: Tripwire,
}

#[behaviour]
impl Parcel {
    #[on(take)]
    fn take(&mut self, n: u32) {
        self.taken.push(n);
    }

    #[query]
    fn seen(&self) -> (Vec<u32>, Vec<String>) {
        (self.taken.clone(), self.stayed.clone())
    }

    #[query]
    fn pid(&self) -> u32 {
        std::process::id()
    }

    #[migration_failed]
    fn failed(&mut self, error: MigrationError) {
        self.stayed.push(error.to_string());
    }
}

fn new_parcel(armed: bool) -> Parcel {
    Parcel {
        taken: Vec::new(),
        stayed: Vec::new(),
        wire: Tripwire { armed },
    }
}

fn origin() -> Theatre {
    Theatre::builder()
        .cookie(COOKIE)
        .down_after(Duration::from_millis(800))
        .rejoin_for(Duration::ZERO)
        .start()
        .expect("the origin starts")
}

/// Where a target played by this test dies.
#[derive(Debug, Clone, Copy, PartialEq)]
enum DiesAt {
    /// As the origin connects, before the handshake.
    Connecting,
    /// With the `Migrate` frame read, before answering it.
    Unanswered,
    /// Right after answering `Migrated`.
    Acknowledged,
}

/// A target played over real TCP: it proves the cookie, reads frames, and
/// dies (closes its socket and its listener) where told. Returns its locator
/// and a thread that ends when it has died, with the names of the frames it
/// read.
fn fake_target(dies: DiesAt) -> (String, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    let locator = format!("stage://{}", listener.local_addr().expect("an address"));
    let me = locator.clone();
    let thread = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("the origin connects");
        let mut read = Vec::new();
        if dies == DiesAt::Connecting {
            return read;
        }
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("a timeout");
        let identity = Identity {
            theatre: 0x5eed,
            locator: &me,
            cookie: COOKIE.as_bytes(),
            window: DEFAULT_WINDOW,
            frame_limit: DEFAULT_FRAME_LIMIT,
            observer: false,
        };
        let accepted = handshake::accept(&mut stream, &identity).expect("the origin proves");
        frame::write(&mut stream, &accepted.welcome(Vec::new())).expect("welcome");
        loop {
            let Ok(frame) = frame::read(&mut stream, DEFAULT_FRAME_LIMIT) else {
                return read;
            };
            read.push(format!("{frame:?}").chars().take(12).collect());
            if let Frame::Migrate { actors, call } = frame {
                if dies == DiesAt::Acknowledged {
                    let aliases = (0..actors.len() as u64).map(|i| (0x5eed, i + 1)).collect();
                    let answer = Frame::Migrated {
                        call,
                        result: Ok(aliases),
                    };
                    frame::write(&mut stream, &answer).expect("the answer");
                }
                // Dies: the socket and the listener close.
                return read;
            }
        }
    });
    (locator, thread)
}

/// Sends `from..to` to `parcel`.
fn send(parcel: &Addr<Parcel>, numbers: std::ops::Range<u32>) {
    for n in numbers {
        notify!(parcel, take(n)).result().expect("accepted");
    }
}

#[test]
fn a_target_that_dies_before_answering_leaves_the_actor_home_with_every_letter() {
    for dies in [DiesAt::Connecting, DiesAt::Unanswered] {
        let origin = origin();
        let parcel = origin.spawn(new_parcel(false));
        send(&parcel, 0..100);
        let (target, fake) = fake_target(dies);
        let moving = origin.migrate(&parcel, &target);
        // Letters sent while the move is under way queue, and are taken after.
        send(&parcel, 100..200);
        let outcome = moving.wait();
        let read = fake.join().expect("the fake target ran");
        assert!(
            matches!(outcome, Err(SpeechError::Failed(Failure::Migration(_)))),
            "{dies:?}: {outcome:?}"
        );
        if dies == DiesAt::Unanswered {
            assert!(read.iter().any(|f| f.starts_with("Migrate")), "{read:?}");
        }
        send(&parcel, 200..300);
        let (taken, stayed) = query!(parcel, seen()).wait().expect("the actor is home");
        assert_eq!(taken, (0..300).collect::<Vec<_>>(), "{dies:?}");
        assert_eq!(stayed.len(), 1, "{dies:?}: it heard why once: {stayed:?}");
        origin.shutdown();
    }
}

#[test]
fn a_target_that_dies_after_acknowledging_has_the_actor_and_takes_it_with_it() {
    let origin = origin();
    let parcel = origin.spawn(new_parcel(false));
    send(&parcel, 0..100);
    let (target, fake) = fake_target(DiesAt::Acknowledged);
    let moved = origin.migrate(&parcel, &target).wait();
    let read = fake.join().expect("the fake target ran");
    assert_eq!(moved, Ok(()), "{read:?}");
    // The actor lived on at the target, which has died: nothing answers at the
    // origin (no second copy), and every letter is refused or fails, never
    // taken silently. The origin declares the target down within its bound.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match query!(parcel, seen()).wait() {
            Err(SpeechError::Failed(Failure::Unreachable)) => break,
            Err(SpeechError::Failed(Failure::Dead)) => break,
            Ok(answer) => panic!("a copy answered at the origin: {answer:?}"),
            Err(other) => assert!(Instant::now() < deadline, "{other}"),
        }
        assert!(Instant::now() < deadline, "still no failure");
        std::thread::sleep(Duration::from_millis(10));
    }
    origin.shutdown();
}

/// This test binary again, as a theatre with the tripwire armed; its locator.
fn start_child() -> (Killed, String) {
    child::start_child(
        "a_target_in_another_process_dies_mid_move",
        &[(CHILD, "1"), (ARMED, "1")],
    )
}

/// The child's side: a theatre that serves until killed (or until a tripwire
/// kills it).
fn child() {
    let theatre = Theatre::builder()
        .cookie(COOKIE)
        .start()
        .expect("the child's theatre");
    println!("{}", theatre.locator());
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

#[test]
fn a_target_in_another_process_dies_mid_move() {
    if std::env::var_os(CHILD).is_some() {
        child();
        return;
    }
    // Dies while it rebuilds the actor: the actor stays home, with its letters.
    let (mut dying, locator) = start_child();
    let origin = origin();
    let parcel = origin.spawn(new_parcel(true));
    send(&parcel, 0..50);
    let outcome = origin.migrate(&parcel, &locator).wait();
    assert!(
        matches!(outcome, Err(SpeechError::Failed(Failure::Migration(_)))),
        "{outcome:?}"
    );
    let status = dying.0.wait().expect("the child ended");
    assert!(!status.success(), "the tripwire killed it: {status}");
    send(&parcel, 50..100);
    let (taken, stayed) = query!(parcel, seen()).wait().expect("the actor is home");
    assert_eq!(taken, (0..100).collect::<Vec<_>>());
    assert_eq!(stayed.len(), 1, "{stayed:?}");
    assert_eq!(query!(parcel, pid()).wait(), Ok(std::process::id()));

    // Killed after a move that ended: the actor ran there, and is gone with it.
    let (mut target, locator) = start_child();
    let unarmed = origin.spawn(new_parcel(false));
    send(&unarmed, 0..50);
    assert_eq!(origin.migrate(&unarmed, &locator).wait(), Ok(()));
    let there = query!(unarmed, pid())
        .wait()
        .expect("it answers from there");
    assert_ne!(there, std::process::id());
    let (taken, _) = query!(unarmed, seen()).wait().expect("it answers");
    assert_eq!(
        taken,
        (0..50).collect::<Vec<_>>(),
        "its state moved with it"
    );
    target.0.kill().expect("kill");
    let _ = target.0.wait();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match query!(unarmed, seen()).wait() {
            Err(SpeechError::Failed(Failure::Unreachable | Failure::Dead)) => break,
            Ok(answer) => panic!("a copy answered at the origin: {answer:?}"),
            Err(other) => assert!(Instant::now() < deadline, "{other}"),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    origin.shutdown();
}
