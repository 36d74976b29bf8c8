//! A seeded random workload for time-travel tests and benches: the scripted host's "guests"
//! issue random syscalls (mostly IPC), and the test also kills, reaps, traps, types console
//! input, reports memory and host refusals, clears logs and ticks, so every kind of kernel
//! input is exercised. Deterministic for a seed.

use std::sync::atomic::Ordering;

use crate::abi::{mailbox as mb, nr};
use crate::host::GuestExitKind;
use crate::kernel::ProcessId;
use crate::testing::ScriptedGuests;
use crate::{ManualTime, Supervisor};

/// A small deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

const PROGRAMS: [&str; 5] = ["receiver", "sender", "idle", "pingpong", "rogue"];

/// The workload's state between steps.
pub struct Workload {
    pub rng: Rng,
    pub steps: u64,
}

impl Workload {
    /// Boots init and terminal and a few user programs.
    pub fn start(sup: &mut Supervisor, seed: u64) -> Workload {
        for name in [
            "init", "terminal", "receiver", "sender", "pingpong", "pingpong", "idle",
        ] {
            sup.spawn_program(name).ok();
        }
        Workload {
            rng: Rng::new(seed),
            steps: 0,
        }
    }

    /// One step: mostly one syscall from a random guest, sometimes something else.
    pub fn step(&mut self, sup: &mut Supervisor, guests: &ScriptedGuests, time: &ManualTime) {
        self.steps += 1;
        time.advance(1 + self.rng.below(20_000));
        let now = sup.now_ns();
        let roll = self.rng.below(1000);
        let running = guests.running();
        match roll {
            0..=3 => {
                if let Some(&pid) = running.get(self.rng.below(running.len() as u64) as usize) {
                    sup.kill(pid).ok();
                }
            }
            4..=6 => {
                if let Some(&pid) = running.get(self.rng.below(running.len() as u64) as usize) {
                    let kind = if self.rng.below(2) == 0 {
                        GuestExitKind::Trapped("unreachable executed".into())
                    } else {
                        GuestExitKind::Returned
                    };
                    guests.exit(pid, kind);
                }
            }
            7..=9 => {
                let zombies: Vec<ProcessId> = sup
                    .kernel()
                    .processes()
                    .values()
                    .filter(|p| p.state.is_zombie())
                    .map(|p| p.pid)
                    .collect();
                if let Some(&pid) = zombies.first() {
                    sup.reap(pid).ok();
                }
            }
            10..=14 => {
                if sup
                    .kernel()
                    .processes()
                    .values()
                    .all(|p| p.name != "terminal" || p.state.is_zombie())
                {
                    sup.spawn_program("terminal").ok();
                }
                sup.console_input(if self.rng.below(2) == 0 { "ps" } else { "help" })
                    .ok();
            }
            15 => sup.clear_logs(),
            16..=40 => sup.tick(now),
            41..=50 => {
                if running.len() < 14 {
                    let name = PROGRAMS[self.rng.below(PROGRAMS.len() as u64) as usize];
                    sup.spawn_program(name).ok();
                }
            }
            _ => {
                let Some(&pid) = running.get(self.rng.below(running.len() as u64) as usize) else {
                    sup.spawn_program("receiver").ok();
                    return;
                };
                let Some(w) = guests.mailbox(pid) else { return };
                if w.word(mb::STATUS).load(Ordering::SeqCst) as i32 == mb::STATUS_PENDING {
                    // Blocked in the kernel: service others (a message may wake it).
                    sup.service_pending(now);
                    return;
                }
                if self.rng.below(50) == 0 {
                    let pages = 1 + self.rng.below(8) as u32;
                    w.word(mb::MEMORY_BYTES)
                        .store(pages * 65_536, Ordering::SeqCst);
                }
                if self.rng.below(80) == 0 {
                    w.word(mb::HOST_REFUSAL_CODE)
                        .store((256 << 16) | 16, Ordering::SeqCst);
                    w.word(mb::HOST_REFUSALS).fetch_add(1, Ordering::SeqCst);
                }
                let number = match self.rng.below(100) {
                    0..=29 => nr::SEND,
                    30..=49 => nr::TRY_RECEIVE,
                    50..=59 => nr::RECEIVE,
                    60..=64 => nr::SEND_RECEIVE,
                    65..=69 => nr::YIELD,
                    70..=72 => nr::SLEEP,
                    73..=74 => nr::ENDPOINT_CREATE,
                    75 => nr::ENDPOINT_DELETE,
                    76..=77 => nr::CAP_DERIVE,
                    78 => nr::CAP_GRANT,
                    79 => nr::CAP_REVOKE,
                    80 => nr::CAP_DELETE,
                    81..=82 => nr::MEM_ALLOC,
                    83 => nr::MEM_FREE,
                    84 => nr::SPAWN,
                    85 => nr::KILL,
                    86 => nr::PS,
                    87..=88 => nr::CAP_LIST,
                    89 => nr::CONSOLE_WRITE,
                    90 => nr::TIME,
                    91 => nr::EXIT,
                    92 => 99,
                    _ => nr::GET_PID,
                };
                let slot = self.rng.below(6) as u32;
                let args = match number {
                    nr::SEND => [
                        slot,
                        self.rng.below(4) as u32,
                        if self.rng.below(10) == 0 {
                            slot
                        } else {
                            u32::MAX
                        },
                    ],
                    nr::SEND_RECEIVE => [slot, 1, self.rng.below(6) as u32],
                    nr::SLEEP => [self.rng.below(3) as u32, 0, 0],
                    nr::CAP_GRANT => [slot, self.rng.below(12) as u32, self.rng.below(8) as u32],
                    nr::CAP_DERIVE => [slot, self.rng.below(8) as u32, 0],
                    nr::MEM_ALLOC | nr::MEM_FREE => [self.rng.below(1 << 20) as u32, 0, 0],
                    nr::KILL => [slot, self.rng.below(16) as u32, 0],
                    _ => [slot, 0, 0],
                };
                let data: Vec<u8> = match number {
                    nr::SPAWN => PROGRAMS[self.rng.below(PROGRAMS.len() as u64) as usize]
                        .as_bytes()
                        .to_vec(),
                    nr::SEND | nr::SEND_RECEIVE | nr::CONSOLE_WRITE => {
                        (0..self.rng.below(24)).map(|i| i as u8).collect()
                    }
                    _ => Vec::new(),
                };
                w.word(mb::SYSCALL).store(number, Ordering::SeqCst);
                w.word(mb::ARG0).store(args[0], Ordering::SeqCst);
                w.word(mb::ARG1).store(args[1], Ordering::SeqCst);
                w.word(mb::ARG2).store(args[2], Ordering::SeqCst);
                w.write_bytes(&data);
                w.word(mb::DATA_LEN)
                    .store(data.len() as u32, Ordering::SeqCst);
                w.word(mb::STATUS)
                    .store(mb::STATUS_PENDING as u32, Ordering::SeqCst);
                sup.service_pending(now);
                // The guest picks its reply up at once.
                if w.word(mb::STATUS).load(Ordering::SeqCst) as i32 == mb::STATUS_READY {
                    w.word(mb::STATUS)
                        .store(mb::STATUS_IDLE as u32, Ordering::SeqCst);
                }
                if running.len() < 4 {
                    sup.spawn_program("sender").ok();
                }
            }
        }
    }
}
