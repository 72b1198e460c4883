//! Every program of the seed documents, written in Stage for Rust.
//!
//! Each module is one program; its `run` function takes the `Stdout` actor to print
//! to, so the tests can capture what it prints. The binaries in `src/bin/` run them
//! with `#[stage_runtime::main]`, which exits once the program is quiescent.

pub mod cart;
pub mod channels;
pub mod chat;
pub mod chatty;
pub mod distributed_trapezoid;
pub mod fibonacci;
pub mod hello;
pub mod migrating_agent;
pub mod multicast;
pub mod net_bank;
pub mod net_chat;
pub mod network_probe;
pub mod sieve;
pub mod stocker;
pub mod stop_go;
pub mod storage_cell;
pub mod trains;

/// A `Write` that keeps what is written, shared with the test that reads it.
#[derive(Clone, Default, Debug)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.lock() {
            Ok(mut bytes) => bytes.write(buf),
            Err(_) => Err(std::io::Error::other("capture buffer poisoned")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
