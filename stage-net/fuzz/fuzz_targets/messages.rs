//! The message decoder (a handler's arguments, decoded for an exported actor) on
//! arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stage_net::fuzzing::messages(data));
