//! How an actor's messages and answers are put on the wire: arguments travel as
//! one MessagePack array, each element encoded with rmp-serde; answers as one
//! MessagePack value. A message names its handler by position, and the actor type
//! by a hash of its name ([`type_tag`]). Addresses inside messages: see
//! [`addr`](self::addr).

pub(crate) mod addr;

use std::fmt;

use crate::actor::Actor;
use crate::fabric::{Answer, Body};
use crate::reply::ReplySender;
use crate::speech::{Failure, SpeechError};

/// A stable tag for actor type `A`: a 64-bit FNV-1a hash of its type name. Both ends
/// run the same binary, so equal tags mean the same type.
pub fn type_tag<A: Actor>() -> u64 {
    fnv1a(&[std::any::type_name::<A>().as_bytes()])
}

/// 64-bit FNV-1a over `parts`, one after the other: a hash every build computes
/// alike, for tags and names that cross the wire.
pub fn fnv1a(parts: &[&[u8]]) -> u64 {
    parts
        .iter()
        .flat_map(|part| part.iter())
        .fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
            (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
}

pub(crate) fn not_portable(why: &str) -> SpeechError {
    SpeechError::Failed(Failure::NotPortable(why.into()))
}

pub(crate) fn wire_error(why: impl fmt::Display) -> SpeechError {
    SpeechError::Failed(Failure::Wire(why.to_string().into()))
}

/// The error `Wire` gives for an actor that is not mobile.
pub(crate) fn not_mobile() -> SpeechError {
    not_portable("the actor is not `#[actor(mobile)]`, so its messages never leave its process")
}

/// Writes a message's arguments: a MessagePack array of a known length. For a
/// query or request it holds the reply until the message is complete; if an
/// argument fails to encode, the writer answers the reply with that error when it
/// is dropped.
pub struct ArgWriter<R = ()> {
    buf: Vec<u8>,
    reply: Option<ReplySender<R>>,
    error: Option<SpeechError>,
}

impl ArgWriter {
    /// A writer for the `count` arguments of an event.
    pub fn new(count: u32) -> Self {
        ArgWriter::with(count, None)
    }

    /// The encoded event, for the handler at position `variant`.
    pub fn tell(mut self, variant: u16) -> Body {
        Body::Message {
            variant,
            args: std::mem::take(&mut self.buf),
            answer: None,
        }
    }
}

impl<R: Send + 'static> ArgWriter<R> {
    /// A writer for the `count` arguments of a query or request answered by `reply`.
    pub fn ask(count: u32, reply: ReplySender<R>) -> Self {
        ArgWriter::with(count, Some(reply))
    }

    /// The encoded query or request, for the handler at position `variant`; its
    /// answer will be decoded by `take`.
    pub fn ask_with(mut self, variant: u16, take: Take<R>) -> Body {
        let answer = self.reply.take().map(|reply| answer_to(reply, take));
        Body::Message {
            variant,
            args: std::mem::take(&mut self.buf),
            answer,
        }
    }
}

impl<R> ArgWriter<R> {
    fn with(count: u32, reply: Option<ReplySender<R>>) -> Self {
        let mut buf = Vec::with_capacity(16);
        // Writing to a `Vec` cannot fail.
        let _ = rmp::encode::write_array_len(&mut buf, count);
        ArgWriter {
            buf,
            reply,
            error: None,
        }
    }

    /// Where the next argument is written.
    pub fn out(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Passes `result` on, remembering its error (if any) to answer the reply with
    /// when the writer is dropped.
    ///
    /// # Errors
    ///
    /// `result`'s error.
    pub fn record<T>(&mut self, result: Result<T, SpeechError>) -> Result<T, SpeechError> {
        if let Err(error) = &result {
            self.error.get_or_insert_with(|| error.clone());
        }
        result
    }
}

impl<R> Drop for ArgWriter<R> {
    fn drop(&mut self) {
        let Some(reply) = self.reply.take() else {
            return;
        };
        let error = self
            .error
            .take()
            .unwrap_or_else(|| wire_error("the message could not be encoded"));
        reply.fail(error);
    }
}

impl<R> fmt::Debug for ArgWriter<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArgWriter")
            .field("len", &self.buf.len())
            .finish_non_exhaustive()
    }
}

/// Encodes one value with rmp-serde (structs as arrays, the crate's default).
pub(crate) fn encode_value<T: crate::actor::Portable>(
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), SpeechError> {
    value
        .ser(&mut rmp_serde::Serializer::new(out))
        .map_err(wire_error)
}

/// Encodes one value that is only known to be `Serialize` (a Star-form expression's
/// captures and answer).
pub(crate) fn put_serial<T: serde::Serialize>(
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), SpeechError> {
    value
        .serialize(&mut rmp_serde::Serializer::new(out))
        .map_err(wire_error)
}

/// Decodes one value that is only known to be `Deserialize<'static>`: the decoder
/// reads from a buffer it never lends out, so a borrowed value fails to decode.
pub(crate) fn take_serial<T: serde::Deserialize<'static>>(
    input: &mut Decoder<'_>,
) -> Result<T, SpeechError> {
    T::deserialize(&mut input.de).map_err(wire_error)
}

/// Reads a message's arguments, as an [`ArgWriter`] wrote them.
pub struct ArgReader<'a> {
    decoder: Decoder<'a>,
}

