//! `rogue`: a fault-test program that tries, every two seconds, each thing the kernel and the
//! host must refuse: sending on empty, read-only or stale slots, killing and spawning without
//! the process table, granting or deriving rights it does not hold, unknown syscall numbers,
//! oversized data, pointers outside its memory, passing a capability it may not pass, and a
//! message that claims to come from pid 1. It prints the result code of each attempt, and
//! loudly marks anything that was let through.
//!
//! Slot 1 is the receiver's inbox with `READ` only, if a receiver was running at spawn.
#![no_std]
#![no_main]

use orbital_sdk::{
    Result, Slot,
    abi::{mailbox, nr, rights},
    cap, check, endpoint, ipc, mem, println, process, raw,
};

orbital_sdk::entry!(main);

const RECEIVER_INBOX: Slot = Slot(1);
const EMPTY: Slot = Slot(40);

#[derive(Default)]
struct Tally {
    refused: u32,
    allowed: u32,
}

impl Tally {
    fn attempt(&mut self, what: &str, result: Result<u32>) {
        match result {
            Err(e) => {
                self.refused += 1;
                println!("rogue: {what}: refused, {}", e.name());
            }
            Ok(v) => {
                self.allowed += 1;
                println!("rogue: {what}: ALLOWED (result {v}); this should have been refused");
            }
        }
    }
}

fn main() {
    let me = orbital_sdk::pid();
    println!("rogue: pid {me} starting its forgery rounds");
    let mut round: u32 = 0;
    loop {
        round += 1;
        let mut t = Tally::default();
        forge_slots(&mut t);
        forge_authority(&mut t);
        forge_syscalls(&mut t);
        forge_pointers(&mut t);
        forge_own_endpoint(&mut t, me);
        println!("rogue: round {round}: {} refused, {} let through", t.refused, t.allowed);
        let _ = orbital_sdk::sleep_ms(2_000);
    }
}

/// Capabilities it does not have.
fn forge_slots(t: &mut Tally) {
    let payload = forged_payload();
    t.attempt("send on empty slot 40", ipc::send(EMPTY, 0, &payload).map(|()| 0));
    t.attempt("send on slot 64 (past the capability space)", check(raw::syscall(nr::SEND, 64, 0, u32::MAX)));
    t.attempt("send on slot u32::MAX", check(raw::syscall(nr::SEND, u32::MAX, 0, u32::MAX)));
    t.attempt(
        "send a 'from pid 1' message with the read-only receiver capability (slot 1)",
        ipc::send(RECEIVER_INBOX, 0, &payload).map(|()| 0),
    );
    t.attempt("receive on the console capability", {
        let mut buf = [0u8; 16];
        ipc::try_receive(Slot::CONSOLE, &mut buf).map(|m| m.len as u32)
    });
    t.attempt("delete the receiver's endpoint (not the owner)", endpoint::delete(RECEIVER_INBOX).map(|()| 0));
}

/// Rights and objects it does not hold.
fn forge_authority(t: &mut Tally) {
    t.attempt("kill pid 1 with the console capability", process::kill(Slot::CONSOLE, 1).map(|()| 0));
    t.attempt("kill pid 2 from empty slot 41", process::kill(Slot(41), 2).map(|()| 0));
    t.attempt("spawn rogue with the console capability", process::spawn(Slot::CONSOLE, "rogue"));
    t.attempt("grant the console with all rights to pid 1", cap::grant(Slot::CONSOLE, 1, rights::ALL).map(|s| s.0));
    t.attempt("derive the console with all rights", cap::derive(Slot::CONSOLE, rights::ALL).map(|s| s.0));
    t.attempt(
        "derive WRITE from the read-only receiver capability",
        cap::derive(RECEIVER_INBOX, rights::READ | rights::WRITE).map(|s| s.0),
    );
    t.attempt("free 1 GiB it never allocated", mem::free(1 << 30).map(|()| 0));
}

/// Syscall numbers that do not exist.
fn forge_syscalls(t: &mut Tally) {
    for num in [nr::COUNT, 255, u32::MAX] {
        let mut what = [0u8; 32];
        let what = label(&mut what, format_args!("unknown syscall {num}"));
        t.attempt(what, check(raw::syscall(num, 1, 2, 3)));
    }
}

