//! What a theatre tells the `metrics` facade, behind the `metrics` feature;
//! without it every hook is empty and nothing is compiled in. (The theatre's
//! own messages go through `log`, which `tracing` subscribers can take in with
//! `tracing-log`.)
//!
//! | name | kind | what |
//! |---|---|---|
//! | `stage_net_bytes_written_total` | counter | bytes written to a peer, by `peer` (its locator) |
//! | `stage_net_bytes_read_total` | counter | bytes read from a peer, by `peer` |
//! | `stage_net_backlog_frames` | gauge | letters forwarded to a peer and waiting for its window, by `peer` |
//! | `stage_net_handshakes_refused_total` | counter | connections refused before they joined, by `why` (`tls`, `handshake`, `penalised`, `slots`) |

#![cfg_attr(not(feature = "metrics"), allow(unused_variables))]

/// One connection's instruments, made once when it starts.
pub(crate) struct Wire {
    #[cfg(feature = "metrics")]
    written: metrics::Counter,
    #[cfg(feature = "metrics")]
    read: metrics::Counter,
    #[cfg(feature = "metrics")]
    backlog: metrics::Gauge,
}

impl Wire {
    /// The instruments of the connection to `peer`.
    pub(crate) fn new(peer: &str) -> Wire {
        #[cfg(feature = "metrics")]
        return Wire {
            written: metrics::counter!("stage_net_bytes_written_total", "peer" => peer.to_owned()),
            read: metrics::counter!("stage_net_bytes_read_total", "peer" => peer.to_owned()),
            backlog: metrics::gauge!("stage_net_backlog_frames", "peer" => peer.to_owned()),
        };
        #[cfg(not(feature = "metrics"))]
        Wire {}
    }

    /// `bytes` were written to the peer.
    #[inline(always)]
    pub(crate) fn written(&self, bytes: usize) {
        #[cfg(feature = "metrics")]
        self.written.increment(bytes as u64);
    }

    /// `bytes` were read from the peer.
    #[inline(always)]
    pub(crate) fn read(&self, bytes: usize) {
        #[cfg(feature = "metrics")]
        self.read.increment(bytes as u64);
    }

    /// `frames` wait for the peer's window.
    #[inline(always)]
    pub(crate) fn backlog(&self, frames: usize) {
        #[cfg(feature = "metrics")]
        self.backlog.set(frames as f64);
    }
}

/// A connection was refused before it joined, for `why`.
#[inline(always)]
pub(crate) fn handshake_refused(why: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("stage_net_handshakes_refused_total", "why" => why).increment(1);
}
