//! Channels modelled as actors (seed 004, "How do channels work?"):
//!
//! > A synchronous channel can be modeled by an Actor that receives put and get
//! > communications. Each put communication has a message and an address to which an
//! > acknowledgment is sent when the message is received by a get communication from
//! > the channel in FIFO order. Each get communication has an address to which the
//! > received message is sent.
//!
//! The "address to which an acknowledgment is sent" is the put's reply; a get's
//! "address to which the received message is sent" is the get's reply. Both handlers
//! delegate their answers to replies the channel completes later, so the channel is
//! never blocked. An asynchronous channel acknowledges a put at once and buffers it.

use std::collections::VecDeque;

use stage_runtime::prelude::*;
use stage_runtime::ReplySender;

/// A synchronous channel: a put is acknowledged only when a get takes its message.
#[actor]
#[derive(Debug, Default)]
pub struct SyncChannel {
    puts: VecDeque<(String, ReplySender<()>)>,
    gets: VecDeque<ReplySender<String>>,
}

#[behaviour]
impl SyncChannel {
    #[request]
    fn put(&mut self, message: String) -> Reply<()> {
        match self.gets.pop_front() {
            Some(get) => {
                get.send(message);
                Reply::ready(())
            }
            None => {
                let (ack, later) = Reply::pair();
                self.puts.push_back((message, later));
                ack
            }
        }
    }

    #[request]
    fn get(&mut self) -> Reply<String> {
        match self.puts.pop_front() {
            Some((message, ack)) => {
                ack.send(());
                Reply::ready(message)
            }
            None => {
                let (message, later) = Reply::pair();
                self.gets.push_back(later);
                message
            }
        }
    }

    /// Puts waiting for a get.
    #[query]
    fn waiting_puts(&self) -> usize {
        self.puts.len()
    }
}

/// An asynchronous channel: a put is acknowledged at once; messages wait for gets.
#[actor]
#[derive(Debug, Default)]
pub struct AsyncChannel {
    messages: VecDeque<String>,
    gets: VecDeque<ReplySender<String>>,
}

#[behaviour]
impl AsyncChannel {
    #[request]
    fn put(&mut self, message: String) {
        match self.gets.pop_front() {
            Some(get) => get.send(message),
            None => self.messages.push_back(message),
        }
    }

    #[request]
    fn get(&mut self) -> Reply<String> {
        match self.messages.pop_front() {
            Some(message) => Reply::ready(message),
            None => {
                let (message, later) = Reply::pair();
                self.gets.push_back(later);
                message
            }
        }
    }
}

/// Shows the difference: an asynchronous put is acknowledged before any get, a
/// synchronous one only after.
pub async fn run(out: Addr<Stdout>) -> Result<(), SpeechError> {
    let say = |line: &str| request!(out, println(line.to_string()));
    let channel = spawn(AsyncChannel::default());
    request!(channel, put("hello".to_string())).await?;
    say("async: put acknowledged before any get").await?;
    say(&format!(
        "async: get -> {}",
        request!(channel, get()).await?
    ))
    .await?;

    let channel = spawn(SyncChannel::default());
    let put = request!(channel, put("hello".to_string()));
    while query!(channel, waiting_puts()).await? == 0 {
        futures_lite::future::yield_now().await;
    }
    say(&format!(
        "sync: put waiting, acknowledged: {}",
        put.is_ready()
    ))
    .await?;
    let got = request!(channel, get()).await?;
    put.await?;
    say(&format!(
        "sync: get -> {got}, then the put was acknowledged"
    ))
    .await
}
