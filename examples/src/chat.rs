//! Stage's chat program (section 2), on one machine:
//!
//! ```text
//! class ChatServer(BidirectionalServer):
//!   def say(self, message):
//!     for child in self.children: child(message)
//!
//! class User(MobileActor):
//!   def birth(self):
//!     self.server = ChatServer()
//!     self.server.addchild(self.listen)
//!     Keyboard().subscribe(self.talk)
//!   def talk(self, msg): self.server.say(msg)
//!   def listen(self, msg): print ">", msg
//! ```
//!
//! The server forwards what it is told through a `Topic`; each user joins with its
//! `listen` channel and types on a `Keyboard`, which in tests reads a script. (Finding
//! the server by a universal name, across theatres, comes with `stage-net`; here the
//! users are given its address.)

use stage_runtime::drivers::{Keyboard, Topic};
use stage_runtime::prelude::*;

/// The chat server: what one user says, every user hears.
#[actor]
#[derive(Debug)]
pub struct ChatServer {
    children: Addr<Topic<String>>,
}

impl ChatServer {
    /// A server with its own topic, on the current stage.
    pub fn new() -> Self {
        ChatServer {
            children: spawn(Topic::new()),
        }
    }
}

impl Default for ChatServer {
    fn default() -> Self {
        ChatServer::new()
    }
}

#[behaviour]
impl ChatServer {
    /// `addchild`: `who` hears everything said from now on.
    #[request]
    async fn add_child(&mut self, who: Recipient<String>) -> Result<(), SpeechError> {
        request!(self.children, subscribe(who)).await
    }

    #[on(say)]
    fn say(&mut self, message: String) {
        notify!(self.children, publish(message));
    }
}

/// A chat user.
#[actor]
#[derive(Debug)]
pub struct User {
    name: &'static str,
    server: Addr<ChatServer>,
    out: Addr<Stdout>,
}

#[behaviour]
impl User {
    /// Joins the server before taking any message.
    #[birth]
    async fn birth(&mut self, ctx: &mut Ctx<Self>) {
        let me = ctx.addr();
        let _ = request!(self.server, add_child(recipient!(me, listen))).await;
    }

    /// Types on `keyboard` from now on.
    #[request]
    async fn use_keyboard(
        &mut self,
        ctx: &mut Ctx<Self>,
        keyboard: Addr<Keyboard>,
    ) -> Result<(), SpeechError> {
        let me = ctx.addr();
        request!(keyboard, subscribe(recipient!(me, talk))).await
    }

    #[on(talk)]
    fn talk(&mut self, msg: String) {
        notify!(self.server, say(format!("{}: {msg}", self.name)));
    }

    #[on(listen)]
    fn listen(&mut self, msg: String) {
        notify!(self.out, println(format!("[{}] > {msg}", self.name)));
    }

    #[query]
    fn name(&self) -> &'static str {
        self.name
    }
}

/// Starts a server and one user per `(name, keyboard)`; every user has joined before
/// anyone types.
pub async fn run(
    users: Vec<(&'static str, Keyboard)>,
    out: Addr<Stdout>,
) -> Result<Vec<Addr<User>>, SpeechError> {
    let server = spawn(ChatServer::new());
    let mut started = Vec::new();
    for (name, keyboard) in users {
        let user = spawn(User {
            name,
            server: server.clone(),
            out: out.clone(),
        });
        // Answered after `#[birth]`, so after the user has joined.
        query!(user, name()).await?;
        started.push((user, keyboard));
    }
    let mut addrs = Vec::new();
    for (user, keyboard) in started {
        request!(user, use_keyboard(spawn(keyboard))).await??;
        addrs.push(user);
    }
    Ok(addrs)
}
