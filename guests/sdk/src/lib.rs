//! `orbital-sdk`: the library every Orbital guest program links.
//!
//! A guest is a `no_std` `wasm32-unknown-unknown` module that imports its memory and five host
//! functions (see `docs/ABI.md`). This crate wraps them in a safe, typed API:
//!
//! - [`console`]: `print!`/`println!` to the console capability (slot 0);
//! - [`ipc`]: send, receive (blocking and not) with the 12-byte receive header parsed;
//! - [`endpoint`] and [`cap`]: create and delete endpoints; grant, revoke, delete, derive, list;
//! - [`mem`]: tell the kernel about memory use (`MEM_ALLOC`/`MEM_FREE`);
//! - [`process`]: spawn, kill, ps, time, sleep, yield, pid, exit;
//! - [`entry!`]: declares `_start`; a program is `orbital_sdk::entry!(main);` and a `fn main()`.
//!
//! It also provides the global allocator (talc, growing linear memory with `memory.grow`, so an
//! allocation past the 64 MiB maximum fails and `try_reserve` reports it) and a panic handler
//! that prints the panic to the console and then traps.
//!
//! All `unsafe` code in guests lives in [`raw`]. Errors are [`ErrorCode`]s from the ABI crate,
//! which this crate re-exports as [`abi`].
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

pub use orbital_abi as abi;
pub use orbital_abi::ErrorCode;

pub mod cap;
pub mod console;
pub mod endpoint;
pub mod ipc;
pub mod mem;
pub mod process;
#[allow(unsafe_code)]
pub mod raw;

pub use process::{exit, pid, sleep_ms, time_ns, yield_now};

/// Result of every SDK call.
pub type Result<T> = core::result::Result<T, ErrorCode>;

/// A capability slot number in the calling process's capability space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot(pub u32);

impl Slot {
    /// Slot 0: the console (`WRITE`), given to every process.
    pub const CONSOLE: Slot = Slot(abi::slot::CONSOLE);
    /// "No capability" in `SEND`'s transfer argument.
    pub const NONE: Slot = Slot(abi::slot::NONE);
}

impl core::fmt::Display for Slot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "slot {}", self.0)
    }
}

/// Turns a raw `RESULT` word into a `Result`. A negative value the ABI does not know is a host
/// bug; it is reported as `BAD_ARGUMENT` rather than hidden as success.
pub fn check(result: i32) -> Result<u32> {
    if result >= 0 {
        Ok(result as u32)
    } else {
        Err(ErrorCode::from_result(result).unwrap_or(ErrorCode::BadArgument))
    }
}

/// Stages `data` and issues syscall `num`. Staging errors (data over the mailbox buffer) are
/// returned without making the call.
pub fn call(num: u32, args: [u32; 3], data: &[u8]) -> Result<u32> {
    if !data.is_empty() {
        check(raw::send_bytes(data))?;
    }
    check(raw::syscall(num, args[0], args[1], args[2]))
}

/// Copies the data of the last reply into `buf` and returns how many bytes were copied
/// (the reply may be longer; the rest is dropped). Used, for example, after a refused `SPAWN`
/// to read the supervisor's explanation, if it sent one.
pub fn reply_data(buf: &mut [u8]) -> Result<usize> {
    let full = check(raw::recv_bytes(buf))? as usize;
    Ok(full.min(buf.len()))
}

/// What a program's `main` may return: `()` or `Result<(), ErrorCode>`.
pub trait Termination {
    /// The exit code; an error is printed first.
    fn report(self) -> i32;
}

impl Termination for () {
    fn report(self) -> i32 {
        0
    }
}

impl Termination for Result<()> {
    fn report(self) -> i32 {
        match self {
            Ok(()) => 0,
            Err(e) => {
                println!("error: {} ({})", e.name(), e.describe());
                1
            }
        }
    }
}

/// Runs `main` and exits with its code. Called by the `_start` that [`entry!`] declares.
pub fn run<T: Termination>(main: fn() -> T) -> ! {
    let code = main().report();
    exit(code)
}

/// Traps the process at once (wasm `unreachable`): the host turns it into a Zombie with the
/// trap as its reason. For fault tests.
pub fn trap() -> ! {
    core::arch::wasm32::unreachable()
}

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    use core::fmt::Write;
    // No allocation here: the panic may be an allocation failure.
    let mut out = console::Writer::new();
    let _ = writeln!(out, "panic: {info}");
    let _ = out.flush();
    trap()
}

/// Writes the program's `orbital.manifest` custom section: its capabilities when it is loaded at
/// run time (dropped on the canvas, "Load program…", `window.supervisor.load_program`), as RON
/// with the fields of an `assets/programs.ron` entry that decide them, all optional:
/// `provides` (endpoint names, slots 1..), `connects` (services of running programs) and
/// `may_spawn`. Without it, a loaded program gets the console only (docs/ABI.md).
///
/// ```ignore
/// orbital_sdk::manifest!(b"(connects: [(service: \"echo_server.requests\", rights: \"W\")])");
/// ```
#[macro_export]
macro_rules! manifest {
    ($ron:literal) => {
        #[cfg(target_arch = "wasm32")]
        #[unsafe(link_section = "orbital.manifest")]
        #[used]
        static ORBITAL_MANIFEST: [u8; $ron.len()] = *$ron;
    };
}
