//! Property tests of the in-process runtime (proptest): random scripts for
//! several sender threads at once, each sending requests and events to actors,
//! spawning new ones, stopping them and making their handlers panic, on stages of
//! one to three workers. Whatever the interleaving:
//!
//! - a request answered `Ok` was processed exactly once, and one answered with
//!   an error was not processed at all;
//! - an event whose `notify!` was accepted, to an actor no one stopped, was
//!   processed exactly once; none is ever processed twice;
//! - what one sender sent one actor is processed in the order it was sent.

use std::collections::HashMap;
use std::sync::{Arc, Barrier, Mutex};

use proptest::prelude::*;
use stage_runtime::prelude::*;

/// One processed letter: (actor, sender, sequence number).
type Processed = Arc<Mutex<Vec<(usize, usize, u32)>>>;

#[actor]
struct Recorder {
    me: usize,
    log: Processed,
}

#[behaviour]
impl Recorder {
    #[request]
    fn take(&mut self, sender: usize, seq: u32) -> u32 {
        self.log.lock().unwrap().push((self.me, sender, seq));
        seq
    }

    #[on(event)]
    fn event(&mut self, sender: usize, seq: u32) {
        self.log.lock().unwrap().push((self.me, sender, seq));
    }

    #[request]
    fn boom(&mut self) {
        panic!("a handler panics; its actor carries on");
    }
}

/// One step of a sender's script; actors are named by index, modulo how many
/// there are when the step runs.
#[derive(Debug, Clone)]
enum Step {
    Request(usize),
    Event(usize),
    Spawn,
    Stop(usize),
    Panic(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..8usize).prop_map(Step::Request),
        6 => (0..8usize).prop_map(Step::Event),
        1 => Just(Step::Spawn),
        1 => (0..8usize).prop_map(Step::Stop),
        1 => (0..8usize).prop_map(Step::Panic),
    ]
}

/// What a sender did: its requests with their replies, and its accepted events,
/// each as (actor, sequence number).
#[derive(Default)]
struct Sent {
    requests: Vec<(usize, u32, Reply<u32>)>,
    events: Vec<(usize, u32)>,
    stops: Vec<Reply<()>>,
    panics: Vec<Reply<()>>,
}

struct World {
    stage: Stage,
    actors: Mutex<Vec<Addr<Recorder>>>,
    stopped: Mutex<Vec<usize>>,
    log: Processed,
}

impl World {
    fn spawn(&self) {
        let mut actors = self.actors.lock().unwrap();
        let me = actors.len();
        actors.push(self.stage.spawn(Recorder {
            me,
            log: Arc::clone(&self.log),
        }));
    }

    fn actor(&self, index: usize) -> (usize, Addr<Recorder>) {
        let actors = self.actors.lock().unwrap();
        let index = index % actors.len();
        (index, actors[index].clone())
    }
}

fn run_script(world: &World, sender: usize, script: &[Step]) -> Sent {
    let mut sent = Sent::default();
    for (seq, step) in script.iter().enumerate() {
        let seq = seq as u32;
        match *step {
            Step::Request(to) => {
                let (to, actor) = world.actor(to);
                sent.requests
                    .push((to, seq, request!(actor, take(sender, seq))));
            }
            Step::Event(to) => {
                let (to, actor) = world.actor(to);
                if notify!(actor, event(sender, seq)).is_ok() {
                    sent.events.push((to, seq));
                }
            }
            Step::Spawn => world.spawn(),
            Step::Stop(to) => {
                let (to, actor) = world.actor(to);
                world.stopped.lock().unwrap().push(to);
                sent.stops.push(actor.stop());
            }
            Step::Panic(to) => {
                let (_, actor) = world.actor(to);
                sent.panics.push(request!(actor, boom()));
            }
        }
    }
    sent
}

fn check(workers: usize, initial: usize, scripts: Vec<Vec<Step>>) -> Result<(), TestCaseError> {
    let world = Arc::new(World {
        stage: Stage::builder().workers(workers).build(),
        actors: Mutex::new(Vec::new()),
        stopped: Mutex::new(Vec::new()),
        log: Arc::new(Mutex::new(Vec::new())),
    });
    for _ in 0..initial {
        world.spawn();
    }
    let start = Arc::new(Barrier::new(scripts.len()));
    let threads: Vec<_> = scripts
        .into_iter()
        .enumerate()
        .map(|(sender, script)| {
            let (world, start) = (Arc::clone(&world), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                run_script(&world, sender, &script)
            })
        })
        .collect();
    let sent: Vec<Sent> = threads
        .into_iter()
        .map(|t| t.join().expect("a sender thread panicked"))
        .collect();

    // Every reply resolves (none hangs), and a panic fails only its own letter.
    let mut outcome: HashMap<(usize, usize, u32), Result<u32, SpeechError>> = HashMap::new();
    let mut accepted_events = Vec::new();
    for (sender, sent) in sent.into_iter().enumerate() {
        for (to, seq, reply) in sent.requests {
            outcome.insert((to, sender, seq), reply.wait());
        }
        for reply in sent.panics {
            let result = reply.wait();
            prop_assert!(
                matches!(
                    result,
                    Err(SpeechError::Failed(Failure::Panicked | Failure::Dead))
                ),
                "a panicking request answered {result:?}"
            );
        }
        for reply in sent.stops {
            let result = reply.wait();
            prop_assert!(
                matches!(result, Ok(()) | Err(SpeechError::Failed(Failure::Dead))),
                "a stop answered {result:?}"
            );
        }
        accepted_events.extend(sent.events.into_iter().map(|(to, seq)| (to, sender, seq)));
    }
    world.stage.wait_quiescent();

    let log = world.log.lock().unwrap().clone();
    let mut times: HashMap<(usize, usize, u32), usize> = HashMap::new();
    for entry in &log {
        *times.entry(*entry).or_default() += 1;
    }
    prop_assert!(
        times.values().all(|n| *n == 1),
        "a letter was processed twice"
    );
    for (key, result) in &outcome {
        let processed = times.contains_key(key);
        match result {
            Ok(seq) => {
                prop_assert_eq!(*seq, key.2);
                prop_assert!(processed, "request {:?} answered Ok, never processed", key);
            }
            Err(error) => prop_assert!(
                !processed,
                "request {:?} answered {:?} yet was processed",
                key,
                error
            ),
        }
    }
    let stopped = world.stopped.lock().unwrap().clone();
    for key in &accepted_events {
        if !stopped.contains(&key.0) {
            prop_assert!(
                times.contains_key(key),
                "event {:?} accepted, never processed",
                key
            );
        }
    }
    // Per (actor, sender), in the order sent.
    let mut last: HashMap<(usize, usize), u32> = HashMap::new();
    for (actor, sender, seq) in log {
        if let Some(before) = last.insert((actor, sender), seq) {
            prop_assert!(
                before < seq,
                "actor {} took {}'s letter {} after {}",
                actor,
                sender,
                seq,
                before
            );
        }
    }
    world.stage.shutdown();
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    })]

    #[test]
    fn accepted_letters_are_processed_once_in_order_per_pair(
        workers in 1..=3usize,
        initial in 1..=4usize,
        scripts in prop::collection::vec(prop::collection::vec(step(), 0..60), 1..=4),
    ) {
        check(workers, initial, scripts)?;
    }
}
