//! `echo_server`: the request/reply pattern, server side. It provides `requests` (slot 1). A
//! client sends each request with a reply capability attached (a `WRITE|GRANT` copy of its own
//! inbox, see `echo_client`); the server answers on that capability, then deletes it, because
//! every transfer takes a slot and a full capability space (64 slots) makes later transfers
//! arrive as NONE without an error.
//!
//! Its capabilities come from the `orbital.manifest` section below, so it runs when dropped on
//! the canvas (or loaded with `window.supervisor.load_program`), with no `programs.ron` entry.
#![no_std]
#![no_main]

use orbital_sdk::{Slot, cap, ipc, println};

orbital_sdk::entry!(main);
orbital_sdk::manifest!(b"(provides: [\"requests\"], description: \"answers each request with the same bytes\")");

const REQUESTS: Slot = Slot(1);
/// The tag of an answer.
const REPLY: u32 = 0x5245_504c; // "REPL"

fn main() -> orbital_sdk::Result<()> {
    println!("echo_server: waiting for requests on slot 1");
    let mut buf = [0u8; ipc::MAX_PAYLOAD];
    let mut answered: u64 = 0;
    loop {
        let msg = ipc::receive(REQUESTS, &mut buf)?;
        let Some(reply_to) = msg.transferred else {
            println!("echo_server: pid {} sent no reply capability; ignored", msg.sender);
            continue;
        };
        let len = msg.len.min(buf.len());
        let sent = ipc::send(reply_to, REPLY, &buf[..len]);
        // Free the slot whatever happened: one transfer per request would fill the 64 slots.
        cap::delete(reply_to)?;
        match sent {
            Ok(()) => answered += 1,
            Err(e) => println!("echo_server: cannot answer pid {}: {}", msg.sender, e.name()),
        }
        if answered.is_power_of_two() {
            println!("echo_server: {answered} request(s) answered");
        }
    }
}
