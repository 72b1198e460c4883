//! `Denied(Busy)`, `Denied(NoPermission)` and `Failed(Panicked)`: each outcome of
//! Star's speech contract, produced for real.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use stage_runtime::prelude::*;

/// Tells the test it started, then waits to be released.
type Gate = Arc<Mutex<Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>>>;

/// Holds its worker until the test releases it, so the mailbox fills up.
#[actor(mailbox = 2)]
struct Bounded {
    gate: Gate,
    seen: Vec<u32>,
}

#[behaviour]
impl Bounded {
    #[on(hold)]
    fn hold(&mut self) {
        if let Some((started, release)) = self.gate.lock().unwrap().take() {
            started.send(()).unwrap();
            release.recv_timeout(Duration::from_secs(30)).unwrap();
        }
    }

    #[on(item)]
    fn item(&mut self, n: u32) {
        self.seen.push(n);
    }

    #[query]
    fn seen(&self) -> Vec<u32> {
        self.seen.clone()
    }
}

#[test]
fn a_full_bounded_mailbox_is_busy_and_loses_nothing_it_accepted() {
    let stage = Stage::builder().workers(2).build();
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let actor = stage.spawn(Bounded {
        gate: Arc::new(Mutex::new(Some((started_tx, release_rx)))),
        seen: vec![],
    });
    notify!(actor, hold());
    started_rx.recv_timeout(Duration::from_secs(30)).unwrap();
    // The actor is inside `hold`; its mailbox (capacity 2) is empty.
    assert!(notify!(actor, item(1)).is_ok());
    assert!(notify!(actor, item(2)).is_ok());
    assert_eq!(
        notify!(actor, item(3)).err(),
        Some(SpeechError::Denied(Reason::Busy))
    );
    let refused = query!(actor, seen());
    assert_eq!(refused.wait(), Err(SpeechError::Denied(Reason::Busy)));
    release_tx.send(()).unwrap();
    // `Busy` is back-pressure: the caller retries once the actor has made room.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let seen = loop {
        match query!(actor, seen()).wait() {
            Err(SpeechError::Denied(Reason::Busy)) if std::time::Instant::now() < deadline => {
                std::thread::yield_now();
            }
            answer => break answer,
        }
    };
    assert_eq!(seen, Ok(vec![1, 2]));
}

#[actor]
struct Vault {
    owner: Option<ActorId>,
    opened: u32,
}

#[behaviour]
impl Vault {
    /// Anyone may ask; only the owner (an actor) may act.
    #[permit]
    fn permit(&self, act: &SpeechAct) -> bool {
        match act.kind() {
            SpeechKind::Query => true,
            _ => matches!(act.speaker(), Speaker::Actor(id) if Some(id) == self.owner),
        }
    }

    #[request]
    fn claim(&mut self, owner: ActorId) {
        self.owner = Some(owner);
    }

    #[request]
    fn open(&mut self) -> u32 {
        self.opened += 1;
        self.opened
    }

    #[query]
    fn opened(&self) -> u32 {
        self.opened
    }
}

#[actor]
struct Owner {
    vault: Option<Addr<Vault>>,
}

#[behaviour]
impl Owner {
    #[request]
    fn adopt(&mut self, vault: Addr<Vault>) {
        self.vault = Some(vault);
    }

    #[request]
    async fn open_vault(&mut self) -> Result<u32, SpeechError> {
        match &self.vault {
            Some(vault) => request!(vault, open()).await,
            None => Err(SpeechError::Failed(Failure::Dead)),
        }
    }
}

#[test]
fn the_permission_policy_sees_the_speaker_and_denies_before_the_handler_runs() {
    block_on(async {
        let owner = spawn(Owner { vault: None });
        let stranger = spawn(Owner { vault: None });
        let vault = spawn(Vault {
            owner: Some(owner.id()),
            opened: 0,
        });
        request!(owner, adopt(vault.clone())).await.unwrap();
        request!(stranger, adopt(vault.clone())).await.unwrap();

        assert_eq!(request!(owner, open_vault()).await, Ok(Ok(1)));
        assert_eq!(
            request!(stranger, open_vault()).await,
            Ok(Err(SpeechError::Denied(Reason::NoPermission)))
        );
        assert_eq!(
            request!(vault, open()).await,
            Err(SpeechError::Denied(Reason::NoPermission)),
            "outside code is not the owner"
        );
        assert_eq!(
            Vault::_request(&vault, |v, _| v.opened = 100).await,
            Err(SpeechError::Denied(Reason::NoPermission)),
            "a Star-form request is checked like any other"
        );
        // Queries are open to anyone, and nothing refused ran.
        assert_eq!(query!(vault, opened()).await, Ok(1));
    });
}

#[actor]
struct Fragile {
    served: u32,
}

#[behaviour]
impl Fragile {
    #[request]
    fn divide(&mut self, by: u32) -> u32 {
        self.served += 1;
        100 / by
    }

    #[on(poke)]
    fn poke(&mut self, fail: bool) {
        assert!(!fail, "poked to fail");
        self.served += 1;
    }

    #[query]
    async fn slow_fail(&self) -> u32 {
        panic!("async handlers are contained too")
    }

    #[query]
    fn served(&self) -> u32 {
        self.served
    }
}

#[test]
fn a_panicking_handler_fails_only_its_own_message() {
    block_on(async {
        let fragile = spawn(Fragile { served: 0 });
        let bystander = spawn(Fragile { served: 0 });
        assert_eq!(request!(fragile, divide(4)).await, Ok(25));
        assert_eq!(
            request!(fragile, divide(0)).await,
            Err(SpeechError::Failed(Failure::Panicked))
        );
        notify!(fragile, poke(true));
        assert_eq!(
            query!(fragile, slow_fail()).await,
            Err(SpeechError::Failed(Failure::Panicked))
        );
        // The actor keeps serving its next messages, and other actors never noticed.
        assert_eq!(request!(fragile, divide(5)).await, Ok(20));
        notify!(fragile, poke(false));
        assert_eq!(query!(fragile, served()).await, Ok(4));
        assert_eq!(request!(bystander, divide(1)).await, Ok(100));
        assert_eq!(
            Outcome::from(request!(fragile, divide(0)).await),
            Outcome::Failed(Failure::Panicked)
        );
    });
}
