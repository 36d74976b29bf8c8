//! Runs one of the bench workloads a fixed number of times, for instruction-level profiling
//! where criterion's timing is too noisy on a shared machine:
//! `valgrind --tool=callgrind target/release/examples/hot_path <pair|register_kill|trivial> <processes> <iterations>`.
//! Instructions per operation = (Ir at 2N iterations - Ir at N) / N.

use orbital_kernel::abi::{nr, rights, slot};
use orbital_kernel::{Dispatch, Kernel, KernelConfig, ProcessId, SyscallArgs};

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "pair".into());
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let iterations: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let mut k = Kernel::new(KernelConfig {
        max_processes: n + 16,
        max_endpoints: n + 16,
        ..KernelConfig::default()
    });
    for _ in 0..n {
        let pid = k.register_process("bench", 0).expect("register");
        k.create_endpoint(pid, 0).expect("endpoint");
    }
    let receiver = ProcessId((n / 2) as u32);
    let sender = ProcessId((n / 2 + 1) as u32);
    let w = match k.dispatch(
        receiver,
        SyscallArgs::new(nr::CAP_GRANT, [1, sender.0, rights::WRITE]),
        &[],
        0,
    ) {
        Dispatch::Complete(r) if r.result > 0 => r.result as u32,
        other => panic!("grant: {other:?}"),
    };
    let payload = [0x42u8; 32];
    let send = SyscallArgs::new(nr::SEND, [w, 7, slot::NONE]);
    let recv = SyscallArgs::new(nr::RECEIVE, [1, 0, 0]);
    let get_pid = SyscallArgs::new(nr::GET_PID, [0; 3]);
    let mut checksum = 0usize;
    for i in 0..iterations {
        let now_ns = 1 + i * 100;
        match mode.as_str() {
            "pair" => {
                let _ = std::hint::black_box(k.dispatch(
                    sender,
                    send,
                    std::hint::black_box(&payload),
                    now_ns,
                ));
                if let Dispatch::Complete(r) = k.dispatch(receiver, recv, &[], now_ns) {
                    checksum += r.data.len();
                }
            }
            "register_kill" => {
                let pid = k.register_process("worker", now_ns).expect("register");
                k.kill_process(pid, None, now_ns).expect("kill");
                checksum += k.take_effects().len();
            }
            _ => {
                if let Dispatch::Complete(r) = k.dispatch(receiver, get_pid, &[], now_ns) {
                    checksum += r.result as usize;
                }
            }
        }
        if (i + 1) % 256 == 0 {
            checksum += k.drain_events().len();
        }
    }
    println!("{mode}: {iterations} iterations at {n} processes (checksum {checksum})");
}
