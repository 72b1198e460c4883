//! Theatres over real TCP sockets on loopback, several in one process.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use stage_net::frame::{self, Frame};
use stage_net::handshake::{self, Identity};
use stage_net::{NetError, Theatre};
use stage_runtime::prelude::*;

const COOKIE: &str = "test-cookie";

#[actor(mobile)]
struct Account {
    balance: i64,
    log: Vec<(u32, u32)>,
}

#[behaviour]
impl Account {
    #[on(deposit)]
    fn credit(&mut self, amount: i64) {
        self.balance += amount;
    }

    /// Records (sender, sequence) pairs, for the ordering test.
    #[on(mark)]
    fn mark(&mut self, sender: u32, seq: u32) {
        self.log.push((sender, seq));
    }

    #[query]
    fn balance(&self) -> i64 {
        self.balance
    }

    #[request]
    fn withdraw(&mut self, amount: i64) -> Result<i64, String> {
        if amount > self.balance {
            return Err(format!("only {} left", self.balance));
        }
        self.balance -= amount;
        Ok(self.balance)
    }

    #[query]
    fn log(&self) -> Vec<(u32, u32)> {
        self.log.clone()
    }

    #[request]
    fn nap(&mut self, millis: u64) {
        std::thread::sleep(Duration::from_millis(millis));
    }
}

#[actor(mobile)]
struct Other;

#[behaviour]
impl Other {
    #[query]
    fn hello(&self) -> String {
        "hello".into()
    }
}

fn theatre(seeds: &[&Theatre]) -> Theatre {
    Theatre::builder()
        .listen("127.0.0.1:0")
        .cookie(COOKIE)
        .join(seeds.iter().map(|t| t.locator().to_owned()))
        .start()
        .expect("theatre starts")
}

fn account() -> Account {
    Account {
        balance: 0,
        log: Vec::new(),
    }
}

