//! Time-travel numbers, printed side by side in one run (medians): the cost of recording on the
//! servicing path (on vs off), seek latency into a 1,000,000-input recording for several
//! snapshot intervals N, bytes per recorded input, snapshot sizes and the file size.
//! `cargo bench -p orbital-supervisor --bench time_travel`; `ORBITAL_BENCH_ONLY=overhead` stops
//! after the first part, `ORBITAL_BENCH_OUT=file.json` writes it as JSON (`cargo xtask bench`).

use std::sync::atomic::Ordering;
use std::time::Instant;

use orbital_supervisor::abi::{mailbox as mb, nr};
use orbital_supervisor::kernel::ProcessId;
use orbital_supervisor::mailbox::MailboxWords;
use orbital_supervisor::recording::RecordingSettings;
use orbital_supervisor::recording::input::{Input, TimedInput, encode};
use orbital_supervisor::testing::workload::{Rng, Workload};
use orbital_supervisor::testing::{scripted_supervisor, thread_cpu_ns};

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

/// A supervisor with a receiver and a sender on the scripted host, recording on or off.
struct Rig {
    sup: orbital_supervisor::Supervisor,
    receiver: std::sync::Arc<MailboxWords>,
    sender: std::sync::Arc<MailboxWords>,
    time: orbital_supervisor::ManualTime,
}

fn rig(enabled: bool, capacity: usize) -> Rig {
    let (mut sup, guests, time) = scripted_supervisor();
    sup.set_recording(RecordingSettings {
        enabled,
        capacity,
        ..RecordingSettings::default()
    });
    let receiver = sup.spawn_program("receiver").unwrap_or(ProcessId(0));
    let sender = sup.spawn_program("sender").unwrap_or(ProcessId(0));
    Rig {
        receiver: guests.mailbox(receiver).expect("receiver"),
        sender: guests.mailbox(sender).expect("sender"),
        sup,
        time,
    }
}

/// CPU ns per serviced syscall over `rounds` rounds of a SEND of 16 bytes and a TRY_RECEIVE.
fn servicing(rig: &mut Rig, rounds: usize) -> f64 {
    let payload = [7u8; 16];
    let start = thread_cpu_ns();
    for _ in 0..rounds {
        rig.time.advance(1_000);
        call(
            &mut rig.sup,
            &rig.sender,
            nr::SEND,
            [1, 0, u32::MAX],
            &payload,
        );
        call(&mut rig.sup, &rig.receiver, nr::TRY_RECEIVE, [1, 0, 0], &[]);
        drop(rig.sup.drain_events());
    }
    (thread_cpu_ns() - start) / (2 * rounds) as f64
}

/// Where the recording's cost goes, per input: encoding a syscall input (16 bytes of data) into
/// the byte stream, and one snapshot (amortised over N inputs) of the kernel the servicing runs
/// leave behind.
fn breakdown() -> (f64, f64) {
    let (mut sup, guests, time) = scripted_supervisor();
    let receiver = sup.spawn_program("receiver").unwrap_or(ProcessId(0));
    let sender = sup.spawn_program("sender").unwrap_or(ProcessId(0));
    let (r, s) = (
        guests.mailbox(receiver).expect("receiver"),
        guests.mailbox(sender).expect("sender"),
    );
    for _ in 0..20_000 {
        time.advance(1_000);
        call(&mut sup, &s, nr::SEND, [1, 0, u32::MAX], &[7u8; 16]);
        call(&mut sup, &r, nr::TRY_RECEIVE, [1, 0, 0], &[]);
        drop(sup.drain_events());
    }
    let t = thread_cpu_ns();
    let mut kept = Vec::with_capacity(64);
    for _ in 0..64 {
        kept.push(sup.kernel().snapshot());
    }
    let snapshot_ns = (thread_cpu_ns() - t) / 64.0;
    drop(kept);
    let mut buf = Vec::with_capacity(4096);
    let mut prev = 0u64;
    let t = thread_cpu_ns();
    for i in 0..1_000_000u64 {
        let timed = TimedInput {
            now_ns: i * 1_000,
            input: Input::Syscall {
                pid: ProcessId(5),
                number: nr::SEND,
                args: [1, 0, u32::MAX],
                data: &[7u8; 16],
            },
        };
        encode(&mut buf, &mut prev, &timed);
        if buf.len() > (1 << 20) {
            buf.clear();
        }
    }
    let encode_ns = (thread_cpu_ns() - t) / 1e6;
    (encode_ns, snapshot_ns)
}

