//! A server serves until its theatre leaves the cluster: `Theatre::closed`.

mod common;

use common::*;

#[test]
fn closed_answers_once_the_theatre_has_left_and_at_once_afterwards() {
    let theatre = theatre(&[]);
    let closed = theatre.closed();
    assert!(!closed.is_ready(), "answered while the theatre is open");
    let stopping = {
        let theatre = theatre.clone();
        std::thread::spawn(move || theatre.shutdown())
    };
    assert_eq!(closed.wait_timeout(Duration::from_secs(30)), Ok(()));
    stopping.join().unwrap();
    // Asked afterwards: answered at once.
    assert!(theatre.closed().is_ready());
}

#[test]
fn a_server_under_main_serves_until_its_theatre_is_shut_down() {
    let (started, server) = std::sync::mpsc::channel();
    // What `#[stage_runtime::main] async fn main()` expands to, with a body that
    // starts a theatre, binds an actor and awaits `closed()`.
    let main = std::thread::spawn(move || {
        stage_runtime::__private::run_main(async move {
            let theatre = theatre(&[]);
            theatre
                .bind("bank/account", &theatre.spawn(account()))
                .unwrap();
            started.send(theatre.clone()).unwrap();
            theatre.closed().await
        })
    });
    let server = server.recv().unwrap();
    let client = theatre(&[&server]);
    let account = client.lookup::<Account>("bank/account").unwrap();
    notify!(account, deposit(7)).result().unwrap();
    assert_eq!(query!(account, balance()).wait(), Ok(7));
    // Served, and still serving: main has not ended.
    assert!(!main.is_finished());
    server.shutdown();
    assert_eq!(main.join().unwrap(), Ok(()));
    client.shutdown();
}

/// The async forms leave the executor's thread free while the blocking call
/// waits: on a one-thread executor, a start whose seed never answers its
/// handshake (up to 5 s) yields at once to the future raced against it. A
/// blocking form would hold the thread until the handshake gave up, and win.
#[test]
fn an_async_start_waiting_on_a_silent_seed_does_not_hold_the_executor() {
    // Takes connections into its backlog and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let seed = format!("stage://{}", silent.local_addr().unwrap());
    let starting = Theatre::builder().cookie(COOKIE).join([seed]).start_async();
    let first = futures_lite::future::block_on(futures_lite::future::or(
        async {
            let _ = starting.await;
            "the start"
        },
        async { "the other future" },
    ));
    assert_eq!(first, "the other future");
}
