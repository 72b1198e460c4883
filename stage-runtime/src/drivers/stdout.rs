use std::fmt;
use std::io::{self, Write};

use crate::prelude::*;

/// An actor that prints what it is told, in the order it is told.
///
/// SALSA's `standardOutput`. Several actors can share one `Stdout`; each one's lines
/// come out in the order it sent them, and lines never interleave mid-way. Writes go
/// to the process's standard output, or to any writer given to [`Stdout::to_writer`].
///
/// Channels (for `notify!`): `print(String)`, `println(String)`. Requests (for
/// `request!`, answered once the text is written and flushed): `print(String)`,
/// `println(String)`.
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
/// use std::sync::{Arc, Mutex};
///
/// #[derive(Clone, Default)]
/// struct Buffer(Arc<Mutex<Vec<u8>>>);
/// impl std::io::Write for Buffer {
///     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.lock().unwrap().write(b) }
///     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
/// }
///
/// # stage_runtime::block_on(async {
/// let buffer = Buffer::default();
/// let out = spawn(Stdout::to_writer(buffer.clone()));
/// // SALSA: standardOutput <- print("Hello ") @ standardOutput <- print("World!");
/// request!(out, print("Hello ".to_string())).await.unwrap();
/// request!(out, print("World!".to_string())).await.unwrap();
/// assert_eq!(buffer.0.lock().unwrap().as_slice(), b"Hello World!");
/// # });
/// ```
#[actor]
pub struct Stdout {
    sink: Box<dyn Write + Send>,
    /// The first write error, kept so that it is reported once, not per line.
    failed: bool,
}

impl Stdout {
    /// Prints to the process's standard output.
    pub fn new() -> Self {
        Stdout::to_writer(io::stdout())
    }

    /// Prints to `sink` instead (a file, a buffer in a test).
    pub fn to_writer(sink: impl Write + Send + 'static) -> Self {
        Stdout {
            sink: Box::new(sink),
            failed: false,
        }
    }

    fn write(&mut self, text: &str, newline: bool) {
        let written = self
            .sink
            .write_all(text.as_bytes())
            .and_then(|()| {
                if newline {
                    self.sink.write_all(b"\n")
                } else {
                    Ok(())
                }
            })
            .and_then(|()| self.sink.flush());
        if let Err(error) = written {
            if !self.failed {
                self.failed = true;
                eprintln!("stage: Stdout driver cannot write: {error}");
            }
        }
    }
}

impl Default for Stdout {
    fn default() -> Self {
        Stdout::new()
    }
}

impl fmt::Debug for Stdout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stdout").finish_non_exhaustive()
    }
}

#[behaviour]
impl Stdout {
    /// Prints `text` as it is.
    #[on(print)]
    pub fn on_print(&mut self, text: String) {
        self.write(&text, false);
    }

    /// Prints `text` and a newline.
    #[on(println)]
    pub fn on_println(&mut self, text: String) {
        self.write(&text, true);
    }

    /// Prints `text`; the reply comes once it is written.
    #[request]
    pub fn print(&mut self, text: String) {
        self.write(&text, false);
    }

    /// Prints `text` and a newline; the reply comes once it is written.
    #[request]
    pub fn println(&mut self, text: String) {
        self.write(&text, true);
    }
}
