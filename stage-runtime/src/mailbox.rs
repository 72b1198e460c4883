//! An actor's mailbox: a multi-producer, single-consumer queue that can be closed.
//!
//! A linked list of nodes in Vyukov's style: a producer allocates a node, swaps it in
//! as the tail (one compare-and-swap) and links its predecessor to it; the one
//! consumer (the worker holding the actor's turn) follows `next` from a stub node.
//! An idle actor's mailbox is four words and one empty node, not the cache-padded
//! head, tail and block of a general channel (which cost 700-odd bytes per actor).
//!
//! The tail's lowest bit is the `CLOSED` mark (nodes are aligned to more than one
//! byte), so that a push and a close are ordered by the one word producers contend
//! for anyway: a push whose swap found the tail unmarked was accepted before the
//! close, and the closer's drain (which waits until it has taken everything up to
//! the tail) hands its letter back; a push that finds the mark is refused. A push is
//! one atomic read-modify-write on a shared line, the swap, plus the link into its
//! predecessor. (Before, a counter of pushes in progress beside the tail cost two
//! more per letter.) Between a producer's swap and its link the consumer may see the
//! list end early; [`Mailbox::pushed_since`] (the tail moved) tells it to come back.
//! A bounded mailbox also counts its letters.

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// Set in the tail's address once the mailbox is closed.
const CLOSED: usize = 1;

/// `node` without the `CLOSED` mark.
fn unmarked<T>(node: *mut Node<T>) -> *mut Node<T> {
    node.map_addr(|address| address & !CLOSED)
}

struct Node<T> {
    next: AtomicPtr<Node<T>>,
    /// Initialised in every node but the stub.
    value: MaybeUninit<T>,
}

impl<T> Node<T> {
    fn alloc(value: MaybeUninit<T>) -> *mut Node<T> {
        Box::into_raw(Box::new(Node {
            next: AtomicPtr::new(ptr::null_mut()),
            value,
        }))
    }
}

/// Why a push was refused; the value comes back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PushError<T> {
    /// A bounded mailbox is at its capacity.
    Full(T),
    /// The mailbox is closed.
    Closed(T),
}

/// Where the consumer was (its stub node's address), from [`Mailbox::mark`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark(usize);

/// `repr(C)`: the tail first, so that the actor cell can put its status beside it
/// (see `ActorCell`).
#[repr(C)]
pub(crate) struct Mailbox<T> {
    /// The last node pushed, marked `CLOSED` once the mailbox is closed.
    tail: AtomicPtr<Node<T>>,
    /// The bound, for a bounded mailbox.
    capacity: Option<usize>,
    /// For a bounded mailbox: letters accepted and not yet taken.
    len: AtomicUsize,
    /// A node the consumer is done with, kept for the next push: most mailboxes hold
    /// one letter at a time, so a letter costs no allocation. Only the consumer puts a
    /// node here, and only when it is empty; producers only take it.
    spare: AtomicPtr<Node<T>>,
    /// The stub: the last node taken (its value gone). Only the consumer touches it.
    head: UnsafeCell<*mut Node<T>>,
}

// SAFETY: values move from producers to the consumer, so `T: Send` is needed and
// enough; the nodes are reached only through the atomic protocol described above, and
// `head` only by the single consumer (the contract of `pop`).
unsafe impl<T: Send> Send for Mailbox<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Mailbox<T> {}