/// Recording on vs off on the servicing path: two supervisors side by side, runs alternating, so
/// a change in the machine's load hits both; each run is 8,192 syscalls (a snapshot at the
/// default N). `warm` runs first, unmeasured. Returns the off and on medians (CPU ns a syscall)
/// and the median of the paired ratios.
fn paired(capacity: usize, warm: usize) -> (f64, f64, f64) {
    let (mut off_rig, mut on_rig) = (rig(false, capacity), rig(true, capacity));
    for _ in 0..warm {
        servicing(&mut off_rig, ROUNDS);
        servicing(&mut on_rig, ROUNDS);
    }
    let (mut on, mut off, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..PAIRS {
        let a = servicing(&mut off_rig, ROUNDS);
        let b = servicing(&mut on_rig, ROUNDS);
        off.push(a);
        on.push(b);
        ratios.push(b / a);
    }
    (median(&mut off), median(&mut on), median(&mut ratios))
}

const PAIRS: usize = 80;
const ROUNDS: usize = 4096;
/// The bound of the "at its bound" runs: small enough that the warm-up fills it, so every
/// measured run folds the oldest chunk away as a long session does after its first 1,000,000.
const BOUND: usize = 65_536;

/// Pingpong with the real guests on the native host (wasmi, a thread per guest and the servicing
/// thread, as `cargo run` has them): round trips a second with recording off and on, in
/// alternating windows (ABBA), and the median of the paired ratios (on over off).
fn pingpong_native() -> Result<PingpongNative, String> {
    use orbital_supervisor::kernel::KernelConfig;
    use orbital_supervisor::native_host::{NativeHost, Servicer};
    use orbital_supervisor::{Clock, Manifest, SharedSupervisor, Supervisor};
    use std::time::Duration;
    const WINDOWS: usize = 24;
    const WINDOW: Duration = Duration::from_millis(500);
    let host = NativeHost::new();
    let doorbell = host.doorbell();
    let manifest = Manifest::builtin().map_err(|e| format!("the built-in manifest: {e}"))?;
    let supervisor = Supervisor::new(
        manifest,
        Box::new(host),
        KernelConfig::default(),
        Clock::monotonic(),
    );
    let shared = SharedSupervisor::new(supervisor);
    let _servicer = Servicer::start(&shared, doorbell);
    {
        let mut sup = shared.lock();
        for _ in 0..2 {
            sup.spawn_program("pingpong")
                .map_err(|e| format!("spawning pingpong: {e}"))?;
        }
    }
    // The app's frame, about 60 a second: tick and take the events.
    let frames_for = |d: Duration| {
        let end = Instant::now() + d;
        while Instant::now() < end {
            {
                let mut sup = shared.lock();
                let now = sup.now_ns();
                sup.tick(now);
                drop(sup.drain_events());
            }
            std::thread::sleep(Duration::from_millis(16));
        }
    };
    let messages = || shared.lock().kernel().system_metrics(0).ipc_messages;
    let recorded = || shared.lock().recording().end();
    // (round trips a second, inputs recorded)
    let window = |enabled: bool| {
        shared.lock().set_recording(RecordingSettings {
            enabled,
            ..RecordingSettings::default()
        });
        frames_for(Duration::from_millis(100));
        let (m, i, t) = (messages(), recorded(), Instant::now());
        frames_for(WINDOW);
        let trips = (messages() - m) as f64 / 2.0;
        (trips / t.elapsed().as_secs_f64(), trips, recorded() - i)
    };
    frames_for(Duration::from_millis(500));
    if messages() == 0 {
        return Err("pingpong sent no message in half a second".into());
    }
    let (mut on, mut off, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut trips, mut inputs) = (0.0, 0);
    for pair in 0..WINDOWS / 2 {
        let (a, b) = if pair % 2 == 0 {
            let a = window(false);
            (a, window(true))
        } else {
            let b = window(true);
            (window(false), b)
        };
        off.push(a.0);
        on.push(b.0);
        ratios.push(b.0 / a.0);
        trips += b.1;
        inputs += b.2;
    }
    let spread = |v: &[f64]| {
        v.iter()
            .copied()
            .fold((f64::MAX, 0.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)))
    };
    Ok(PingpongNative {
        off: median(&mut off),
        on: median(&mut on),
        ratio: median(&mut ratios),
        windows: spread(&[off, on].concat()),
        inputs_per_round_trip: inputs as f64 / trips.max(1.0),
    })
}

/// What [`pingpong_native`] measured.
struct PingpongNative {
    off: f64,
    on: f64,
    ratio: f64,
    /// The slowest and the fastest window, on and off together (round trips a second).
    windows: (f64, f64),
    /// Inputs recorded per round trip in the windows with recording on.
    inputs_per_round_trip: f64,
}

