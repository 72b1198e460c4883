//! Supervision: restart with fresh state, stop, escalate; restart intensity; `down`
//! events for monitors and links.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use stage_runtime::prelude::*;

#[actor]
struct Worker {
    done: u32,
    born: u32,
}

#[behaviour]
impl Worker {
    #[birth]
    fn start(&mut self) {
        self.born += 1;
    }

    #[request]
    fn work(&mut self, fail: bool) -> u32 {
        assert!(!fail, "a bad job");
        self.done += 1;
        self.done
    }

    #[query]
    fn born(&self) -> u32 {
        self.born
    }
}

fn fresh() -> Worker {
    Worker { done: 0, born: 0 }
}

#[actor]
struct Boss {
    downs: Vec<Down>,
    policy: Policy,
}

#[behaviour]
impl Boss {
    #[request]
    fn hire(&mut self, ctx: &mut Ctx<Self>) -> Addr<Worker> {
        ctx.supervise(fresh, self.policy)
    }

    #[request]
    fn watch(&mut self, ctx: &mut Ctx<Self>, worker: Addr<Worker>) {
        ctx.monitor(&worker);
    }

    #[request]
    fn link(&mut self, ctx: &mut Ctx<Self>, other: Addr<Boss>) {
        ctx.link(&other);
    }

    #[request]
    fn retire(&mut self, ctx: &mut Ctx<Self>) {
        ctx.stop();
    }

    /// A plain (linked, unsupervised) worker, and a plain child boss.
    #[request]
    fn have(&mut self, ctx: &mut Ctx<Self>) -> (Addr<Worker>, Addr<Boss>) {
        let child = Boss {
            downs: vec![],
            policy: self.policy,
        };
        (ctx.spawn(fresh()), ctx.spawn(child))
    }

    #[down]
    fn on_down(&mut self, down: Down) {
        self.downs.push(down);
    }

    #[query]
    fn downs(&self) -> Vec<Down> {
        self.downs.clone()
    }
}

fn boss(stage: &Stage, policy: Policy) -> Addr<Boss> {
    stage.spawn(Boss {
        downs: vec![],
        policy,
    })
}

#[test]
fn a_child_that_panics_is_restarted_and_serves_with_fresh_state() {
    let stage = Stage::builder().workers(2).build();
    let boss = boss(&stage, Policy::restart());
    let worker = request!(boss, hire()).wait().expect("hired");
    assert_eq!(request!(worker, work(false)).wait(), Ok(1));
    assert_eq!(request!(worker, work(false)).wait(), Ok(2));
    assert_eq!(
        request!(worker, work(true)).wait(),
        Err(SpeechError::Failed(Failure::Panicked))
    );
    // Fresh state from the factory, born again, same address.
    assert_eq!(request!(worker, work(false)).wait(), Ok(1));
    assert_eq!(query!(worker, born()).wait(), Ok(1));
    stage.wait_quiescent();
    assert_eq!(
        query!(boss, downs()).wait(),
        Ok(vec![]),
        "a restart is not an end"
    );
}

#[test]
fn messages_queued_behind_the_panic_are_served_by_the_new_state() {
    let stage = Stage::builder().workers(1).build();
    let boss = boss(&stage, Policy::restart());
    let worker = request!(boss, hire()).wait().expect("hired");
    let replies: Vec<_> = [false, true, false, false]
        .into_iter()
        .map(|fail| request!(worker, work(fail)))
        .collect();
    let answers: Vec<_> = replies.into_iter().map(Reply::wait).collect();
    assert_eq!(
        answers,
        [
            Ok(1),
            Err(SpeechError::Failed(Failure::Panicked)),
            Ok(1),
            Ok(2)
        ]
    );
}

#[test]
fn restart_intensity_exceeded_escalates_to_the_parent() {
    let stage = Stage::builder().workers(2).build();
    let boss = boss(
        &stage,
        Policy::restart().intensity(2, Duration::from_secs(60)),
    );
    let worker = request!(boss, hire()).wait().expect("hired");
    for _ in 0..2 {
        assert!(request!(worker, work(true)).wait().is_err());
        assert_eq!(request!(worker, work(false)).wait(), Ok(1), "restarted");
    }
    // The third panic within the window is one too many.
    assert!(request!(worker, work(true)).wait().is_err());
    assert_eq!(
        request!(worker, work(false)).wait(),
        Err(SpeechError::Failed(Failure::Dead))
    );
    stage.wait_quiescent();
    let downs = query!(boss, downs()).wait().expect("answered");
    assert_eq!(
        downs,
        [Down {
            actor: worker.id(),
            reason: DownReason::Escalated
        }]
    );
}

#[actor]
struct Director {
    manager: Option<Addr<Boss>>,
    downs: Vec<Down>,
    /// How many managers the factory has made.
    appointed: Arc<AtomicU32>,
}

