//! Strangers cost nothing: a connection that never finishes its handshake is cut
//! off when the handshake's time is up, however it paces its bytes, and strangers
//! at one address cannot take every handshake slot and lock members out (issue 16,
//! defect 5; DESIGN 6.1).
//!
//! Theatres over real TCP on loopback; the strangers connect from 127.0.0.2, a
//! loopback address of their own, so that the members (at 127.0.0.1) are told
//! apart from them.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};
use stage_net::Theatre;

const COOKIE: &str = "slow-strangers";

/// A connection to `theatre` from the loopback address `from`.
fn connect_from(from: &str, theatre: &Theatre) -> TcpStream {
    let target: SocketAddr = theatre
        .locator()
        .trim_start_matches("stage://")
        .parse()
        .expect("a socket address");
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a socket");
    let source: SocketAddr = format!("{from}:0").parse().expect("a source address");
    socket
        .bind(&source.into())
        .expect("a loopback source address");
    socket.connect(&target.into()).expect("the theatre accepts");
    socket.into()
}

/// Announces a first frame of 1,000 bytes, then writes its body one byte every
/// `pace` for at most `within`; `true` if the theatre closed the connection before
/// that.
fn dribble_until_closed(mut stream: TcpStream, pace: Duration, within: Duration) -> bool {
    stream.set_read_timeout(Some(pace)).expect("a read timeout");
    if stream.write_all(&1000u32.to_be_bytes()).is_err() {
        return true;
    }
    let started = Instant::now();
    let mut byte = [0u8; 1];
    while started.elapsed() < within {
        if stream.write_all(&[0x90]).is_err() {
            return true;
        }
        match stream.read(&mut byte) {
            Ok(0) => return true,
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            // A reset, or a frame (the theatre's refusal) followed by its close.
            _ => return true,
        }
    }
    false
}

#[test]
fn a_stranger_sending_a_byte_at_a_time_is_cut_off_at_the_handshake_deadline() {
    let theatre = Theatre::builder().cookie(COOKIE).start().unwrap();
    let stranger = connect_from("127.0.0.1", &theatre);
    // One byte every 300 ms never lets a per-read timeout fire; the handshake's
    // deadline (5 s) does. 40 s is far beyond it, even on a loaded machine.
    assert!(
        dribble_until_closed(
            stranger,
            Duration::from_millis(300),
            Duration::from_secs(40)
        ),
        "a stranger kept a handshake open for 40 s"
    );
}

#[test]
fn slow_strangers_at_one_address_do_not_lock_a_member_out() {
    let theatre = Theatre::builder().cookie(COOKIE).start().unwrap();
    // Every slot the theatre has, asked for by strangers dribbling their bytes.
    let strangers: Vec<std::thread::JoinHandle<bool>> = (0..64)
        .map(|_| {
            let stranger = connect_from("127.0.0.2", &theatre);
            std::thread::spawn(move || {
                dribble_until_closed(
                    stranger,
                    Duration::from_millis(300),
                    Duration::from_secs(30),
                )
            })
        })
        .collect();
    // A member at another address joins while they dribble.
    let member = Theatre::builder()
        .cookie(COOKIE)
        .join([theatre.locator()])
        .start()
        .expect("a member joins while strangers hold handshakes open");
    assert_eq!(member.peers(), vec![theatre.locator().to_owned()]);
    for stranger in strangers {
        assert!(stranger.join().unwrap(), "a stranger was never cut off");
    }
}
