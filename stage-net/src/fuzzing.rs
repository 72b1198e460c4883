//! Entry points for the fuzz targets in `stage-net/fuzz` and for the test that
//! replays their corpus: each takes bytes a peer could send and must return
//! without panicking, whatever they are.

use std::io::{self, Read, Write};

use crate::handshake::{self, Identity};
use crate::wire::frame::{self, Frame, DEFAULT_FRAME_LIMIT};

/// A peer's bytes as a stream: reads come from `input`, writes go nowhere.
struct Scripted<'a> {
    input: &'a [u8],
}

impl Read for Scripted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Scripted<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The frame decoder on arbitrary bytes: as a whole body, and as a stream of
/// length-prefixed frames (with a small limit, so that long prefixes are refused).
/// A frame that decodes must encode and decode back to itself.
pub fn frames(data: &[u8]) {
    if let Ok(decoded) = frame::decode(data) {
        round_trip(&decoded);
    }
    let mut stream = data;
    while let Ok(decoded) = frame::read(&mut stream, 1 << 16) {
        round_trip(&decoded);
    }
}

fn round_trip(decoded: &Frame) {
    let mut out = Vec::new();
    if frame::encode(decoded, &mut out).is_ok() {
        let mut again = &out[..];
        match frame::read(&mut again, DEFAULT_FRAME_LIMIT) {
            Ok(back) => assert_eq!(&back, decoded, "a frame changed on a round trip"),
            Err(error) => panic!("a frame that decoded does not decode again: {error}"),
        }
    }
}

/// Both sides of the handshake, each facing a peer that sends `data`.
pub fn handshakes(data: &[u8]) {
    let me = Identity {
        theatre: 1,
        locator: "stage://127.0.0.1:1",
        cookie: b"fuzz",
        window: 1 << 20,
    };
    let _ = handshake::accept(&mut Scripted { input: data }, &me);
    let _ = handshake::connect(&mut Scripted { input: data }, &me);
}
