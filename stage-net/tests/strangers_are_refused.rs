//! Strangers and bad input: wrong cookies, replays, other versions, garbage and floods of connections are refused, and nothing of them reaches an actor.
//!
//! Theatres over real TCP sockets on loopback, several in one process.

mod common;

use common::*;

#[test]
fn a_wrong_cookie_is_refused_and_nothing_is_delivered() {
    let a = theatre(&[]);
    a.bind("acct", &a.spawn(account())).unwrap();
    let intruder = Theatre::builder()
        .cookie("not-the-cookie")
        .join([a.locator()])
        .start()
        .unwrap_err();
    assert!(
        intruder.to_string().contains("cookie"),
        "the refusal says why: {intruder}"
    );
    assert!(a.peers().is_empty());

    // By hand: a raw client with the wrong cookie, then a frame anyway.
    let mut stream = TcpStream::connect(a.locator().trim_start_matches("stage://")).unwrap();
    let me = Identity {
        theatre: 99,
        locator: "stage://127.0.0.1:1",
        cookie: b"wrong",
        window: 1 << 20,
        frame_limit: 1 << 20,
        observer: false,
    };
    assert!(handshake::connect(&mut stream, &me).is_err());
    let _ = frame::write(
        &mut stream,
        &Frame::Tell {
            to: (1, 1),
            tag: 0,
            variant: 0,
            args: vec![0x91, 0x05],
        },
    );
    let local = a.lookup::<Account>("acct").unwrap();
    assert_eq!(query!(local, balance()).wait(), Ok(0));
}

#[test]
fn a_replayed_handshake_is_refused() {
    let a = theatre(&[]);
    let me = Identity {
        theatre: 7,
        locator: "stage://127.0.0.1:1",
        cookie: COOKIE.as_bytes(),
        window: 1 << 20,
        frame_limit: 1 << 20,
        observer: false,
    };
    // A genuine handshake, recorded.
    let mut recorder = Recorder {
        stream: raw(&a),
        written: Vec::new(),
    };
    handshake::connect(&mut recorder, &me).expect("the genuine handshake succeeds");
    // The same bytes on a new connection: the listener's fresh challenge makes the
    // recorded proof worthless.
    let mut replay = raw(&a);
    replay.write_all(&recorder.written).unwrap();
    let frames = until_closed(&mut replay);
    assert!(
        frames
            .iter()
            .any(|f| matches!(f, Frame::Refused { reason } if reason.contains("cookie"))),
        "{frames:?}"
    );
    assert!(!frames.iter().any(|f| matches!(f, Frame::Welcome { .. })));
}

#[test]
fn bad_input_on_a_connection_closes_only_that_connection() {
    let a = theatre(&[]);
    let b = theatre(&[&a]);
    a.bind("acct", &a.spawn(account())).unwrap();
    let acct = b.lookup::<Account>("acct").unwrap();
    notify!(acct, deposit(1));

    // Garbage before any handshake.
    let mut garbage = raw(&a);
    garbage
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let _ = until_closed(&mut garbage);

    // An authenticated peer announcing a 3 GiB frame: refused on the length alone.
    let me = Identity {
        theatre: 8,
        locator: "stage://127.0.0.1:1",
        cookie: COOKIE.as_bytes(),
        window: 1 << 20,
        frame_limit: 1 << 20,
        observer: false,
    };
    let mut big = raw(&a);
    handshake::connect(&mut big, &me).unwrap();
    big.write_all(&(3u32 << 30).to_be_bytes()).unwrap();
    let started = Instant::now();
    let _ = until_closed(&mut big);
    assert!(started.elapsed() < Duration::from_secs(2), "closed at once");

    // An authenticated peer sending a body that is not a frame.
    let mut malformed = raw(&a);
    handshake::connect(&mut malformed, &me).unwrap();
    malformed
        .write_all(&[0, 0, 0, 3, 0xc1, 0xc1, 0xc1])
        .unwrap();
    let _ = until_closed(&mut malformed);

    // The theatre, its actors and its other connection carry on.
    notify!(acct, deposit(2));
    assert_eq!(query!(acct, balance()).wait(), Ok(3));
}

#[test]
fn a_peer_of_another_protocol_version_is_refused_with_a_clear_error() {
    // A newer peer dials a theatre.
    let a = theatre(&[]);
    let mut newer = raw(&a);
    let hello = Frame::Hello {
        version: frame::VERSION + 1,
        theatre: 5,
        locator: "stage://127.0.0.1:1".into(),
        nonce: vec![0; 32],
        window: 1 << 20,
        frame_limit: 1 << 20,
        observer: false,
    };
    frame::write(&mut newer, &hello).unwrap();
    let frames = until_closed(&mut newer);
    assert!(
        frames.iter().any(
            |f| matches!(f, Frame::Refused { reason } if reason.contains(&format!("protocol version {}", frame::VERSION + 1)))
        ),
        "{frames:?}"
    );

    // A theatre dials a newer peer.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let newer = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let Ok(Frame::Hello { .. }) = frame::read(&mut stream, 1 << 16) else {
            panic!("expected a hello");
        };
        let challenge = Frame::Challenge {
            version: frame::VERSION + 1,
            theatre: 6,
            locator: format!("stage://127.0.0.1:{port}"),
            nonce: vec![0; 32],
            window: 1 << 20,
            frame_limit: 1 << 20,
        };
        frame::write(&mut stream, &challenge).unwrap();
        until_closed(&mut stream)
    });
    let error = a.connect(&format!("stage://127.0.0.1:{port}")).unwrap_err();
    assert!(
        matches!(
            &error,
            NetError::Handshake(handshake::HandshakeError::Version { theirs, .. })
                if *theirs == frame::VERSION + 1
        ),
        "{error}"
    );
    let says = format!("protocol version {}", frame::VERSION + 1);
    assert!(error.to_string().contains(&says), "{error}");
    let told = newer.join().unwrap();
    assert!(
        told.iter()
            .any(|f| matches!(f, Frame::Refused { reason } if reason.contains("version"))),
        "{told:?}"
    );
    assert!(a.peers().is_empty());
}

