//! Addresses inside messages: they travel and work where they arrive; a stage serves one theatre.
//!
//! Theatres over real TCP sockets on loopback, several in one process.

mod common;

use common::*;

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
