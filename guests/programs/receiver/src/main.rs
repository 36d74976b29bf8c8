//! `receiver`: waits on its inbox (slot 1, manifest `provides: ["inbox"]`), counts messages and
//! checks that each sender's sequence numbers (the first 8 payload bytes, u64 LE) arrive in
//! order. Prints the count at 1, 10, 100, 1000 and then every 1000 messages.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::BTreeMap;
use orbital_sdk::{ErrorCode, Slot, ipc, println};

orbital_sdk::entry!(main);

const INBOX: Slot = Slot(1);

fn main() {
    println!("receiver: waiting on the inbox in slot 1");
    // Next expected sequence number per sender pid.
    let mut expected: BTreeMap<u32, u64> = BTreeMap::new();
    let mut total: u64 = 0;
    let mut out_of_order: u64 = 0;
    let mut buf = [0u8; ipc::MAX_PAYLOAD];
    loop {
        let msg = match ipc::receive(INBOX, &mut buf) {
            Ok(msg) => msg,
            Err(e) => {
                println!("receiver: receive failed: {} ({})", e.name(), e.describe());
                if matches!(e, ErrorCode::BadSlot | ErrorCode::StaleCapability | ErrorCode::PeerGone) {
                    orbital_sdk::exit(1);
                }
                orbital_sdk::yield_now();
                continue;
            }
        };
        total += 1;
        if msg.len < 8 {
            println!("receiver: {} byte message from pid {} has no sequence number", msg.len, msg.sender);
            out_of_order += 1;
        } else {
            let seq = u64::from_le_bytes(buf[..8].try_into().unwrap_or([0; 8]));
            let next = expected.entry(msg.sender).or_insert(0);
            if seq != *next {
                println!("receiver: OUT OF ORDER from pid {}: expected {} got {}", msg.sender, *next, seq);
                out_of_order += 1;
            }
            *next = seq.wrapping_add(1);
        }
        if matches!(total, 1 | 10 | 100) || total.is_multiple_of(1000) {
            if out_of_order == 0 {
                println!("receiver: {total} messages in order");
            } else {
                println!("receiver: {total} messages, {out_of_order} out of order");
            }
        }
    }
}
