//! Load balancing (Stage's ProbingLoadBalancer, DESIGN 6): theatres that
//! balance move work off an overloaded theatre and stop once balanced, and the
//! traffic-learning strategy brings two actors that talk much onto one
//! theatre. Theatres over real TCP on loopback, in one process, each with a
//! stage of its own.

mod common;

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;

use common::*;
use stage_net::balance::ByLoad;
use stage_net::Balancer;

/// The balancers' period in these tests.
const PERIOD: Duration = Duration::from_millis(100);

/// An actor that keeps a worker busy for `millis` per letter.
#[actor(mobile, balance)]
struct Hot {
    done: u64,
}

#[behaviour]
impl Hot {
    #[request]
    fn work(&mut self, millis: u64) -> u64 {
        let until = Instant::now() + Duration::from_millis(millis);
        while Instant::now() < until {
            std::hint::spin_loop();
        }
        self.done += 1;
        self.done
    }

    #[query]
    fn place(&self, ctx: &mut Ctx<Self>) -> String {
        ctx.locator().unwrap_or_default()
    }
}

fn balancing(seeds: &[&Theatre], balancer: Balancer) -> Theatre {
    Theatre::builder()
        .listen("127.0.0.1:0")
        .cookie(COOKIE)
        .stage(Stage::builder().workers(2).build())
        .join(seeds.iter().map(|t| t.locator().to_owned()))
        .balance(balancer)
        .start()
        .expect("theatre starts")
}

/// Where each actor runs now.
fn places<A: Actor>(actors: &[Addr<A>], place: impl Fn(&Addr<A>) -> String) -> Vec<String> {
    actors.iter().map(place).collect()
}

fn count_by_place(places: &[String]) -> HashMap<&str, usize> {
    let mut counts = HashMap::new();
    for place in places {
        *counts.entry(place.as_str()).or_default() += 1;
    }
    counts
}

#[test]
fn the_balancer_moves_work_off_an_overloaded_theatre_and_stops_when_balanced() {
    let by_load = || Balancer::new(ByLoad::default().settle(3)).period(PERIOD);
    let busy = balancing(&[], by_load());
    let second = balancing(&[&busy], by_load());
    let third = balancing(&[&busy, &second], by_load());
    // The letters come from a theatre that does not balance (never a target).
    let feeder = theatre(&[&busy, &second, &third]);
    full_mesh(&[&busy, &second, &third, &feeder]);

    let hot: Vec<Addr<Hot>> = (0..4)
        .map(|i| {
            let addr = busy.spawn(Hot { done: 0 });
            busy.bind(&format!("hot/{i}"), &addr).unwrap();
            feeder.lookup::<Hot>(&format!("hot/{i}")).unwrap()
        })
        .collect();
    // Each actor always has letters waiting: several requests in flight each.
    let stop = Arc::new(AtomicBool::new(false));
    let feeders: Vec<_> = hot
        .iter()
        .cloned()
        .map(|actor| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut in_flight: std::collections::VecDeque<_> =
                    (0..8).map(|_| request!(actor, work(2))).collect();
                let mut answered = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    let reply = in_flight.pop_front().expect("requests in flight");
                    let done = reply
                        .wait()
                        .expect("every letter is answered, moves or not");
                    assert!(done > answered, "answers in order");
                    answered = done;
                    in_flight.push_back(request!(actor, work(2)));
                }
                for reply in in_flight {
                    reply.wait().expect("every letter is answered");
                }
            })
        })
        .collect();

    let place = |a: &Addr<Hot>| query!(a, place()).wait().expect("it answers");
    let theatres = [busy.locator(), second.locator(), third.locator()];
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut now = places(&hot, place);
    while theatres
        .iter()
        .any(|t| !count_by_place(&now).contains_key(t))
    {
        assert!(
            Instant::now() < deadline,
            "the work did not spread within 60 s: {:?}",
            count_by_place(&now)
        );
        std::thread::sleep(PERIOD);
        now = places(&hot, place);
    }
    // Balanced: every theatre has work. Over the next 20 periods the actors
    // stay (one move more, at most, for a probe that read a hiccup), and
    // every theatre keeps some work.
    let mut moves = 0;
    for _ in 0..20 {
        std::thread::sleep(PERIOD);
        let next = places(&hot, place);
        moves += now.iter().zip(&next).filter(|(a, b)| a != b).count();
        now = next;
    }
    assert!(moves <= 1, "{moves} moves once balanced: {now:?}");
    for t in &theatres {
        assert!(
            count_by_place(&now).contains_key(t),
            "{t} lost its work: {now:?}"
        );
    }
    stop.store(true, Ordering::SeqCst);
    for feeder in feeders {
        feeder.join().expect("no letter was lost");
    }
    for t in [feeder, third, second, busy] {
        t.shutdown();
    }
}

/// Two of these hit a ball back and forth, forever.
#[actor(mobile, balance)]
struct Player {
    partner: Option<Addr<Player>>,
    hits: u64,
}

#[behaviour]
impl Player {
    #[on(meet)]
    fn meet(&mut self, partner: Addr<Player>) {
        self.partner = Some(partner);
    }

    #[on(ball)]
    fn ball(&mut self) {
        self.hits += 1;
        if let Some(partner) = &self.partner {
            notify!(partner, ball());
        }
    }

    #[query]
    fn hits(&self) -> u64 {
        self.hits
    }

    #[query]
    fn place(&self, ctx: &mut Ctx<Self>) -> String {
        ctx.locator().unwrap_or_default()
    }
}

#[test]
fn the_traffic_strategy_brings_two_chatty_actors_onto_one_theatre() {
    let by_traffic = || Balancer::by_traffic().period(PERIOD);
    let left = balancing(&[], by_traffic());
    let right = balancing(&[&left], by_traffic());
    full_mesh(&[&left, &right]);

    let ping = left.spawn(Player {
        partner: None,
        hits: 0,
    });
    left.bind("ping", &ping).unwrap();
    let pong = right.spawn(Player {
        partner: None,
        hits: 0,
    });
    right.bind("pong", &pong).unwrap();
    // A quiet one that talks to nobody: it has no reason to move.
    let quiet = left.spawn(Player {
        partner: None,
        hits: 0,
    });
    let pong_from_left = left.lookup::<Player>("pong").unwrap();
    let ping_from_right = right.lookup::<Player>("ping").unwrap();
    notify!(ping, meet(pong_from_left));
    notify!(pong, meet(ping_from_right));
    notify!(ping, ball());

    let place = |a: &Addr<Player>| query!(a, place()).wait().expect("it answers");
    let deadline = Instant::now() + Duration::from_secs(60);
    while place(&ping) != place(&pong) {
        assert!(
            Instant::now() < deadline,
            "the talkers were not brought together within 60 s"
        );
        std::thread::sleep(PERIOD);
    }
    let together = place(&ping);
    // They stay together, the rally goes on (not a letter lost: one lost
    // ball would end it), and the quiet actor never moved.
    let hits = query!(ping, hits()).wait().unwrap();
    for _ in 0..10 {
        std::thread::sleep(PERIOD);
        assert_eq!(place(&ping), together);
        assert_eq!(place(&pong), together);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while query!(ping, hits()).wait().unwrap() <= hits + 1000 {
        assert!(Instant::now() < deadline, "the rally stopped");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(place(&quiet), left.locator());
    right.shutdown();
    left.shutdown();
}
