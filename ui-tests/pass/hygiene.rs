//! Generated code names nothing the user's crate may shadow.
#![deny(missing_docs, unused, clippy::all)]
//! Crate docs.
#![allow(dead_code)]

/// Shadows `std`'s.
pub struct Result;
/// Shadows `std`'s.
pub struct Option;
/// Shadows `std`'s.
pub struct Box;
/// Shadows `std`'s.
pub trait Future {}
/// Shadows nothing, but a generated name could be it.
pub struct Message;
/// Shadows `stage_runtime`'s.
pub struct Reply;
/// Shadows `stage_runtime`'s.
pub struct Ctx;
/// Shadows `std`'s.
pub trait Clone {}

use stage_runtime::{actor, behaviour, query, request, spawn};

/// A counter.
#[actor]
pub struct Counter {
    n: u64,
}

#[behaviour]
impl Counter {
    #[on(add)]
    fn add(&mut self, by: u64) {
        self.n += by;
    }
    #[on(add, when = by > 100)]
    fn big(&mut self, by: u64) {}
    #[request]
    fn reset(&mut self, ctx: &mut stage_runtime::Ctx<Self>) -> u64 {
        let _ = ctx.id();
        std::mem::take(&mut self.n)
    }
    #[query]
    fn get(&self) -> u64 {
        self.n
    }
    #[query]
    async fn later(&self) -> u64 {
        self.n
    }
}

/// A mobile actor: serde's derive, through the runtime, under the same shadows.
#[actor(mobile)]
pub struct Rover {
    trail: Vec<(String, u32)>,
    /// Not carried.
    #[serde(skip)]
    scratch: u64,
}

#[behaviour]
impl Rover {
    #[request]
    fn visit(&mut self, place: String, at: u32) -> usize {
        self.trail.push((place, at));
        self.trail.len()
    }
}

fn main() {
    let rover = spawn(Rover {
        trail: Vec::new(),
        scratch: 0,
    });
    let _ = request!(rover, visit("here".to_string(), 1)).wait();
    let counter = spawn(Counter { n: 0 });
    stage_runtime::notify!(counter, add(1));
    let _ = request!(counter, reset()).wait();
    let _ = query!(counter, get()).wait();
    let _ = query!(counter, later()).wait();
}
