//! `init` (PID 1): prints a banner, spawns the terminal (pid 2) and idle (pid 3), then sleeps
//! forever. Slot 1 holds the process table (manifest: `may_spawn`).
#![no_std]
#![no_main]

use orbital_sdk::{ErrorCode, Slot, println, process};

orbital_sdk::entry!(main);

const PROCESS_TABLE: Slot = Slot(1);

fn main() {
    println!("Orbital Playground: init (pid {}) starting", orbital_sdk::pid());
    for program in ["terminal", "idle"] {
        match process::spawn(PROCESS_TABLE, program) {
            Ok(pid) => println!("init: started {program} as pid {pid}"),
            Err(e) => report_spawn_error(program, e),
        }
    }
    loop {
        if let Err(e) = orbital_sdk::sleep_ms(60_000) {
            println!("init: sleep failed: {} ({})", e.name(), e.describe());
            orbital_sdk::yield_now();
        }
    }
}

fn report_spawn_error(program: &str, e: ErrorCode) {
    let mut why = [0u8; 512];
    let n = orbital_sdk::reply_data(&mut why).unwrap_or(0);
    let why = core::str::from_utf8(&why[..n]).unwrap_or("");
    println!("init: cannot start {program}: {} ({}) {why}", e.name(), e.describe());
}
