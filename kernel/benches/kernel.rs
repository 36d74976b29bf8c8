//! Kernel hot paths at 10, 1,000 and 10,000 live processes: a send+receive pair, register+kill,
//! and a trivial syscall through the dispatcher. Target: a send+receive pair at most 150 ns
//! median, and cost growing no faster than log(n).
//!
//! The event queue is drained every 256 iterations, as the app drains it every frame (a queue
//! left full would measure a 3 MiB ring of cold memory instead of the kernel).
//!
//! Run with `cargo bench -p orbital-kernel`; medians are in
//! `target/criterion/<group>/<n>/new/estimates.json`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use orbital_kernel::abi::{nr, rights, slot};
use orbital_kernel::{Dispatch, Kernel, KernelConfig, ProcessId, SyscallArgs};

const SIZES: [usize; 3] = [10, 1_000, 10_000];
/// Iterations between event drains (a frame's worth of syscalls in a busy playground).
const DRAIN_EVERY: u64 = 256;

/// Drains the events now and then, as the app does each frame.
fn frame(k: &mut Kernel, i: &mut u64) {
    *i += 1;
    if (*i).is_multiple_of(DRAIN_EVERY) {
        black_box(k.drain_events());
    }
}

/// A kernel with `n` live processes, each with an endpoint, like a busy playground.
fn kernel_with(n: usize) -> Kernel {
    let mut k = Kernel::new(KernelConfig {
        max_processes: n + 16,
        max_endpoints: n + 16,
        ..KernelConfig::default()
    });
    for _ in 0..n {
        let pid = k.register_process("bench", 0).expect("register");
        k.create_endpoint(pid, 0).expect("endpoint");
    }
    let _ = k.drain_events();
    k
}

/// Two processes from the middle of the table: the receiver owns slot 1, the sender gets WRITE.
fn pair_in(k: &mut Kernel, n: usize) -> (ProcessId, ProcessId, u32) {
    let receiver = ProcessId((n / 2) as u32);
    let sender = ProcessId((n / 2 + 1) as u32);
    let reply = match k.dispatch(
        receiver,
        SyscallArgs::new(nr::CAP_GRANT, [1, sender.0, rights::WRITE]),
        &[],
        0,
    ) {
        Dispatch::Complete(r) => r,
        other => panic!("grant: {other:?}"),
    };
    assert!(reply.result > 0, "grant failed: {reply:?}");
    (sender, receiver, reply.result as u32)
}

fn send_receive_pair(c: &mut Criterion) {
    let mut group = c.benchmark_group("send_receive_pair");
    let payload = [0x42u8; 32];
    for n in SIZES {
        let mut k = kernel_with(n);
        let (sender, receiver, w) = pair_in(&mut k, n);
        let send = SyscallArgs::new(nr::SEND, [w, 7, slot::NONE]);
        let recv = SyscallArgs::new(nr::RECEIVE, [1, 0, 0]);
        let mut now_ns = 1u64;
        let mut i = 0u64;
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                now_ns += 100;
                let sent = k.dispatch(sender, send, black_box(&payload), now_ns);
                let got = k.dispatch(receiver, recv, &[], now_ns);
                frame(&mut k, &mut i);
                black_box((sent, got))
            })
        });
        assert_eq!(k.message_counts().queued, 0, "every message was received");
    }
    group.finish();
}

fn register_kill(c: &mut Criterion) {
    let mut group = c.benchmark_group("register_kill");
    for n in SIZES {
        let mut k = kernel_with(n);
        let mut now_ns = 1u64;
        let mut i = 0u64;
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                now_ns += 100;
                let pid = k
                    .register_process(black_box("worker"), now_ns)
                    .expect("register");
                k.kill_process(pid, None, now_ns).expect("kill");
                frame(&mut k, &mut i);
                black_box(k.take_effects())
            })
        });
        assert_eq!(k.processes().len(), n);
    }
    group.finish();
}

fn trivial_syscall(c: &mut Criterion) {
    let mut group = c.benchmark_group("trivial_syscall");
    for n in SIZES {
        let mut k = kernel_with(n);
        let pid = ProcessId((n / 2) as u32);
        let call = SyscallArgs::new(nr::GET_PID, [0; 3]);
        let mut now_ns = 1u64;
        let mut i = 0u64;
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                now_ns += 100;
                let d = k.dispatch(black_box(pid), call, &[], now_ns);
                frame(&mut k, &mut i);
                black_box(d)
            })
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(60)
}

criterion_group! { name = benches; config = config(); targets = send_receive_pair, register_kill, trivial_syscall }
criterion_main!(benches);
