//! Universal names: bind, lookup (type-checked), unbind, hints, and a departed theatre's names.
//!
//! Theatres over real TCP sockets on loopback, several in one process.

mod common;

use common::*;

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
    // The binding theatre leaves: its (mobile) actors move away first, and
    // their names follow them.
    c.shutdown();
    wait_until("c is gone", || {
        [&a, &b, &d].iter().all(|t| t.peers().len() == 2)
    });
    for name in &names[6..] {
        for theatre in [&a, &b, &d] {
            let acct = theatre.lookup::<Account>(name).unwrap();
            assert_eq!(query!(acct, balance()).wait(), Ok(1), "{name}");
        }
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
    // A hint to a theatre that left is dropped with it: the lookup finds the
    // actor where it moved when its theatre left.
    notify!(second, deposit(3));
    assert_eq!(query!(second, balance()).wait(), Ok(3));
    d.shutdown();
    wait_until("d is gone", || a.peers().len() == 2);
    let moved = a.lookup::<Account>("desk").unwrap();
    assert_eq!(query!(moved, balance()).wait(), Ok(3));
}
