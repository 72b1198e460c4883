//! tokio inside handlers (`StageBuilder::tokio`): a handler sleeps on tokio's
//! timer and makes a `tokio::net` round trip; the callers are tokio tasks.

use stage_runtime::prelude::*;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Keeps what the echo server said, and naps on tokio's timer.
#[actor]
struct Client {
    heard: Vec<String>,
}

#[behaviour]
impl Client {
    /// Sends `line` to the echo server at `address` and keeps its answer.
    #[request]
    async fn echo(&mut self, address: String, line: String) -> Result<String, String> {
        let stream = TcpStream::connect(&address)
            .await
            .map_err(|e| e.to_string())?;
        let (read, mut write) = stream.into_split();
        write
            .write_all(format!("{line}\n").as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut answer = String::new();
        BufReader::new(read)
            .read_line(&mut answer)
            .await
            .map_err(|e| e.to_string())?;
        let answer = answer.trim_end().to_owned();
        self.heard.push(answer.clone());
        Ok(answer)
    }

    #[request]
    async fn nap(&mut self, ms: u64) -> u64 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        ms
    }

    #[query]
    fn heard(&self) -> Vec<String> {
        self.heard.clone()
    }
}

/// An echo server on loopback, as a tokio task: each line back, upper-cased.
async fn echo_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let answer = format!("{}\n", line.to_uppercase());
                    if write.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_use_tokio_timers_and_sockets_on_a_multi_threaded_runtime() {
    let stage = Stage::builder()
        .workers(2)
        .tokio(tokio::runtime::Handle::current())
        .build();
    let address = echo_server().await;
    let client = stage.spawn(Client { heard: vec![] });
    assert_eq!(request!(client, nap(5)).await, Ok(5));
    let answer = request!(client, echo(address.clone(), "hello".into())).await;
    assert_eq!(answer, Ok(Ok("HELLO".to_owned())));
    // Several at once, from several tokio tasks: each handler's round trip
    // runs inside its turn, one at a time.
    let asks: Vec<_> = (0..8)
        .map(|n| {
            let (client, address) = (client.clone(), address.clone());
            tokio::spawn(async move { request!(client, echo(address, format!("line {n}"))).await })
        })
        .collect();
    for ask in asks {
        assert!(matches!(ask.await, Ok(Ok(Ok(_)))));
    }
    assert_eq!(query!(client, heard()).await.map(|h| h.len()), Ok(9));
    stage.shutdown();
}

#[tokio::test(flavor = "current_thread")]
async fn handlers_use_tokio_timers_and_sockets_on_a_current_thread_runtime() {
    // The runtime's one thread drives the timer and the sockets while it
    // awaits the replies.
    let stage = Stage::builder()
        .workers(1)
        .tokio(tokio::runtime::Handle::current())
        .build();
    let address = echo_server().await;
    let client = stage.spawn(Client { heard: vec![] });
    assert_eq!(request!(client, nap(5)).await, Ok(5));
    let answer = request!(client, echo(address, "again".into())).await;
    assert_eq!(answer, Ok(Ok("AGAIN".to_owned())));
    stage.shutdown();
}

#[test]
fn without_the_runtime_a_tokio_timer_fails_the_handler_and_says_so() {
    let stage = Stage::builder().workers(1).build();
    let client = stage.spawn(Client { heard: vec![] });
    assert!(matches!(
        request!(client, nap(5)).wait(),
        Err(SpeechError::Failed(Failure::Panicked))
    ));
    stage.shutdown();
}
