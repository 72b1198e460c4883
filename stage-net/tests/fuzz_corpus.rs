//! Replays the fuzz corpus (`stage-net/fuzz/corpus/`) through the same entry points
//! the fuzz targets drive, on stable: every input must be taken without a panic.

use std::fs;
use std::path::{Path, PathBuf};

use stage_net::frame::{self, Frame, VERSION};
use stage_net::fuzzing;

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let dir = corpus(target);
    let mut count = 0;
    for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{} made it panic", path.display());
        count += 1;
    }
    count
}

#[test]
fn the_frame_corpus_replays_without_a_panic() {
    let inputs = replay("frames", fuzzing::frames);
    assert!(inputs >= 10, "only {inputs} inputs in the frame corpus");
}

#[test]
fn the_handshake_corpus_replays_without_a_panic() {
    let inputs = replay("handshakes", fuzzing::handshakes);
    assert!(inputs >= 5, "only {inputs} inputs in the handshake corpus");
}

#[test]
fn the_message_corpus_replays_without_a_panic() {
    let inputs = replay("messages", fuzzing::messages);
    assert!(inputs >= 4, "only {inputs} inputs in the message corpus");
}

/// The seed inputs: one frame of each kind, whole and as bodies, and handshake
/// openings. Run with `cargo test -p stage-net --test fuzz_corpus -- --ignored`
/// to write them again (the fuzzer adds its own finds beside them).
#[test]
#[ignore = "writes the seed corpus"]
fn write_the_seed_corpus() {
    let frames = [
        Frame::Hello {
            version: VERSION,
            theatre: 7,
            locator: "stage://127.0.0.1:4000".into(),
            nonce: vec![1; 32],
            window: 1 << 20,
            frame_limit: 1 << 20,
            observer: false,
        },
        Frame::Challenge {
            version: VERSION,
            theatre: 8,
            locator: "stage://127.0.0.1:4001".into(),
            nonce: vec![2; 32],
            window: 1 << 20,
            frame_limit: 1 << 20,
        },
        Frame::Response { proof: vec![4; 32] },
        Frame::Welcome {
            proof: vec![3; 32],
            members: vec!["stage://127.0.0.1:4002".into()],
        },
        Frame::Refused {
            reason: "no".into(),
        },
        Frame::Tell {
            to: (5, 1),
            tag: 2,
            variant: 3,
            args: vec![0x91, 0x05],
        },
        Frame::Ask {
            to: (5, 1),
            tag: 2,
            variant: 0,
            args: vec![0x90],
            call: 9,
        },
        Frame::Stop {
            to: (5, 1),
            tag: 2,
            call: 10,
        },
        Frame::Answer {
            call: 9,
            result: Ok(serde_bytes::ByteBuf::from(vec![0x2a])),
        },
        Frame::Lookup {
            name: "bank".into(),
            call: 11,
        },
        Frame::Found {
            call: 11,
            actor: Some(((5, 1), 2, "Account".into())),
        },
        Frame::Activate {
            name: "lobby".into(),
            tag: 2,
            call: 12,
        },
        Frame::Activated {
            call: 12,
            result: Err("no factory".into()),
        },
        Frame::Register {
            name: "bank".into(),
            actor: (5, 1),
            tag: 2,
            type_name: "Account".into(),
        },
        Frame::Unregister {
            name: "bank".into(),
            call: 13,
        },
        Frame::Resolve {
            name: "bank".into(),
            call: 14,
        },
        Frame::Resolved {
            call: 14,
            entry: Some((
                7,
                "stage://127.0.0.1:4000".into(),
                (5, 1),
                2,
                "Account".into(),
            )),
        },
        Frame::Watch {
            to: (5, 1),
            tag: 2,
            call: 15,
        },
        Frame::Ended {
            call: 15,
            reason: 1,
        },
        Frame::Ping,
        Frame::Bye,
        Frame::Eval {
            to: (5, 1),
            tag: 2,
            site: -4096,
            check: 3,
            captures: vec![0x91, 0x05],
            call: 16,
        },
        Frame::Credit { bytes: 1 << 20 },
    ];
    let write = |target: &str, name: String, bytes: &[u8]| {
        fs::create_dir_all(corpus(target)).unwrap();
        fs::write(corpus(target).join(name), bytes).unwrap();
    };
    for (i, f) in frames.iter().enumerate() {
        let mut whole = Vec::new();
        frame::encode(f, &mut whole).unwrap();
        write("frames", format!("seed-{i:02}-whole"), &whole);
        write("frames", format!("seed-{i:02}-body"), &whole[4..]);
    }
    // Handshake openings: a hello, a challenge, and a hello followed by a response.
    for (i, script) in [vec![0], vec![1], vec![0, 2], vec![1, 3], vec![4]]
        .iter()
        .enumerate()
    {
        let mut bytes = Vec::new();
        for &k in script {
            frame::encode(&frames[k], &mut bytes).unwrap();
        }
        write("handshakes", format!("seed-{i:02}"), &bytes);
    }
    // Messages: a handler's position (two bytes), then its arguments, one for
    // each of `fuzzing::Target`'s handlers.
    let messages: [(u16, &[u8]); 4] = [
        (0, &[0x92, 0xa2, b'h', b'i', 0x05]),
        (1, &[0x91, 0xc4, 0x02, 1, 2]),
        (
            2,
            &[
                0x92, 0x91, 0x92, 0x01, 0xc0, 0x81, 0xa1, b'x', 0xcb, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
        ),
        (3, &[0x91, 0x93, 0xa1, b's', 0x91, 0x92, 0x01, 0x02, 0xc0]),
    ];
    for (variant, args) in messages {
        let mut bytes = variant.to_be_bytes().to_vec();
        bytes.extend_from_slice(args);
        write("messages", format!("seed-{variant:02}"), &bytes);
    }
}