impl<T> Mailbox<T> {
    /// An empty mailbox, bounded to `capacity` letters if given.
    pub(crate) fn new(capacity: Option<usize>) -> Self {
        let stub = Node::alloc(MaybeUninit::uninit());
        Mailbox {
            head: UnsafeCell::new(stub),
            tail: AtomicPtr::new(stub),
            capacity: capacity.map(|c| c.max(1)),
            len: AtomicUsize::new(0),
            spare: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Accepts `value`, unless the mailbox is closed or full.
    ///
    /// # Errors
    ///
    /// [`PushError::Closed`] or [`PushError::Full`], with the value.
    pub(crate) fn push(&self, value: T) -> Result<(), PushError<T>> {
        if self.is_closed() {
            return Err(PushError::Closed(value));
        }
        if let Some(capacity) = self.capacity {
            let accepted = self
                .len
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |len| {
                    (len < capacity).then_some(len + 1)
                });
            if accepted.is_err() {
                return Err(PushError::Full(value));
            }
        }
        let node = self.node_for(value);
        if self.link(node, node) {
            return Ok(());
        }
        self.uncount(1);
        // SAFETY: the mailbox was closed before the swap, so `node` was never
        // published: it is ours, and holds `value`.
        let (value, _) = unsafe { Self::take_back(node) };
        Err(PushError::Closed(value))
    }

    /// The value of a node that was never published, and the node after it in
    /// its chain; the node is freed.
    ///
    /// # Safety
    ///
    /// `node` came from [`Mailbox::node_for`] or `Node::alloc` with a value, and
    /// no other thread can reach it.
    unsafe fn take_back(node: *mut Node<T>) -> (T, *mut Node<T>) {
        // SAFETY: the caller's contract: ours alone, allocated as a box.
        let owned = unsafe { Box::from_raw(node) };
        // SAFETY: the value is initialised and read once, here; the box is then
        // freed without dropping it again.
        let value = unsafe { owned.value.assume_init_read() };
        (value, owned.next.load(Ordering::Relaxed))
    }

    /// Swaps the chain `first..=last` in as the tail and links its predecessor to
    /// it, unless the mailbox is closed (then `false`, and nothing was published).
    fn link(&self, first: *mut Node<T>, last: *mut Node<T>) -> bool {
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            if tail.addr() & CLOSED != 0 {
                return false;
            }
            // SeqCst: an actor going idle checks the tail after publishing its
            // status, and the sender checks the status after this; one of the two
            // sees the other.
            match self
                .tail
                .compare_exchange_weak(tail, last, Ordering::SeqCst, Ordering::Relaxed)
            {
                Ok(previous) => {
                    // SAFETY: `previous` was the tail, so it is not freed yet: the
                    // consumer frees a node only once it has moved past it, which
                    // needs its `next`, set here.
                    unsafe { (*previous).next.store(first, Ordering::Release) };
                    return true;
                }
                Err(now) => tail = now,
            }
        }
    }

    /// Gives back the count of `letters` a bounded mailbox took and then refused.
    fn uncount(&self, letters: usize) {
        if self.capacity.is_some() {
            self.len.fetch_sub(letters, Ordering::AcqRel);
        }
    }

    /// Whether [`Mailbox::close`] was called.
    fn is_closed(&self) -> bool {
        self.tail.load(Ordering::Acquire).addr() & CLOSED != 0
    }

    /// Accepts every value of `values`, in order, linked in with one swap of the
    /// tail: a producer with a run of letters for one actor (a connection's reader)
    /// touches the nodes the consumer reads once per run, not once per letter.
    /// A bounded mailbox takes the whole run even past its capacity (the caller
    /// bounds what it pushes so, see `ActorCell::send_all_from`), and counts it.
    /// `values` is left empty; or, when the mailbox is closed, left as it was, with
    /// `false`.
    pub(crate) fn push_all(&self, values: &mut Vec<T>) -> bool {
        if self.is_closed() {
            return false;
        }
        let count = values.len();
        let mut drained = values.drain(..);
        let Some(value) = drained.next() else {
            return true;
        };
        let first = self.node_for(value);
        let mut last = first;
        for value in drained {
            let node = Node::alloc(MaybeUninit::new(value));
            // SAFETY: the chain is this producer's alone until the swap below
            // publishes it; the release store that links it in orders this store
            // before the consumer's acquire loads.
            unsafe { (*last).next.store(node, Ordering::Relaxed) };
            last = node;
        }
        if self.capacity.is_some() {
            self.len.fetch_add(count, Ordering::AcqRel);
        }
        if self.link(first, last) {
            return true;
        }
        // Closed meanwhile: the chain was never published; its values go back.
        self.uncount(count);
        let mut node = first;
        while !node.is_null() {
            // SAFETY: the chain is ours alone, each node holding a value.
            let (value, next) = unsafe { Self::take_back(node) };
            values.push(value);
            node = next;
        }
        false
    }

    /// A node holding `value`: the spare one if there is one, else a new one.
    fn node_for(&self, value: T) -> *mut Node<T> {
        if !self.spare.load(Ordering::Relaxed).is_null() {
            let spare = self.spare.swap(ptr::null_mut(), Ordering::Acquire);
            if !spare.is_null() {
                // SAFETY: the swap made this producer the node's only owner; the
                // consumer released it (its value moved out, `next` cleared) before
                // putting it here, and the acquire sees that.
                unsafe { (*spare).value.write(value) };
                return spare;
            }
        }
        Node::alloc(MaybeUninit::new(value))
    }

