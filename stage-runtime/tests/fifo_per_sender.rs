//! Messages from one sender to one receiver are processed in the order sent, whatever
//! other senders do at the same time (Stage's shopping cart).

use std::collections::HashMap;

use stage_runtime::prelude::*;

const SENDERS: usize = 8;
const MESSAGES: u64 = 20_000;

#[actor]
struct Sink {
    next: HashMap<u64, u64>,
    out_of_order: u64,
    received: u64,
}

#[behaviour]
impl Sink {
    #[on(seq)]
    fn seq(&mut self, sender: u64, n: u64) {
        let expected = self.next.entry(sender).or_insert(0);
        if n != *expected {
            self.out_of_order += 1;
        }
        *expected = n + 1;
        self.received += 1;
    }

    #[query]
    fn report(&self) -> (u64, u64) {
        (self.received, self.out_of_order)
    }
}

/// An actor that sends its own numbered stream to the sink.
#[actor]
struct Talker {
    sink: Addr<Sink>,
}

#[behaviour]
impl Talker {
    #[request]
    fn talk(&mut self, me: u64, count: u64) {
        for n in 0..count {
            notify!(self.sink, seq(me, n));
        }
    }
}

#[test]
fn order_per_sender_holds_under_concurrent_threads_and_actors() {
    let stage = Stage::builder().workers(2).build();
    let sink = stage.spawn(Sink {
        next: HashMap::new(),
        out_of_order: 0,
        received: 0,
    });
    // Half the senders are plain threads, half are actors on the stage.
    let threads: Vec<_> = (0..SENDERS as u64 / 2)
        .map(|me| {
            let sink = sink.clone();
            std::thread::spawn(move || {
                for n in 0..MESSAGES {
                    assert!(notify!(sink, seq(me, n)).is_ok());
                }
            })
        })
        .collect();
    let talks: Vec<_> = (SENDERS as u64 / 2..SENDERS as u64)
        .map(|me| {
            let talker = stage.spawn(Talker { sink: sink.clone() });
            request!(talker, talk(me, MESSAGES))
        })
        .collect();
    for thread in threads {
        thread.join().expect("sender thread");
    }
    for talk in talks {
        talk.wait().expect("talker answered");
    }
    // The talkers' notifies were sent before their replies; the query is sent after
    // all of them, from this thread, so it is processed after this thread's own
    // messages only: wait for quiescence to see everything.
    stage.wait_quiescent();
    let (received, out_of_order) = query!(sink, report()).wait().expect("answered");
    assert_eq!(received, SENDERS as u64 * MESSAGES);
    assert_eq!(out_of_order, 0);
}

#[actor]
struct Cart {
    items: Vec<String>,
}

#[behaviour]
impl Cart {
    #[on(add)]
    fn add(&mut self, item: String) {
        self.items.push(item);
    }

    #[query]
    fn total(&self) -> usize {
        self.items.len()
    }
}

#[test]
fn a_query_after_three_adds_sees_all_three_every_time() {
    block_on(async {
        for _ in 0..1_000 {
            let cart = spawn(Cart { items: vec![] });
            notify!(cart, add("beans".into()));
            notify!(cart, add("bread".into()));
            notify!(cart, add("milk".into()));
            assert_eq!(query!(cart, total()).await, Ok(3));
        }
    });
}
