//! `sender`: sends numbered messages (u64 LE sequence number + " hello from sender") to the
//! receiver inbox in slot 1 (manifest `connects: receiver.inbox`, `WRITE`). The first 1000 go
//! as fast as the queue allows (on `QUEUE_FULL` it yields and retries the same number), then
//! ten a second forever. Without a usable capability in slot 1 it says why and exits with 1.
#![no_std]
#![no_main]

use orbital_sdk::{ErrorCode, Slot, ipc, println};

orbital_sdk::entry!(main);

const INBOX: Slot = Slot(1);
const BURST: u64 = 1000;
const TEXT: &[u8] = b" hello from sender";

fn main() {
    println!("sender: sending to the receiver inbox in slot 1");
    let mut payload = [0u8; 8 + TEXT.len()];
    payload[8..].copy_from_slice(TEXT);
    let mut seq: u64 = 0;
    loop {
        payload[..8].copy_from_slice(&seq.to_le_bytes());
        match ipc::send(INBOX, 0, &payload) {
            Ok(()) => {
                seq += 1;
                if seq == BURST {
                    println!("sender: sent {BURST} messages; now 10 a second");
                }
                if seq >= BURST {
                    let _ = orbital_sdk::sleep_ms(100);
                }
            }
            Err(ErrorCode::QueueFull) => orbital_sdk::yield_now(),
            Err(e) => give_up(seq, e),
        }
    }
}

fn give_up(seq: u64, e: ErrorCode) -> ! {
    let why = match e {
        ErrorCode::BadSlot => "slot 1 holds no capability: spawn a receiver first",
        ErrorCode::StaleCapability | ErrorCode::PeerGone => "the receiver is gone: spawn a new receiver and sender",
        ErrorCode::PermissionDenied => "the capability in slot 1 does not allow sending",
        _ => "cannot send",
    };
    println!("sender: {why} ({} after {seq} messages: {})", e.name(), e.describe());
    orbital_sdk::exit(1)
}
