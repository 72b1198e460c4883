//! The frame decoder on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stage_net::fuzzing::frames(data));
