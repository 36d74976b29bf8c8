//! `spinner`: one console line, then a loop with no syscall at all. Only the host can stop it
//! (fuel slices natively, terminating the worker in the browser), which `kill` must do.
#![no_std]
#![no_main]

orbital_sdk::entry!(main);

fn main() {
    orbital_sdk::println!("spinner: spinning without syscalls");
    let mut turns: u64 = 0;
    loop {
        // black_box keeps the loop real work that the optimiser cannot remove.
        turns = core::hint::black_box(turns.wrapping_add(1));
    }
}