#[behaviour]
impl Director {
    #[request]
    fn appoint(&mut self, ctx: &mut Ctx<Self>) -> Addr<Boss> {
        let appointed = self.appointed.clone();
        let manager = ctx.supervise(
            move || {
                appointed.fetch_add(1, Ordering::SeqCst);
                Boss {
                    downs: vec![],
                    policy: Policy::escalate(),
                }
            },
            Policy::restart(),
        );
        self.manager = Some(manager.clone());
        manager
    }

    #[down]
    fn on_down(&mut self, down: Down) {
        self.downs.push(down);
    }

    #[query]
    fn downs(&self) -> Vec<Down> {
        self.downs.clone()
    }
}

#[test]
fn escalation_fails_the_parent_whose_own_policy_applies() {
    let stage = Stage::builder().workers(2).build();
    let appointed = Arc::new(AtomicU32::new(0));
    let director = stage.spawn(Director {
        manager: None,
        downs: vec![],
        appointed: appointed.clone(),
    });
    let manager = request!(director, appoint()).wait().expect("appointed");
    let worker = request!(manager, hire()).wait().expect("hired");
    // The manager's policy for its worker escalates at the first panic; the
    // manager's own policy (from the director) restarts it with fresh state.
    assert!(request!(worker, work(true)).wait().is_err());
    stage.wait_quiescent();
    assert_eq!(
        request!(worker, work(false)).wait(),
        Err(SpeechError::Failed(Failure::Dead)),
        "the worker escalated and stopped"
    );
    assert_eq!(
        appointed.load(Ordering::SeqCst),
        2,
        "the manager was restarted"
    );
    // The fresh manager still learns that its old worker is gone.
    assert_eq!(
        query!(manager, downs()).wait(),
        Ok(vec![Down {
            actor: worker.id(),
            reason: DownReason::Escalated
        }])
    );
    assert_eq!(
        query!(director, downs()).wait(),
        Ok(vec![]),
        "a restart is not an end"
    );
}

#[test]
fn down_events_reach_monitors_and_links_with_the_reason() {
    let stage = Stage::builder().workers(2).build();
    let watcher = boss(&stage, Policy::stop());
    // A worker with a Stop policy ends on its first panic.
    let stopper = boss(&stage, Policy::stop());
    let worker = request!(stopper, hire()).wait().expect("hired");
    request!(watcher, watch(worker.clone()))
        .wait()
        .expect("watching");
    assert!(request!(worker, work(true)).wait().is_err());
    // Two bosses linked: each hears of the other's end.
    let a = boss(&stage, Policy::stop());
    let b = boss(&stage, Policy::stop());
    request!(a, link(b.clone())).wait().expect("linked");
    request!(b, retire()).wait().expect("retired");
    // An actor that is watched after it ended is reported at once.
    request!(watcher, watch(worker.clone()))
        .wait()
        .expect("watching");
    stage.wait_quiescent();
    let ended = |actor: &Addr<Worker>, reason| Down {
        actor: actor.id(),
        reason,
    };
    assert_eq!(
        query!(watcher, downs()).wait(),
        Ok(vec![
            ended(&worker, DownReason::Panicked),
            ended(&worker, DownReason::Panicked)
        ])
    );
    assert_eq!(
        query!(stopper, downs()).wait(),
        Ok(vec![ended(&worker, DownReason::Panicked)])
    );
    assert_eq!(
        query!(a, downs()).wait(),
        Ok(vec![Down {
            actor: b.id(),
            reason: DownReason::Stopped
        }])
    );
}

#[test]
fn an_unsupervised_panic_keeps_the_state() {
    let worker = spawn(fresh());
    assert_eq!(request!(worker, work(false)).wait(), Ok(1));
    assert!(request!(worker, work(true)).wait().is_err());
    assert_eq!(request!(worker, work(false)).wait(), Ok(2));
}

#[test]
fn a_spawned_child_is_linked_to_its_parent() {
    let stage = Stage::builder().workers(2).build();
    let parent = boss(&stage, Policy::stop());
    let (worker, child) = request!(parent, have()).wait().expect("spawned");
    worker.stop().wait().expect("stopped");
    stage.wait_quiescent();
    assert_eq!(
        query!(parent, downs()).wait(),
        Ok(vec![Down {
            actor: worker.id(),
            reason: DownReason::Stopped
        }]),
        "the parent hears of its child's end"
    );
    request!(parent, retire()).wait().expect("retired");
    stage.wait_quiescent();
    assert_eq!(
        query!(child, downs()).wait(),
        Ok(vec![Down {
            actor: parent.id(),
            reason: DownReason::Stopped
        }]),
        "a child with a #[down] hook hears of its parent's end"
    );
}
