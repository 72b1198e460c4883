use std::fmt;
use std::io::{self, BufRead};

use crate::prelude::*;
use crate::Recipient;

/// A driver actor that turns lines of input into events for its subscribers.
///
/// Reads standard input (or any reader given to [`Keyboard::from_reader`]) on a thread
/// of its own, started at the first subscription; each line goes to every subscriber,
/// in order. While it reads, the program is not quiescent (it is waiting for input);
/// at the end of the input, subscribers' `Recipient<String>` get no more lines and the
/// driver lets the program end.
///
/// Requests: `subscribe(to)`, `unsubscribe(actor)`.
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
/// use stage_runtime::drivers::Keyboard;
///
/// #[actor]
/// struct Echo { lines: Vec<String> }
///
/// #[behaviour]
/// impl Echo {
///     #[on(line)]
///     fn line(&mut self, text: String) { self.lines.push(text); }
///     #[query]
///     fn lines(&self) -> Vec<String> { self.lines.clone() }
/// }
///
/// let stage = Stage::new();
/// let keyboard = stage.spawn(Keyboard::from_reader(&b"hello\nworld\n"[..]));
/// let echo = stage.spawn(Echo { lines: vec![] });
/// request!(keyboard, subscribe(recipient!(echo, line))).wait().unwrap();
/// stage.wait_quiescent();
/// assert_eq!(query!(echo, lines()).wait(), Ok(vec!["hello".into(), "world".into()]));
/// ```
#[actor]
pub struct Keyboard {
    input: Option<Box<dyn BufRead + Send>>,
    subscribers: Vec<Recipient<String>>,
}

impl Keyboard {
    /// Reads the process's standard input.
    pub fn new() -> Self {
        Keyboard::from_reader(io::BufReader::new(io::stdin()))
    }

    /// Reads `input` instead (a script in a test, a file).
    pub fn from_reader(input: impl BufRead + Send + 'static) -> Self {
        Keyboard {
            input: Some(Box::new(input)),
            subscribers: Vec::new(),
        }
    }

    fn start(&mut self, ctx: &mut Ctx<Self>) {
        let Some(mut input) = self.input.take() else {
            return;
        };
        let me = ctx.addr();
        let stage = std::sync::Arc::clone(ctx.stage());
        // Waiting for input is work: the program must not end under the reader.
        stage.add_work(1);
        let started = std::thread::Builder::new()
            .name("stage-keyboard".into())
            .spawn(move || {
                let mut line = String::new();
                loop {
                    line.clear();
                    match input.read_line(&mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            let text = line.trim_end_matches(['\n', '\r']).to_string();
                            if me.own(move |k: &mut Keyboard, _| k.typed(text)).is_err() {
                                break;
                            }
                        }
                    }
                }
                stage.add_work(-1);
            });
        if started.is_err() {
            ctx.stage().add_work(-1);
        }
    }

    fn typed(&mut self, text: String) {
        // A subscriber that has stopped is dropped, not an error.
        self.subscribers.retain(|to| to.send(text.clone()).is_ok());
    }
}

impl Default for Keyboard {
    fn default() -> Self {
        Keyboard::new()
    }
}

impl fmt::Debug for Keyboard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyboard")
            .field("subscribers", &self.subscribers)
            .finish_non_exhaustive()
    }
}

#[behaviour]
impl Keyboard {
    /// Sends every line from now on to `to`; starts reading at the first subscriber.
    #[request]
    pub fn subscribe(&mut self, ctx: &mut Ctx<Self>, to: Recipient<String>) {
        if !self.subscribers.contains(&to) {
            self.subscribers.push(to);
        }
        self.start(ctx);
    }

    /// Stops sending lines to `actor` (all its channels); `true` if it was subscribed.
    #[request]
    pub fn unsubscribe(&mut self, actor: ActorId) -> bool {
        let before = self.subscribers.len();
        self.subscribers.retain(|to| to.actor() != actor);
        self.subscribers.len() != before
    }
}
