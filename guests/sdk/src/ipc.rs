//! Messages: `SEND`, `RECEIVE`, `TRY_RECEIVE` and `SEND_RECEIVE` on endpoint capabilities.

use crate::{Result, Slot, abi, call, check, raw};
use abi::{ErrorCode, mailbox, nr};

/// Largest payload a message can carry.
pub const MAX_PAYLOAD: usize = mailbox::MAX_MESSAGE_BYTES;

/// Who sent a received message, as stamped by the kernel (a guest cannot forge it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// Sender pid; 0 is the kernel itself (console input).
    pub sender: u32,
    pub tag: u32,
    /// Where a capability sent along with the message landed in our capability space.
    pub transferred: Option<Slot>,
    /// The payload's full length; only `min(len, buf.len())` bytes were copied.
    pub len: usize,
}

/// Sends `payload` on the endpoint in `slot` (needs `WRITE`). `QUEUE_FULL` means try again.
pub fn send(slot: Slot, tag: u32, payload: &[u8]) -> Result<()> {
    send_with_cap(slot, tag, payload, Slot::NONE)
}

/// Sends `payload` and a capability (`transfer`, which needs `GRANT`) along with it.
pub fn send_with_cap(slot: Slot, tag: u32, payload: &[u8], transfer: Slot) -> Result<()> {
    if payload.len() > MAX_PAYLOAD {
        return Err(ErrorCode::MessageTooLarge);
    }
    call(nr::SEND, [slot.0, tag, transfer.0], payload).map(drop)
}

/// Waits for a message on the endpoint in `slot` (needs `READ`); the process is Blocked until
/// one arrives. The payload is copied into `buf`.
pub fn receive(slot: Slot, buf: &mut [u8]) -> Result<Received> {
    receive_with(nr::RECEIVE, slot, buf)
}

/// Like [`receive`], but returns `WOULD_BLOCK` at once when the queue is empty.
pub fn try_receive(slot: Slot, buf: &mut [u8]) -> Result<Received> {
    receive_with(nr::TRY_RECEIVE, slot, buf)
}

/// Sends `payload` on `to` (needs `WRITE`; no capability transfer), then waits for a message
/// on `from` (needs `READ`) as [`receive`] does: a request and the wait for its answer in one
/// syscall (one mailbox round trip instead of two). Both slots are checked before anything is
/// sent; if the send fails (`QUEUE_FULL`: try again; `STALE_CAPABILITY`: the peer is gone),
/// that is the error and nothing was received.
pub fn send_receive(to: Slot, tag: u32, payload: &[u8], from: Slot, buf: &mut [u8]) -> Result<Received> {
    if payload.len() > MAX_PAYLOAD {
        return Err(ErrorCode::MessageTooLarge);
    }
    call(nr::SEND_RECEIVE, [to.0, tag, from.0], payload)?;
    read_received(buf)
}

fn receive_with(num: u32, slot: Slot, buf: &mut [u8]) -> Result<Received> {
    check(raw::syscall(num, slot.0, 0, 0))?;
    read_received(buf)
}

/// Parses the reply of a completed receive and copies its payload into `buf`.
fn read_received(buf: &mut [u8]) -> Result<Received> {
    let mut data = [0u8; mailbox::DATA_CAPACITY];
    let full = check(raw::recv_bytes(&mut data))? as usize;
    let (received, payload) = parse_reply(&data[..full.min(data.len())])?;
    let n = payload.len().min(buf.len());
    buf[..n].copy_from_slice(&payload[..n]);
    Ok(received)
}

/// Splits a `RECEIVE` reply into its 12-byte header (sender pid, tag, transferred slot, all
/// u32 LE) and the payload. A reply shorter than the header is a host bug: `BAD_ARGUMENT`.
pub fn parse_reply(data: &[u8]) -> Result<(Received, &[u8])> {
    if data.len() < mailbox::RECV_HEADER_BYTES {
        return Err(ErrorCode::BadArgument);
    }
    let word = |i: usize| u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
    let transferred = match word(8) {
        abi::slot::NONE => None,
        s => Some(Slot(s)),
    };
    let payload = &data[mailbox::RECV_HEADER_BYTES..];
    Ok((Received { sender: word(0), tag: word(4), transferred, len: payload.len() }, payload))
}
