//! A time limit on a whole exchange, not on each read: a stranger that sends one
//! byte at a time, each within a per-read timeout, is still cut off when the
//! handshake's time is up (DESIGN 6.1: strangers cost nothing).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The instant an exchange must be over by.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    at: Instant,
}

impl Deadline {
    /// A deadline `limit` from now.
    pub(crate) fn after(limit: Duration) -> Self {
        Deadline {
            at: Instant::now() + limit,
        }
    }

    /// Sets `socket`'s read and write timeouts to the time left.
    ///
    /// # Errors
    ///
    /// `TimedOut` once no time is left; the socket's own error otherwise.
    pub(crate) fn arm(&self, socket: &TcpStream) -> io::Result<()> {
        let left = self.at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the handshake took longer than it may",
            ));
        }
        socket.set_read_timeout(Some(left))?;
        socket.set_write_timeout(Some(left))
    }
}

/// A stream (plain or TLS) every read and write of which ends by a deadline, set
/// on the socket under it.
pub(crate) struct Timed<'a, S> {
    stream: &'a mut S,
    socket: TcpStream,
    deadline: Deadline,
}

impl<'a, S> Timed<'a, S> {
    /// `stream`, over `socket` (a handle of the same socket), by `deadline`.
    pub(crate) fn new(stream: &'a mut S, socket: TcpStream, deadline: Deadline) -> Self {
        Timed {
            stream,
            socket,
            deadline,
        }
    }
}

impl<S: Read> Read for Timed<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.deadline.arm(&self.socket)?;
        self.stream.read(buf)
    }
}

impl<S: Write> Write for Timed<'_, S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.deadline.arm(&self.socket)?;
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.deadline.arm(&self.socket)?;
        self.stream.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn a_deadline_that_has_passed_refuses_to_arm() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let socket = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        assert!(Deadline::after(Duration::from_secs(5)).arm(&socket).is_ok());
        let left = socket.read_timeout().unwrap().unwrap();
        assert!(left <= Duration::from_secs(5), "{left:?}");
        let passed = Deadline::after(Duration::ZERO);
        let error = passed.arm(&socket).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }
}
