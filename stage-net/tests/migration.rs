//! Live migration between theatres (DESIGN 6, Stage's `migrate_to`): an actor
//! moves between two of its turns with nothing lost, nothing duplicated, its
//! per-sender order kept, and every address of it still working; a move that
//! fails leaves it where it was, and it hears why.
//!
//! Theatres over real TCP sockets on loopback, in one process.

mod common;

use common::*;
use stage_runtime::remote::type_tag;

/// Letters each sender sends in the streaming tests.
const LETTERS: u32 = 10_000;

/// Sends `mark(sender, seq)` for every `seq`, retrying a letter refused `Busy`
/// (refused: not accepted, so it is sent again, in its place).
fn stream(account: &Addr<Account>, sender: u32, letters: u32) {
    for seq in 0..letters {
        loop {
            match notify!(account, mark(sender, seq)).result() {
                Ok(()) => break,
                Err(SpeechError::Denied(Reason::Busy)) => std::thread::yield_now(),
                Err(other) => panic!("sender {sender}, letter {seq}: {other}"),
            }
        }
    }
}

/// Every sender's letters arrived once each, in the order sent.
fn assert_each_once_in_order(log: &[(u32, u32)], senders: u32, letters: u32) {
    for sender in 0..senders {
        let seen: Vec<u32> = log
            .iter()
            .filter(|(s, _)| *s == sender)
            .map(|(_, seq)| *seq)
            .collect();
        let expected: Vec<u32> = (0..letters).collect();
        if seen != expected {
            let first_wrong = seen
                .iter()
                .zip(&expected)
                .position(|(a, b)| a != b)
                .unwrap_or(seen.len().min(expected.len()));
            panic!(
                "sender {sender}: {} letters seen for {letters} sent; first difference at {first_wrong}: {:?}",
                seen.len(),
                &seen[first_wrong.saturating_sub(2)..(first_wrong + 3).min(seen.len())]
            );
        }
    }
}

/// Waits until `query` answers `Some`, at most 30 s.
fn eventually<T>(what: &str, mut query: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = query() {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: not within 30 s");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Move number `moves` of the actor bound to `name`, back and forth between
/// the two theatres: from the first to the second when `moves` is even.
fn bounce<A: stage_runtime::Movable>((a, b): (&Theatre, &Theatre), name: &str, moves: u32) {
    hop::<A>(&[a, b], name, moves);
}

/// Move number `moves` of the actor bound to `name`, round `ring`: from its
/// `moves`-th theatre to the next.
fn hop<A: stage_runtime::Movable>(ring: &[&Theatre], name: &str, moves: u32) {
    let at = moves as usize % ring.len();
    let (from, to) = (ring[at], ring[(at + 1) % ring.len()]);
    let here = from.lookup::<A>(name).unwrap();
    assert!(here.is_local(), "move {moves}");
    // Just back, the actor stays until the letters sent the old way have
    // come round (`Busy`): ask again.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let moved = from
            .migrate(&here, to.locator())
            .wait_timeout(Duration::from_secs(30));
        match moved {
            Ok(()) => return,
            Err(SpeechError::Failed(Failure::Migration(MigrationError::Busy)))
                if Instant::now() < deadline =>
            {
                std::thread::yield_now();
            }
            Err(error) => panic!("move {moves}: {error}"),
        }
    }
}

#[test]
fn a_stream_from_three_senders_is_delivered_once_and_in_order_across_moves() {
    let origin = theatre(&[]);
    let target = theatre(&[&origin]);
    let third = theatre(&[&origin, &target]);
    full_mesh(&[&origin, &target, &third]);
    let account = origin.spawn(account());
    origin.bind("moving/account", &account).unwrap();
    let from_target = target.lookup::<Account>("moving/account").unwrap();
    let from_third = third.lookup::<Account>("moving/account").unwrap();

    let senders = [account.clone(), from_target, from_third];
    let streams: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(sender, addr)| std::thread::spawn(move || stream(&addr, sender as u32, LETTERS)))
        .collect();
    // Back and forth while the letters flow: after some have arrived, to the
    // target; later, back.
    eventually("the first letters", || {
        (query!(account, log()).wait().ok()?.len() > 1_000).then_some(())
    });
    origin.migrate(&account, target.locator()).wait().unwrap();
    assert!(
        !account.is_local(),
        "the origin's address follows the actor"
    );
    eventually("more letters", || {
        (query!(account, log()).wait().ok()?.len() > 15_000).then_some(())
    });
    target
        .migrate(&from_target_addr(&target), origin.locator())
        .wait()
        .unwrap();
    for stream in streams {
        stream.join().unwrap();
    }
    let log = eventually("every letter", || {
        let log = query!(account, log()).wait().ok()?;
        (log.len() >= 3 * LETTERS as usize).then_some(log)
    });
    assert_eq!(log.len(), 3 * LETTERS as usize, "nothing twice");
    assert_each_once_in_order(&log, 3, LETTERS);
}

