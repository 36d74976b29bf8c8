//! `idle`: gives up its turn forever. The host parks each `YIELD` for about a millisecond, so
//! this costs about a thousand syscalls a second, not a core.
#![no_std]
#![no_main]

orbital_sdk::entry!(main);

fn main() {
    loop {
        orbital_sdk::yield_now();
    }
}
