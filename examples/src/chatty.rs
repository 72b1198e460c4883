//! Star's chatty actors (Actors chapter, "A Chatty actor Example"):
//!
//! ```text
//! fun chatty(Who) is actor{
//!   on Msg on ear do{
//!     logMsg(info,"I heard $Msg");
//!     notify Who() with "Did you hear [$Msg]?" on ear;
//!   };
//! }
//! ... in { notify ping() with "hello" on ear }
//! ```
//!
//! Star completes a notify only when the target has run its rules, so the endless
//! conversation ends in a stack overflow. Here a notify returns at once and each
//! rule runs in its own turn: the stack never grows. The conversation is bounded to
//! a number of rounds so that the program ends.

use stage_runtime::prelude::*;

/// A talker with an `ear`, which knows the partner it answers.
#[actor]
#[derive(Debug)]
pub struct Chatty {
    name: &'static str,
    who: Option<Addr<Chatty>>,
    standard_output: Addr<Stdout>,
    /// Answers left before it stops talking.
    rounds: u32,
}

#[behaviour]
impl Chatty {
    /// Star's `Who` is a memo function so that ping and pong can know each other;
    /// here the partner is introduced after both exist.
    #[request]
    fn meet(&mut self, who: Addr<Chatty>) {
        self.who = Some(who);
    }

    #[on(ear)]
    fn hear(&mut self, msg: String) {
        notify!(
            self.standard_output,
            println(format!("{} heard: {msg}", self.name))
        );
        if self.rounds == 0 {
            return;
        }
        self.rounds -= 1;
        if let Some(who) = &self.who {
            notify!(who with format!("Did you hear [{msg}]?") on ear);
        }
    }
}

/// Sets ping and pong talking for `rounds` answers each.
pub async fn run(standard_output: Addr<Stdout>, rounds: u32) -> Result<(), SpeechError> {
    let chatty = |name| {
        spawn(Chatty {
            name,
            who: None,
            standard_output: standard_output.clone(),
            rounds,
        })
    };
    let ping = chatty("ping");
    let pong = chatty("pong");
    request!(ping, meet(pong.clone())).await?;
    request!(pong, meet(ping.clone())).await?;
    notify!(ping with "hello".to_string() on ear).result()
}
