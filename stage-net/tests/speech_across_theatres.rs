//! Speech acts between theatres: every form, per-sender order, Star-form expressions, and events that arrive together.
//!
//! Theatres over real TCP sockets on loopback, several in one process.

mod common;

use common::*;

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
        window: 1 << 20,
        frame_limit: 1 << 20,
        observer: false,
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
