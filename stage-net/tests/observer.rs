//! Observers (what the live console is built on): one proves the cookie, reads
//! each theatre's report, and is never taken as a member; a stranger and the
//! observers past the limit are refused.

mod common;

use common::*;
use stage_net::observer::{Observer, Report, MAX_OBSERVERS};

#[actor]
struct Slow;

#[behaviour]
impl Slow {
    #[on(work)]
    fn work(&mut self, micros: u64) {
        std::thread::sleep(Duration::from_micros(micros));
    }
}

fn observer(theatre: &Theatre) -> Observer {
    Observer::builder()
        .cookie(COOKIE)
        .connect(theatre.locator())
        .expect("the observer passes the handshake")
}

/// Reads `observer`'s reports until `ok` holds, for up to 30 seconds.
fn report_until(observer: &mut Observer, ok: impl Fn(&Report) -> bool) -> Report {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let report = observer.report().expect("a report");
        if ok(&report) {
            return report;
        }
        assert!(Instant::now() < deadline, "never came: {report:#?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn an_observer_reads_each_theatre_and_is_not_a_member() {
    let a = theatre(&[]);
    let b = theatre(&[&a]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while a.peers().is_empty() || b.peers().is_empty() {
        assert!(Instant::now() < deadline, "b did not join a");
        std::thread::sleep(Duration::from_millis(10));
    }
    let slows: Vec<Addr<Slow>> = (0..3).map(|_| a.spawn(Slow)).collect();

    let mut of_a = observer(&a);
    assert_eq!(of_a.theatre(), a.id());
    assert_eq!(
        of_a.members(),
        [b.locator().to_owned()],
        "the welcome names b"
    );
    let mut of_b = observer(&b);

    // a's three actors, by type, and its link to b (with the bytes of its
    // heartbeats at least, both ways).
    let report = report_until(&mut of_a, |r| {
        r.types
            .iter()
            .any(|t| t.name.ends_with("::Slow") && t.live == 3)
            && r.links
                .iter()
                .all(|link| link.bytes_out > 0 && link.bytes_in > 0)
    });
    assert_eq!(report.locator, a.locator());
    assert!(report.workers >= 1);
    assert_eq!(report.links.len(), 1, "{:?}", report.links);
    assert_eq!(report.links[0].locator, b.locator());

    // A flooded actor shows among the busiest; the rates say letters were handled.
    let flooded = &slows[0];
    for _ in 0..2_000 {
        notify!(flooded, work(20));
    }
    let report = report_until(&mut of_a, |r| {
        r.busiest
            .iter()
            .any(|busy| busy.actor == flooded.id().to_wire() && busy.type_name.ends_with("::Slow"))
    });
    let later = report_until(&mut of_a, |r| r.done > report.done);
    let rates = later.rates_since(&report).expect("the same theatre, later");
    assert!(rates.letters > 0.0, "{rates:?}");

    // Neither theatre took an observer for a member.
    assert_eq!(a.peers(), [b.locator().to_owned()]);
    assert_eq!(b.peers(), [a.locator().to_owned()]);
    let report = of_b.report().expect("b's report");
    assert_eq!(report.links.len(), 1, "{:?}", report.links);
    drop(slows);
    a.shutdown();
    b.shutdown();
}

#[test]
fn a_stranger_gets_no_report_and_observers_past_the_limit_are_refused() {
    let a = theatre(&[]);
    let stranger = Observer::builder()
        .cookie("not-the-cookie")
        .connect(a.locator());
    assert!(
        matches!(stranger, Err(NetError::Handshake(_))),
        "{stranger:?}"
    );
    let no_cookie = Observer::builder().connect(a.locator());
    assert!(
        matches!(no_cookie, Err(NetError::NoCookie)),
        "{no_cookie:?}"
    );

    let mut admitted: Vec<Observer> = (0..MAX_OBSERVERS).map(|_| observer(&a)).collect();
    for each in &mut admitted {
        each.report().expect("an admitted observer is answered");
    }
    let one_more = Observer::builder().cookie(COOKIE).connect(a.locator());
    match one_more {
        Err(NetError::Handshake(handshake::HandshakeError::Refused(why))) => {
            assert!(why.contains("observers"), "{why}");
        }
        other => panic!("the observer past the limit was not refused: {other:?}"),
    }
    // One leaves: its place is given back (the theatre sees it go at its next
    // look, within about a second).
    drop(admitted.pop());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut again = loop {
        match Observer::builder().cookie(COOKIE).connect(a.locator()) {
            Ok(observer) => break observer,
            Err(error) => {
                assert!(
                    Instant::now() < deadline,
                    "the place never came back: {error}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    again.report().expect("answered");
    a.shutdown();
}

#[test]
fn an_observer_of_a_theatre_that_shuts_down_hears_an_error_not_a_hang() {
    let a = theatre(&[]);
    let mut of_a = Observer::builder()
        .cookie(COOKIE)
        .timeout(Duration::from_secs(10))
        .connect(a.locator())
        .expect("connects");
    of_a.report().expect("a report");
    a.shutdown();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if of_a.report().is_err() {
            break;
        }
        assert!(Instant::now() < deadline, "still answered after shutdown");
        std::thread::sleep(Duration::from_millis(50));
    }
}
