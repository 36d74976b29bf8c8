//! `pingpong`: two instances bounce a counter back and forth. Slot 1 is its own inbox; slot 2
//! is the peer's inbox (`WRITE`) if the manifest found one when it was spawned.
//!
//! - With a peer, it plays "ping": it derives a `WRITE|GRANT` copy of its inbox capability,
//!   sends it along with the first message (so the peer can answer; it keeps the copy, since
//!   the peer's capability lapses if its source is deleted), then answers every reply.
//! - Without one, it plays "pong": it waits, keeps the reply capability that arrives with the
//!   first message, and sends every counter back.
//!
//! After the first message, both sides answer with `SEND_RECEIVE` (send the counter, then wait
//! for the next one, in one syscall): a round trip is two syscalls, not four.
//!
//! Both print "pingpong: N round trips" every 1000. If the peer goes away, a ping falls back to
//! waiting as pong, so a newly spawned pingpong can pair with it.
#![no_std]
#![no_main]

use orbital_sdk::{ErrorCode, Slot, abi::rights, cap, ipc, println};

orbital_sdk::entry!(main);

const INBOX: Slot = Slot(1);
const PEER: Slot = Slot(2);
const TAG: u32 = 0x5049_4e47; // "PING"
const REPORT_EVERY: u64 = 1000;

fn main() {
    let has_peer = match cap::list() {
        Ok(list) => list.get(PEER).is_some(),
        Err(e) => {
            println!("pingpong: cannot list capabilities: {}", e.name());
            false
        }
    };
    if has_peer {
        println!("pingpong: role ping (peer inbox in slot 2)");
        if let Err(e) = ping() {
            println!("pingpong: peer lost: {} ({}); waiting for a new peer as pong", e.name(), e.describe());
        }
    } else {
        println!("pingpong: role pong (no peer yet; waiting on slot 1)");
    }
    pong()
}

/// Sends, retrying while the queue is full.
fn send(to: Slot, counter: u64, transfer: Slot) -> Result<(), ErrorCode> {
    loop {
        match ipc::send_with_cap(to, TAG, &counter.to_le_bytes(), transfer) {
            Err(ErrorCode::QueueFull) => orbital_sdk::yield_now(),
            other => return other,
        }
    }
}

/// Sends `counter` to `to` and waits for the next counter on `INBOX`, retrying the send while
/// the peer's queue is full (a refused send received nothing). The counter lands in `buf`.
fn send_receive(to: Slot, counter: u64, buf: &mut [u8; 8]) -> Result<ipc::Received, ErrorCode> {
    loop {
        match ipc::send_receive(to, TAG, &counter.to_le_bytes(), INBOX, buf) {
            Err(ErrorCode::QueueFull) => orbital_sdk::yield_now(),
            other => return other,
        }
    }
}

/// Returns only when the peer can no longer be reached.
fn ping() -> Result<(), ErrorCode> {
    // The copy we send is the source of the peer's reply capability: the kernel installs it in
    // the peer when the message is received, and only while the source still exists. So keep
    // it for the whole pairing and delete it only when the pairing is over.
    let reply_cap = cap::derive(INBOX, rights::WRITE | rights::GRANT)?;
    let result = send(PEER, 0, reply_cap).and_then(|()| ping_loop());
    let _ = cap::delete(reply_cap);
    result
}

fn ping_loop() -> Result<(), ErrorCode> {
    let mut buf = [0u8; 8];
    let mut expected: u64 = 0;
    let mut round_trips: u64 = 0;
    // The answer to the first message (sent with a plain SEND, for the capability transfer).
    ipc::receive(INBOX, &mut buf)?;
    loop {
        let counter = u64::from_le_bytes(buf);
        if counter != expected {
            println!("pingpong: expected reply {expected} got {counter}");
        }
        round_trips += 1;
        if round_trips.is_multiple_of(REPORT_EVERY) {
            println!("pingpong: {round_trips} round trips");
        }
        expected = counter.wrapping_add(1);
        send_receive(PEER, expected, &mut buf)?;
    }
}

fn pong() -> ! {
    let mut reply_to: Option<Slot> = None;
    let mut buf = [0u8; 8];
    let mut round_trips: u64 = 0;
    // A message SEND_RECEIVE already received with the last answer, to handle next.
    let mut next: Option<ipc::Received> = None;
    loop {
        let msg = match next.take() {
            Some(msg) => msg,
            None => match ipc::receive(INBOX, &mut buf) {
                Ok(msg) => msg,
                Err(e) => {
                    println!("pingpong: receive failed: {} ({})", e.name(), e.describe());
                    orbital_sdk::exit(1)
                }
            },
        };
        if let Some(slot) = msg.transferred {
            if let Some(old) = reply_to.replace(slot) {
                let _ = cap::delete(old);
            }
            println!("pingpong: paired with pid {} (reply capability in slot {})", msg.sender, slot.0);
        }
        let Some(to) = reply_to else {
            println!("pingpong: message from pid {} carries no reply capability; ignored", msg.sender);
            continue;
        };
        // Answer, and wait for the next counter in the same call. An error is the send's (the
        // receive slot is our own inbox, checked before sending): the peer is gone.
        match send_receive(to, u64::from_le_bytes(buf), &mut buf) {
            Ok(msg) => {
                round_trips += 1;
                if round_trips.is_multiple_of(REPORT_EVERY) {
                    println!("pingpong: {round_trips} round trips");
                }
                next = Some(msg);
            }
            Err(e) => {
                println!("pingpong: peer lost: {} ({}); waiting for a new peer", e.name(), e.describe());
                let _ = cap::delete(to);
                reply_to = None;
            }
        }
    }
}
