//! The raw layer: the five host imports of module `env`, and the only `unsafe` code in guests
//! (including the `#[unsafe(no_mangle)]` on the `_start` that [`entry!`](crate::entry) declares).
//!
//! Programs use the typed API in the rest of the SDK. The functions here are public for fault
//! tests (the `rogue` program) that must hand the host malformed requests on purpose: arbitrary
//! syscall numbers and arguments, and pointers or lengths outside the guest's memory. They are
//! still memory safe for the guest: the host only *reads* guest memory for `send_bytes_at`, and
//! `recv_bytes_outside_memory` only ever names addresses past the end of linear memory.

#[link(wasm_import_module = "env")]
unsafe extern "C" {
    fn orbital_syscall(num: u32, arg0: u32, arg1: u32, arg2: u32) -> i32;
    fn orbital_send_bytes(ptr: u32, len: i32) -> i32;
    fn orbital_recv_bytes(ptr: u32, cap: i32) -> i32;
    fn orbital_yield();
    fn orbital_get_pid() -> i32;
}

/// Issues syscall `num` with three raw arguments, carrying whatever `send_bytes` staged.
/// Returns the raw `RESULT` word (`>= 0` success, `-code` error). Any number is allowed:
/// unknown ones come back as `-UNKNOWN_SYSCALL`.
pub fn syscall(num: u32, arg0: u32, arg1: u32, arg2: u32) -> i32 {
    // SAFETY: the host function takes four i32 values and touches no guest memory; it blocks
    // until the kernel has answered and returns a plain integer.
    unsafe { orbital_syscall(num, arg0, arg1, arg2) }
}

/// Stages `data` for the next `syscall`. Returns `data.len()`, or `-MESSAGE_TOO_LARGE`.
pub fn send_bytes(data: &[u8]) -> i32 {
    let len = i32::try_from(data.len()).unwrap_or(i32::MAX);
    // SAFETY: the host reads `len` bytes at `ptr`, which is exactly the borrowed slice; it
    // never writes guest memory and keeps no reference after returning.
    unsafe { orbital_send_bytes(data.as_ptr() as u32, len) }
}

/// Fault tests only: stages `len` bytes at an arbitrary address. The host must refuse ranges
/// outside linear memory and negative lengths with `-BAD_POINTER`.
pub fn send_bytes_at(ptr: u32, len: i32) -> i32 {
    // SAFETY: the host only reads guest memory (and must bounds-check it), so no address can
    // break the guest's own memory; the result is a plain integer.
    unsafe { orbital_send_bytes(ptr, len) }
}

/// Copies the last reply's data into `buf`; returns the full reply length (may exceed
/// `buf.len()`), or `-BAD_POINTER`.
pub fn recv_bytes(buf: &mut [u8]) -> i32 {
    let cap = i32::try_from(buf.len()).unwrap_or(i32::MAX);
    // SAFETY: the host writes at most `cap` bytes at `ptr`, which is exactly the mutably
    // borrowed slice, and keeps no reference after returning.
    unsafe { orbital_recv_bytes(buf.as_mut_ptr() as u32, cap) }
}

/// Fault tests only: asks the host to write the last reply at `offset` bytes past the end of
/// linear memory (saturating at `u32::MAX`), with any `cap`, including negative ones. A correct
/// host answers `-BAD_POINTER` and writes nothing.
pub fn recv_bytes_outside_memory(offset: u32, cap: i32) -> i32 {
    let end = (core::arch::wasm32::memory_size(0) as u32).saturating_mul(65_536);
    let ptr = end.saturating_add(offset);
    // SAFETY: `ptr` is at or past the end of linear memory, so even a host that ignored its
    // bounds check could not write any byte the guest owns.
    unsafe { orbital_recv_bytes(ptr, cap) }
}

/// The `YIELD` syscall; the host also parks the caller for about a millisecond.
pub fn yield_now() {
    // SAFETY: no arguments, no guest memory involved.
    unsafe { orbital_yield() }
}

/// The `GET_PID` syscall: the caller's pid as the kernel knows it.
pub fn get_pid() -> i32 {
    // SAFETY: no arguments, no guest memory involved.
    unsafe { orbital_get_pid() }
}

/// Size of linear memory in bytes (no syscall).
pub fn memory_bytes() -> usize {
    core::arch::wasm32::memory_size(0) * 65_536
}

/// Declares the module's `_start` export, which runs `main` and then exits:
/// ```ignore
/// #![no_std]
/// #![no_main]
/// orbital_sdk::entry!(main);
/// fn main() { orbital_sdk::println!("hello"); }
/// ```
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn _start() {
            $crate::run($main)
        }
    };
}
