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
        frame_limit: 1 << 20,
        observer: false,
    };
    let _ = handshake::accept(&mut Scripted { input: data }, &me);
    let _ = handshake::connect(&mut Scripted { input: data }, &me);
}

/// The actor whose messages [`messages`] decodes: handlers of several shapes of
/// argument.
#[stage_runtime::actor(mobile)]
#[derive(Debug)]
pub struct Target;

/// A record among a message's arguments.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Shape {
    /// A name.
    pub name: String,
    /// Points.
    pub points: Vec<(i32, i32)>,
    /// Maybe a weight.
    pub weight: Option<f64>,
}

#[stage_runtime::behaviour]
impl Target {
    /// Text and a number.
    #[on(text)]
    fn text(&mut self, text: String, n: i64) {
        std::hint::black_box((text, n));
    }

    /// Raw bytes.
    #[on(bytes)]
    fn bytes(&mut self, bytes: Vec<u8>) {
        std::hint::black_box(bytes);
    }

    /// Nested collections.
    #[query]
    fn nested(
        &self,
        list: Vec<(u8, Option<String>)>,
        map: std::collections::HashMap<String, f64>,
    ) -> usize {
        list.len() + map.len()
    }

    /// A record.
    #[request]
    fn shape(&mut self, shape: Shape) -> usize {
        shape.points.len()
    }
}

/// The message decoder on arbitrary bytes: the first two bytes pick the
/// handler, the rest are its arguments, delivered to an exported [`Target`] as
/// a peer's event would be, and as its question.
pub fn messages(data: &[u8]) {
    use stage_runtime::remote::{Delivery, Inbound, Receipt, Respond};
    type Exported = (stage_runtime::Stage, Option<std::sync::Arc<dyn Inbound>>);
    static TARGET: std::sync::OnceLock<Exported> = std::sync::OnceLock::new();
    let Some((head, args)) = data.split_first_chunk::<2>() else {
        return;
    };
    let variant = u16::from_be_bytes(*head);
    let target = TARGET.get_or_init(|| {
        let stage = stage_runtime::Stage::builder().workers(1).build();
        let addr = stage.spawn(Target);
        (stage, stage_runtime::remote::export(&addr))
    });
    // A local actor always exports; were it not to, there is nothing to fuzz.
    let Some(inbound) = &target.1 else {
        return;
    };
    let event = Delivery::Message {
        variant,
        args,
        respond: None,
    };
    let _ = inbound.deliver(event, Receipt::default());
    let question = Delivery::Message {
        variant,
        args,
        respond: Some(Respond::new(|_| {})),
    };
    let _ = inbound.deliver(question, Receipt::default());
}
