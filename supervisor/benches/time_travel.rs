//! Time-travel numbers, printed side by side in one run (medians): the cost of recording on the
//! servicing path (on vs off), seek latency into a 1,000,000-input recording for several
//! snapshot intervals N, bytes per recorded input, snapshot sizes and the file size.
//! `cargo bench -p orbital-supervisor --bench time_travel`

use std::sync::atomic::Ordering;
use std::time::Instant;

use orbital_supervisor::abi::{mailbox as mb, nr};
use orbital_supervisor::kernel::ProcessId;
use orbital_supervisor::mailbox::MailboxWords;
use orbital_supervisor::recording::RecordingSettings;
use orbital_supervisor::testing::scripted_supervisor;
use orbital_supervisor::testing::workload::{Rng, Workload};

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p) as usize]
}

fn call(
    sup: &mut orbital_supervisor::Supervisor,
    w: &MailboxWords,
    number: u32,
    args: [u32; 3],
    data: &[u8],
) {
    w.word(mb::SYSCALL).store(number, Ordering::SeqCst);
    w.word(mb::ARG0).store(args[0], Ordering::SeqCst);
    w.word(mb::ARG1).store(args[1], Ordering::SeqCst);
    w.word(mb::ARG2).store(args[2], Ordering::SeqCst);
    w.write_bytes(data);
    w.word(mb::DATA_LEN)
        .store(data.len() as u32, Ordering::SeqCst);
    w.word(mb::STATUS)
        .store(mb::STATUS_PENDING as u32, Ordering::SeqCst);
    sup.service_pending(0);
    w.word(mb::STATUS)
        .store(mb::STATUS_IDLE as u32, Ordering::SeqCst);
}

/// ns per serviced syscall (a SEND of 16 bytes and a TRY_RECEIVE, alternating).
fn servicing(enabled: bool, rounds: usize, runs: usize) -> Vec<f64> {
    let (mut sup, guests, time) = scripted_supervisor();
    sup.set_recording(RecordingSettings {
        enabled,
        ..RecordingSettings::default()
    });
    let receiver = sup.spawn_program("receiver").unwrap_or(ProcessId(0));
    let sender = sup.spawn_program("sender").unwrap_or(ProcessId(0));
    let (r, s) = (
        guests.mailbox(receiver).expect("receiver"),
        guests.mailbox(sender).expect("sender"),
    );
    let payload = [7u8; 16];
    let mut out = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        for _ in 0..rounds {
            time.advance(1_000);
            call(&mut sup, &s, nr::SEND, [1, 0, u32::MAX], &payload);
            call(&mut sup, &r, nr::TRY_RECEIVE, [1, 0, 0], &[]);
            drop(sup.drain_events());
        }
        out.push(start.elapsed().as_nanos() as f64 / (2 * rounds) as f64);
    }
    out
}

fn main() {
    // 1. Recording on vs off, interleaved runs in one process.
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        off.extend(servicing(false, 20_000, 3));
        on.extend(servicing(true, 20_000, 3));
    }
    let (m_on, m_off) = (median(&mut on), median(&mut off));
    println!(
        "servicing SEND/TRY_RECEIVE (scripted host), median of {} runs of 40,000 syscalls:",
        on.len()
    );
    println!(
        "  recording off {m_off:8.1} ns/syscall   on {m_on:8.1} ns/syscall   overhead {:+.1} %",
        (m_on / m_off - 1.0) * 100.0
    );

    // 2. A 1,000,000-input recording of the mixed workload, for several N.
    for n in [256u32, 1024, 4096, 16384] {
        let (mut sup, guests, time) = scripted_supervisor();
        sup.set_recording(RecordingSettings {
            snapshot_every: n,
            ..RecordingSettings::default()
        });
        let mut w = Workload::start(&mut sup, 1);
        let t = Instant::now();
        while sup.recording().end() < 1_000_000 {
            w.step(&mut sup, &guests, &time);
            if w.steps.is_multiple_of(64) {
                drop(sup.drain_events());
            }
        }
        let build_secs = t.elapsed().as_secs_f64();
        let rec = sup.recording();
        let (first, end) = (rec.first(), rec.end());
        let held = (end - first) as f64;
        let mut rng = Rng::new(99);
        let mut seeks = Vec::new();
        for _ in 0..101 {
            let k = first + rng.below(end - first + 1);
            let t = Instant::now();
            sup.seek(k);
            seeks.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        sup.go_live();
        let snapshot_bytes: Vec<f64> = sup
            .recording()
            .snapshot_points()
            .map(|(_, k)| postcard::to_allocvec(k).map_or(0, |v| v.len()) as f64)
            .collect();
        let snapshot_total: f64 = snapshot_bytes.iter().sum();
        let rec = sup.recording();
        let file = sup.export_recording();
        println!(
            "N = {n:5}: {held:.0} inputs held (built in {build_secs:.1} s), seek median {:.2} ms p95 {:.2} ms max {:.2} ms; \
             inputs {:.1} bytes/input ({:.1} with Vec slack); {} snapshots, serialised {:.0} KiB each on average, {:.1} MiB total ({:.1} bytes/input); file {:.1} MiB ({:.1} bytes/input)",
            median(&mut seeks.clone()),
            pct(&mut seeks.clone(), 0.95),
            pct(&mut seeks, 1.0),
            rec.input_bytes() as f64 / held,
            rec.input_capacity_bytes() as f64 / held,
            rec.snapshots(),
            snapshot_total / snapshot_bytes.len() as f64 / 1024.0,
            snapshot_total / 1048576.0,
            snapshot_total / held,
            file.len() as f64 / 1048576.0,
            file.len() as f64 / held,
        );
    }
}