#[test]
fn speech_acts_cross_between_three_theatres() {
    let a = theatre(&[]);
    let b = theatre(&[&a]);
    // `c` joins through `b` only and meets `a` through it.
    let c = theatre(&[&b]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while c.peers().len() < 2 || a.peers().len() < 2 {
        assert!(
            Instant::now() < deadline,
            "c did not meet a: {:?}",
            c.peers()
        );
        std::thread::sleep(Duration::from_millis(10));
    }

    a.bind("bank/acct", &a.spawn(account())).unwrap();
    let from_b = b.lookup::<Account>("bank/acct").unwrap();
    let from_c = c.lookup::<Account>("bank/acct").unwrap();
    assert!(!from_b.is_local());

    // Order holds per sender and receiver: each theatre's query follows its own
    // events (b's and c's events travel on different connections).
    notify!(from_b, deposit(100));
    assert_eq!(query!(from_b, balance()).wait(), Ok(100));
    notify!(from_c with 50 on deposit);
    assert_eq!(query!(from_c, balance()).wait(), Ok(150));
    assert_eq!(request!(from_c, withdraw(30)).wait(), Ok(Ok(120)));
    assert_eq!(
        request!(from_b, withdraw(500)).wait(),
        Ok(Err("only 120 left".to_owned()))
    );
    // A continuation across the wire: the second ask waits for the first's answer.
    let chained = query!(from_b, balance()).then({
        let from_c = from_c.clone();
        move |balance| request!(from_c, withdraw(balance / 2))
    });
    assert_eq!(chained.wait(), Ok(Ok(60)));
    // A join of answers from two theatres' connections.
    let both = join!(query!(from_b, balance()), query!(from_c, balance()));
    assert_eq!(both.wait(), Ok((60, 60)));
    // Star's form: the expression runs on a, with the values it captures from b
    // and c; a request's runs atomically with respect to the actor's other letters.
    let factor = 2;
    assert_eq!(
        query!(from_b 's balance with balance() * factor).wait(),
        Ok(120)
    );
    let floor = 10_i64;
    let note = String::from("kept");
    let took = request!(from_c 's withdraw 'n balance to {
        let spare = balance() - floor;
        withdraw(spare).map(|left| format!("{note} {left}"))
    });
    assert_eq!(took.wait(), Ok(Ok("kept 10".to_owned())));
    // Its answer chains like any other.
    let chained = query!(from_b 's balance with balance() + 1).then({
        let from_c = from_c.clone();
        move |n| query!(from_c 's balance with balance() * n)
    });
    assert_eq!(chained.wait(), Ok(110));
    // A value that cannot be serialised stays home, and the error says which.
    struct Unserialisable(i64);
    let here = Unserialisable(5);
    let star = query!(from_b 's balance with balance() + here.0).wait();
    assert!(
        matches!(&star, Err(SpeechError::Failed(Failure::NotPortable(why))) if why.contains("Unserialisable")),
        "{star:?}"
    );
    // Stopping from afar.
    assert_eq!(from_c.stop().wait(), Ok(()));
    assert_eq!(
        query!(from_b, balance()).wait(),
        Err(SpeechError::Failed(Failure::Dead))
    );
}

#[test]
fn lookup_checks_the_type_and_unbind_forgets() {
    let a = theatre(&[]);
    let b = theatre(&[&a]);
    let other = a.spawn(Other);
    a.bind("svc", &other).unwrap();
    assert!(matches!(
        a.bind("svc", &other),
        Err(NetError::NameTaken(name)) if name == "svc"
    ));
    // Wrong type, here and there: an error, not a crash.
    let here = a.lookup::<Account>("svc").unwrap_err();
    assert!(matches!(here, NetError::WrongType { .. }), "{here}");
    let there = b.lookup::<Account>("svc").unwrap_err();
    assert!(
        there.to_string().contains("Other") && there.to_string().contains("Account"),
        "{there}"
    );
    let right = b.lookup::<Other>("svc").unwrap();
    assert_eq!(query!(right, hello()).wait().as_deref(), Ok("hello"));
    assert!(a.unbind("svc"));
    assert!(matches!(
        b.lookup::<Other>("svc"),
        Err(NetError::NotFound(_))
    ));
    // A remote address cannot be bound: only local actors.
    assert!(matches!(b.bind("again", &right), Err(NetError::NotLocal)));
}

#[test]
fn fifo_per_sender_across_the_wire_with_four_senders() {
    const SENDERS: u32 = 4;
    const EACH: u32 = 25_000;
    let a = theatre(&[]);
    let b = theatre(&[&a]);
    a.bind("log", &a.spawn(account())).unwrap();
    let log = b.lookup::<Account>("log").unwrap();
    let senders: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let log = log.clone();
            std::thread::spawn(move || {
                for seq in 0..EACH {
                    notify!(log, mark(sender, seq));
                }
            })
        })
        .collect();
    for sender in senders {
        sender.join().unwrap();
    }
    // The query travels after every event on the one connection.
    let seen = query!(log, log()).wait().unwrap();
    assert_eq!(seen.len(), (SENDERS * EACH) as usize, "nothing lost");
    let mut next = vec![0; SENDERS as usize];
    for (sender, seq) in seen {
        assert_eq!(seq, next[sender as usize], "sender {sender} out of order");
        next[sender as usize] += 1;
    }
}

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

/// Records what one side writes, to replay it later.
struct Recorder {
    stream: TcpStream,
    written: Vec<u8>,
}

impl Read for Recorder {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.stream.read(buf)
    }
}

impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.written.extend_from_slice(buf);
        self.stream.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.stream.flush()
    }
}

