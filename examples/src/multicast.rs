//! SALSA's multicast protocols (section 3.4, figures 5-8).
//!
//! - Basic: the director sends `m()` to every member and is done at once.
//! - Acknowledged (figure 6): `join(actors<-m()) @ done()`: `done` runs once every
//!   member has processed `m`.
//! - Group knowledge (figure 8): two phases; after the first join, the director tells
//!   every member that everybody got the message (`ok`), and is done when all have
//!   processed that too: then everybody knows that everybody got it.

use stage_runtime::prelude::*;

/// A group member (SALSA's `SimpleActor`, with a memory of what it got).
#[actor]
#[derive(Debug, Default)]
pub struct Member {
    got: u32,
    everyone_got_it: bool,
}

#[behaviour]
impl Member {
    /// The multicast message, as an event (basic multicast).
    #[on(m)]
    fn m_event(&mut self) {
        self.got += 1;
    }

    /// The multicast message, acknowledged by the reply.
    #[request]
    fn m(&mut self) {
        self.got += 1;
    }

    /// Group knowledge's second phase: everybody got `m`.
    #[request]
    fn ok(&mut self) -> bool {
        self.everyone_got_it = true;
        self.got > 0
    }

    /// How many `m`s it got, and whether it knows everybody got one.
    #[query]
    fn state(&self) -> (u32, bool) {
        (self.got, self.everyone_got_it)
    }
}

/// The protocol's director.
#[actor]
#[derive(Debug)]
pub struct Director {
    group: Vec<Addr<Member>>,
    log: Addr<Stdout>,
}

#[behaviour]
impl Director {
    /// Basic multicast: fire and forget.
    #[request]
    fn basic(&mut self) -> usize {
        self.group
            .iter()
            .filter(|a| notify!(a, m()).is_ok())
            .count()
    }

    /// `join(actors<-m()) @ done()`.
    #[request]
    fn acknowledged(&mut self, ctx: &mut Ctx<Self>) -> Reply<usize> {
        let me = ctx.addr();
        join_all(self.group.iter().map(|a| request!(a, m())))
            .then(move |acks| request!(me, done(acks.len())))
    }

    /// Two phases: `m` to all, then `ok` to all.
    #[request]
    fn group_knowledge(&mut self, ctx: &mut Ctx<Self>) -> Reply<usize> {
        let me = ctx.addr();
        let group = self.group.clone();
        join_all(self.group.iter().map(|a| request!(a, m())))
            .then(move |_| join_all(group.iter().map(|a| request!(a, ok()))))
            .then(move |oks| request!(me, done(oks.into_iter().filter(|ok| *ok).count())))
    }

    /// The continuation: reports and answers how many took part.
    #[request]
    fn done(&mut self, members: usize) -> usize {
        notify!(self.log, println(format!("done: {members} members")));
        members
    }
}

/// A director over `size` fresh members.
pub fn director(size: usize, log: Addr<Stdout>) -> (Addr<Director>, Vec<Addr<Member>>) {
    let group: Vec<_> = (0..size).map(|_| spawn(Member::default())).collect();
    let director = spawn(Director {
        group: group.clone(),
        log,
    });
    (director, group)
}

/// Runs the three protocols, each on its own group.
pub async fn run(size: usize, log: Addr<Stdout>) -> Result<(), SpeechError> {
    let (basic, _) = director(size, log.clone());
    let sent = request!(basic, basic()).await?;
    request!(log, println(format!("basic: sent m to {sent} members"))).await?;
    let (acked, _) = director(size, log.clone());
    let acknowledged = request!(acked, acknowledged()).await?;
    request!(
        log,
        println(format!("acknowledged: {acknowledged} members processed m"))
    )
    .await?;
    let (knowing, _) = director(size, log.clone());
    let known = request!(knowing, group_knowledge()).await?;
    request!(
        log,
        println(format!(
            "group knowledge: {known} members know everybody got m"
        ))
    )
    .await
}