impl<'a> ArgReader<'a> {
    /// A reader of `bytes`, which must hold exactly `count` arguments.
    ///
    /// # Errors
    ///
    /// `Failed(Wire)` when `bytes` does not start with an array of `count` elements.
    pub fn new(mut bytes: &'a [u8], count: u32) -> Result<Self, SpeechError> {
        let found = rmp::decode::read_array_len(&mut bytes).map_err(wire_error)?;
        if found != count {
            return Err(wire_error(format_args!(
                "the handler takes {count} arguments, the message carries {found}"
            )));
        }
        Ok(ArgReader {
            decoder: Decoder::new(bytes),
        })
    }

    /// Where the next argument is read from (by `Wire::take`).
    pub fn decoder(&mut self) -> &mut Decoder<'a> {
        &mut self.decoder
    }

    /// Checks that nothing follows the last argument.
    ///
    /// # Errors
    ///
    /// `Failed(Wire)` when bytes are left over.
    pub fn finish(self) -> Result<(), SpeechError> {
        self.decoder.finish()
    }
}

impl fmt::Debug for ArgReader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ArgReader")
    }
}

/// A MessagePack decoder over a byte slice, for `Wire::take`.
pub struct Decoder<'a> {
    de: rmp_serde::Deserializer<rmp_serde::decode::ReadReader<&'a [u8]>>,
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Decoder {
            de: rmp_serde::Deserializer::new(bytes),
        }
    }

    /// Decodes one value with rmp-serde.
    pub(crate) fn value<T: crate::actor::Portable>(&mut self) -> Result<T, SpeechError> {
        T::de(&mut self.de).map_err(wire_error)
    }

    fn finish(self) -> Result<(), SpeechError> {
        match self.de.get_ref().len() {
            0 => Ok(()),
            left => Err(wire_error(format_args!(
                "{left} bytes follow the last value"
            ))),
        }
    }
}

impl fmt::Debug for Decoder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Decoder")
    }
}

/// Decodes one value (`take`: the actor's `Wire::take` for its type) from the
/// serialiser's output.
pub type Take<R> = fn(&mut Decoder<'_>) -> Result<R, SpeechError>;

/// Encodes one value (`put`: the actor's `Wire::put` for its type).
pub type Put<R> = fn(&R, &mut Vec<u8>) -> Result<(), SpeechError>;

/// Decodes a whole answer (or a Star-form expression's captures) with `take`.
pub(crate) fn decode_whole<R>(bytes: &[u8], take: Take<R>) -> Result<R, SpeechError> {
    let mut decoder = Decoder::new(bytes);
    let value = take(&mut decoder)?;
    decoder.finish()?;
    Ok(value)
}

/// The sending side's answer for `reply`: decodes an `R` into it with `take`.
pub(crate) fn answer_to<R: Send + 'static>(reply: ReplySender<R>, take: Take<R>) -> Answer {
    Answer::new(move |result| reply.complete(result.and_then(|bytes| decode_whole(bytes, take))))
}

pub(crate) fn answer_to_unit(reply: ReplySender<()>) -> Answer {
    Answer::new(move |result| reply.complete(result.map(drop)))
}

/// The error for a message naming a handler the actor does not have.
pub fn unknown_variant(variant: u16) -> SpeechError {
    wire_error(format_args!(
        "no handler numbered {variant}: the theatres run different code"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::{Local, Mobile, Wire};
    use crate::reply::reply_pair;

    #[test]
    fn arguments_round_trip_and_lengths_are_checked() {
        let mut w = ArgWriter::new(2);
        <Mobile as Wire<String>>::put(&"hi".to_owned(), &mut w).unwrap();
        <Mobile as Wire<(u8, i64)>>::put(&(7, -3), &mut w).unwrap();
        let Body::Message { args: bytes, .. } = w.tell(0) else {
            unreachable!()
        };
        let mut r = ArgReader::new(&bytes, 2).unwrap();
        assert_eq!(<Mobile as Wire<String>>::take(r.decoder()).unwrap(), "hi");
        assert_eq!(
            <Mobile as Wire<(u8, i64)>>::take(r.decoder()).unwrap(),
            (7, -3)
        );
        r.finish().unwrap();
        assert!(ArgReader::new(&bytes, 3).is_err());
        let mut r = ArgReader::new(&bytes, 2).unwrap();
        assert!(<Mobile as Wire<u64>>::take(r.decoder()).is_err());
    }

    #[test]
    fn local_actors_refuse_the_wire() {
        let mut w = ArgWriter::new(1);
        let error = <Local as Wire<u8>>::put(&1, &mut w).unwrap_err();
        assert!(matches!(
            error,
            SpeechError::Failed(Failure::NotPortable(_))
        ));
    }

    #[test]
    fn a_writer_dropped_on_an_error_answers_the_reply_with_it() {
        let (reply, tx) = reply_pair::<u8>();
        let mut w = ArgWriter::ask(1, tx);
        assert!(<Local as Wire<u8>>::put(&1, &mut w).is_err());
        drop(w);
        assert!(matches!(
            reply.wait(),
            Err(SpeechError::Failed(Failure::NotPortable(_)))
        ));
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let mut bytes = Vec::new();
        encode_value(&5u32, &mut bytes).unwrap();
        let take = <Mobile as Wire<u32>>::taker().unwrap();
        assert_eq!(decode_whole(&bytes, take), Ok(5));
        bytes.push(0);
        assert!(decode_whole(&bytes, take).is_err());
    }
}
