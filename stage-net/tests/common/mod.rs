//! What the theatre tests share: actors, theatres on loopback, and raw sockets for
//! playing a hostile peer. Each test file uses its part.

#![allow(dead_code, unused_imports)]

pub(crate) use stage_net::frame::{self, Frame};
pub(crate) use stage_net::handshake::{self, Identity};
pub(crate) use stage_net::{NetError, Theatre};
pub(crate) use stage_runtime::prelude::*;
pub(crate) use std::io::{Read, Write};
pub(crate) use std::net::TcpStream;
pub(crate) use std::sync::atomic::{AtomicUsize, Ordering};
pub(crate) use std::sync::{Arc, Barrier};
pub(crate) use std::time::{Duration, Instant};

pub(crate) const COOKIE: &str = "test-cookie";

#[actor(mobile)]
pub(crate) struct Account {
    pub(crate) balance: i64,
    pub(crate) log: Vec<(u32, u32)>,
}

#[behaviour]
impl Account {
    #[on(deposit)]
    fn credit(&mut self, amount: i64) {
        self.balance += amount;
    }

    /// Records (sender, sequence) pairs, for the ordering test.
    #[on(mark)]
    fn mark(&mut self, sender: u32, seq: u32) {
        self.log.push((sender, seq));
    }

    #[query]
    fn balance(&self) -> i64 {
        self.balance
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
    fn log(&self) -> Vec<(u32, u32)> {
        self.log.clone()
    }

    #[request]
    fn nap(&mut self, millis: u64) {
        std::thread::sleep(Duration::from_millis(millis));
    }
}

#[actor(mobile)]
pub(crate) struct Other;

#[behaviour]
impl Other {
    #[query]
    fn hello(&self) -> String {
        "hello".into()
    }
}

pub(crate) fn theatre(seeds: &[&Theatre]) -> Theatre {
    Theatre::builder()
        .listen("127.0.0.1:0")
        .cookie(COOKIE)
        .join(seeds.iter().map(|t| t.locator().to_owned()))
        .start()
        .expect("theatre starts")
}

pub(crate) fn account() -> Account {
    Account {
        balance: 0,
        log: Vec::new(),
    }
}

/// Records what one side writes, to replay it later.
pub(crate) struct Recorder {
    pub(crate) stream: TcpStream,
    pub(crate) written: Vec<u8>,
}

impl Read for Recorder {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.stream.read(buf)
    }
}

impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.written.extend_from_slice(buf);
        self.stream.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.stream.flush()
    }
}

pub(crate) fn raw(theatre: &Theatre) -> TcpStream {
    let stream = TcpStream::connect(theatre.locator().trim_start_matches("stage://")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
}

/// Reads until the peer closes; the frames it sent on the way.
pub(crate) fn until_closed(stream: &mut TcpStream) -> Vec<Frame> {
    let mut frames = Vec::new();
    loop {
        match frame::read(stream, 1 << 20) {
            Ok(frame) => frames.push(frame),
            Err(_) => return frames,
        }
    }
}

/// Keeps an address it was given, and uses it.
#[actor(mobile)]
pub(crate) struct Keeper {
    pub(crate) kept: Option<Addr<Account>>,
}

#[behaviour]
impl Keeper {
    #[on(keep)]
    fn keep(&mut self, account: Addr<Account>) {
        notify!(account, deposit(10));
        self.kept = Some(account);
    }

    #[query]
    fn kept(&self) -> Option<Addr<Account>> {
        self.kept.clone()
    }
}

/// Passes an address on to a keeper on another theatre.
#[actor(mobile)]
pub(crate) struct Relay;

#[behaviour]
impl Relay {
    #[request]
    fn pass(&mut self, account: Addr<Account>, keeper: Addr<Keeper>) -> bool {
        let local = account.is_local() || keeper.is_local();
        notify!(keeper, keep(account));
        !local
    }
}

pub(crate) fn keeper_on(theatre: &Theatre) {
    theatre
        .bind("keeper", &theatre.spawn(Keeper { kept: None }))
        .unwrap();
}

/// A room started on demand; each theatre counts the rooms it started.
#[actor(mobile)]
pub(crate) struct Room {
    pub(crate) entered: Vec<u32>,
}

#[behaviour]
impl Room {
    #[on(enter)]
    fn enter(&mut self, who: u32) {
        self.entered.push(who);
    }

    #[query]
    fn entered(&self) -> usize {
        self.entered.len()
    }
}

/// Enters a room it is given, from its own theatre.
#[actor(mobile)]
pub(crate) struct Porter;

#[behaviour]
impl Porter {
    #[request]
    fn usher(&mut self, room: Addr<Room>, who: u32) -> bool {
        notify!(room, enter(who));
        room.is_local()
    }
}

/// A theatre that starts rooms on demand, and its count of rooms started.
pub(crate) fn room_theatre(seeds: &[&Theatre]) -> (Theatre, Arc<AtomicUsize>) {
    let started = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&started);
    let theatre = Theatre::builder()
        .cookie(COOKIE)
        .down_after(Duration::from_millis(500))
        .join(seeds.iter().map(|t| t.locator().to_owned()))
        .activates(move |_name| {
            count.fetch_add(1, Ordering::SeqCst);
            Room {
                entered: Vec::new(),
            }
        })
        .start()
        .expect("theatre starts");
    (theatre, started)
}

pub(crate) fn full_mesh(theatres: &[&Theatre]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while theatres
        .iter()
        .any(|t| t.peers().len() < theatres.len() - 1)
    {
        assert!(Instant::now() < deadline, "no full mesh");
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub(crate) fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Hears when the actors it watches end.
#[actor]
pub(crate) struct Watcher {
    pub(crate) seen: Vec<DownReason>,
}

#[behaviour]
impl Watcher {
    #[request]
    fn watch(&mut self, ctx: &mut Ctx<Self>, other: Addr<Account>) {
        ctx.monitor(&other);
    }

    #[down]
    fn gone(&mut self, down: Down) {
        self.seen.push(down.reason);
    }

    #[query]
    fn seen(&self) -> Vec<DownReason> {
        self.seen.clone()
    }
}
