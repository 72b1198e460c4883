//! A sender that outpaces a remote actor is told `Denied(Busy)` at the sender,
//! as a full bounded mailbox tells a local one; everything it was told was
//! accepted is processed, once and in order; the receiving theatre holds no more
//! than its window of letters from one peer (DESIGN 6.1). A peer that ignores the
//! window is disconnected.
//!
//! Theatres over real TCP sockets on loopback, in one process.

mod common;

use common::*;
use std::sync::mpsc;
use std::sync::Mutex;

/// Every letter costs its frame's body plus this much against the window.
const LETTER_OVERHEAD: usize = 64;
/// The receiving theatre's window, small so that the test fills it quickly.
const WINDOW: u64 = 64 << 10;

/// The test's hold on an actor: it tells the test it is held, and waits to be
/// released.
type Gate = Arc<Mutex<Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>>>;

fn gate() -> (Gate, mpsc::Receiver<()>, mpsc::Sender<()>) {
    let (held_tx, held_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    (
        Arc::new(Mutex::new(Some((held_tx, release_rx)))),
        held_rx,
        release_tx,
    )
}

macro_rules! stalled_actor {
    ($name:ident, $($attr:tt)*) => {
        #[actor($($attr)*)]
        struct $name {
            #[serde(skip)]
            gate: Gate,
            seen: Vec<u32>,
        }

        #[behaviour]
        impl $name {
            #[on(hold)]
            fn hold(&mut self) {
                let gate = self.gate.lock().unwrap().take();
                if let Some((held, release)) = gate {
                    held.send(()).unwrap();
                    release.recv_timeout(Duration::from_secs(60)).unwrap();
                }
            }

            #[on(item)]
            fn item(&mut self, n: u32) {
                self.seen.push(n);
            }

            #[query]
            fn seen(&self) -> Vec<u32> {
                self.seen.clone()
            }
        }
    };
}

stalled_actor!(Slow, mobile);
stalled_actor!(SlowBounded, mobile, mailbox = 100);

fn pair() -> (Theatre, Theatre) {
    let receiver = Theatre::builder()
        .cookie(COOKIE)
        .window(WINDOW)
        .down_after(Duration::from_secs(10))
        .start()
        .expect("a theatre starts");
    let sender = Theatre::builder()
        .cookie(COOKIE)
        .down_after(Duration::from_secs(10))
        .join([receiver.locator()])
        .start()
        .expect("a theatre joins");
    (receiver, sender)
}

/// Sends `item(n)` for n = 0, 1, ... until the sender is told `Denied(Busy)`;
/// returns how many were accepted. Fails if the window never fills.
fn flood(send: impl Fn(u32) -> Result<(), SpeechError>) -> u32 {
    for n in 0..1_000_000 {
        match send(n) {
            Ok(()) => {}
            Err(SpeechError::Denied(Reason::Busy)) => return n,
            Err(other) => panic!("item {n}: {other:?}"),
        }
    }
    panic!("a million events to a stalled actor and never Denied(Busy)");
}

/// Asks `seen` until the answer is not `Busy` (credit comes back as the actor
/// catches up).
fn seen_when_caught_up(ask: impl Fn() -> Result<Vec<u32>, SpeechError>, want: usize) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match ask() {
            Ok(seen) if seen.len() >= want => return seen,
            Ok(_) | Err(SpeechError::Denied(Reason::Busy)) => {}
            Err(other) => panic!("seen: {other:?}"),
        }
        assert!(Instant::now() < deadline, "the actor never caught up");
        std::thread::yield_now();
    }
}

