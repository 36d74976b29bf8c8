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

    /// Every header word, in one read. The supervisor calls it only after an atomic load of
    /// `STATUS` saw PENDING: the guest wrote its request before that store and writes nothing
    /// more until it sees READY, so the words need no ordering of their own (as the data
    /// buffer's bytes need none). A host whose every load is a call into another runtime (the
    /// browser's) reads them in one copy; the default loads them one by one.
    fn load_header(&self) -> [i32; mb::HEADER_WORDS] {
        std::array::from_fn(|i| self.load(i * 4))
    }

    /// Writes the reply's four consecutive words, `RESULT`, `DATA_LEN`, `PID` and
    /// `LAST_SERVICED`, in that order. The supervisor's atomic store of READY after them
    /// publishes them to the guest; the default stores them one by one.
    fn store_reply_words(&self, words: [i32; 4]) {
        for (i, word) in words.into_iter().enumerate() {
            self.store(mb::RESULT + 4 * i, word);
        }
    }
}

// `store_reply_words` relies on the reply's words being consecutive, in this order.
const _: () = assert!(
    mb::DATA_LEN == mb::RESULT + 4
        && mb::PID == mb::RESULT + 8
        && mb::LAST_SERVICED == mb::RESULT + 12
);

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

    /// Reads the request words and the staged data (call it once `STATUS` reads PENDING). A
    /// `DATA_LEN` outside `0..=DATA_CAPACITY` is clamped: the guest's host already refused such
    /// lengths, so this only guards the read.
    pub fn read_request(&self) -> Request {
        self.read_request_from(&self.load_header())
    }

    /// [`read_request`](Self::read_request) from header words already read with `load_header`.
    pub fn read_request_from(&self, header: &[i32; mb::HEADER_WORDS]) -> Request {
        let word = |offset: usize| header[offset / 4];
        let data_len = word(mb::DATA_LEN).clamp(0, mb::DATA_CAPACITY as i32) as usize;
        Request {
            number: word(mb::SYSCALL) as u32,
            args: [
                word(mb::ARG0) as u32,
                word(mb::ARG1) as u32,
                word(mb::ARG2) as u32,
            ],
            data: self.read_data(data_len),
            memory_bytes: word(mb::MEMORY_BYTES) as u32,
            seq: word(mb::SEQ) as u32,
        }
    }

    /// Steps 5 and 6 of the syscall flow: the data and the reply words (RESULT, DATA_LEN, PID,
    /// LAST_SERVICED), then READY and a wake-up.
    pub fn complete(&self, pid: u32, syscall: u32, result: i32, data: &[u8]) {
        let len = data.len().min(mb::DATA_CAPACITY);
        self.write_data(&data[..len]);
        self.store_reply_words([result, len as i32, pid as i32, syscall as i32]);
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
    fn the_request_is_read_from_one_copy_of_the_header() {
        let words = MailboxWords::new();
        let mailbox = AtomicMailbox(words.clone());
        let mailbox: &dyn Mailbox = &mailbox;
        for (offset, value) in [
            (mb::SYSCALL, 8),
            (mb::ARG0, 3),
            (mb::ARG1, -1),
            (mb::ARG2, 5),
            (mb::DATA_LEN, 3),
            (mb::MEMORY_BYTES, 131_072),
            (mb::SEQ, 41),
            (mb::HOST_REFUSALS, 2),
        ] {
            mailbox.store(offset, value);
        }
        words.write_bytes(b"abc");
        mailbox.store(mb::STATUS, mb::STATUS_PENDING);
        let header = mailbox.load_header();
        for (i, word) in header.iter().enumerate() {
            assert_eq!(*word, mailbox.load(i * 4), "word {i}");
        }
        let request = mailbox.read_request_from(&header);
        assert_eq!(
            request,
            Request {
                number: 8,
                args: [3, u32::MAX, 5],
                data: b"abc".to_vec(),
                memory_bytes: 131_072,
                seq: 41,
            }
        );
        assert_eq!(mailbox.read_request(), request);
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
