//! `LineDecoder::decode` over an arbitrary byte stream cut into arbitrary
//! chunks, with a small cap so the too-long path is reached.
//!
//! Byte 0 sets the cap (1..=256), byte 1 seeds the chunk sizes. Besides not
//! panicking or hanging, the decoder must not depend on the chunking: up to
//! and including the first error, feeding the stream in chunks yields the
//! same messages as feeding it whole.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use qhmp::qmp::decoder::{DecodeError, LineDecoder};
use serde_json::Value;

#[derive(Debug, PartialEq)]
enum Event {
    Message(Value),
    Error(std::mem::Discriminant<DecodeError>),
}

/// Feeds `stream` in chunks of the given lengths (cycled), draining the
/// decoder after each, until the first error; then calls `finish`.
fn run(cap: usize, stream: &[u8], chunks: &[usize]) -> Vec<Event> {
    let mut decoder = LineDecoder::new(cap);
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    let mut rest = stream;
    let mut sizes = chunks.iter().cycle();
    while !rest.is_empty() {
        let take = sizes
            .next()
            .copied()
            .unwrap_or(rest.len())
            .clamp(1, rest.len());
        let (chunk, tail) = rest.split_at(take);
        rest = tail;
        buf.extend_from_slice(chunk);
        // Every call either consumes bytes or returns Ok(None); bound it anyway
        // so a regression shows up as a failure, not a fuzzer timeout.
        for _ in 0..=stream.len() {
            match decoder.decode(&mut buf) {
                Ok(Some(v)) => {
                    assert!(v.is_object(), "a QMP message is an object: {v}");
                    events.push(Event::Message(v));
                }
                Ok(None) => break,
                Err(e) => {
                    events.push(Event::Error(std::mem::discriminant(&e)));
                    return events;
                }
            }
        }
    }
    if let Err(e) = decoder.finish(&mut buf) {
        events.push(Event::Error(std::mem::discriminant(&e)));
    }
    assert!(buf.is_empty(), "finish leaves nothing buffered");
    events
}

fuzz_target!(|data: &[u8]| {
    let [cap, seed, stream @ ..] = data else {
        return;
    };
    let cap = usize::from(*cap) + 1;
    // A tiny LCG turns the seed into chunk lengths of 1..=16 bytes.
    let mut state = u32::from(*seed);
    let chunks: Vec<usize> = (0..8)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (state >> 16) as usize % 16 + 1
        })
        .collect();
    let whole = run(cap, stream, &[stream.len()]);
    let chunked = run(cap, stream, &chunks);
    assert_eq!(whole, chunked, "chunking changed the outcome");
});