    /// Takes the oldest letter, if one is linked in.
    ///
    /// # Safety
    ///
    /// Only one thread at a time may pop (the one holding the actor's turn, or its
    /// drop): `head` is the consumer's alone.
    pub(crate) unsafe fn pop(&self) -> Option<T> {
        // SAFETY: the caller is the only consumer.
        let head = unsafe { &mut *self.head.get() };
        // SAFETY: `*head` is the stub, alive until we replace and free it below.
        let next = unsafe { (**head).next.load(Ordering::Acquire) };
        if next.is_null() {
            return None;
        }
        // SAFETY: `next` was linked by a completed push, so its value is initialised;
        // it becomes the new stub, and its value is moved out exactly once, here.
        let value = unsafe { (*next).value.assume_init_read() };
        let old = std::mem::replace(head, next);
        // `old` was the stub: its value was taken when it became the stub (or it never
        // had one), and no producer holds it (`next` is set: it is not the tail).
        if self.spare.load(Ordering::Relaxed).is_null() {
            // SAFETY: as just said, `old` is ours alone until published here.
            unsafe { (*old).next.store(ptr::null_mut(), Ordering::Relaxed) };
            // Only this consumer puts a node in `spare`, and it is empty: a store
            // cannot overwrite one.
            self.spare.store(old, Ordering::Release);
        } else {
            // SAFETY: as above; dropping the box frees it without touching the
            // `MaybeUninit` value.
            drop(unsafe { Box::from_raw(old) });
        }
        if self.capacity.is_some() {
            self.len.fetch_sub(1, Ordering::AcqRel);
        }
        Some(value)
    }

    /// Where the consumer is: compare it later with [`Mailbox::pushed_since`].
    ///
    /// # Safety
    ///
    /// As [`Mailbox::pop`]: the caller is the only consumer.
    pub(crate) unsafe fn mark(&self) -> Mark {
        // SAFETY: the caller is the only consumer.
        Mark(unsafe { *self.head.get() }.addr())
    }

    /// Whether a letter was pushed (or is being pushed) that the consumer had not
    /// taken at `mark`. Safe from any thread: it reads only the tail. When a new
    /// consumer has freed the marked node since, the answer may be a stale `false`;
    /// that consumer is then running and takes the letter itself.
    pub(crate) fn pushed_since(&self, mark: Mark) -> bool {
        unmarked(self.tail.load(Ordering::SeqCst)).addr() != mark.0
    }

    /// Refuses every later push.
    pub(crate) fn close(&self) {
        let mut tail = self.tail.load(Ordering::Relaxed);
        while tail.addr() & CLOSED == 0 {
            let marked = tail.map_addr(|address| address | CLOSED);
            match self
                .tail
                .compare_exchange_weak(tail, marked, Ordering::SeqCst, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(now) => tail = now,
            }
        }
    }

    /// Closes, then hands every accepted letter to `refuse`, waiting for any push
    /// that was accepted to link its letter in.
    ///
    /// # Safety
    ///
    /// As [`Mailbox::pop`]: the caller is the only consumer.
    pub(crate) unsafe fn close_and_drain(&self, mut refuse: impl FnMut(T)) {
        self.close();
        loop {
            // SAFETY: the caller is the only consumer.
            match unsafe { self.pop() } {
                Some(value) => refuse(value),
                // SAFETY: the caller is the only consumer. Closed, so the tail
                // moves no more: once the consumer has reached it, all is taken.
                None if !self.pushed_since(unsafe { self.mark() }) => return,
                // A producer between its swap and its link: a few instructions, unless
                // it was preempted there.
                None => std::thread::yield_now(),
            }
        }
    }
}

