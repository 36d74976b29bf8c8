//! Baselines for the kernel benches (`benches/kernel.rs`), measured in the same `cargo bench`
//! run so `cargo xtask bench` can print each kernel figure next to the plain-collections work it
//! cannot avoid:
//!
//! - `baseline_queue_pair`: a `VecDeque` push + pop of a 32-byte message copied into a `Vec`
//!   (what a send+receive pair must at least do: copy the payload in, hand it out);
//! - `baseline_map_insert_remove/<n>`: a `BTreeMap` insert + remove of one entry in a map of n
//!   (what register+kill must at least do: add a process to the table, take it out);
//! - `baseline_map_lookup/<n>`: find one key in a `BTreeMap` of n and bump a counter (what the
//!   trivial syscall must at least do: find the caller, count the call).
//!
//! Results: `target/criterion/<group>[/<n>]/new/estimates.json`, like the kernel's.

use std::collections::{BTreeMap, VecDeque};
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// The same sizes and payload as `benches/kernel.rs`.
const SIZES: [usize; 3] = [10, 1_000, 10_000];
const PAYLOAD: [u8; 32] = [0x42; 32];

fn baseline_queue_pair(c: &mut Criterion) {
    // Capacity as the kernel's default endpoint queue; it never grows during the bench.
    let mut queue: VecDeque<(u32, Vec<u8>)> = VecDeque::with_capacity(64);
    c.bench_function("baseline_queue_pair", |b| {
        b.iter(|| {
            queue.push_back((7, black_box(&PAYLOAD[..]).to_vec()));
            black_box(queue.pop_front())
        })
    });
}

fn baseline_map_insert_remove(c: &mut Criterion) {
    let mut group = c.benchmark_group("baseline_map_insert_remove");
    for n in SIZES {
        let mut table: BTreeMap<u32, String> = (1..=n as u32)
            .map(|pid| (pid, "bench".to_string()))
            .collect();
        let mut next = n as u32 + 1;
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                // Fresh keys, as the kernel never reuses a pid.
                next += 1;
                table.insert(next, black_box("worker").to_string());
                black_box(table.remove(&next))
            })
        });
        assert_eq!(table.len(), n);
    }
    group.finish();
}

fn baseline_map_lookup(c: &mut Criterion) {
    let mut group = c.benchmark_group("baseline_map_lookup");
    for n in SIZES {
        let mut counts: BTreeMap<u32, u64> = (1..=n as u32).map(|pid| (pid, 0)).collect();
        let pid = (n / 2) as u32;
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                if let Some(count) = counts.get_mut(&black_box(pid)) {
                    *count += 1;
                }
                black_box(&counts);
            })
        });
    }
    group.finish();
}

/// Same settings as the kernel's benches.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(60)
}

criterion_group! { name = benches; config = config(); targets = baseline_queue_pair, baseline_map_insert_remove, baseline_map_lookup }
criterion_main!(benches);
