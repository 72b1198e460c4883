//! The mobility hooks and calls of a mobile actor.
#![deny(missing_docs, unused, clippy::all)]
//! Crate docs.

use stage_runtime::prelude::*;

/// An agent that travels with a friend.
#[actor(mobile)]
pub struct Agent {
    hops: u32,
    failures: Vec<String>,
    friend: Option<Addr<Agent>>,
}

#[behaviour]
impl Agent {
    #[on(travel)]
    fn travel(&mut self, ctx: &mut Ctx<Self>, to: String) {
        if let Some(friend) = self.friend.clone() {
            ctx.befriend(&friend);
        }
        ctx.migrate_to(to);
    }
    #[arrived]
    async fn landed(&mut self, ctx: &mut Ctx<Self>) {
        self.hops += 1;
        let _ = ctx.locator();
    }
    #[migration_failed]
    fn stayed(&mut self, ctx: &mut Ctx<Self>, error: MigrationError) {
        let _ = ctx.id();
        self.failures.push(error.to_string());
    }
    #[query]
    fn hops(&self) -> u32 {
        self.hops
    }
}

/// A worker that a theatre's load balancer may move.
#[actor(mobile, balance)]
pub struct Worker {
    done: u64,
}

#[behaviour]
impl Worker {
    #[query]
    fn done(&self) -> u64 {
        self.done
    }
}

fn main() {
    let worker = spawn(Worker { done: 0 });
    let _ = query!(worker, done());
    let agent = spawn(Agent { hops: 0, failures: vec![], friend: None });
    let _ = notify!(agent, travel("stage://127.0.0.1:1".to_owned()));
}
