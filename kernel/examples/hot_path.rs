//! Runs the send+receive pair of the benches a fixed number of times, for instruction-level
//! profiling (`valgrind --tool=callgrind target/release/examples/hot_path 10000 100000`), where
//! criterion's timing is too noisy on a shared machine.

use orbital_kernel::abi::{nr, rights, slot};
use orbital_kernel::{Dispatch, Kernel, KernelConfig, ProcessId, SyscallArgs};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let iterations: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let mut k = Kernel::new(KernelConfig { max_processes: n + 16, max_endpoints: n + 16, ..KernelConfig::default() });
    for _ in 0..n {
        let pid = k.register_process("bench", 0).expect("register");
        k.create_endpoint(pid, 0).expect("endpoint");
    }
    let receiver = ProcessId((n / 2) as u32);
    let sender = ProcessId((n / 2 + 1) as u32);
    let w = match k.dispatch(receiver, SyscallArgs::new(nr::CAP_GRANT, [1, sender.0, rights::WRITE]), &[], 0) {
        Dispatch::Complete(r) if r.result > 0 => r.result as u32,
        other => panic!("grant: {other:?}"),
    };
    let payload = [0x42u8; 32];
    let send = SyscallArgs::new(nr::SEND, [w, 7, slot::NONE]);
    let recv = SyscallArgs::new(nr::RECEIVE, [1, 0, 0]);
    let mut bytes = 0usize;
    for i in 0..iterations {
        let now_ns = 1 + i * 100;
        let _ = std::hint::black_box(k.dispatch(sender, send, std::hint::black_box(&payload), now_ns));
        if let Dispatch::Complete(r) = k.dispatch(receiver, recv, &[], now_ns) {
            bytes += r.data.len();
        }
    }
    println!("{iterations} pairs at {n} processes, {bytes} bytes received");
}
