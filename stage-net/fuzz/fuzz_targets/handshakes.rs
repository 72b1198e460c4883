//! Both sides of the handshake facing a peer that sends arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stage_net::fuzzing::handshakes(data));
