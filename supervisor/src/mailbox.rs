//! The syscall mailbox as the supervisor sees it: 4096 bytes of shared 32-bit words laid out
//! exactly as `abi::mailbox` says (sixteen header words, then the data buffer).
//!
//! [`Mailbox`] is what the supervisor reads and writes; each host provides the memory behind it
//! (natively [`AtomicMailbox`], shared with the guest's thread; in the browser an `Int32Array`
//! over a `SharedArrayBuffer`, shared with the guest's Web Worker). The wait/notify protocol is
//! the same on both: see docs/ABI.md, "Syscall flow".

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::abi::mailbox as mb;

/// Supervisor-side access to one process's mailbox. Offsets are byte offsets of header words
/// (`abi::mailbox::STATUS`, ...). Implementations must use atomic (sequentially consistent)
/// loads and stores, because the guest's host runs on another thread or worker.
pub trait Mailbox: Send {
    fn load(&self, offset: usize) -> i32;
    fn store(&self, offset: usize, value: i32);
    /// Wakes whoever waits on the word at `offset` (the guest waiting on `STATUS`).
    fn notify(&self, offset: usize);
    /// Copies `len` bytes (clamped to the data capacity) out of the data buffer.
    fn read_data(&self, len: usize) -> Vec<u8>;
    /// Copies `data` (clamped to the data capacity) into the data buffer.
    fn write_data(&self, data: &[u8]);
}

/// A syscall request as read from a PENDING mailbox. Everything in it is the guest's allegation;
/// the kernel validates it. The caller's PID is *not* in here: it comes from the supervisor's map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub number: u32,
    pub args: [u32; 3],
    pub data: Vec<u8>,
    pub memory_bytes: u32,
    pub seq: u32,
}

impl dyn Mailbox + '_ {
    pub fn status(&self) -> i32 {
        self.load(mb::STATUS)
    }

    /// Reads the request words and the staged data. A `DATA_LEN` outside `0..=DATA_CAPACITY`
    /// is clamped: the guest's host already refused such lengths, so this only guards the read.
    pub fn read_request(&self) -> Request {
        let data_len = self.load(mb::DATA_LEN).clamp(0, mb::DATA_CAPACITY as i32) as usize;
        Request {
            number: self.load(mb::SYSCALL) as u32,
            args: [
                self.load(mb::ARG0) as u32,
                self.load(mb::ARG1) as u32,
                self.load(mb::ARG2) as u32,
            ],
            data: self.read_data(data_len),
            memory_bytes: self.load(mb::MEMORY_BYTES) as u32,
            seq: self.load(mb::SEQ) as u32,
        }
    }

    /// Steps 5 and 6 of the syscall flow: RESULT, DATA_LEN and data, then READY and a wake-up.
    pub fn complete(&self, pid: u32, syscall: u32, result: i32, data: &[u8]) {
        let len = data.len().min(mb::DATA_CAPACITY);
        self.write_data(&data[..len]);
        self.store(mb::DATA_LEN, len as i32);
        self.store(mb::RESULT, result);
        self.store(mb::PID, pid as i32);
        self.store(mb::LAST_SERVICED, syscall as i32);
        self.store(mb::STATUS, mb::STATUS_READY);
        self.notify(mb::STATUS);
    }
}

/// The native mailbox memory: 1024 atomic words, shared by `Arc` between the supervisor and the
/// guest's thread. Data bytes are packed little-endian into the words after the header, so the
/// byte layout is the ABI's.
pub struct MailboxWords {
    words: [AtomicU32; mb::SIZE / 4],
}

impl MailboxWords {
    pub fn new() -> Arc<MailboxWords> {
        let words = std::array::from_fn(|_| AtomicU32::new(0));
        let mailbox = MailboxWords { words };
        mailbox
            .word(mb::LAST_SERVICED)
            .store(u32::MAX, Ordering::SeqCst); // -1: nothing serviced yet
        Arc::new(mailbox)
    }

    /// The header word at byte offset `offset` (a multiple of 4 below `SIZE`).
    pub fn word(&self, offset: usize) -> &AtomicU32 {
        &self.words[offset / 4]
    }

    pub fn read_bytes(&self, len: usize) -> Vec<u8> {
        let len = len.min(mb::DATA_CAPACITY);
        let mut out = Vec::with_capacity(len);
        for i in (0..len).step_by(4) {
            let word = self.words[(mb::DATA + i) / 4]
                .load(Ordering::SeqCst)
                .to_le_bytes();
            out.extend_from_slice(&word[..(len - i).min(4)]);
        }
        out
    }

    pub fn write_bytes(&self, data: &[u8]) {
        let data = &data[..data.len().min(mb::DATA_CAPACITY)];
        for (i, chunk) in data.chunks(4).enumerate() {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            self.words[mb::DATA / 4 + i].store(u32::from_le_bytes(word), Ordering::SeqCst);
        }
    }

    /// Wakes every thread waiting on the word at `offset`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn wake(&self, offset: usize) {
        atomic_wait::wake_all(self.word(offset));
    }
}

/// [`Mailbox`] over [`MailboxWords`]: the native host's mailbox.
#[derive(Clone)]
pub struct AtomicMailbox(pub Arc<MailboxWords>);

impl Mailbox for AtomicMailbox {
    fn load(&self, offset: usize) -> i32 {
        self.0.word(offset).load(Ordering::SeqCst) as i32
    }

    fn store(&self, offset: usize, value: i32) {
        self.0.word(offset).store(value as u32, Ordering::SeqCst);
    }

    fn notify(&self, offset: usize) {
        #[cfg(not(target_arch = "wasm32"))]
        self.0.wake(offset);
        // Without threads (wasm32 without atomics) nobody can be waiting on this memory.
        #[cfg(target_arch = "wasm32")]
        let _ = offset;
    }

    fn read_data(&self, len: usize) -> Vec<u8> {
        self.0.read_bytes(len)
    }

    fn write_data(&self, data: &[u8]) {
        self.0.write_bytes(data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_round_trips_through_words_for_every_length() {
        let words = MailboxWords::new();
        for len in [0, 1, 3, 4, 5, 63, 4031, 4032] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + 1) as u8).collect();
            words.write_bytes(&data);
            assert_eq!(words.read_bytes(len), data, "len {len}");
        }
        // Longer than the buffer: clamped, never out of bounds.
        words.write_bytes(&vec![9u8; 5000]);
        assert_eq!(words.read_bytes(5000).len(), mb::DATA_CAPACITY);
    }

    #[test]
    fn complete_writes_reply_and_sets_ready() {
        let words = MailboxWords::new();
        let mailbox = AtomicMailbox(words.clone());
        let mailbox: &dyn Mailbox = &mailbox;
        assert_eq!(mailbox.load(mb::LAST_SERVICED), -1);
        mailbox.store(mb::STATUS, mb::STATUS_PENDING);
        mailbox.complete(7, 4, 0, &42u64.to_le_bytes());
        assert_eq!(mailbox.status(), mb::STATUS_READY);
        assert_eq!(mailbox.load(mb::DATA_LEN), 8);
        assert_eq!(mailbox.load(mb::PID), 7);
        assert_eq!(mailbox.load(mb::LAST_SERVICED), 4);
        assert_eq!(words.read_bytes(8), 42u64.to_le_bytes());
    }
}