impl<T> Drop for Mailbox<T> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no producer and no other consumer.
        while unsafe { self.pop() }.is_some() {}
        // The stub and the spare, whose values are not initialised.
        // SAFETY: both were allocated by `Node::alloc` and are no longer reachable.
        drop(unsafe { Box::from_raw(*self.head.get_mut()) });
        let spare = *self.spare.get_mut();
        if !spare.is_null() {
            // SAFETY: as above.
            drop(unsafe { Box::from_raw(spare) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn first_in_first_out() {
        let mailbox = Mailbox::new(None);
        for i in 0..100 {
            assert_eq!(mailbox.push(i), Ok(()));
        }
        // SAFETY: this thread is the only consumer.
        let start = unsafe { mailbox.mark() };
        assert!(mailbox.pushed_since(start));
        for i in 0..100 {
            // SAFETY: this thread is the only consumer.
            assert_eq!(unsafe { mailbox.pop() }, Some(i));
        }
        // SAFETY: as above.
        assert_eq!(unsafe { mailbox.pop() }, None);
        // SAFETY: as above.
        let end = unsafe { mailbox.mark() };
        assert!(!mailbox.pushed_since(end));
    }

    #[test]
    fn one_letter_at_a_time_reuses_the_spare_node() {
        let mailbox = Mailbox::new(None);
        for i in 0..10 {
            mailbox.push(format!("letter {i}")).expect("open");
            // SAFETY: this thread is the only consumer.
            assert_eq!(unsafe { mailbox.pop() }, Some(format!("letter {i}")));
            assert!(!mailbox.spare.load(Ordering::Relaxed).is_null());
        }
        // The spare, holding no value, is freed with the mailbox (Miri checks).
    }

    #[test]
    fn bounded_refuses_when_full_and_accepts_again_after_a_pop() {
        let mailbox = Mailbox::new(Some(2));
        assert_eq!(mailbox.push(1), Ok(()));
        assert_eq!(mailbox.push(2), Ok(()));
        assert_eq!(mailbox.push(3), Err(PushError::Full(3)));
        // SAFETY: this thread is the only consumer.
        assert_eq!(unsafe { mailbox.pop() }, Some(1));
        assert_eq!(mailbox.push(3), Ok(()));
    }

    #[test]
    fn a_run_pushed_at_once_comes_out_in_order_among_single_pushes() {
        let mailbox = Mailbox::new(None);
        mailbox.push(0).expect("open");
        let mut run: Vec<i32> = (1..=5).collect();
        assert!(mailbox.push_all(&mut run));
        assert!(run.is_empty());
        assert!(mailbox.push_all(&mut run), "an empty run is accepted");
        mailbox.push(6).expect("open");
        // SAFETY: this thread is the only consumer.
        let taken: Vec<i32> = std::iter::from_fn(|| unsafe { mailbox.pop() }).collect();
        assert_eq!(taken, (0..=6).collect::<Vec<_>>());
        // Refused whole when closed.
        mailbox.close();
        let mut late = vec![7, 8];
        assert!(!mailbox.push_all(&mut late));
        assert_eq!(late, [7, 8]);
    }

    #[test]
    fn a_run_passes_a_bound_and_counts_against_it() {
        let bounded = Mailbox::new(Some(2));
        bounded.push(0).expect("room");
        let mut run = vec![1, 2, 3];
        assert!(bounded.push_all(&mut run), "a run is taken past the bound");
        assert_eq!(bounded.push(4), Err(PushError::Full(4)));
        // SAFETY: this thread is the only consumer.
        let taken: Vec<i32> = std::iter::from_fn(|| unsafe { bounded.pop() }).collect();
        assert_eq!(taken, [0, 1, 2, 3]);
        bounded.push(5).expect("room again once taken");
    }

    #[test]
    fn runs_from_several_producers_keep_each_producers_order() {
        let mailbox = std::sync::Arc::new(Mailbox::new(None));
        let producers: Vec<_> = (0..4u32)
            .map(|p| {
                let mailbox = std::sync::Arc::clone(&mailbox);
                std::thread::spawn(move || {
                    for run in 0..200u32 {
                        let mut values: Vec<(u32, u32)> =
                            (0..5).map(|i| (p, run * 5 + i)).collect();
                        assert!(mailbox.push_all(&mut values));
                    }
                })
            })
            .collect();
        let mut next = [0u32; 4];
        let mut taken = 0;
        while taken < 4 * 1000 {
            // SAFETY: this thread is the only consumer.
            match unsafe { mailbox.pop() } {
                Some((p, n)) => {
                    assert_eq!(n, next[p as usize]);
                    next[p as usize] += 1;
                    taken += 1;
                }
                None => std::thread::yield_now(),
            }
        }
        for producer in producers {
            producer.join().unwrap();
        }
    }

    #[test]
    fn closed_refuses_and_drain_hands_back_what_was_accepted() {
        let mailbox = Mailbox::new(None);
        mailbox.push(String::from("kept")).expect("open");
        mailbox.close();
        assert_eq!(
            mailbox.push(String::from("late")),
            Err(PushError::Closed(String::from("late")))
        );
        let mut refused = Vec::new();
        // SAFETY: this thread is the only consumer.
        unsafe { mailbox.close_and_drain(|s| refused.push(s)) };
        assert_eq!(refused, ["kept"]);
    }

    #[test]
    fn runs_and_single_pushes_racing_a_close_are_taken_whole_or_given_back_whole() {
        let rounds = if cfg!(miri) { 3 } else { 200 };
        for _ in 0..rounds {
            let mailbox = Arc::new(Mailbox::new(Some(1_000)));
            race_a_close(&mailbox, |mailbox| {
                let mut accepted = 0;
                for run in 0..50 {
                    let mut values: Vec<u32> = (0..4).map(|i| run * 4 + i).collect();
                    if mailbox.push_all(&mut values) {
                        accepted += 4;
                    } else {
                        let given_back: Vec<u32> = (0..4).map(|i| run * 4 + i).collect();
                        assert_eq!(values, given_back, "a refused run comes back in order");
                    }
                    if mailbox.push(1_000 + run).is_ok() {
                        accepted += 1;
                    }
                }
                accepted
            });
            assert_eq!(
                mailbox.len.load(Ordering::Acquire),
                0,
                "refused letters give their count back"
            );
        }
    }

    #[test]
    fn dropping_a_full_mailbox_drops_its_values() {
        let counted = Arc::new(());
        let mailbox = Mailbox::new(None);
        for _ in 0..10 {
            mailbox.push(Arc::clone(&counted)).expect("open");
        }
        drop(mailbox);
        assert_eq!(Arc::strong_count(&counted), 1);
    }

    #[test]
    fn concurrent_producers_keep_each_ones_order_and_lose_nothing() {
        let producers = 4;
        let each: usize = if cfg!(miri) { 50 } else { 20_000 };
        let mailbox = Arc::new(Mailbox::new(None));
        let handles: Vec<_> = (0..producers)
            .map(|p| {
                let mailbox = Arc::clone(&mailbox);
                std::thread::spawn(move || {
                    for i in 0..each {
                        mailbox.push((p, i)).expect("open");
                    }
                })
            })
            .collect();
        let mut next = vec![0; producers];
        let mut taken = 0;
        while taken < producers * each {
            // SAFETY: this thread is the only consumer.
            match unsafe { mailbox.pop() } {
                Some((p, i)) => {
                    assert_eq!(i, next[p], "producer {p}'s letters out of order");
                    next[p] += 1;
                    taken += 1;
                }
                None => std::thread::yield_now(),
            }
        }
        for handle in handles {
            handle.join().expect("producer");
        }
        // SAFETY: as above.
        assert!(!mailbox.pushed_since(unsafe { mailbox.mark() }));
    }

    #[test]
    fn a_close_racing_pushes_loses_nothing_accepted() {
        let rounds = if cfg!(miri) { 3 } else { 200 };
        for _ in 0..rounds {
            let mailbox = Arc::new(Mailbox::new(None));
            race_a_close(&mailbox, |mailbox| {
                (0..100).filter(|&i| mailbox.push(i).is_ok()).count()
            });
        }
    }

    /// Runs `pushes` on another thread while this one closes and drains the
    /// mailbox; what `pushes` says was accepted must be what the drain took.
    fn race_a_close<T: Send + 'static>(
        mailbox: &Arc<Mailbox<T>>,
        pushes: impl FnOnce(&Mailbox<T>) -> usize + Send + 'static,
    ) {
        let pusher = {
            let mailbox = Arc::clone(mailbox);
            std::thread::spawn(move || pushes(&mailbox))
        };
        std::thread::yield_now();
        let mut drained = 0;
        // SAFETY: this thread is the only consumer.
        unsafe { mailbox.close_and_drain(|_| drained += 1) };
        let accepted = pusher.join().expect("pusher");
        assert_eq!(drained, accepted);
    }
}
