//! Time travel with the real guests on wasmi threads: boot, pingpong, sender and receiver run
//! for 10,000+ recorded inputs; then the replay from the base matches the live kernel at every
//! snapshot and at the end, and an exported file replays to the same hash with no guest.
//! Needs the guest modules (`cargo xtask guests`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use orbital_supervisor::kernel::{Kernel, KernelConfig};
use orbital_supervisor::native_host::{NativeHost, Servicer};
use orbital_supervisor::recording::input::apply;
use orbital_supervisor::recording::{MarkerKind, RecordingSettings};
use orbital_supervisor::testing::require_guest_modules;
use orbital_supervisor::{Clock, Manifest, SharedSupervisor, Supervisor, TimeControl};

#[test]
fn real_guests_replay_to_the_live_hash_at_every_snapshot_and_after_export() {
    require_guest_modules();
    let host = NativeHost::new();
    let doorbell = host.doorbell();
    let manifest = Manifest::builtin().expect("the built-in manifest");
    let mut supervisor = Supervisor::new(
        manifest,
        Box::new(host),
        KernelConfig::default(),
        Clock::monotonic(),
    );
    // Small chunks: many snapshots to check.
    supervisor.set_recording(RecordingSettings {
        snapshot_every: 512,
        ..RecordingSettings::default()
    });
    let shared = SharedSupervisor::new(supervisor);
    let servicer = Servicer::start(&shared, doorbell);
    shared.lock().boot().expect("boot");
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut spawned = false;
    loop {
        {
            let mut sup = shared.lock();
            let now = sup.now_ns();
            sup.tick(now);
            sup.service_pending(now);
            drop(sup.drain_events());
            let names: Vec<String> = sup
                .kernel()
                .processes()
                .values()
                .map(|p| p.name.clone())
                .collect();
            if !spawned && names.iter().any(|n| n == "terminal") {
                for program in ["receiver", "sender", "pingpong", "pingpong"] {
                    sup.spawn_program(program).expect("spawn");
                }
                spawned = true;
            }
            if spawned && sup.recording().end() >= 12_000 {
                sup.set_time_control(TimeControl::Paused);
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "fewer than 12,000 inputs after two minutes"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    // Paused: give a syscall being serviced time to finish, then hold the lock while checking.
    std::thread::sleep(Duration::from_millis(50));
    let sup = shared.lock();
    let rec = sup.recording();
    let snapshots: BTreeMap<u64, u64> = rec
        .snapshot_points()
        .map(|(i, k)| (i, k.state_hash()))
        .collect();
    assert!(snapshots.len() >= 20, "{} snapshots", snapshots.len());
    let mut kernel: Kernel = rec.base().expect("base").snapshot();
    let mut checked = 0;
    rec.for_each_input(rec.first(), rec.end(), |index, timed| {
        if let Some(expected) = snapshots.get(&index) {
            assert_eq!(
                kernel.state_hash(),
                *expected,
                "replay from the base differs at the snapshot before input {index}"
            );
            checked += 1;
        }
        apply(&mut kernel, timed);
    });
    assert_eq!(checked, snapshots.len());
    assert_eq!(
        kernel.state_hash(),
        sup.kernel().state_hash(),
        "replay from the base differs at the end"
    );
    let spawns = sup
        .markers()
        .filter(|m| matches!(m.kind, MarkerKind::Spawn { .. }))
        .count();
    assert!(spawns >= 7, "{spawns} spawn markers");
    let chart = sup.sequence_chart(rec.end().saturating_sub(2_000), rec.end(), 10_000);
    assert!(
        chart.messages.iter().any(|m| m.delivered_index.is_some()),
        "pingpong and sender messages are charted"
    );
    let bytes = sup.export_recording();
    let live_hash = sup.kernel().state_hash();
    let end = rec.end();
    drop(sup);
    drop(servicer);
    let mut imported =
        Supervisor::from_recording(&bytes, Clock::manual().0).expect("the export imports");
    assert_eq!(imported.live_guests(), 0);
    imported.seek(end);
    assert_eq!(imported.kernel_state_hash(), live_hash);
    println!(
        "{end} inputs, {} snapshots, file {} bytes ({:.1} bytes/input)",
        snapshots.len(),
        bytes.len(),
        bytes.len() as f64 / end as f64
    );
}