#[test]
fn a_flood_of_silent_connections_is_capped_and_the_theatre_carries_on() {
    let a = theatre(&[]);
    let silent: Vec<TcpStream> = (0..64).map(|_| raw(&a)).collect();
    // Give the accepting thread time to start all 64 handshakes.
    std::thread::sleep(Duration::from_millis(200));
    let mut one_more = raw(&a);
    let started = Instant::now();
    let mut byte = [0u8; 1];
    let read = one_more.read(&mut byte);
    assert!(
        matches!(read, Ok(0)) || read.is_err(),
        "the 65th connection was served: {read:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "not closed at once"
    );
    // Once the silent peers go (their handshakes end as they close), theatres
    // join again.
    drop(silent);
    let mut joined = None;
    wait_until("a theatre can join again", || {
        joined = Theatre::builder()
            .cookie(COOKIE)
            .join([a.locator()])
            .start()
            .ok();
        joined.is_some()
    });
    let b = joined.unwrap();
    assert_eq!(b.peers(), vec![a.locator().to_owned()]);
}

#[test]
fn a_theatre_without_a_cookie_or_with_a_bad_locator_is_refused() {
    assert!(matches!(
        Theatre::builder().start(),
        Err(NetError::NoCookie)
    ));
    assert!(matches!(
        Theatre::builder().cookie("x").listen("nowhere").start(),
        Err(NetError::BadLocator(_))
    ));
}

/// The next `Answer` frame on `stream` (pings and other frames skipped).
fn next_answer(stream: &mut TcpStream) -> Option<(u64, Result<Vec<u8>, frame::WireError>)> {
    loop {
        match frame::read(stream, 1 << 20) {
            Ok(Frame::Answer { call, result }) => {
                return Some((call, result.map(|bytes| bytes.into_vec())));
            }
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}

#[actor]
struct NotMobile;

#[behaviour]
impl NotMobile {
    #[query]
    fn hello(&self) -> u8 {
        1
    }
}

#[test]
fn hostile_letters_are_refused_and_touch_no_actor() {
    // A raw peer sends no pings: the failure detector is given time enough not to
    // close it on a busy machine before its answers are read.
    let a = Theatre::builder()
        .cookie(COOKIE)
        .down_after(Duration::from_secs(60))
        .start()
        .unwrap();
    let acct = a.spawn(account());
    a.bind("acct", &acct).unwrap();
    notify!(acct, deposit(5));
    let local = a.spawn(NotMobile);
    let me = Identity {
        theatre: 21,
        locator: "stage://127.0.0.1:1",
        cookie: COOKIE.as_bytes(),
        window: 1 << 20,
        frame_limit: 1 << 20,
        observer: false,
    };
    let tag = stage_runtime::remote::type_tag::<Account>();
    let ask = |to, tag, call| Frame::Ask {
        to,
        tag,
        variant: 0,
        args: vec![0x91, 0x01],
        call,
    };

    // A truncated frame: a length, part of a body, then the peer hangs up.
    // (Under an identity of its own: two connections from one theatre are one
    // too many, and the theatre would keep only one of them.)
    let mut truncated = raw(&a);
    let other = Identity { theatre: 22, ..me };
    handshake::connect(&mut truncated, &other).unwrap();
    truncated.write_all(&[0, 0, 0, 100, 1, 2, 3]).unwrap();
    drop(truncated);

    // A question for an actor that does not exist, and one for an actor that is
    // not mobile (never exported): each answered `Dead`, the connection stays.
    let mut peer = raw(&a);
    peer.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    handshake::connect(&mut peer, &me).unwrap();
    let nobody = (u64::MAX - 1, 12_345);
    let local_tag = stage_runtime::remote::type_tag::<NotMobile>();
    frame::write(&mut peer, &ask(nobody, tag, 1)).unwrap();
    frame::write(&mut peer, &ask(local.id().to_wire(), local_tag, 2)).unwrap();
    let dead = Err(frame::WireError::Dead);
    assert_eq!(next_answer(&mut peer), Some((1, dead.clone())));
    assert_eq!(next_answer(&mut peer), Some((2, dead)));

    // A question that names the actor with another type's tag: the peer runs
    // other code, or lies; its connection is closed and the actor untouched.
    frame::write(&mut peer, &ask(acct.id().to_wire(), tag ^ 1, 3)).unwrap();
    assert_eq!(next_answer(&mut peer), None, "the connection is closed");

    // The theatre and its actors carry on.
    assert_eq!(query!(acct, balance()).wait(), Ok(5));
    assert_eq!(query!(local, hello()).wait(), Ok(1));
}