/// The actor bound to `moving/account`, as the target (where it now runs) sees it.
fn from_target_addr(target: &Theatre) -> Addr<Account> {
    let addr = target.lookup::<Account>("moving/account").unwrap();
    assert!(addr.is_local(), "the name followed the actor to the target");
    addr
}

#[test]
fn questions_waiting_at_the_origin_are_answered_from_the_target() {
    let origin = theatre(&[]);
    let target = theatre(&[&origin]);
    let account = origin.spawn(Account {
        balance: 100,
        log: vec![],
    });
    // The actor is busy; questions queue behind it, then the move is asked for,
    // then more questions.
    let nap = request!(account, nap(300));
    let before: Vec<_> = (0..50).map(|_| request!(account, withdraw(1))).collect();
    let moved = origin.migrate(&account, target.locator());
    let after: Vec<_> = (0..50).map(|_| request!(account, withdraw(1))).collect();
    assert_eq!(nap.wait(), Ok(()));
    assert_eq!(moved.wait(), Ok(()));
    let mut balances: Vec<i64> = before
        .into_iter()
        .chain(after)
        .map(|reply| reply.wait().unwrap().unwrap())
        .collect();
    let expected: Vec<i64> = (0..100).rev().collect();
    assert_eq!(balances, expected, "each answered once, in order");
    balances.clear();
    assert_eq!(query!(account, balance()).wait(), Ok(0));
    assert!(!account.is_local());
}

#[test]
fn a_move_to_an_unreachable_theatre_leaves_the_actor_home() {
    let origin = theatre(&[]);
    let account = origin.spawn(Account {
        balance: 7,
        log: vec![],
    });
    // A port nobody listens on.
    let nobody = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let locator = format!("stage://{}", nobody.local_addr().unwrap());
    drop(nobody);
    let moved = origin.migrate(&account, &locator).wait();
    match moved {
        Err(SpeechError::Failed(Failure::Migration(MigrationError::Unreachable(_)))) => {}
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(account.is_local());
    assert_eq!(query!(account, balance()).wait(), Ok(7));
    notify!(account, deposit(1)).result().unwrap();
    assert_eq!(query!(account, balance()).wait(), Ok(8));
}

/// An actor that moves itself, counts its arrivals, and records every failure.
#[actor(mobile)]
struct Walker {
    arrivals: Vec<String>,
    failures: Vec<String>,
    /// What it had seen when `#[arrived]` ran: letters processed before it.
    seen_at_arrival: Vec<u32>,
    seen: Vec<u32>,
    /// A state the target refuses: it does not decode there.
    #[serde(deserialize_with = "refuse_poison")]
    poison: bool,
}

fn refuse_poison<'de, D: stage_runtime::__private::serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<bool, D::Error> {
    use stage_runtime::__private::serde::de::Error;
    let poison = <bool as stage_runtime::__private::serde::Deserialize>::deserialize(deserializer)?;
    if poison {
        return Err(D::Error::custom("a poisoned walker"));
    }
    Ok(poison)
}

impl Walker {
    fn new(poison: bool) -> Self {
        Walker {
            arrivals: vec![],
            failures: vec![],
            seen_at_arrival: vec![],
            seen: vec![],
            poison,
        }
    }
}

#[behaviour]
impl Walker {
    #[on(go)]
    fn go(&mut self, ctx: &mut Ctx<Self>, to: String) {
        ctx.migrate_to(to);
    }

    #[on(step)]
    fn step(&mut self, n: u32) {
        self.seen.push(n);
    }

    #[arrived]
    fn arrived(&mut self, ctx: &mut Ctx<Self>) {
        self.arrivals.push(ctx.locator().unwrap_or_default());
        self.seen_at_arrival = self.seen.clone();
    }

    #[migration_failed]
    fn stayed(&mut self, error: MigrationError) {
        self.failures.push(error.to_string());
    }

    #[query]
    fn report(&self) -> (Vec<String>, Vec<String>, Vec<u32>, Vec<u32>) {
        (
            self.arrivals.clone(),
            self.failures.clone(),
            self.seen_at_arrival.clone(),
            self.seen.clone(),
        )
    }

    #[request]
    fn befriend(&mut self, ctx: &mut Ctx<Self>, friend: Addr<Walker>) {
        ctx.befriend(&friend);
    }
}

