//! `echo_client`: the request/reply pattern, client side. It connects to a running
//! `echo_server`'s `requests` (slot 1, `W`) and creates an inbox of its own for the answers.
//! Each request carries a reply capability: a `WRITE|GRANT` copy of that inbox (a transferred
//! capability keeps its rights, and transferring needs `GRANT`), derived once and kept for as
//! long as answers may come (a transfer lapses if its source is deleted while queued).
//!
//! Start `echo_server` first: a required connect with no provider refuses the spawn.
#![no_std]
#![no_main]

use orbital_sdk::{Slot, abi::rights, cap, endpoint, ipc, println};

orbital_sdk::entry!(main);
orbital_sdk::manifest!(b"(connects: [(service: \"echo_server.requests\", rights: \"W\")], description: \"sends three requests to echo_server and prints the answers\")");

const SERVER: Slot = Slot(1);
const REQUEST: u32 = 0x5245_5155; // "REQU"

fn main() -> orbital_sdk::Result<()> {
    let inbox = endpoint::create()?;
    let reply_cap = cap::derive(inbox, rights::WRITE | rights::GRANT)?;
    let mut buf = [0u8; 64];
    for word in ["ping", "hello", "bye"] {
        ipc::send_with_cap(SERVER, REQUEST, word.as_bytes(), reply_cap)?;
        let answer = ipc::receive(inbox, &mut buf)?;
        let text = core::str::from_utf8(&buf[..answer.len.min(buf.len())]).unwrap_or("(not UTF-8)");
        println!("echo_client: sent {word:?}, pid {} answered {text:?}", answer.sender);
    }
    cap::delete(reply_cap)?;
    endpoint::delete(inbox)?;
    Ok(())
}
