//! Failures: a silent or departed theatre fails what is pending on it, monitors hear of it, and a broken connection is rejoined.
//!
//! Theatres over real TCP sockets on loopback, several in one process.

mod common;

use common::*;

#[test]
fn a_peer_that_goes_silent_fails_pending_replies_within_the_detector_time() {
    let down_after = Duration::from_millis(600);
    let a = Theatre::builder()
        .cookie(COOKIE)
        .down_after(down_after)
        .start()
        .unwrap();
    // A hand-made peer: shakes hands, answers one lookup and each ping (so that
    // it is alive however long the lookup takes to come), and goes silent at
    // the first question.
    let mut peer = TcpStream::connect(a.locator().trim_start_matches("stage://")).unwrap();
    let me = Identity {
        theatre: 9,
        locator: "stage://127.0.0.1:1",
        cookie: COOKIE.as_bytes(),
        window: 1 << 20,
        frame_limit: 1 << 20,
        observer: false,
    };
    handshake::connect(&mut peer, &me).unwrap();
    let mut reader = peer.try_clone().unwrap();
    let tag = stage_runtime::remote::type_tag::<Account>();
    let answering = std::thread::spawn(move || loop {
        match frame::read(&mut reader, 1 << 20) {
            Ok(Frame::Lookup { call, .. }) => {
                let found = Frame::Found {
                    call,
                    actor: Some(((1, 1), tag, "Account".into())),
                };
                frame::write(&mut peer, &found).unwrap();
            }
            Ok(Frame::Ask { .. }) => return (peer, reader),
            Ok(Frame::Ping) => frame::write(&mut peer, &Frame::Ping).unwrap(),
            Ok(_) => {}
            Err(error) => panic!("{error}"),
        }
    });
    let far = a.lookup::<Account>("anything").unwrap();
    let started = Instant::now();
    let pending = query!(far, balance());
    let _silent = answering.join().unwrap();
    assert_eq!(
        pending.wait(),
        Err(SpeechError::Failed(Failure::Unreachable))
    );
    let took = started.elapsed();
    assert!(took >= down_after / 2, "declared down too early: {took:?}");
    assert!(
        took < down_after * 3,
        "declared down too late: {took:?} for {down_after:?}"
    );
    // Sends to it now fail fast.
    assert_eq!(
        notify!(far, deposit(1)).err(),
        Some(SpeechError::Failed(Failure::Unreachable))
    );
}

#[test]
fn a_theatre_that_shuts_down_fails_pending_replies_once_its_actors_had_their_chance_to_move() {
    let down_after = Duration::from_millis(500);
    let a = Theatre::builder()
        .cookie(COOKIE)
        .down_after(down_after)
        .start()
        .unwrap();
    let b = theatre(&[&a]);
    a.bind("acct", &a.spawn(account())).unwrap();
    let acct = b.lookup::<Account>("acct").unwrap();
    // Busy for longer than the theatre waits for its actors to move away.
    let pending = request!(acct, nap(3_000));
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    a.shutdown();
    assert_eq!(
        pending.wait(),
        Err(SpeechError::Failed(Failure::Unreachable))
    );
    // It waited at most a second (`down_after`, or a second if that is less)
    // for the move, then closed.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn monitoring_an_actor_on_another_theatre_hears_its_end_or_its_theatre_going() {
    let a = theatre(&[]);
    let b = theatre(&[&a]);
    b.bind("first", &b.spawn(account())).unwrap();
    b.bind("second", &b.spawn(account())).unwrap();
    let first = a.lookup::<Account>("first").unwrap();
    let second = a.lookup::<Account>("second").unwrap();
    let watcher = a.spawn(Watcher { seen: Vec::new() });
    request!(watcher, watch(first.clone())).wait().unwrap();
    request!(watcher, watch(second.clone())).wait().unwrap();
    // The notice comes from b when the actor ends there.
    first.stop().wait().unwrap();
    wait_until("the first end is heard", || {
        query!(watcher, seen()).wait() == Ok(vec![DownReason::Stopped])
    });
    // Watching an actor that has ended already: at once.
    request!(watcher, watch(first)).wait().unwrap();
    wait_until("the late watch is answered", || {
        query!(watcher, seen()).wait().map(|s| s.len()) == Ok(2)
    });
    // b goes: the second actor cannot be reached any more.
    b.shutdown();
    wait_until("the second is unreachable", || {
        query!(watcher, seen()).wait().map(|s| s.last().copied())
            == Ok(Some(DownReason::Unreachable))
    });
    drop(second);
}

#[test]
fn a_broken_connection_is_rejoined_and_the_same_addresses_work_again() {
    let a = theatre(&[]);
    let b = theatre(&[&a]);
    a.bind("acct", &a.spawn(account())).unwrap();
    let acct = b.lookup::<Account>("acct").unwrap();
    notify!(acct, deposit(5));
    assert_eq!(query!(acct, balance()).wait(), Ok(5));
    let pending = request!(acct, nap(300));
    assert!(b.sever(a.locator()));
    // What was in flight fails; nothing is redelivered after the rejoin.
    assert_eq!(
        pending.wait(),
        Err(SpeechError::Failed(Failure::Unreachable))
    );
    wait_until("the theatres rejoin", || {
        query!(acct, balance()).wait() == Ok(5)
    });
    notify!(acct, deposit(1));
    assert_eq!(query!(acct, balance()).wait(), Ok(6));
    // Order holds on the new connection as on the old.
    for seq in 0..1_000 {
        notify!(acct, mark(1, seq));
    }
    let log = query!(acct, log()).wait().unwrap();
    assert_eq!(log, (0..1_000).map(|seq| (1, seq)).collect::<Vec<_>>());
    assert_eq!(b.peers(), vec![a.locator().to_owned()]);
    assert_eq!(a.peers(), vec![b.locator().to_owned()]);
}
