//! The coordination programs: SALSA's Fibonacci and multicast protocols, the sieve,
//! Stage's train operator and chat room, and seed 004's channels as actors.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::Duration;

use stage_examples::channels::{AsyncChannel, SyncChannel};
use stage_examples::{chat, fibonacci, multicast, sieve, trains, Captured};
use stage_runtime::drivers::Keyboard;
use stage_runtime::prelude::*;

/// Runs `f` on its own thread, failing the test instead of hanging.
fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(f()));
    rx.recv_timeout(Duration::from_secs(120))
        .expect("finished in time")
}

#[test]
fn fibonacci_of_20_by_join_and_delegation_on_one_worker() {
    // With a single worker, any actor that blocked waiting would stall the program.
    let value = within(|| {
        let stage = Stage::builder().workers(1).build();
        let out = stage.spawn(Stdout::to_writer(std::io::sink()));
        stage.block_on(fibonacci::run(20, out))
    });
    assert_eq!(value, Ok(6765));
}

#[test]
fn the_three_multicast_protocols() {
    let stage = Stage::builder().workers(2).build();
    let log = stage.spawn(Stdout::to_writer(std::io::sink()));
    let basic_group = stage.block_on(async {
        // Basic: fire and forget; every member gets m eventually.
        let (director, group) = multicast::director(50, log.clone());
        assert_eq!(request!(director, basic()).await, Ok(50));
        // Acknowledged: `done` runs after every member processed m.
        let (director, acked) = multicast::director(50, log.clone());
        assert_eq!(request!(director, acknowledged()).await, Ok(50));
        for member in &acked {
            assert_eq!(query!(member, state()).await, Ok((1, false)));
        }
        // Group knowledge: after the second phase everybody knows.
        let (director, knowing) = multicast::director(50, log.clone());
        assert_eq!(request!(director, group_knowledge()).await, Ok(50));
        for member in &knowing {
            assert_eq!(query!(member, state()).await, Ok((1, true)));
        }
        group
    });
    // The basic protocol promises nothing until the messages have been processed.
    stage.wait_quiescent();
    for member in &basic_group {
        assert_eq!(query!(member, state()).wait(), Ok((1, false)));
    }
}

#[test]
fn the_sieve_finds_the_first_thousand_primes() {
    let stage = Stage::builder().workers(2).build();
    let primes = sieve::first_primes(&stage, 1_000).expect("sieved");
    // The same by trial division.
    let expected: Vec<u64> = (2u64..)
        .filter(|n| (2..).take_while(|d| d * d <= *n).all(|d| n % d != 0))
        .take(1_000)
        .collect();
    assert_eq!(primes, expected);
}

#[test]
fn the_train_operator_chain_is_pipelined() {
    let stage = Stage::builder().workers(2).build();
    let captured = Captured::default();
    let out = stage.spawn(Stdout::to_writer(captured.clone()));
    let line = stage.block_on(trains::run(out)).expect("answered");
    assert_eq!(line, "the express is running at 300 km/h");
    stage.wait_quiescent();
    assert_eq!(captured.text(), "the express is running at 300 km/h\n");
}

#[test]
fn an_async_put_never_waits_for_a_get_and_a_sync_put_does() {
    let stage = Stage::builder().workers(2).build();
    stage.block_on(async {
        let channel = spawn(AsyncChannel::default());
        for n in 0..10 {
            // Acknowledged with no get anywhere.
            assert_eq!(request!(channel, put(format!("m{n}"))).await, Ok(()));
        }
        for n in 0..10 {
            assert_eq!(request!(channel, get()).await, Ok(format!("m{n}")));
        }

        let channel = spawn(SyncChannel::default());
        let puts: Vec<_> = (0..3)
            .map(|n| request!(channel, put(format!("s{n}"))))
            .collect();
        while query!(channel, waiting_puts()).await != Ok(3) {
            futures_lite::future::yield_now().await;
        }
        // All three are in the channel, none acknowledged: no get yet.
        assert!(puts.iter().all(|p| !p.is_ready()));
        assert_eq!(request!(channel, get()).await, Ok("s0".to_string()));
        let mut puts = puts.into_iter();
        assert_eq!(puts.next().expect("first").await, Ok(()));
        // A get that comes first waits for the next put instead.
        assert_eq!(request!(channel, get()).await, Ok("s1".to_string()));
        assert_eq!(request!(channel, get()).await, Ok("s2".to_string()));
        let early_get = request!(channel, get());
        assert_eq!(request!(channel, put("late".to_string())).await, Ok(()));
        assert_eq!(early_get.await, Ok("late".to_string()));
        for put in puts {
            assert_eq!(put.await, Ok(()));
        }
    });
}

#[test]
fn the_chat_room_delivers_every_line_to_every_user_in_order() {
    let stage = Stage::builder().workers(2).build();
    let captured = Captured::default();
    let out = stage.spawn(Stdout::to_writer(captured.clone()));
    let script = |lines: &[&str]| Keyboard::from_reader(std::io::Cursor::new(lines.join("\n")));
    let users = vec![
        ("john", script(&["hello", "anyone here?", "bye"])),
        ("susan", script(&["hi john", "yes"])),
        ("ada", script(&[])),
    ];
    stage.block_on(chat::run(users, out)).expect("started");
    stage.wait_quiescent();
    let text = captured.text();
    let mut heard: HashMap<&str, Vec<&str>> = HashMap::new();
    for line in text.lines() {
        let (who, msg) = line
            .strip_prefix('[')
            .and_then(|l| l.split_once("] > "))
            .expect("a chat line");
        heard.entry(who).or_default().push(msg);
    }
    for who in ["john", "susan", "ada"] {
        let lines = &heard[who];
        assert_eq!(lines.len(), 5, "{who} heard {lines:?}");
        let from = |speaker: &str| -> Vec<&str> {
            lines
                .iter()
                .copied()
                .filter(|l| l.starts_with(speaker))
                .collect()
        };
        assert_eq!(
            from("john: "),
            ["john: hello", "john: anyone here?", "john: bye"]
        );
        assert_eq!(from("susan: "), ["susan: hi john", "susan: yes"]);
    }
}