#[test]
fn an_actor_moves_itself_and_arrived_runs_before_any_letter_that_followed() {
    let origin = theatre(&[]);
    let target = theatre(&[&origin]);
    let walker = origin.spawn(Walker::new(false));
    notify!(walker, step(1)).result().unwrap();
    notify!(walker, go(target.locator().to_owned()))
        .result()
        .unwrap();
    for n in 2..=100 {
        notify!(walker, step(n)).result().unwrap();
    }
    let (arrivals, failures, at_arrival, seen) = query!(walker, report()).wait().unwrap();
    assert_eq!(arrivals, vec![target.locator().to_owned()]);
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(
        at_arrival,
        vec![1],
        "nothing sent after the move ran before #[arrived]"
    );
    assert_eq!(seen, (1..=100).collect::<Vec<_>>());
    assert!(!walker.is_local());
}

#[test]
fn a_refused_state_leaves_the_actor_home_and_it_hears_why() {
    let origin = theatre(&[]);
    let target = theatre(&[&origin]);
    let walker = origin.spawn(Walker::new(true));
    notify!(walker, go(target.locator().to_owned()))
        .result()
        .unwrap();
    notify!(walker, step(1)).result().unwrap();
    let (arrivals, failures, _, seen) = query!(walker, report()).wait().unwrap();
    assert!(arrivals.is_empty());
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("poisoned walker"), "{failures:?}");
    assert_eq!(seen, vec![1]);
    assert!(walker.is_local());
    // From outside, the reply says the same.
    match origin.migrate(&walker, target.locator()).wait() {
        Err(SpeechError::Failed(Failure::Migration(MigrationError::Refused(why)))) => {
            assert!(why.contains("poisoned walker"), "{why}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_second_move_during_the_first_ones_forwarding_loses_nothing() {
    let a = theatre(&[]);
    let b = theatre(&[&a]);
    let c = theatre(&[&a, &b]);
    full_mesh(&[&a, &b, &c]);
    let walker = a.spawn(Walker::new(false));
    // Letters queue behind both moves: the second is asked for at B before the
    // letters forwarded from A have all been processed.
    notify!(walker, go(b.locator().to_owned()))
        .result()
        .unwrap();
    for n in 0..2_000 {
        notify!(walker, step(n)).result().unwrap();
    }
    notify!(walker, go(c.locator().to_owned()))
        .result()
        .unwrap();
    for n in 2_000..4_000 {
        notify!(walker, step(n)).result().unwrap();
    }
    let (arrivals, failures, _, seen) = query!(walker, report()).wait().unwrap();
    assert_eq!(
        arrivals,
        vec![b.locator().to_owned(), c.locator().to_owned()]
    );
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(seen, (0..4_000).collect::<Vec<_>>());
}

#[test]
fn a_clique_moves_together_and_a_failed_clique_move_leaves_all_home() {
    let origin = theatre(&[]);
    let target = theatre(&[&origin]);
    let members: Vec<Addr<Walker>> = (0..3).map(|_| origin.spawn(Walker::new(false))).collect();
    request!(members[0], befriend(members[1].clone()))
        .wait()
        .unwrap();
    request!(members[1], befriend(members[2].clone()))
        .wait()
        .unwrap();
    // Moving the last one moves all three (friendship is mutual and transitive).
    origin
        .migrate(&members[2], target.locator())
        .wait()
        .unwrap();
    for member in &members {
        let (arrivals, ..) = query!(member, report()).wait().unwrap();
        assert_eq!(arrivals, vec![target.locator().to_owned()]);
        assert!(!member.is_local());
    }

    // A clique with one member the target refuses: nobody moves.
    let mut members: Vec<Addr<Walker>> = (0..2).map(|_| origin.spawn(Walker::new(false))).collect();
    members.push(origin.spawn(Walker::new(true)));
    request!(members[0], befriend(members[1].clone()))
        .wait()
        .unwrap();
    request!(members[1], befriend(members[2].clone()))
        .wait()
        .unwrap();
    let moved = origin.migrate(&members[0], target.locator()).wait();
    assert!(
        matches!(
            moved,
            Err(SpeechError::Failed(Failure::Migration(
                MigrationError::Refused(_)
            )))
        ),
        "{moved:?}"
    );
    for member in &members {
        assert!(member.is_local());
        let (arrivals, failures, ..) = query!(member, report()).wait().unwrap();
        assert!(arrivals.is_empty());
        assert_eq!(failures.len(), 1, "every member hears why: {failures:?}");
    }
}

#[test]
fn addresses_inside_messages_and_on_third_theatres_follow_the_actor() {
    let origin = theatre(&[]);
    let target = theatre(&[&origin]);
    let third = theatre(&[&origin, &target]);
    full_mesh(&[&origin, &target, &third]);
    let account = origin.spawn(Account {
        balance: 0,
        log: vec![],
    });
    keeper_on(&third);
    let keeper = third.lookup::<Keeper>("keeper").unwrap();
    notify!(keeper, keep(account.clone())).result().unwrap();
    origin.migrate(&account, target.locator()).wait().unwrap();
    // The keeper's copy (sent before the move) still reaches the actor. (Each
    // `keep` deposits 10 through the address it is given.)
    let kept = query!(keeper, kept()).wait().unwrap().unwrap();
    notify!(kept, deposit(5)).result().unwrap();
    eventually("the deposits through the old address", || {
        (query!(kept, balance()).wait() == Ok(15)).then_some(())
    });
    // An address sent after the move names the new place.
    notify!(keeper, keep(account.clone())).result().unwrap();
    let kept = query!(keeper, kept()).wait().unwrap().unwrap();
    eventually("the deposit through the new address", || {
        (query!(kept, balance()).wait() == Ok(25)).then_some(())
    });
    // At the target, the address decodes to the local actor.
    assert_eq!(kept, account);
}

#[test]
fn a_forged_state_is_refused_and_starts_nothing() {
    let target = theatre(&[]);
    let me = Identity {
        theatre: 31,
        locator: "stage://127.0.0.1:1",
        cookie: COOKIE.as_bytes(),
        window: 1 << 20,
        frame_limit: 1 << 20,
        observer: false,
    };
    let mut stream = raw(&target);
    handshake::connect(&mut stream, &me).unwrap();
    let attempts = [
        // Not a state of the type it claims.
        (type_tag::<Account>(), vec![0xc1, 0x00, 0x13], "not a"),
        // Truncated.
        (type_tag::<Account>(), vec![0x92, 0x05], "not a"),
        // A type this program does not know as mobile.
        (0xdead_beef, vec![0x90], "not a mobile actor type"),
    ];
    for (call, (tag, state, why)) in attempts.into_iter().enumerate() {
        frame::write(
            &mut stream,
            &Frame::Migrate {
                actors: vec![frame::Traveller {
                    actor: (77, 1 + call as u64),
                    tag,
                    type_name: "Forged".into(),
                    state: state.into(),
                    names: vec!["forged/name".into()],
                }],
                call: call as u64,
            },
        )
        .unwrap();
        let answer = loop {
            match frame::read(&mut stream, 1 << 20).unwrap() {
                Frame::Migrated { call: c, result } if c == call as u64 => break result,
                _ => continue,
            }
        };
        let error = answer.expect_err("refused");
        assert!(error.contains(why), "{error}");
    }
    // Nothing was started or bound.
    assert!(matches!(
        target.lookup::<Account>("forged/name"),
        Err(NetError::NotFound(_))
    ));
}

#[test]
fn an_actor_that_comes_back_is_reached_through_every_address() {
    let origin = theatre(&[]);
    let target = theatre(&[&origin]);
    let account = origin.spawn(Account {
        balance: 0,
        log: vec![],
    });
    origin.bind("back/account", &account).unwrap();
    origin.migrate(&account, target.locator()).wait().unwrap();
    notify!(account, deposit(1)).result().unwrap();
    let there = target.lookup::<Account>("back/account").unwrap();
    assert!(there.is_local(), "the name followed the actor");
    target.migrate(&there, origin.locator()).wait().unwrap();
    assert!(!there.is_local());
    notify!(there, deposit(2)).result().unwrap();
    // The origin's first address went there and came back: it reaches the actor
    // through the target's forwarder, which the actor's return replaced here.
    assert_eq!(query!(account, balance()).wait(), Ok(3));
    let home = origin.lookup::<Account>("back/account").unwrap();
    assert!(home.is_local());
    assert_eq!(query!(home, balance()).wait(), Ok(3));
}

/// Three theatres in a full mesh, an account on the first bound to `name`, and
/// the address the third finds by that name.
fn three_with_account(name: &str) -> ([Theatre; 3], Addr<Account>, Addr<Account>) {
    let a = theatre(&[]);
    let b = theatre(&[&a]);
    let c = theatre(&[&a, &b]);
    full_mesh(&[&a, &b, &c]);
    let account = a.spawn(Account {
        balance: 0,
        log: vec![],
    });
    a.bind(name, &account).unwrap();
    let from_c = c.lookup::<Account>(name).unwrap();
    ([a, b, c], account, from_c)
}

#[test]
fn a_stream_to_an_actor_moving_back_and_forth_keeps_its_order() {
    let ([a, b, _c], account, from_c) = three_with_account("bouncing/account");
    let streaming = std::thread::spawn(move || stream(&from_c, 0, 4 * LETTERS));
    let mut moves = 0;
    while !streaming.is_finished() || moves < 4 {
        bounce::<Account>((&a, &b), "bouncing/account", moves);
        moves += 1;
    }
    streaming.join().unwrap();
    let log = eventually("every letter", || {
        let log = query!(account, log()).wait().ok()?;
        (log.len() >= 4 * LETTERS as usize).then_some(log)
    });
    assert_eq!(
        log.len(),
        4 * LETTERS as usize,
        "nothing twice ({moves} moves)"
    );
    assert_each_once_in_order(&log, 1, 4 * LETTERS);
}

#[test]
fn a_sender_switches_after_the_first_letter_and_no_longer_needs_the_old_place() {
    let ([origin, target, _sender], account, from_sender) = three_with_account("switch/account");
    origin.migrate(&account, target.locator()).wait().unwrap();
    // The first letters go through the origin's forwarder, which tells the
    // sender where the actor went; the answer comes back after that notice.
    notify!(from_sender, deposit(1)).result().unwrap();
    assert_eq!(query!(from_sender, balance()).wait(), Ok(1));
    // The old place leaves: the sender's letters go straight to the new one.
    origin.shutdown();
    for n in 2..=100 {
        notify!(from_sender, deposit(1)).result().unwrap();
        assert_eq!(query!(from_sender, balance()).wait(), Ok(n));
    }
}

#[test]
fn the_origin_switches_after_a_second_move_and_no_longer_needs_the_middle_place() {
    // The actor goes origin -> middle -> last. The origin's own address goes
    // through its forwarder, which sends to the alias the middle gave the
    // actor; the middle's forwarder tells the origin where the actor went under
    // that alias, and the origin switches.
    let ([origin, middle, last], account, _) = three_with_account("two-hops/account");
    origin.migrate(&account, middle.locator()).wait().unwrap();
    let at_middle = middle.lookup::<Account>("two-hops/account").unwrap();
    assert!(at_middle.is_local());
    middle.migrate(&at_middle, last.locator()).wait().unwrap();
    notify!(account, deposit(1)).result().unwrap();
    assert_eq!(query!(account, balance()).wait(), Ok(1));
    // The middle place leaves: the origin's letters go straight to the last.
    middle.shutdown();
    for n in 2..=100 {
        notify!(account, deposit(1)).result().unwrap();
        assert_eq!(query!(account, balance()).wait(), Ok(n));
    }
}

#[test]
fn an_actor_back_home_stays_reachable_when_a_theatre_it_passed_through_leaves() {
    let ([home, away, _third], account, from_third) = three_with_account("back-home/account");
    home.migrate(&account, away.locator()).wait().unwrap();
    let at_away = away.lookup::<Account>("back-home/account").unwrap();
    away.migrate(&at_away, home.locator()).wait().unwrap();
    notify!(from_third, deposit(1)).result().unwrap();
    assert_eq!(query!(from_third, balance()).wait(), Ok(1));
    // The watch of its end that this theatre's table keeps went through the
    // away theatre; that theatre leaves. The actor, home again, is still
    // reachable by its peers.
    away.shutdown();
    for n in 2..=50 {
        notify!(from_third, deposit(1)).result().unwrap();
        assert_eq!(query!(from_third, balance()).wait(), Ok(n));
    }
}

/// Sends numbered letters to an account, and moves when told.
#[actor(mobile)]
struct Mover {
    to: Addr<Account>,
    sent: u32,
}

#[behaviour]
impl Mover {
    #[on(burst)]
    fn burst(&mut self, ctx: &mut Ctx<Self>, letters: u32, then_move_to: Option<String>) {
        for _ in 0..letters {
            notify!(self.to, mark(0, self.sent));
            self.sent += 1;
        }
        if let Some(place) = then_move_to {
            ctx.migrate_to(place);
        }
    }
}

#[test]
fn what_a_moving_actor_sends_arrives_in_order_across_its_move() {
    let ([origin, target, third], _, _) = three_with_account("unused/account");
    let account = third.spawn(Account {
        balance: 0,
        log: vec![],
    });
    third.bind("receiver", &account).unwrap();
    let receiver = origin.lookup::<Account>("receiver").unwrap();
    let mover = origin.spawn(Mover {
        to: receiver,
        sent: 0,
    });
    // A burst from the origin, the move, then a burst from the target: the
    // second must not overtake the first, though they leave on two connections.
    notify!(mover, burst(LETTERS, Some(target.locator().to_owned())));
    notify!(mover, burst(LETTERS, None));
    let log = eventually("every letter", || {
        let log = query!(account, log()).wait().ok()?;
        (log.len() >= 2 * LETTERS as usize).then_some(log)
    });
    assert_each_once_in_order(&log, 1, 2 * LETTERS);
}

/// Whether the gate is open: the `Gate` actor's `shut` turn lasts until it is.
static GATE_OPEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// An actor whose `shut` turn keeps it busy until the test opens the gate, so
/// that letters pile up at its theatre; it logs the others.
#[actor(mobile)]
struct Gate {
    log: Vec<(u32, u32)>,
}

#[behaviour]
impl Gate {
    #[on(shut)]
    fn shut(&mut self) {
        while !GATE_OPEN.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[on(mark)]
    fn mark(&mut self, sender: u32, seq: u32) {
        self.log.push((sender, seq));
    }

    #[query]
    fn log(&self) -> Vec<(u32, u32)> {
        self.log.clone()
    }
}

#[test]
fn a_flood_forwarded_to_a_busy_actor_waits_for_its_theatres_window_and_loses_nothing() {
    let origin = theatre(&[]);
    // The actor's new place takes at most 4 KiB of letters from each peer: about
    // fifty of those below.
    let target = Theatre::builder()
        .listen("127.0.0.1:0")
        .cookie(COOKIE)
        .window(4 << 10)
        .join([origin.locator().to_owned()])
        .start()
        .unwrap();
    let sender = theatre(&[&origin, &target]);
    full_mesh(&[&origin, &target, &sender]);
    origin
        .bind("gate", &origin.spawn(Gate { log: vec![] }))
        .unwrap();
    let from_sender = sender.lookup::<Gate>("gate").unwrap();
    let gate = origin.lookup::<Gate>("gate").unwrap();
    origin.migrate(&gate, target.locator()).wait().unwrap();
    let at_target = target.lookup::<Gate>("gate").unwrap();
    assert!(at_target.is_local());
    notify!(at_target, shut()).result().unwrap();
    // The sender's letters go through the origin's forwarder to an actor that
    // takes none of them yet: far more than the target's window.
    let accepted = Arc::new(AtomicUsize::new(0));
    let streaming = {
        let accepted = Arc::clone(&accepted);
        std::thread::spawn(move || {
            for seq in 0..LETTERS {
                loop {
                    match notify!(from_sender, mark(0, seq)).result() {
                        Ok(()) => break,
                        Err(SpeechError::Denied(Reason::Busy)) => std::thread::yield_now(),
                        Err(other) => panic!("letter {seq}: {other}"),
                    }
                }
                accepted.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    eventually("letters past the target's window accepted", || {
        (accepted.load(Ordering::SeqCst) >= 1_000).then_some(())
    });
    GATE_OPEN.store(true, Ordering::SeqCst);
    streaming.join().unwrap();
    let log = eventually("every letter", || {
        let log = query!(at_target, log()).wait().ok()?;
        (log.len() >= LETTERS as usize).then_some(log)
    });
    assert_each_once_in_order(&log, 1, LETTERS);
}

/// Two streams, one from a theatre the actor never visits and one from a
/// theatre it keeps coming back to, while the actor moves back and forth as
/// fast as it can. Each return leaves letters on their way the old way round,
/// and each forwarder they meet leads to the actor's last place, not round the
/// history of its moves: before, letters went round a loop of forwarders until
/// both links of the loop were full, each waiting for the other's room.
#[test]
fn a_stream_chasing_an_actor_that_moves_back_and_forth_keeps_flowing() {
    chase(2);
}

/// As above, round three theatres: letters that missed the actor follow it
/// through a third place and may come back to where they started.
#[test]
fn a_stream_chasing_an_actor_round_three_theatres_keeps_flowing() {
    chase(3);
}

/// Streams `LETTERS` letters from a theatre outside `stops` and as many from
/// the first of the `stops`, while the actor hops round the `stops` (4 KiB
/// windows, so that any link waiting for another's room would fill within a
/// few moves); every letter arrives once, in order per sender.
fn chase(stops: usize) {
    let small = |seeds: &[&Theatre]| {
        Theatre::builder()
            .listen("127.0.0.1:0")
            .cookie(COOKIE)
            .window(4 << 10)
            .join(seeds.iter().map(|t| t.locator().to_owned()))
            .start()
            .unwrap()
    };
    let mut ring: Vec<Theatre> = Vec::new();
    for _ in 0..stops {
        let seeds: Vec<&Theatre> = ring.iter().collect();
        let stop = small(&seeds);
        ring.push(stop);
    }
    let ring: Vec<&Theatre> = ring.iter().collect();
    let outside = theatre(&ring);
    let everyone: Vec<&Theatre> = ring.iter().copied().chain([&outside]).collect();
    full_mesh(&everyone);
    ring[0]
        .bind("chased", &ring[0].spawn(Gate { log: vec![] }))
        .unwrap();
    let chased = outside.lookup::<Gate>("chased").unwrap();
    let moves = Arc::new(std::sync::atomic::AtomicU32::new(0));
    // Every `PACE` letters, each stream waits for two more moves, so that the
    // moves and the letters interleave however the threads are scheduled.
    const PACE: u32 = 500;
    let streams: Vec<_> = [chased.clone(), ring[1].lookup::<Gate>("chased").unwrap()]
        .into_iter()
        .enumerate()
        .map(|(sender, to)| {
            let moves = Arc::clone(&moves);
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(60);
                let mut seen = 0;
                for seq in 0..LETTERS {
                    if seq % PACE == 0 {
                        while moves.load(Ordering::SeqCst) < seen + 2 {
                            assert!(Instant::now() < deadline, "the actor stopped moving");
                            std::thread::yield_now();
                        }
                        seen = moves.load(Ordering::SeqCst);
                    }
                    loop {
                        match notify!(to, mark(sender as u32, seq)).result() {
                            Ok(()) => break,
                            Err(SpeechError::Denied(Reason::Busy)) => {
                                assert!(
                                    Instant::now() < deadline,
                                    "letter {seq} not accepted within 60 s: the stream stalled"
                                );
                                std::thread::yield_now();
                            }
                            Err(other) => panic!("letter {seq}: {other}"),
                        }
                    }
                }
            })
        })
        .collect();
    while streams.iter().any(|s| !s.is_finished()) {
        hop::<Gate>(&ring, "chased", moves.load(Ordering::SeqCst));
        moves.fetch_add(1, Ordering::SeqCst);
    }
    for stream in streams {
        stream.join().unwrap();
    }
    assert!(moves.load(Ordering::SeqCst) >= 2 * LETTERS / PACE);
    let log = eventually("every letter", || {
        let log = query!(chased, log())
            .wait_timeout(Duration::from_secs(5))
            .ok()?;
        (log.len() >= 2 * LETTERS as usize).then_some(log)
    });
    assert_each_once_in_order(&log, 2, LETTERS);
}

/// Stage's chat room, for the leaving theatre's test: what one says, every
/// member hears.
#[actor(mobile)]
struct Room {
    members: Vec<Addr<Listener>>,
}

#[behaviour]
impl Room {
    #[request]
    fn enter(&mut self, member: Addr<Listener>) -> usize {
        self.members.push(member);
        self.members.len()
    }

    #[on(say)]
    fn say(&mut self, line: String) {
        for member in &self.members {
            notify!(member, hear(line.clone()));
        }
    }
}

/// A chat member: keeps what it hears.
#[actor(mobile)]
struct Listener {
    heard: Vec<String>,
}

#[behaviour]
impl Listener {
    #[on(hear)]
    fn hear(&mut self, line: String) {
        self.heard.push(line);
    }

    #[query]
    fn heard(&self) -> Vec<String> {
        self.heard.clone()
    }
}

#[test]
fn the_theatre_running_the_chat_room_leaves_mid_conversation_and_no_line_is_lost() {
    const LINES: u32 = 2_000;
    let host = theatre(&[]);
    let ann = theatre(&[&host]);
    let bob = theatre(&[&host, &ann]);
    full_mesh(&[&host, &ann, &bob]);
    host.bind("chat", &host.spawn(Room { members: vec![] }))
        .unwrap();
    let speakers: Vec<_> = [&ann, &bob]
        .into_iter()
        .map(|user| {
            let room = user.lookup::<Room>("chat").unwrap();
            let me = user.spawn(Listener { heard: vec![] });
            request!(room, enter(me.clone())).wait().unwrap();
            (room, me)
        })
        .collect();
    // Each says half its lines, waits until the host is leaving, and says the
    // rest while it leaves and after.
    let halfway = Arc::new(Barrier::new(3));
    let talking: Vec<_> = speakers
        .iter()
        .enumerate()
        .map(|(who, (room, _))| {
            let room = room.clone();
            let halfway = Arc::clone(&halfway);
            std::thread::spawn(move || {
                for n in 0..LINES {
                    if n == LINES / 2 {
                        halfway.wait();
                    }
                    let line = format!("{who}:{n}");
                    loop {
                        match notify!(room, say(line.clone())).result() {
                            Ok(()) => break,
                            Err(SpeechError::Denied(Reason::Busy)) => std::thread::yield_now(),
                            Err(other) => panic!("{line}: {other}"),
                        }
                    }
                }
            })
        })
        .collect();
    halfway.wait();
    // In the middle of the conversation, the room's theatre leaves.
    host.shutdown();
    for talk in talking {
        talk.join().unwrap();
    }
    for (_, listener) in &speakers {
        let heard = eventually("every line", || {
            let heard = query!(listener, heard()).wait().ok()?;
            (heard.len() >= 2 * LINES as usize).then_some(heard)
        });
        assert_eq!(heard.len(), 2 * LINES as usize, "no line twice");
        for who in 0..2 {
            let said: Vec<String> = heard
                .iter()
                .filter(|line| line.starts_with(&format!("{who}:")))
                .cloned()
                .collect();
            let expected: Vec<String> = (0..LINES).map(|n| format!("{who}:{n}")).collect();
            assert_eq!(said, expected, "each speaker's lines, once and in order");
        }
    }
}

/// Whether the `Latch` actor's `hold` turn may end.
static LATCH_OPEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// Whether the `Stopper` actor's `hold` turn may end.
static STOPPER_OPEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A mobile actor whose `hold` turn lasts until `LATCH_OPEN`, so that letters
/// queue behind it; it logs the others.
#[actor(mobile)]
struct Latch {
    log: Vec<u32>,
}

#[behaviour]
impl Latch {
    #[on(hold)]
    fn hold(&mut self) {
        while !LATCH_OPEN.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[on(mark)]
    fn mark(&mut self, seq: u32) {
        self.log.push(seq);
    }

    #[query]
    fn log(&self) -> Vec<u32> {
        self.log.clone()
    }
}

/// An actor whose `hold` turn lasts until `STOPPER_OPEN`: the letters sent to
/// it meanwhile keep their theatre's window from its peer full.
#[actor]
struct Stopper;

#[behaviour]
impl Stopper {
    #[on(hold)]
    fn hold(&mut self) {
        while !STOPPER_OPEN.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[on(take)]
    fn take(&mut self, _seq: u32) {}
}

/// An actor comes back to a theatre whose forwarder still has letters waiting
/// for room on the link the other way; its fence waits behind them, and the
/// link breaks with it. The return's gate opens when that link's end is
/// known, not never: letters to the actor here are answered again.
#[test]
fn a_fence_lost_with_its_link_does_not_leave_the_actor_shut_away() {
    let home = theatre(&[]);
    let away = Theatre::builder()
        .listen("127.0.0.1:0")
        .cookie(COOKIE)
        .window(4 << 10)
        .join([home.locator().to_owned()])
        .start()
        .unwrap();
    let third = theatre(&[&home, &away]);
    full_mesh(&[&home, &away, &third]);
    // The away theatre's window for letters from home fills, and stays full.
    away.bind("lost-fence/stopper", &away.spawn(Stopper))
        .unwrap();
    let stopper = home.lookup::<Stopper>("lost-fence/stopper").unwrap();
    notify!(stopper, hold()).result().unwrap();
    let mut seq = 0;
    while notify!(stopper, take(seq)).result().is_ok() {
        seq += 1;
    }
    // The latch leaves home with letters in its mailbox: forwarded, they wait
    // at home for room on the full link.
    let latch = home.spawn(Latch { log: vec![] });
    home.bind("lost-fence/latch", &latch).unwrap();
    let from_third = third.lookup::<Latch>("lost-fence/latch").unwrap();
    notify!(latch, hold()).result().unwrap();
    for seq in 0..10 {
        notify!(latch, mark(seq)).result().unwrap();
    }
    let moved = home.migrate(&latch, away.locator());
    LATCH_OPEN.store(true, Ordering::SeqCst);
    moved.wait_timeout(Duration::from_secs(30)).unwrap();
    // Back home: its fence goes the old way round, behind those letters.
    let at_away = away.lookup::<Latch>("lost-fence/latch").unwrap();
    away.migrate(&at_away, home.locator())
        .wait_timeout(Duration::from_secs(30))
        .unwrap();
    // A letter from the third theatre, by the identity, waits at home for
    // the fence.
    let asked = query!(from_third, log());
    // The link breaks with the fence on it.
    assert!(home.sever(away.locator()));
    assert!(
        asked.wait_timeout(Duration::from_secs(30)).is_ok(),
        "the actor answers at home"
    );
    notify!(from_third, mark(10)).result().unwrap();
    let log = query!(from_third, log())
        .wait_timeout(Duration::from_secs(30))
        .unwrap();
    assert_eq!(log.last(), Some(&10));
    STOPPER_OPEN.store(true, Ordering::SeqCst);
}
