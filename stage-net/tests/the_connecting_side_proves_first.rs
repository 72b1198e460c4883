//! The cookie cannot be guessed offline: the side that connects proves first, so a
//! stranger is refused before it is given anything made with the cookie; an
//! address whose proofs keep failing is refused unheard for longer and longer; a
//! short cookie draws a warning (issue 16, defect 6; DESIGN 6.1).
//!
//! Theatres over real TCP on loopback; the guesser connects from 127.0.0.2, a
//! loopback address of its own.

use std::net::{SocketAddr, TcpStream};
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use socket2::{Domain, Socket, Type};
use stage_net::frame::{self, Frame, VERSION};
use stage_net::handshake::{self, HandshakeError, Identity};
use stage_net::Theatre;

const COOKIE: &str = "a cookie of thirty-two bytes....";

fn address_of(theatre: &Theatre) -> SocketAddr {
    let address = theatre.locator().trim_start_matches("stage://");
    address.parse().expect("a socket address")
}

/// A connection to `theatre` from the loopback address `from`.
fn connect_from(from: &str, theatre: &Theatre) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a socket");
    let source: SocketAddr = format!("{from}:0").parse().expect("a source address");
    socket
        .bind(&source.into())
        .expect("a loopback source address");
    socket
        .connect(&address_of(theatre).into())
        .expect("the theatre accepts");
    socket.into()
}

/// Every proof a theatre could give over this transcript, with the real cookie.
fn proofs(n_c: &[u8], n_s: &[u8], id_c: u64, id_s: u64) -> Vec<Vec<u8>> {
    ["C", "S"]
        .iter()
        .map(|label| {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(COOKIE.as_bytes()).unwrap();
            mac.update(b"stage-handshake-v3/");
            mac.update(label.as_bytes());
            mac.update(n_c);
            mac.update(n_s);
            mac.update(&id_c.to_be_bytes());
            mac.update(&id_s.to_be_bytes());
            mac.finalize().into_bytes().to_vec()
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[test]
fn a_stranger_is_refused_before_it_is_given_any_proof() {
    let theatre = Theatre::builder().cookie(COOKIE).start().unwrap();
    let mut stranger = TcpStream::connect(address_of(&theatre)).unwrap();
    let n_c = vec![7u8; handshake::NONCE_LEN];
    let hello = Frame::Hello {
        version: VERSION,
        theatre: 42,
        locator: "stage://127.0.0.1:1".into(),
        nonce: n_c.clone(),
        window: 1 << 20,
        frame_limit: 1 << 20,
        observer: false,
    };
    frame::write(&mut stranger, &hello).unwrap();
    let challenge = frame::read(&mut stranger, 1 << 16).unwrap();
    let Frame::Challenge {
        theatre: id_s,
        nonce: n_s,
        ..
    } = &challenge
    else {
        panic!("expected a challenge, got {challenge:?}");
    };
    // A guess at the proof is refused, and nothing that followed carries one.
    frame::write(&mut stranger, &Frame::Response { proof: vec![0; 32] }).unwrap();
    let mut told = vec![challenge.clone()];
    while let Ok(frame) = frame::read(&mut stranger, 1 << 16) {
        told.push(frame);
    }
    assert!(
        matches!(told.last(), Some(Frame::Refused { .. })),
        "the guess was not refused: {told:?}"
    );
    let proofs = proofs(&n_c, n_s, 42, *id_s);
    for frame in &told {
        let mut bytes = Vec::new();
        frame::encode(frame, &mut bytes).unwrap();
        for proof in &proofs {
            assert!(
                !contains(&bytes, proof),
                "a proof was given away in {frame:?}"
            );
        }
    }
}

#[test]
fn guesses_from_one_address_are_slowed_and_other_addresses_are_heard() {
    let theatre = Theatre::builder().cookie(COOKIE).start().unwrap();
    let guesser = Identity {
        theatre: 9,
        locator: "stage://127.0.0.2:1",
        cookie: b"a wrong guess at the cookie.....",
        window: 1 << 20,
        frame_limit: 1 << 20,
        observer: false,
    };
    let mut unheard = None;
    for attempt in 1..=16 {
        let mut stream = connect_from("127.0.0.2", &theatre);
        match handshake::connect(&mut stream, &guesser) {
            // Heard, and told its proof is wrong.
            Err(HandshakeError::Refused(_)) => {}
            // Closed before a challenge: refused unheard.
            Err(HandshakeError::Frame(_)) => {
                unheard = Some(attempt);
                break;
            }
            other => panic!("attempt {attempt}: {other:?}"),
        }
    }
    let unheard = unheard.expect("a guesser is never slowed down");
    assert!(
        unheard > 3,
        "the first failures are free: refused at {unheard}"
    );
    let member = Theatre::builder()
        .cookie(COOKIE)
        .join([theatre.locator()])
        .start()
        .expect("a member at another address is heard");
    assert_eq!(member.peers(), vec![theatre.locator().to_owned()]);
}

/// Keeps the warnings logged in this test binary.
struct Warnings(Mutex<Vec<String>>);

impl log::Log for Warnings {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            self.0.lock().unwrap().push(record.args().to_string());
        }
    }

    fn flush(&self) {}
}

static WARNINGS: Warnings = Warnings(Mutex::new(Vec::new()));

#[test]
fn a_short_cookie_draws_a_warning_and_a_long_one_none() {
    log::set_logger(&WARNINGS).unwrap();
    log::set_max_level(log::LevelFilter::Warn);
    let about_the_cookie = || {
        let warnings = WARNINGS.0.lock().unwrap();
        warnings
            .iter()
            .filter(|w| w.contains("cluster cookie is"))
            .cloned()
            .collect::<Vec<_>>()
    };
    let _long = Theatre::builder().cookie(COOKIE).start().unwrap();
    assert!(about_the_cookie().is_empty(), "{:?}", about_the_cookie());
    let _short = Theatre::builder().cookie("s3cret").start().unwrap();
    let warned = about_the_cookie();
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(
        warned[0].contains("6 bytes") && warned[0].contains("16"),
        "{warned:?}"
    );
}
