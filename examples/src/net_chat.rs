//! Stage's chat program (seed 000, section 2) across theatres: each user is a
//! theatre of its own (a process, started by `theatre --chat`), and the chat room
//! is found by universal name and started on demand, on whichever theatre is the
//! name's home, the first time anyone enters.
//!
//! ```text
//! class ChatServer(BidirectionalServer):
//!   def say(self, message):
//!     for child in self.children: child(message)
//!
//! class User(MobileActor):
//!   def talk(self, msg): self.server.say(msg)
//!   def listen(self, msg): print ">", msg
//! ```

use std::io::BufRead;

use stage_net::Theatre;
use stage_runtime::prelude::*;

/// The universal name of the chat room.
pub const ROOM: &str = "chat";

/// The chat room: what one member says, every member hears.
#[actor(mobile)]
#[derive(Debug, Default)]
pub struct ChatRoom {
    members: Vec<(String, Addr<Member>)>,
}

#[behaviour]
impl ChatRoom {
    /// `addchild`: `member` hears everything said from now on. The number of
    /// members, this one included.
    #[request]
    pub fn enter(&mut self, name: String, member: Addr<Member>) -> usize {
        for (_, other) in &self.members {
            notify!(other, hear(format!("{name} entered")));
        }
        self.members.push((name, member));
        self.members.len()
    }

    /// Everyone hears `text`, said by `from`.
    #[on(say)]
    pub fn say(&mut self, from: String, text: String) {
        let line = format!("{from}: {text}");
        // A member whose theatre has gone is dropped.
        self.members
            .retain(|(_, member)| notify!(member, hear(line.clone())).is_ok());
    }

    /// `name` leaves; answered after everything it said before has been heard.
    #[request]
    pub fn leave(&mut self, name: String) {
        self.members.retain(|(member, _)| *member != name);
        for (_, other) in &self.members {
            notify!(other, hear(format!("{name} left")));
        }
    }
}

/// A chat user: prints what it hears.
#[actor(mobile)]
#[derive(Debug)]
pub struct Member {
    name: String,
    out: Addr<Stdout>,
}

#[behaviour]
impl Member {
    /// `listen`.
    #[on(hear)]
    pub fn hear(&mut self, line: String) {
        notify!(self.out, println(format!("[{}] > {line}", self.name)));
    }
}

/// Enters the chat room as `name`, says each line of `input`, and leaves at its
/// end. Prints to `out`.
///
/// # Errors
///
/// The speech error of entering or leaving (the room's theatre unreachable, say).
pub fn member(
    theatre: &Theatre,
    name: &str,
    input: impl BufRead,
    out: &Addr<Stdout>,
) -> Result<(), SpeechError> {
    let room = theatre.named::<ChatRoom>(ROOM);
    let me = theatre.spawn(Member {
        name: name.to_owned(),
        out: out.clone(),
    });
    let here = request!(room, enter(name.to_owned(), me.clone())).wait()?;
    request!(
        out,
        println(format!("{name} is in the chat room ({here} here)"))
    )
    .wait()?;
    for line in input.lines() {
        let Ok(line) = line else { break };
        notify!(room, say(name.to_owned(), line));
    }
    request!(room, leave(name.to_owned())).wait()?;
    // What this member heard before leaving is printed before it goes.
    me.stop().wait()?;
    request!(out, println(format!("{name} left"))).wait()
}