fn raw(theatre: &Theatre) -> TcpStream {
    let stream = TcpStream::connect(theatre.locator().trim_start_matches("stage://")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
}

/// Reads until the peer closes; the frames it sent on the way.
fn until_closed(stream: &mut TcpStream) -> Vec<Frame> {
    let mut frames = Vec::new();
    loop {
        match frame::read(stream, 1 << 20) {
            Ok(frame) => frames.push(frame),
            Err(_) => return frames,
        }
    }
}

#[test]
fn a_replayed_handshake_is_refused() {
    let a = theatre(&[]);
    let me = Identity {
        theatre: 7,
        locator: "stage://127.0.0.1:1",
        cookie: COOKIE.as_bytes(),
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
fn a_peer_that_goes_silent_fails_pending_replies_within_the_detector_time() {
    let down_after = Duration::from_millis(600);
    let a = Theatre::builder()
        .cookie(COOKIE)
        .down_after(down_after)
        .start()
        .unwrap();
    // A hand-made peer: shakes hands, answers one lookup, then goes silent.
    let mut peer = TcpStream::connect(a.locator().trim_start_matches("stage://")).unwrap();
    let me = Identity {
        theatre: 9,
        locator: "stage://127.0.0.1:1",
        cookie: COOKIE.as_bytes(),
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
fn a_theatre_that_shuts_down_fails_pending_replies_at_once() {
    let a = theatre(&[]);
    let b = theatre(&[&a]);
    a.bind("acct", &a.spawn(account())).unwrap();
    let acct = b.lookup::<Account>("acct").unwrap();
    let pending = request!(acct, nap(2_000));
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    a.shutdown();
    assert_eq!(
        pending.wait(),
        Err(SpeechError::Failed(Failure::Unreachable))
    );
    assert!(started.elapsed() < Duration::from_secs(1));
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

/// Keeps an address it was given, and uses it.
#[actor(mobile)]
struct Keeper {
    kept: Option<Addr<Account>>,
}

#[behaviour]
impl Keeper {
    #[on(keep)]
    fn keep(&mut self, account: Addr<Account>) {
        notify!(account, deposit(10));
        self.kept = Some(account);
    }

    #[query]
    fn kept(&self) -> Option<Addr<Account>> {
        self.kept.clone()
    }
}

/// Passes an address on to a keeper on another theatre.
#[actor(mobile)]
struct Relay;

#[behaviour]
impl Relay {
    #[request]
    fn pass(&mut self, account: Addr<Account>, keeper: Addr<Keeper>) -> bool {
        let local = account.is_local() || keeper.is_local();
        notify!(keeper, keep(account));
        !local
    }
}

#[test]
fn addresses_travel_inside_messages_and_work_from_a_third_theatre() {
    let a = theatre(&[]);
    let b = theatre(&[&a]);
    let c = theatre(&[&a]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while b.peers().len() < 2 || c.peers().len() < 2 {
        assert!(Instant::now() < deadline, "no full mesh: {:?}", b.peers());
        std::thread::sleep(Duration::from_millis(10));
    }
    let account = a.spawn(account());
    b.bind("relay", &b.spawn(Relay)).unwrap();
    c.bind("keeper", &c.spawn(Keeper { kept: None })).unwrap();
    let relay = a.lookup::<Relay>("relay").unwrap();
    let keeper = a.lookup::<Keeper>("keeper").unwrap();

    // a sends b its own actor's address and c's keeper's; b sends the first on to c,
    // which uses it to reach a.
    assert_eq!(
        request!(relay, pass(account.clone(), keeper.clone())).wait(),
        Ok(true),
        "b received remote addresses for both"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while query!(account, balance()).wait() != Ok(10) {
        assert!(Instant::now() < deadline, "c's deposit did not arrive");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Coming home, the address is the local one again.
    let back = query!(keeper, kept()).wait().unwrap().expect("kept");
    assert!(back.is_local());
    assert_eq!(back, account);
    notify!(back, deposit(1));
    assert_eq!(query!(account, balance()).wait(), Ok(11));
    // c's copy still works after the round trip.
    let from_c = query!(keeper, kept()).wait().unwrap().unwrap();
    assert_eq!(query!(from_c, balance()).wait(), Ok(11));
}

#[test]
fn an_address_of_a_stage_outside_any_theatre_does_not_travel() {
    let a = theatre(&[]);
    let b = theatre(&[&a]);
    keeper_on(&b);
    let keeper = a.lookup::<Keeper>("keeper").unwrap();
    let stray = Stage::new().spawn(account());
    // The event is not sent: its argument cannot be encoded.
    let sent = notify!(keeper, keep(stray)).result();
    assert!(
        matches!(&sent, Err(SpeechError::Failed(Failure::Wire(why))) if why.contains("not part of an open theatre")),
        "{sent:?}"
    );
    assert_eq!(query!(keeper, kept()).wait().map(|k| k.is_none()), Ok(true));
}

fn keeper_on(theatre: &Theatre) {
    theatre
        .bind("keeper", &theatre.spawn(Keeper { kept: None }))
        .unwrap();
}

#[test]
fn a_stage_serves_one_open_theatre_at_a_time() {
    let stage = Stage::new();
    let first = Theatre::builder()
        .cookie(COOKIE)
        .stage(stage.clone())
        .start()
        .unwrap();
    let second = Theatre::builder()
        .cookie(COOKIE)
        .stage(stage.clone())
        .start();
    assert!(matches!(second, Err(NetError::StageTaken)), "{second:?}");
    first.shutdown();
    let second = Theatre::builder().cookie(COOKIE).stage(stage).start();
    assert!(second.is_ok(), "{second:?}");
}

/// A room started on demand; each theatre counts the rooms it started.
#[actor(mobile)]
struct Room {
    entered: Vec<u32>,
}

#[behaviour]
impl Room {
    #[on(enter)]
    fn enter(&mut self, who: u32) {
        self.entered.push(who);
    }

    #[query]
    fn entered(&self) -> usize {
        self.entered.len()
    }
}

/// Enters a room it is given, from its own theatre.
#[actor(mobile)]
struct Porter;

#[behaviour]
impl Porter {
    #[request]
    fn usher(&mut self, room: Addr<Room>, who: u32) -> bool {
        notify!(room, enter(who));
        room.is_local()
    }
}

/// A theatre that starts rooms on demand, and its count of rooms started.
fn room_theatre(seeds: &[&Theatre]) -> (Theatre, Arc<AtomicUsize>) {
    let started = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&started);
    let theatre = Theatre::builder()
        .cookie(COOKIE)
        .down_after(Duration::from_millis(500))
        .join(seeds.iter().map(|t| t.locator().to_owned()))
        .activates(move |_name| {
            count.fetch_add(1, Ordering::SeqCst);
            Room {
                entered: Vec::new(),
            }
        })
        .start()
        .expect("theatre starts");
    (theatre, started)
}

fn full_mesh(theatres: &[&Theatre]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while theatres
        .iter()
        .any(|t| t.peers().len() < theatres.len() - 1)
    {
        assert!(Instant::now() < deadline, "no full mesh");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn activation_on_demand_starts_one_actor_when_a_hundred_first_messages_race() {
    let (a, started_a) = room_theatre(&[]);
    let (b, started_b) = room_theatre(&[&a]);
    let (c, started_c) = room_theatre(&[&a]);
    full_mesh(&[&a, &b, &c]);
    let theatres = [a, b, c];
    let gate = Arc::new(Barrier::new(100));
    let racers: Vec<_> = (0..100u32)
        .map(|i| {
            let theatre = theatres[i as usize % 3].clone();
            let gate = Arc::clone(&gate);
            std::thread::spawn(move || {
                gate.wait();
                let lobby = theatre.named::<Room>("lobby");
                notify!(lobby, enter(i)).result()
            })
        })
        .collect();
    for racer in racers {
        assert_eq!(racer.join().unwrap(), Ok(()));
    }
    let lobby = theatres[0].named::<Room>("lobby");
    wait_until("all 100 entered", || {
        query!(lobby, entered()).wait() == Ok(100)
    });
    let started = [&started_a, &started_b, &started_c].map(|s| s.load(Ordering::SeqCst));
    assert_eq!(
        started.iter().sum::<usize>(),
        1,
        "started per theatre: {started:?}"
    );
    // Every theatre reaches the same actor, and a lookup finds it under its name.
    for theatre in &theatres {
        assert_eq!(
            query!(theatre.named::<Room>("lobby"), entered()).wait(),
            Ok(100)
        );
        assert!(theatre.lookup::<Room>("lobby").is_ok());
    }
    // A named address travels as its name, and still reaches the one room.
    theatres[2]
        .bind("porter", &theatres[2].spawn(Porter))
        .unwrap();
    let porter = theatres[0].lookup::<Porter>("porter").unwrap();
    assert_eq!(
        request!(porter, usher(lobby.clone(), 1000)).wait(),
        Ok(false)
    );
    wait_until("the porter's guest entered", || {
        query!(lobby, entered()).wait() == Ok(101)
    });
    let started = [&started_a, &started_b, &started_c].map(|s| s.load(Ordering::SeqCst));
    assert_eq!(started.iter().sum::<usize>(), 1);
    assert_eq!(
        theatres[1].named::<Room>("lobby"),
        theatres[1].named::<Room>("lobby")
    );
}

#[test]
fn a_named_actor_whose_home_leaves_starts_afresh_on_the_new_home() {
    let (a, started_a) = room_theatre(&[]);
    let (b, started_b) = room_theatre(&[&a]);
    let (c, started_c) = room_theatre(&[&a]);
    full_mesh(&[&a, &b, &c]);
    let theatres = [a, b, c];
    let started = [started_a, started_b, started_c];
    let count = |started: &[Arc<AtomicUsize>]| {
        started
            .iter()
            .map(|s| s.load(Ordering::SeqCst))
            .collect::<Vec<_>>()
    };
    // Find a name whose home is not the first theatre, which stays to speak.
    let (name, home) = (0..)
        .map(|i| format!("room-{i}"))
        .find_map(|name| {
            let room = theatres[0].named::<Room>(&name);
            notify!(room, enter(1));
            assert_eq!(query!(room, entered()).wait(), Ok(1));
            let home = started.iter().position(|s| s.load(Ordering::SeqCst) > 0)?;
            let found = (home != 0).then(|| (name.clone(), home));
            for s in &started {
                s.store(0, Ordering::SeqCst);
            }
            found
        })
        .unwrap();
    let room = theatres[0].named::<Room>(&name);
    notify!(room, enter(2));
    assert_eq!(query!(room, entered()).wait(), Ok(2));
    assert_eq!(count(&started), vec![0, 0, 0], "already running");

    theatres[home].shutdown();
    wait_until("the home is gone", || theatres[0].peers().len() == 1);
    // Whatever was in flight fails; then the name's new home starts a fresh room.
    wait_until("a fresh room answers", || {
        match query!(room, entered()).wait() {
            Ok(entered) => {
                assert_eq!(entered, 0, "a fresh room, not the old one");
                true
            }
            Err(error) => {
                assert_eq!(error, SpeechError::Failed(Failure::Unreachable));
                false
            }
        }
    });
    let now = count(&started);
    assert_eq!(now.iter().sum::<usize>(), 1, "{now:?}");
    assert_eq!(now[home], 0);
}

#[test]
fn activation_without_a_factory_fails_with_a_reason() {
    let a = theatre(&[]);
    let ghost = a.named::<Room>("ghost");
    let answer = query!(ghost, entered()).wait();
    assert!(
        matches!(&answer, Err(SpeechError::Failed(Failure::Wire(why))) if why.contains("no factory")),
        "{answer:?}"
    );
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
            proof: vec![0; 32],
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
fn a_named_actor_started_before_a_join_is_found_by_the_new_member() {
    let (a, started_a) = room_theatre(&[]);
    let names: Vec<String> = (0..8).map(|i| format!("early-{i}")).collect();
    for name in &names {
        let room = a.named::<Room>(name);
        notify!(room, enter(1));
        assert_eq!(query!(room, entered()).wait(), Ok(1));
    }
    assert_eq!(started_a.load(Ordering::SeqCst), 8);
    // With b in, about half of the names have b as their home; b finds the rooms
    // a started rather than starting its own.
    let (b, started_b) = room_theatre(&[&a]);
    for name in &names {
        let room = b.named::<Room>(name);
        notify!(room, enter(2));
        assert_eq!(query!(room, entered()).wait(), Ok(2), "{name}");
    }
    assert_eq!(started_b.load(Ordering::SeqCst), 0);
}

/// Hears when the actors it watches end.
#[actor]
struct Watcher {
    seen: Vec<DownReason>,
}

#[behaviour]
impl Watcher {
    #[request]
    fn watch(&mut self, ctx: &mut Ctx<Self>, other: Addr<Account>) {
        ctx.monitor(&other);
    }

    #[down]
    fn gone(&mut self, down: Down) {
        self.seen.push(down.reason);
    }

    #[query]
    fn seen(&self) -> Vec<DownReason> {
        self.seen.clone()
    }
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

#[test]
fn the_directory_forgets_unbound_names_and_those_of_a_departed_theatre() {
    let a = theatre(&[]);
    let b = theatre(&[&a]);
    let c = theatre(&[&a]);
    full_mesh(&[&a, &b, &c]);
    // Enough names that each member is the home of some.
    let names: Vec<String> = (0..12).map(|i| format!("dir-{i}")).collect();
    for name in &names {
        c.bind(name, &c.spawn(account())).unwrap();
    }
    for name in &names {
        let acct = a.lookup::<Account>(name).unwrap();
        notify!(acct, deposit(1));
        assert_eq!(query!(acct, balance()).wait(), Ok(1), "{name}");
    }
    // Unbound names are not found, whichever member is their home.
    for name in &names[..6] {
        assert!(c.unbind(name));
    }
    for name in &names[..6] {
        for theatre in [&a, &b] {
            let found = theatre.lookup::<Account>(name);
            assert!(
                matches!(found, Err(NetError::NotFound(_))),
                "{name}: {found:?}"
            );
        }
    }
    // A member joins: the names are spread again and still found from everywhere.
    let d = theatre(&[&a]);
    full_mesh(&[&a, &b, &c, &d]);
    for name in &names[6..] {
        for theatre in [&a, &b, &d] {
            let acct = theatre.lookup::<Account>(name).unwrap();
            assert_eq!(query!(acct, balance()).wait(), Ok(1), "{name}");
        }
    }
    // The binding theatre leaves: its names are reported gone.
    c.shutdown();
    wait_until("c is gone", || {
        [&a, &b, &d].iter().all(|t| t.peers().len() == 2)
    });
    for name in &names[6..] {
        let found = a.lookup::<Account>(name);
        assert!(
            matches!(found, Err(NetError::NotFound(_))),
            "{name}: {found:?}"
        );
    }
}

#[test]
fn one_name_asked_for_as_two_actor_types_fails_the_second_and_nothing_else() {
    let (a, _) = room_theatre(&[]);
    let (b, _) = room_theatre(&[&a]);
    full_mesh(&[&a, &b]);
    for theatre in [&a, &b] {
        let room = theatre.named::<Room>("mixed");
        notify!(room, enter(1));
        assert!(query!(room, entered()).wait().is_ok());
        let other = theatre.named::<Other>("mixed");
        let answer = query!(other, hello()).wait();
        assert!(
            matches!(&answer, Err(SpeechError::Failed(Failure::Wire(why))) if why.contains("another actor type")),
            "{answer:?}"
        );
        // The connection and the room carry on.
        assert!(query!(room, entered()).wait().is_ok());
    }
    assert_eq!(a.peers().len(), 1);
}

#[test]
fn lookups_follow_hints_and_a_stale_hint_is_never_trusted() {
    let (a, _) = room_theatre(&[]);
    let (b, _) = room_theatre(&[&a]);
    let (c, _) = room_theatre(&[&a]);
    let (d, _) = room_theatre(&[&a]);
    let theatres = [&a, &b, &c, &d];
    full_mesh(&theatres);
    // A room started on demand is not filed in the directory: the first lookup
    // asks the name's home and then every member; the next asks only the theatre
    // it was found on.
    let lounge = a.named::<Room>("lounge");
    notify!(lounge, enter(1));
    wait_until("the lounge started", || {
        query!(lounge, entered()).wait() == Ok(1)
    });
    let asked = |t: &Theatre| {
        let before = t.questions_asked();
        let room = t.lookup::<Room>("lounge").unwrap();
        assert_eq!(query!(room, entered()).wait(), Ok(1));
        (room.is_local(), t.questions_asked() - before)
    };
    let mut askers = 0;
    for t in theatres {
        let (local, first) = asked(t);
        if local {
            continue;
        }
        askers += 1;
        assert!(
            first >= 3,
            "the home, then the three other members: {first}"
        );
        assert_eq!(asked(t), (false, 1), "one question, to the hinted theatre");
    }
    assert_eq!(askers, 3);

    // The hinted theatre unbinds the name and another binds it: the hint is asked,
    // says no, and the lookup finds the new binding.
    c.bind("desk", &c.spawn(account())).unwrap();
    let first = a.lookup::<Account>("desk").unwrap();
    notify!(first, deposit(7));
    assert_eq!(query!(first, balance()).wait(), Ok(7));
    assert!(c.unbind("desk"));
    d.bind("desk", &d.spawn(account())).unwrap();
    let second = a.lookup::<Account>("desk").unwrap();
    assert_eq!(query!(second, balance()).wait(), Ok(0), "not the old actor");
    // A hint to a theatre that left is dropped with it.
    d.shutdown();
    wait_until("d is gone", || a.peers().len() == 2);
    assert!(matches!(
        a.lookup::<Account>("desk"),
        Err(NetError::NotFound(_))
    ));
}

#[test]
fn star_form_expressions_reach_a_named_actor_from_its_home_and_from_afar() {
    let (a, _) = room_theatre(&[]);
    let (b, _) = room_theatre(&[&a]);
    let (c, _) = room_theatre(&[&a]);
    full_mesh(&[&a, &b, &c]);
    // Through a named address the expression goes to the name's home, whichever
    // theatre asks: one of the three is that home (delivered there without a
    // socket), the others send it.
    for (i, theatre) in [&a, &b, &c].into_iter().enumerate() {
        let hall = theatre.named::<Room>("hall");
        notify!(hall, enter(u32::try_from(i).unwrap()));
        let extra = 10 * (i + 1);
        let seen = query!(hall 's entered with entered() + extra).wait();
        assert_eq!(seen, Ok(i + 1 + extra), "from theatre {i}");
    }
}

#[test]
fn events_that_arrive_together_are_queued_together_in_order_and_a_bad_one_alone_is_dropped() {
    let a = theatre(&[]);
    let first = a.spawn(account());
    let second = a.spawn(account());
    a.bind("first", &first).unwrap();
    a.bind("second", &second).unwrap();
    let me = Identity {
        theatre: 11,
        locator: "stage://127.0.0.1:1",
        cookie: COOKIE.as_bytes(),
    };
    let mut peer = raw(&a);
    handshake::connect(&mut peer, &me).unwrap();
    let tag = stage_runtime::remote::type_tag::<Account>();
    // `mark(sender, seq)` is the second handler; its arguments an array of two.
    let mark = |to: &Addr<Account>, seq: u32, out: &mut Vec<u8>| {
        let mut args = vec![0x92, 0x07];
        rmp::encode::write_uint(&mut args, u64::from(seq)).unwrap();
        frame::encode_tell(to.id().to_wire(), tag, 1, &args, out);
    };
    // One write: runs for the first actor, broken by events for the second and by
    // one whose arguments do not decode.
    let mut bytes = Vec::new();
    for seq in 0..300 {
        mark(&first, seq, &mut bytes);
        if seq % 7 == 0 {
            mark(&second, seq, &mut bytes);
        }
        if seq == 150 {
            frame::encode_tell(
                first.id().to_wire(),
                tag,
                1,
                &[0x92, 0xc1, 0xc1],
                &mut bytes,
            );
        }
    }
    peer.write_all(&bytes).unwrap();
    wait_until("all arrived", || {
        query!(first, log()).wait().map(|l| l.len()) == Ok(300)
            && query!(second, log()).wait().map(|l| l.len()) == Ok(43)
    });
    let expected = |step: usize| {
        (0..300)
            .step_by(step)
            .map(|seq| (7, seq))
            .collect::<Vec<_>>()
    };
    assert_eq!(query!(first, log()).wait(), Ok(expected(1)));
    assert_eq!(query!(second, log()).wait(), Ok(expected(7)));
    // The connection is still open: one more event is taken.
    let mut more = Vec::new();
    mark(&second, 1000, &mut more);
    peer.write_all(&more).unwrap();
    wait_until("the late event arrived", || {
        query!(second, log()).wait().map(|l| l.len()) == Ok(44)
    });
}