#[test]
fn a_flood_to_a_stalled_actor_is_refused_busy_at_the_sender_and_nothing_accepted_is_lost() {
    let (receiver, sender) = pair();
    let (gate, held, release) = gate();
    let slow = receiver.spawn(Slow { gate, seen: vec![] });
    receiver.bind("slow", &slow).unwrap();
    let there = sender.lookup::<Slow>("slow").unwrap();
    assert!(notify!(there, hold()).is_ok());
    held.recv_timeout(Duration::from_secs(60)).unwrap();

    let accepted = flood(|n| notify!(there, item(n)).err().map_or(Ok(()), Err));
    // Each event is a few bytes on the wire plus the overhead: the window holds
    // at most this many.
    let most = WINDOW as usize / LETTER_OVERHEAD;
    assert!(
        accepted > 0 && (accepted as usize) <= most,
        "accepted {accepted}, the window holds at most {most}"
    );
    // Questions count against the same window: refused too, and answered so.
    assert_eq!(
        query!(there, seen()).wait(),
        Err(SpeechError::Denied(Reason::Busy))
    );

    release.send(()).unwrap();
    let seen = seen_when_caught_up(|| query!(there, seen()).wait(), accepted as usize);
    assert_eq!(
        seen,
        (0..accepted).collect::<Vec<_>>(),
        "once each, in order"
    );
    // The window is open again.
    assert!(notify!(there, item(accepted)).is_ok());
    let seen = seen_when_caught_up(|| query!(there, seen()).wait(), accepted as usize + 1);
    assert_eq!(seen.last(), Some(&accepted));
}

#[test]
fn a_remote_bounded_mailbox_says_busy_and_processes_exactly_what_it_accepted() {
    let (receiver, sender) = pair();
    let (gate, held, release) = gate();
    let slow = receiver.spawn(SlowBounded { gate, seen: vec![] });
    receiver.bind("slow", &slow).unwrap();
    let there = sender.lookup::<SlowBounded>("slow").unwrap();
    assert!(notify!(there, hold()).is_ok());
    held.recv_timeout(Duration::from_secs(60)).unwrap();

    let accepted = flood(|n| notify!(there, item(n)).err().map_or(Ok(()), Err));
    // What came from afar is held past the bound (its sender was told it was
    // accepted); a sender on the receiving theatre now finds the mailbox full.
    wait_until("the events have arrived", || {
        notify!(slow, item(u32::MAX)).err() == Some(SpeechError::Denied(Reason::Busy))
    });

    release.send(()).unwrap();
    let seen = seen_when_caught_up(|| query!(there, seen()).wait(), accepted as usize);
    let remote: Vec<u32> = seen.iter().copied().filter(|n| *n != u32::MAX).collect();
    assert_eq!(
        remote,
        (0..accepted).collect::<Vec<_>>(),
        "once each, in order"
    );
}

#[test]
fn a_peer_that_sends_past_its_window_is_disconnected() {
    let theatre = Theatre::builder()
        .cookie(COOKIE)
        .window(WINDOW)
        .start()
        .unwrap();
    let (gate, held, release) = gate();
    let slow = theatre.spawn(Slow { gate, seen: vec![] });
    theatre.bind("slow", &slow).unwrap();
    assert!(notify!(slow, hold()).is_ok());
    held.recv_timeout(Duration::from_secs(60)).unwrap();

    let me = Identity {
        theatre: 12,
        locator: "stage://127.0.0.1:1",
        cookie: COOKIE.as_bytes(),
        window: 1 << 20,
        frame_limit: 1 << 20,
        observer: false,
    };
    let mut peer = raw(&theatre);
    handshake::connect(&mut peer, &me).unwrap();
    let tag = stage_runtime::remote::type_tag::<Slow>();
    // `item(n)` is the second handler; its arguments an array of one.
    let mut bytes = Vec::new();
    // The theatre tolerates one window more than it granted (room for letters
    // forwarded after a move, which are never refused at their sender): three.
    let letters = 3 * WINDOW as usize / LETTER_OVERHEAD;
    for n in 0..letters {
        let args = [0x91, (n % 100) as u8];
        frame::encode_tell(slow.id().to_wire(), tag, 1, &args, &mut bytes);
    }
    // The theatre may close while this is being written.
    let _ = peer.write_all(&bytes);
    peer.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    // It reads until the window is exceeded, then closes: the read ends (with
    // an end of file or a reset), and not by the timeout.
    let started = Instant::now();
    let _ = until_closed(&mut peer);
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "the theatre kept a peer that ignored its window"
    );
    release.send(()).unwrap();
    // What it took before closing is processed; nothing past twice the window.
    let seen = seen_when_caught_up(|| query!(slow, seen()).wait(), 1);
    assert!(
        seen.len() <= 2 * WINDOW as usize / LETTER_OVERHEAD,
        "{}",
        seen.len()
    );
}
