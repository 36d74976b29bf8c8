//! Console output through the console capability (slot 0). Text goes out as a byte stream:
//! `print!` adds no newline, `println!` does. The console panel treats "\x0c" as clear-screen.

use crate::{Result, Slot, abi, call};
use abi::{mailbox::DATA_CAPACITY, nr};

/// Writes `text` to the console; returns the bytes written. Text longer than one mailbox is
/// written in several calls, split at character boundaries.
pub fn write(text: &str) -> Result<usize> {
    let mut out = Writer::new();
    core::fmt::Write::write_str(&mut out, text).map_err(|_| out.error())?;
    out.flush()?;
    Ok(out.written)
}

/// A formatter target that buffers on the stack (no allocation, so it works after an
/// allocation failure) and flushes one `CONSOLE_WRITE` per mailbox-full.
pub struct Writer {
    buf: [u8; DATA_CAPACITY],
    len: usize,
    written: usize,
    error: Option<crate::ErrorCode>,
}

impl Writer {
    pub const fn new() -> Self {
        Writer { buf: [0; DATA_CAPACITY], len: 0, written: 0, error: None }
    }

    /// Sends what is buffered. Returns the first error any flush met.
    pub fn flush(&mut self) -> Result<()> {
        if self.len > 0 {
            let r = call(nr::CONSOLE_WRITE, [Slot::CONSOLE.0, 0, 0], &self.buf[..self.len]);
            self.len = 0;
            match r {
                Ok(n) => self.written += n as usize,
                Err(e) => {
                    self.error.get_or_insert(e);
                }
            }
        }
        match self.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn error(&self) -> crate::ErrorCode {
        self.error.unwrap_or(crate::ErrorCode::BadArgument)
    }
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Write for Writer {
    fn write_str(&mut self, mut s: &str) -> core::fmt::Result {
        while !s.is_empty() {
            let room = DATA_CAPACITY - self.len;
            if s.len() <= room {
                self.buf[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
                self.len += s.len();
                break;
            }
            let mut cut = room;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            self.buf[self.len..self.len + cut].copy_from_slice(&s.as_bytes()[..cut]);
            self.len += cut;
            s = &s[cut..];
            self.flush().map_err(|_| core::fmt::Error)?;
        }
        Ok(())
    }
}

#[doc(hidden)]
pub fn _print(args: core::fmt::Arguments<'_>) {
    let mut out = Writer::new();
    // Nowhere to report a failing console; the kernel already logged the refusal.
    let _ = core::fmt::Write::write_fmt(&mut out, args);
    let _ = out.flush();
}

/// Like `std::print!`, to the console capability.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::console::_print(format_args!($($arg)*)) };
}

/// Like `std::println!`, to the console capability. Each call is one `CONSOLE_WRITE`
/// (unless it is longer than a mailbox), so lines from one call never interleave.
#[macro_export]
macro_rules! println {
    () => { $crate::console::_print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::console::_print(format_args!("{}\n", format_args!($($arg)*))) };
}
