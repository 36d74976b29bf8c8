//! `memhog`: asks for memory 1 MiB at a time and really uses it, reporting its size each step,
//! until it is refused. Refusal comes from the kernel (`MEM_ALLOC` past the process limit) or
//! from linear memory itself (`memory.grow` past the 64 MiB maximum, seen as a failed
//! `try_reserve`); either way it says so and then sleeps, holding what it has.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use orbital_sdk::{ErrorCode, mem, println};

orbital_sdk::entry!(main);

const STEP_BYTES: usize = 1024 * 1024;
const MIB: usize = 1024 * 1024;

fn main() {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let refusal = loop {
        let held_mib = chunks.len() * STEP_BYTES / MIB;
        if let Err(e) = mem::alloc(STEP_BYTES as u32) {
            break (held_mib, e, e.describe());
        }
        match grow(&mut chunks) {
            Ok(()) => println!("memhog: {} MiB", chunks.len() * STEP_BYTES / MIB),
            Err(()) => {
                // Give back what the kernel granted for the chunk we could not allocate.
                let _ = mem::free(STEP_BYTES as u32);
                break (held_mib, ErrorCode::OutOfMemory, "linear memory cannot grow past its 64 MiB maximum");
            }
        }
        let _ = orbital_sdk::sleep_ms(20);
    };
    let (mib, e, why) = refusal;
    println!(
        "memhog: refused at {mib} MiB: {} ({why}); linear memory is {} KiB",
        e.name(),
        orbital_sdk::raw::memory_bytes() / 1024
    );
    loop {
        let _ = orbital_sdk::sleep_ms(60_000);
    }
}

/// Adds one chunk and touches every 4 KiB of it, so the memory is really in use.
fn grow(chunks: &mut Vec<Vec<u8>>) -> Result<(), ()> {
    chunks.try_reserve(1).map_err(drop)?;
    let mut chunk = Vec::new();
    chunk.try_reserve_exact(STEP_BYTES).map_err(drop)?;
    chunk.resize(STEP_BYTES, 0);
    for i in (0..STEP_BYTES).step_by(4096) {
        chunk[i] = (i / 4096) as u8 | 1;
    }
    chunks.push(chunk);
    Ok(())
}