fn main() {
    // 1. Recording on vs off.
    // `ORBITAL_BENCH_RIG=on|off`: only that supervisor, for counting instructions with
    // `perf stat -e instructions:u` (the same rounds; the difference is recording's);
    // `ORBITAL_BENCH_CAPACITY=N` sets its bound (`perf stat -e page-faults` at the bound).
    if let Ok(which) = std::env::var("ORBITAL_BENCH_RIG") {
        let capacity = std::env::var("ORBITAL_BENCH_CAPACITY")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(RecordingSettings::default().capacity);
        let mut r = rig(which == "on", capacity);
        for _ in 0..=PAIRS {
            servicing(&mut r, ROUNDS);
        }
        println!(
            "ran recording {which}: {} syscalls",
            2 * ROUNDS * (PAIRS + 1)
        );
        return;
    }
    // While the recording grows (its first 1,000,000 inputs: every byte lands in fresh memory)...
    let (m_off, m_on, m_ratio) = paired(RecordingSettings::default().capacity, 1);
    println!(
        "servicing SEND/TRY_RECEIVE (scripted host), {PAIRS} alternating runs of {} syscalls each:",
        2 * ROUNDS
    );
    println!(
        "  while it grows:  recording off {m_off:8.1} CPU ns/syscall   on {m_on:8.1} CPU ns/syscall (medians)   overhead {:+.1} % (median of the {PAIRS} paired ratios)",
        (m_ratio - 1.0) * 100.0
    );
    // ...and at its bound, where each new chunk reuses the buffer of the one folded away.
    let warm = BOUND / (2 * ROUNDS) + 2;
    let (b_off, b_on, b_ratio) = paired(BOUND, warm);
    println!(
        "  at its bound ({BOUND} inputs, folding): off {b_off:8.1}   on {b_on:8.1}   overhead {:+.1} %",
        (b_ratio - 1.0) * 100.0
    );
    let (encode_ns, snapshot_ns) = breakdown();
    let every = RecordingSettings::default().snapshot_every;
    println!(
        "  where it goes (CPU time): encoding an input {encode_ns:.1} ns; one snapshot {:.1} us, {:.1} ns per input at N = {every}",
        snapshot_ns / 1000.0,
        snapshot_ns / f64::from(every)
    );
    let mut doc = format!(
        "\"off_ns_per_syscall\":{m_off},\"on_ns_per_syscall\":{m_on},\"paired_ratio\":{m_ratio},\"runs\":{PAIRS},\"encode_ns_per_input\":{encode_ns},\"snapshot_ns\":{snapshot_ns},\"snapshot_every\":{every},\"bound\":{{\"capacity\":{BOUND},\"off_ns_per_syscall\":{b_off},\"on_ns_per_syscall\":{b_on},\"paired_ratio\":{b_ratio}}}"
    );
    match pingpong_native() {
        Ok(p) => {
            // Recording's CPU on the servicing path, per input (what the scripted host measured
            // while the recording grows), times the inputs a round trip records, against the
            // round trip's time: what recording can add to a round trip, since the inputs are
            // recorded on the path every message takes.
            let share = (m_on - m_off).max(0.0) * p.inputs_per_round_trip / (1e9 / p.off);
            println!(
                "pingpong, real guests on the native host: recording off {:.0} round trips/s, on {:.0} (medians; windows {:.0}-{:.0}), on/off {:.3} (median of the paired windows); {:.2} inputs a round trip, so recording's {:.1} ns an input is {:.2} % of a round trip",
                p.off,
                p.on,
                p.windows.0,
                p.windows.1,
                p.ratio,
                p.inputs_per_round_trip,
                m_on - m_off,
                share * 100.0
            );
            doc.push_str(&format!(
                ",\"pingpong\":{{\"off_per_sec\":{},\"on_per_sec\":{},\"paired_ratio\":{},\"slowest_window\":{},\"fastest_window\":{},\"inputs_per_round_trip\":{},\"recording_share\":{share}}}",
                p.off, p.on, p.ratio, p.windows.0, p.windows.1, p.inputs_per_round_trip
            ));
        }
        Err(e) => {
            println!("pingpong on the native host: not measured: {e}");
            doc.push_str(&format!(",\"pingpong\":{{\"error\":{e:?}}}"));
        }
    }
    let write = |doc: &str| {
        if let Ok(out) = std::env::var("ORBITAL_BENCH_OUT") {
            std::fs::write(&out, format!("{{{doc}}}\n")).unwrap_or_else(|e| panic!("{out}: {e}"));
        }
    };
    write(&doc);
    // `overhead`: stop here; `overhead,seek` (what `cargo xtask bench` runs): part 2 at the
    // default N only; unset: part 2 for several N.
    let only = std::env::var("ORBITAL_BENCH_ONLY").unwrap_or_default();
    if only == "overhead" {
        return;
    }
    let intervals: Vec<u32> = if only.is_empty() {
        vec![256, 1024, 4096, 8192, 16384]
    } else {
        vec![every]
    };

    // 2. A 1,000,000-input recording of the mixed workload, for several N.
    for n in intervals {
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
        if n == every {
            doc.push_str(&format!(
                ",\"seek\":{{\"inputs\":{held},\"snapshot_every\":{n},\"median_ms\":{},\"p95_ms\":{},\"max_ms\":{},\"bytes_per_input\":{},\"snapshot_bytes_per_input\":{},\"file_bytes_per_input\":{}}}",
                median(&mut seeks.clone()),
                pct(&mut seeks.clone(), 0.95),
                pct(&mut seeks, 1.0),
                rec.input_capacity_bytes() as f64 / held,
                snapshot_total / held,
                file.len() as f64 / held,
            ));
            write(&doc);
        }
    }
}
