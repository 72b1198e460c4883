//! One letter too large for the wire fails alone, at its sender, with a reason
//! naming its size and the limit: the connection and every other letter on it
//! carry on (DESIGN 6.1).
//!
//! Theatres over real TCP sockets on loopback, in one process.

use std::time::Duration;

use stage_net::frame::DEFAULT_FRAME_LIMIT;
use stage_net::Theatre;
use stage_runtime::prelude::*;

const COOKIE: &str = "one-bad-letter";

#[actor(mobile)]
struct Sink {
    got: Vec<usize>,
}

#[behaviour]
impl Sink {
    #[request]
    fn put(&mut self, bytes: Vec<u8>) -> usize {
        self.got.push(bytes.len());
        bytes.len()
    }

    #[on(drop_in)]
    fn drop_in(&mut self, bytes: Vec<u8>) {
        self.got.push(bytes.len());
    }

    #[query]
    fn sizes(&self) -> Vec<usize> {
        self.got.clone()
    }
}

fn pair() -> (Theatre, Theatre) {
    pair_with_limit(DEFAULT_FRAME_LIMIT)
}

/// Two theatres; the first (`here`) takes frames of at most `limit` bytes.
fn pair_with_limit(limit: u32) -> (Theatre, Theatre) {
    let here = Theatre::builder()
        .cookie(COOKIE)
        .frame_limit(limit)
        .down_after(Duration::from_secs(5))
        .start()
        .expect("a theatre starts");
    let there = Theatre::builder()
        .cookie(COOKIE)
        .down_after(Duration::from_secs(5))
        .join([here.locator()])
        .start()
        .expect("a theatre joins");
    (here, there)
}

fn over_the_limit(error: &SpeechError) -> bool {
    match error {
        SpeechError::Failed(Failure::Wire(why)) => {
            why.contains("5242") && why.contains(&(4u32 << 20).to_string())
        }
        _ => false,
    }
}

#[test]
fn an_oversized_request_fails_alone_and_the_link_carries_on() {
    let (here, there) = pair();
    here.bind("sink", &here.spawn(Sink { got: Vec::new() }))
        .unwrap();
    let sink = there.lookup::<Sink>("sink").unwrap();
    let before = request!(sink, put(vec![1u8; 10]));
    // 5 MiB against the default 4 MiB frame limit.
    let too_big = request!(sink, put(vec![7u8; 5 << 20]));
    let after = request!(sink, put(vec![2u8; 20]));
    let error = too_big.wait().unwrap_err();
    assert!(over_the_limit(&error), "{error:?}");
    assert_eq!(before.wait(), Ok(10));
    assert_eq!(after.wait(), Ok(20));
    assert_eq!(query!(sink, sizes()).wait(), Ok(vec![10, 20]));
    assert_eq!(there.peers(), vec![here.locator().to_owned()]);
}

#[test]
fn an_oversized_event_is_refused_at_its_sender_and_the_next_ones_arrive() {
    let (here, there) = pair();
    here.bind("sink", &here.spawn(Sink { got: Vec::new() }))
        .unwrap();
    let sink = there.lookup::<Sink>("sink").unwrap();
    assert!(notify!(sink, drop_in(vec![1u8; 3])).is_ok());
    let refused = notify!(sink, drop_in(vec![7u8; 5 << 20]));
    let error = refused.err().expect("the oversized event is refused");
    assert!(over_the_limit(&error), "{error:?}");
    assert!(notify!(sink, drop_in(vec![2u8; 4])).is_ok());
    // Events from one sender arrive in order: the query after them sees both.
    assert_eq!(query!(sink, sizes()).wait(), Ok(vec![3, 4]));
}

#[test]
fn a_letter_over_the_receivers_smaller_limit_fails_alone_at_the_sender() {
    // The receiver takes at most 1 MiB; the sender itself would take 4 MiB. Each
    // announces its limit in the handshake, so the sender checks the receiver's.
    let (here, there) = pair_with_limit(1 << 20);
    here.bind("sink", &here.spawn(Sink { got: Vec::new() }))
        .unwrap();
    let sink = there.lookup::<Sink>("sink").unwrap();
    let error = request!(sink, put(vec![7u8; 2 << 20])).wait().unwrap_err();
    match &error {
        SpeechError::Failed(Failure::Wire(why)) => {
            assert!(why.contains(&(1u32 << 20).to_string()), "{why}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(request!(sink, put(vec![2u8; 20])).wait(), Ok(20));
    assert_eq!(there.peers(), vec![here.locator().to_owned()]);
}
