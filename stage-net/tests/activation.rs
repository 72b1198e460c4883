//! Activation on demand: one actor per name, started on the name's home.
//!
//! Theatres over real TCP sockets on loopback, several in one process.

mod common;

use common::*;

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

/// Two senders on two theatres race to start the same name, each sending before it
/// awaits anything (issue 16, defect 1): no letter of either is lost or refused,
/// for name after name.
#[test]
fn two_senders_racing_to_activate_a_name_lose_no_letter() {
    const NAMES: usize = 300;
    const EVENTS: usize = 40;
    let (a, _) = room_theatre(&[]);
    let (b, _) = room_theatre(&[&a]);
    let (c, _) = room_theatre(&[&a, &b]);
    full_mesh(&[&a, &b, &c]);
    for round in 0..NAMES {
        let name = format!("fresh-{round}");
        let barrier = Arc::new(Barrier::new(2));
        let senders: Vec<_> = [(a.clone(), 1u32), (b.clone(), 2)]
            .into_iter()
            .map(|(theatre, who)| {
                let (name, barrier) = (name.clone(), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    let room = theatre.named::<Room>(&name);
                    barrier.wait();
                    for _ in 0..EVENTS {
                        let sent = notify!(room, enter(who));
                        assert!(sent.is_ok(), "{name}: {:?}", sent.err());
                    }
                    let asks: Vec<_> = (0..5).map(|_| query!(room, entered())).collect();
                    asks.into_iter().map(Reply::wait).collect::<Vec<_>>()
                })
            })
            .collect();
        for sender in senders {
            for answer in sender.join().unwrap() {
                assert!(answer.is_ok(), "{name}: a query was answered {answer:?}");
            }
        }
        // Each sender's queries came after its events: all of them are in.
        let room = c.named::<Room>(&name);
        assert_eq!(query!(room, entered()).wait(), Ok(2 * EVENTS), "{name}");
    }
}
