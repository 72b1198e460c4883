//! The runtime's side of remote speech acts, without sockets: a `Link` that hands
//! each encoded letter straight to the exported actor's `Inbound`, as a network layer
//! would after the bytes crossed. Exercises the code `#[behaviour]` generates to
//! encode and decode every kind of message and answer.

use std::sync::{Arc, Mutex};

use stage_runtime::prelude::*;
use stage_runtime::remote::{self, Body, Delivery, Inbound, Link, Respond};

#[actor(mobile)]
struct Account {
    owner: String,
    balance: i64,
}

#[behaviour]
impl Account {
    #[on(deposit)]
    fn credit(&mut self, amount: i64) {
        self.balance += amount;
    }

    #[on(rename)]
    fn rename(&mut self, first: String, last: String) {
        self.owner = format!("{first} {last}");
    }

    #[query]
    fn balance(&self) -> i64 {
        self.balance
    }

    #[query]
    fn owner(&self) -> String {
        self.owner.clone()
    }

    #[request]
    fn withdraw(&mut self, amount: i64) -> Result<i64, String> {
        if amount > self.balance {
            return Err(format!("only {} left", self.balance));
        }
        self.balance -= amount;
        Ok(self.balance)
    }

    #[query]
    fn boom(&self) -> u8 {
        panic!("boom")
    }
}

#[actor]
struct Pinned;

#[behaviour]
impl Pinned {
    #[query]
    fn here(&self) -> bool {
        true
    }
}

/// Delivers every body to `target` at once, copying the bytes as a socket would.
struct Loopback {
    target: Arc<dyn Inbound>,
    sent: Mutex<usize>,
}

impl Link for Loopback {
    fn send(&self, actor: u64, type_tag: u64, body: Body) -> Result<(), SpeechError> {
        assert_eq!(actor, self.target.id().as_u64());
        assert_eq!(type_tag, self.target.type_tag());
        *self.sent.lock().unwrap() += 1;
        match body {
            Body::Message {
                variant,
                args,
                answer,
            } => {
                let bytes = args.clone();
                let respond = answer.map(|answer| {
                    Respond::new(move |result: Result<Vec<u8>, SpeechError>| {
                        answer.answer(result.as_deref().map_err(Clone::clone))
                    })
                });
                self.target.deliver(Delivery::Message {
                    variant,
                    args: &bytes,
                    respond,
                })
            }
            Body::Stop { answer } => self.target.deliver(Delivery::Stop {
                respond: Respond::new(move |result: Result<Vec<u8>, SpeechError>| {
                    answer.answer(result.as_deref().map_err(Clone::clone))
                }),
            }),
        }
    }

    fn locator(&self) -> &str {
        "stage://loopback:0"
    }

    fn theatre(&self) -> u64 {
        7
    }
}

fn through_loopback<A: Actor>(local: &Addr<A>) -> (Addr<A>, Arc<Loopback>) {
    let link = Arc::new(Loopback {
        target: remote::export(local).expect("a local address exports"),
        sent: Mutex::new(0),
    });
    let addr = remote::remote::<A>(&Stage::current(), link.clone(), local.id().as_u64());
    (addr, link)
}

#[test]
fn every_kind_of_message_and_answer_crosses() {
    let local = spawn(Account {
        owner: "Ada".into(),
        balance: 0,
    });
    let (far, link) = through_loopback(&local);
    assert!(!far.is_local());
    assert!(format!("{far:?}").contains("stage://loopback:0"));

    notify!(far, deposit(100));
    notify!(far, rename("Ada".into(), "Lovelace".into()));
    assert_eq!(query!(far, balance()).wait(), Ok(100));
    assert_eq!(query!(far, owner()).wait().as_deref(), Ok("Ada Lovelace"));
    assert_eq!(request!(far, withdraw(30)).wait(), Ok(Ok(70)));
    assert_eq!(
        request!(far, withdraw(500)).wait(),
        Ok(Err("only 70 left".to_owned()))
    );
    assert_eq!(
        query!(far, boom()).wait(),
        Err(SpeechError::Failed(Failure::Panicked))
    );
    // The answer came back through the link, not around it.
    assert_eq!(*link.sent.lock().unwrap(), 7);
    assert_eq!(far.stop().wait(), Ok(()));
    assert_eq!(
        query!(local, balance()).wait(),
        Err(SpeechError::Failed(Failure::Dead))
    );
}

#[test]
fn star_forms_and_local_actors_are_refused_with_a_reason() {
    let local = spawn(Account {
        owner: "Ada".into(),
        balance: 5,
    });
    let (far, _link) = through_loopback(&local);
    let answer = query!(far 's balance with balance() * 2).wait();
    assert!(
        matches!(&answer, Err(SpeechError::Failed(Failure::NotPortable(why))) if why.contains("Star-form")),
        "{answer:?}"
    );

    let pinned = spawn(Pinned);
    let (far, link) = through_loopback(&pinned);
    let answer = query!(far, here()).wait();
    assert!(
        matches!(&answer, Err(SpeechError::Failed(Failure::NotPortable(why))) if why.contains("mobile")),
        "{answer:?}"
    );
    assert_eq!(*link.sent.lock().unwrap(), 0, "nothing left the process");
}

#[test]
fn bad_bytes_are_a_wire_error_and_the_actor_carries_on() {
    let local = spawn(Account {
        owner: "Ada".into(),
        balance: 1,
    });
    let inbound = remote::export(&local).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let result = inbound.deliver(Delivery::Message {
        variant: 2, // `balance`, which takes no arguments
        args: &[0x91, 0x01],
        respond: Some(Respond::new(move |r| tx.send(r).unwrap())),
    });
    assert!(matches!(result, Err(SpeechError::Failed(Failure::Wire(_)))));
    assert!(matches!(
        rx.recv().unwrap(),
        Err(SpeechError::Failed(Failure::Wire(_)))
    ));
    let unknown = inbound.deliver(Delivery::Message {
        variant: 99,
        args: &[0x90],
        respond: None,
    });
    assert!(matches!(
        unknown,
        Err(SpeechError::Failed(Failure::Wire(_)))
    ));
    assert_eq!(query!(local, balance()).wait(), Ok(1));
}
