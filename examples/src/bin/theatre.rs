//! A standalone theatre for the examples: it can start the examples' mobile
//! actors on demand (the chat room, bank accounts) for the cluster it joins.
//!
//! ```text
//! cargo run -p stage-examples --bin theatre -- --cookie s3cret --name ann --chat
//! cargo run -p stage-examples --bin theatre -- --cookie s3cret --name bob --chat \
//!     --join stage://127.0.0.1:PORT
//! ```
//!
//! Flags: `--listen HOST:PORT` (default a free loopback port), `--join LOCATOR`
//! (repeatable), `--cookie SECRET` or `--cookie-file PATH`, `--name NAME`, and
//! `--chat` to enter the chat room as NAME and say each line typed. Prints
//! `listening on stage://...` first. Without `--chat` it serves until its
//! standard input ends. On SIGTERM (or Ctrl-C) it moves its mobile actors to
//! the other members, then ends.

use std::io::BufRead;
use std::process::ExitCode;

use stage_examples::{net_bank, net_chat};
use stage_net::cli::{Options, USAGE};
use stage_runtime::prelude::*;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("theatre: {error}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let options = Options::from_env()?;
    let mut chat = false;
    for arg in &options.rest {
        match arg.as_str() {
            "--chat" => chat = true,
            other => {
                return Err(format!("unknown argument `{other}`; usage: {USAGE} [--chat]").into())
            }
        }
    }
    let theatre = options
        .builder()
        .activates(|_| net_chat::ChatRoom::default())
        .activates(|_| net_bank::Account { balance: 0 })
        .start()?;
    // SIGTERM or Ctrl-C: its mobile actors move to the other members first.
    theatre.leave_on_terminate()?;
    println!("listening on {}", theatre.locator());
    let stdin = std::io::stdin().lock();
    if chat {
        let name = options
            .name
            .clone()
            .unwrap_or_else(|| "anonymous".to_owned());
        let out = theatre.spawn(Stdout::new());
        net_chat::member(&theatre, &name, stdin, &out)?;
    } else {
        for line in stdin.lines() {
            if line.is_err() {
                break;
            }
        }
    }
    theatre.shutdown();
    Ok(())
}