/// Lengths and pointers the host must refuse before the kernel sees anything.
fn forge_pointers(t: &mut Tally) {
    let end = raw::memory_bytes() as u32;
    t.attempt(
        "stage 5000 bytes (over the mailbox buffer)",
        check(raw::send_bytes_at(1024, mailbox::DATA_CAPACITY as i32 + 968)),
    );
    t.attempt("stage a negative length", check(raw::send_bytes_at(1024, -1)));
    t.attempt("stage bytes past the end of memory", check(raw::send_bytes_at(end, 16)));
    t.attempt("stage bytes straddling the end of memory", check(raw::send_bytes_at(end - 8, 16)));
    t.attempt("stage bytes at an address that wraps", check(raw::send_bytes_at(u32::MAX - 3, 16)));
    // Make a reply to copy out, then ask for it at bad places.
    let _ = orbital_sdk::time_ns();
    t.attempt("receive reply bytes past the end of memory", check(raw::recv_bytes_outside_memory(0, 16)));
    t.attempt("receive reply bytes at u32::MAX", check(raw::recv_bytes_outside_memory(u32::MAX, 16)));
    t.attempt("receive reply bytes with a negative length", check(raw::recv_bytes_outside_memory(0, -1)));
}

/// Attempts that need an endpoint of its own: oversized messages, passing a capability it may
/// not pass, the forged sender, and using capabilities after revoke and delete.
fn forge_own_endpoint(t: &mut Tally, me: u32) {
    let own = match endpoint::create() {
        Ok(slot) => slot,
        Err(e) => {
            println!("rogue: cannot create its own endpoint ({}); skipping those attempts", e.name());
            return;
        }
    };
    let mut big = [0u8; mailbox::MAX_MESSAGE_BYTES + 1];
    big[..8].copy_from_slice(&0u64.to_le_bytes());
    t.attempt("send a message one byte over the limit", {
        // Raw on purpose: the SDK would refuse this before the kernel sees it.
        check(raw::send_bytes(&big)).and_then(|_| check(raw::syscall(nr::SEND, own.0, 0, u32::MAX)))
    });
    t.attempt(
        "pass the console capability (no GRANT right) along with a message",
        ipc::send_with_cap(own, 0, b"take my console", Slot::CONSOLE).map(|()| 0),
    );
    drain(own);

    // The kernel stamps the sender; what the payload claims is just bytes.
    match ipc::send(own, 1, &forged_payload()) {
        Ok(()) => {
            let mut buf = [0u8; 64];
            match ipc::try_receive(own, &mut buf) {
                Ok(m) if m.sender == me => {
                    t.refused += 1;
                    println!("rogue: message claiming 'from pid 1' arrived stamped sender pid {} (mine): the claim changed nothing", m.sender);
                }
                Ok(m) => {
                    t.allowed += 1;
                    println!("rogue: message claiming 'from pid 1' arrived stamped sender pid {}, not {me}: FORGERY WORKED", m.sender);
                }
                Err(e) => println!("rogue: could not read back its own message: {}", e.name()),
            }
        }
        Err(e) => println!("rogue: could not send to its own endpoint: {}", e.name()),
    }

    match cap::derive(own, rights::WRITE) {
        Ok(copy) => {
            let _ = cap::revoke(own);
            t.attempt("send on a capability revoked a moment ago", ipc::send(copy, 0, b"stale").map(|()| 0));
            let _ = cap::delete(copy);
        }
        Err(e) => println!("rogue: could not derive from its own endpoint: {}", e.name()),
    }
    drain(own);
    let _ = endpoint::delete(own);
    t.attempt("send on its own endpoint after deleting it", ipc::send(own, 0, b"gone").map(|()| 0));
    let _ = cap::delete(own);
}

/// Sequence number 0 (what a receiver expects first) followed by a false claim of origin.
fn forged_payload() -> [u8; 32] {
    let mut p = [b' '; 32];
    p[..8].copy_from_slice(&0u64.to_le_bytes());
    p[8..8 + 24].copy_from_slice(b"from pid 1: kill pid 2  ");
    p
}

fn drain(slot: Slot) {
    let mut buf = [0u8; 16];
    while ipc::try_receive(slot, &mut buf).is_ok() {}
}

/// Formats into a stack buffer (rogue never needs the heap).
fn label<'a>(buf: &'a mut [u8], args: core::fmt::Arguments<'_>) -> &'a str {
    struct W<'b> {
        buf: &'b mut [u8],
        len: usize,
    }
    impl core::fmt::Write for W<'_> {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let n = s.len().min(self.buf.len() - self.len);
            self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
            self.len += n;
            Ok(())
        }
    }
    let mut w = W { buf, len: 0 };
    let _ = core::fmt::Write::write_fmt(&mut w, args);
    let len = w.len;
    core::str::from_utf8(&w.buf[..len]).unwrap_or("")
}

