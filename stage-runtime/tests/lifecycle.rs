//! Birth, stopping and `ctx.stop()`: the hooks run when they should, and speaking to
//! a stopped actor is an error value, never a panic.

use std::sync::{Arc, Mutex};

use stage_runtime::prelude::*;

type Journal = Arc<Mutex<Vec<String>>>;

#[actor]
struct Tenant {
    journal: Journal,
    born: bool,
    children: Vec<Addr<Tenant>>,
}

#[behaviour]
impl Tenant {
    #[birth]
    fn moved_in(&mut self, ctx: &mut Ctx<Self>) {
        self.born = true;
        self.journal
            .lock()
            .unwrap()
            .push(format!("born {}", ctx.id()));
    }

    #[stopping]
    fn moving_out(&mut self) {
        self.journal.lock().unwrap().push("stopping".to_string());
    }

    #[query]
    fn born(&self) -> bool {
        self.born
    }

    #[request]
    fn leave(&mut self, ctx: &mut Ctx<Self>) -> &'static str {
        ctx.stop();
        ctx.stop();
        "bye"
    }

    #[request]
    fn adopt(&mut self, ctx: &mut Ctx<Self>) -> (Addr<Tenant>, Option<ActorId>) {
        let child = ctx.spawn(Tenant {
            journal: self.journal.clone(),
            born: false,
            children: vec![],
        });
        self.children.push(child.clone());
        (child, Some(ctx.id()))
    }

    #[on(knock)]
    fn knock(&mut self) {}
}

fn tenant(journal: &Journal) -> Addr<Tenant> {
    spawn(Tenant {
        journal: journal.clone(),
        born: false,
        children: vec![],
    })
}

#[test]
fn birth_runs_before_the_first_message() {
    block_on(async {
        let journal = Journal::default();
        for _ in 0..100 {
            let t = tenant(&journal);
            assert_eq!(query!(t, born()).await, Ok(true));
        }
    });
}

#[test]
fn ctx_stop_ends_the_actor_after_the_handler_and_refuses_what_follows() {
    block_on(async {
        let journal = Journal::default();
        let t = tenant(&journal);
        let leave = request!(t, leave());
        let after = query!(t, born());
        assert_eq!(leave.await, Ok("bye"));
        assert_eq!(after.await, Err(SpeechError::Failed(Failure::Dead)));
        assert_eq!(
            query!(t, born()).await,
            Err(SpeechError::Failed(Failure::Dead))
        );
        assert_eq!(
            notify!(t, knock()).result(),
            Err(SpeechError::Failed(Failure::Dead))
        );
        assert_eq!(t.stop().await, Err(SpeechError::Failed(Failure::Dead)));
        let entries = journal.lock().unwrap().clone();
        assert_eq!(entries.iter().filter(|e| *e == "stopping").count(), 1);
        assert!(entries[0].starts_with("born"));
    });
}

#[test]
fn addr_stop_waits_for_earlier_messages_and_the_stopping_hook() {
    block_on(async {
        let journal = Journal::default();
        let t = tenant(&journal);
        let earlier = query!(t, born());
        assert_eq!(t.stop().await, Ok(()));
        assert_eq!(earlier.await, Ok(true));
        assert_eq!(
            journal.lock().unwrap().last().map(String::as_str),
            Some("stopping")
        );
        assert!(t.stop().await.is_err(), "stopping twice is an error value");
    });
}

#[test]
fn ctx_spawn_gives_the_creator_its_child() {
    block_on(async {
        let journal = Journal::default();
        let parent = tenant(&journal);
        let (child, parent_id) = request!(parent, adopt()).await.expect("adopted");
        assert_eq!(parent_id, Some(parent.id()));
        assert_ne!(child.id(), parent.id());
        assert_eq!(query!(child, born()).await, Ok(true));
    });
}
