//! The runtime's side of remote speech acts, without sockets: a `Link` that hands
//! each encoded letter straight to the exported actor's `Inbound`, as a network layer
//! would after the bytes crossed. Exercises the code `#[behaviour]` generates to
//! encode and decode every kind of message and answer.

use std::sync::{Arc, Mutex};

use stage_runtime::prelude::*;
use stage_runtime::remote::{self, Body, Delivery, Inbound, Link, Receipt, Respond};

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
    /// The last Star-form expression's site, check and captures.
    eval: Mutex<Option<(i64, u64, Vec<u8>)>>,
}

impl Link for Loopback {
    fn send(&self, actor: ActorId, type_tag: u64, body: Body) -> Result<(), SpeechError> {
        assert_eq!(actor, self.target.id());
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
                self.target.deliver(
                    Delivery::Message {
                        variant,
                        args: &bytes,
                        respond,
                    },
                    Receipt::default(),
                )
            }
            Body::Flush { answer } => self.target.deliver(
                Delivery::Flush {
                    respond: Respond::new(move |result: Result<Vec<u8>, SpeechError>| {
                        answer.answer(result.as_deref().map_err(Clone::clone))
                    }),
                },
                Receipt::default(),
            ),
            Body::Fence { token } => self
                .target
                .deliver(Delivery::Fence { token }, Receipt::default()),
            Body::Stop { answer } => self.target.deliver(
                Delivery::Stop {
                    respond: Respond::new(move |result: Result<Vec<u8>, SpeechError>| {
                        answer.answer(result.as_deref().map_err(Clone::clone))
                    }),
                },
                Receipt::default(),
            ),
            Body::Eval {
                site,
                check,
                captures,
                answer,
            } => {
                let bytes = captures.clone();
                *self.eval.lock().unwrap() = Some((site, check, captures));
                self.target.deliver(
                    Delivery::Eval {
                        site,
                        check,
                        captures: &bytes,
                        respond: Respond::new(move |result: Result<Vec<u8>, SpeechError>| {
                            answer.answer(result.as_deref().map_err(Clone::clone))
                        }),
                    },
                    Receipt::default(),
                )
            }
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
        eval: Mutex::new(None),
    });
    let addr = remote::remote::<A>(&Stage::current(), link.clone(), local.id());
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
fn star_form_expressions_cross_with_their_captured_values() {
    let local = spawn(Account {
        owner: "Ada".into(),
        balance: 5,
    });
    let (far, link) = through_loopback(&local);
    let rate = 12;
    let suffix = String::from(" (closed)");
    assert_eq!(query!(far 's balance with balance() * 2).wait(), Ok(10));
    assert_eq!(
        request!(far 's withdraw 'n balance to {
            let left = withdraw(balance() - 1).unwrap_or(-1);
            left * rate
        })
        .wait(),
        Ok(12)
    );
    assert_eq!(
        query!(far 's owner with owner() + &suffix)
            .wait()
            .as_deref(),
        Ok("Ada (closed)")
    );
    // Names inside a format string are captures too.
    let label = String::from("owner:");
    assert_eq!(
        query!(far 's owner with format!("{label}{} x{rate:>3}", owner()))
            .wait()
            .as_deref(),
        Ok("owner:Ada x 12")
    );
    // Names bound inside the expression are not captures.
    let amounts = vec![1_i64, 2, 3];
    assert_eq!(
        query!(far 's balance with amounts.iter().map(|a| a * balance()).sum::<i64>()).wait(),
        Ok(6)
    );
    assert_eq!(*link.sent.lock().unwrap(), 5, "every one crossed the link");
    assert_eq!(query!(local, balance()).wait(), Ok(1));
}

/// Not serialisable.
struct Secret(u8);

#[test]
fn a_star_form_expression_that_cannot_cross_says_why_and_runs_locally() {
    let local = spawn(Account {
        owner: "Ada".into(),
        balance: 5,
    });
    let (far, link) = through_loopback(&local);
    let secret = Secret(3);
    let answer = query!(far 's balance with balance() + i64::from(secret.0)).wait();
    assert!(
        matches!(&answer, Err(SpeechError::Failed(Failure::NotPortable(why))) if why.contains("Secret")),
        "{answer:?}"
    );
    // A called closure is captured by the expression's own closure, out of the
    // macro's sight.
    let extra = 3;
    let add = move |x: i64| x + extra;
    let answer = query!(far 's balance with add(balance())).wait();
    assert!(
        matches!(&answer, Err(SpeechError::Failed(Failure::NotPortable(why))) if why.contains("bind it to a local name")),
        "{answer:?}"
    );
    assert_eq!(*link.sent.lock().unwrap(), 0, "nothing left the process");
    // A borrowed value serialises, but cannot be decoded into a borrow there.
    let borrowed = "static";
    let answer = query!(far 's owner with owner() + borrowed).wait();
    assert!(
        matches!(&answer, Err(SpeechError::Failed(Failure::NotPortable(why))) if why.contains("`&'static str`")),
        "{answer:?}"
    );
    assert_eq!(
        *link.sent.lock().unwrap(),
        1,
        "only the borrowed one was sent"
    );
    // They all run on a local address.
    let secret = Secret(3);
    assert_eq!(
        query!(local 's balance with balance() + i64::from(secret.0)).wait(),
        Ok(8)
    );
    assert_eq!(query!(local 's balance with add(balance())).wait(), Ok(8));
    assert_eq!(
        query!(local 's owner with owner() + borrowed)
            .wait()
            .as_deref(),
        Ok("Adastatic")
    );
    // The contract's closure form holds a closure, which cannot cross.
    let answer = Account::_query(&far, |account, _| account.balance).wait();
    assert!(
        matches!(&answer, Err(SpeechError::Failed(Failure::NotPortable(why))) if why.contains("Star's form")),
        "{answer:?}"
    );
}

#[test]
fn a_forged_star_form_site_is_a_wire_error_and_nothing_runs() {
    let local = spawn(Account {
        owner: "Ada".into(),
        balance: 5,
    });
    let inbound = remote::export(&local).unwrap();
    for (site, check) in [(0x1234_i64, 0), (-8, 1), (i64::MAX, u64::MAX)] {
        let (tx, rx) = std::sync::mpsc::channel();
        let result = inbound.deliver(
            Delivery::Eval {
                site,
                check,
                captures: &[0x90],
                respond: Respond::new(move |r| tx.send(r).unwrap()),
            },
            Receipt::default(),
        );
        assert!(
            matches!(&result, Err(SpeechError::Failed(Failure::Wire(why))) if why.contains("different binaries")),
            "{result:?}"
        );
        assert!(matches!(
            rx.recv().unwrap(),
            Err(SpeechError::Failed(Failure::Wire(_)))
        ));
    }
    assert_eq!(query!(local, balance()).wait(), Ok(5));

    // A real site, with another site's check or another actor type, is refused too.
    let (far, link) = through_loopback(&local);
    assert_eq!(query!(far 's balance with balance() + 1).wait(), Ok(6));
    let (site, check, captures) = link.eval.lock().unwrap().take().unwrap();
    let refused = |inbound: &Arc<dyn Inbound>, check: u64| {
        let (tx, rx) = std::sync::mpsc::channel();
        let result = inbound.deliver(
            Delivery::Eval {
                site,
                check,
                captures: &captures,
                respond: Respond::new(move |r| tx.send(r).unwrap()),
            },
            Receipt::default(),
        );
        assert!(matches!(
            rx.recv().unwrap(),
            Err(SpeechError::Failed(Failure::Wire(_)))
        ));
        match result {
            Err(SpeechError::Failed(Failure::Wire(why))) => why.to_string(),
            other => panic!("{other:?}"),
        }
    };
    assert!(refused(&inbound, check ^ 1).contains("differs"));
    let other = remote::export(&spawn(Ledger(vec![]))).unwrap();
    assert!(refused(&other, check).contains("another actor"));
    assert_eq!(query!(local, balance()).wait(), Ok(5));
}

#[actor(mobile)]
struct Ledger(Vec<i64>);

#[behaviour]
impl Ledger {
    #[query]
    fn entries(&self) -> usize {
        self.0.len()
    }
}

#[test]
fn local_actors_are_refused_with_a_reason() {
    let pinned = spawn(Pinned);
    let (far, link) = through_loopback(&pinned);
    let answer = query!(far 's here with here()).wait();
    assert!(
        matches!(&answer, Err(SpeechError::Failed(Failure::NotPortable(why))) if why.contains("mobile")),
        "{answer:?}"
    );
    assert_eq!(*link.sent.lock().unwrap(), 0, "nothing left the process");

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
    let result = inbound.deliver(
        Delivery::Message {
            variant: 2, // `balance`, which takes no arguments
            args: &[0x91, 0x01],
            respond: Some(Respond::new(move |r| tx.send(r).unwrap())),
        },
        Receipt::default(),
    );
    assert!(matches!(result, Err(SpeechError::Failed(Failure::Wire(_)))));
    assert!(matches!(
        rx.recv().unwrap(),
        Err(SpeechError::Failed(Failure::Wire(_)))
    ));
    let unknown = inbound.deliver(
        Delivery::Message {
            variant: 99,
            args: &[0x90],
            respond: None,
        },
        Receipt::default(),
    );
    assert!(matches!(
        unknown,
        Err(SpeechError::Failed(Failure::Wire(_)))
    ));
    assert_eq!(query!(local, balance()).wait(), Ok(1));
}
