//! `crasher`: makes three syscalls (three console lines), then traps. The host must turn the
//! trap into a Zombie with the trap as its reason while every other process keeps running.
#![no_std]
#![no_main]

use orbital_sdk::println;

orbital_sdk::entry!(main);

fn main() {
    println!("crasher: starting");
    println!("crasher: will trap after this line and the next");
    println!("crasher: executing wasm `unreachable` now");
    orbital_sdk::trap()
}
