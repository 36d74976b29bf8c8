//! Time travel: recording, replay, seek, export/import and traces, on the scripted host (fast,
//! deterministic) and on the native host with the real guests.

use std::collections::{BTreeMap, BTreeSet};

use orbital_supervisor::kernel::Kernel;
use orbital_supervisor::recording::input::{InputKind, apply};
use orbital_supervisor::recording::{MarkerKind, RecordingError, RecordingSettings};
use orbital_supervisor::testing::scripted_supervisor;
use orbital_supervisor::testing::workload::Workload;
use orbital_supervisor::{Clock, Supervisor};

/// A scripted run of `steps` workload steps with small chunks (and, if `capacity` is small,
/// folding), returning the live state hash after every input index.
fn scripted_run(
    steps: u64,
    seed: u64,
    settings: RecordingSettings,
) -> (Supervisor, BTreeMap<u64, u64>) {
    let (mut sup, guests, time) = scripted_supervisor();
    sup.set_recording(settings);
    let mut hashes = BTreeMap::new();
    hashes.insert(sup.recording().end(), sup.kernel().state_hash());
    let mut w = Workload::start(&mut sup, seed);
    // At least `steps` steps and at least `steps / 2` inputs.
    while w.steps < steps || sup.recording().end() < steps / 2 {
        w.step(&mut sup, &guests, &time);
        drop(sup.drain_events());
        hashes.insert(sup.recording().end(), sup.kernel().state_hash());
    }
    (sup, hashes)
}

/// Replays the whole recording from its base, skipping inputs of `skip`, and returns the first
/// point (a snapshot or the end) where the replay's hash differs from the live one.
fn first_divergence(sup: &Supervisor, skip: Option<InputKind>) -> Option<String> {
    let rec = sup.recording();
    let snapshots: BTreeMap<u64, u64> = rec
        .snapshot_points()
        .map(|(i, k)| (i, k.state_hash()))
        .collect();
    let mut kernel: Kernel = rec.base().expect("a base").snapshot();
    let mut divergence = None;
    rec.for_each_input(rec.first(), rec.end(), |index, timed| {
        if divergence.is_some() {
            return;
        }
        if let Some(expected) = snapshots.get(&index) {
            let found = kernel.state_hash();
            if found != *expected {
                divergence = Some(format!("at the snapshot before input {index}: replay {found:016x} != live {expected:016x}"));
                return;
            }
        }
        if Some(timed.input.kind()) != skip {
            apply(&mut kernel, timed);
        }
    });
    if divergence.is_none() && kernel.state_hash() != sup.kernel().state_hash() {
        divergence = Some(format!(
            "at the end ({}): replay {:016x} != live {:016x}",
            rec.end(),
            kernel.state_hash(),
            sup.kernel().state_hash()
        ));
    }
    divergence
}

fn kinds_recorded(sup: &Supervisor) -> BTreeSet<InputKind> {
    let rec = sup.recording();
    let mut kinds = BTreeSet::new();
    rec.for_each_input(rec.first(), rec.end(), |_, timed| {
        kinds.insert(timed.input.kind());
    });
    kinds
}

fn small_chunks() -> RecordingSettings {
    RecordingSettings {
        snapshot_every: 64,
        ..RecordingSettings::default()
    }
}

#[test]
fn replay_from_the_base_matches_live_at_every_snapshot_and_at_the_end() {
    let (sup, hashes) = scripted_run(20_000, 7, small_chunks());
    let rec = sup.recording();
    assert!(rec.end() >= 10_000, "only {} inputs", rec.end());
    assert_eq!(first_divergence(&sup, None), None);
    // Seeking anywhere gives the live hash of that moment (live hashes were taken between
    // workload steps, and a step may record several inputs: each sample goes to the next
    // moment that has one).
    let mut checked = 0;
    for sample in (rec.first()..=rec.end()).step_by(997).chain([rec.end()]) {
        let (&k, &live) = hashes.range(sample..).next().expect("a hash at the end");
        let (at, kernel) = rec.kernel_at(k).expect("in range");
        assert_eq!(at, k);
        assert_eq!(kernel.state_hash(), live, "seek to {k}");
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} seeks checked");
}

#[test]
fn the_workload_records_every_kind_that_the_supervisor_makes_and_skipping_any_is_caught() {
    let (sup, _) = scripted_run(20_000, 11, small_chunks());
    let kinds = kinds_recorded(&sup);
    // install_capability without a slot is the kernel's API, but wiring always names the slot.
    let expected: BTreeSet<InputKind> = InputKind::ALL
        .iter()
        .copied()
        .filter(|k| *k != InputKind::InstallCapability)
        .collect();
    for kind in &expected {
        assert!(
            kinds.contains(kind),
            "the workload never recorded {}",
            kind.name()
        );
    }
    for kind in kinds {
        assert!(
            first_divergence(&sup, Some(kind)).is_some(),
            "replay without {} still matched the live kernel: the determinism check would not notice it missing",
            kind.name()
        );
    }
}

#[test]
fn the_oldest_inputs_fold_into_the_base_and_replay_still_matches() {
    let settings = RecordingSettings {
        capacity: 3_000,
        snapshot_every: 256,
        enabled: true,
    };
    let (sup, hashes) = scripted_run(12_000, 3, settings);
    let rec = sup.recording();
    assert!(rec.first() > 0, "nothing was folded");
    assert!(rec.end() - rec.first() < 3_000 + 256 * 2);
    assert_eq!(first_divergence(&sup, None), None);
    assert_eq!(
        rec.base().map(Kernel::state_hash).as_ref(),
        hashes.get(&rec.first())
    );
    assert!(rec.markers().iter().all(|m| m.index >= rec.first()));
}

#[test]
fn seek_step_and_go_live_show_the_past_while_the_live_kernel_is_untouched() {
    let (mut sup, guests, time) = scripted_supervisor();
    sup.spawn_program("init").unwrap();
    sup.spawn_program("receiver").unwrap();
    let before_sender = sup.recording().end();
    let sender = sup.spawn_program("sender").unwrap();
    let mut w = Workload::start(&mut sup, 5);
    for _ in 0..500 {
        w.step(&mut sup, &guests, &time);
    }
    let live_hash = sup.kernel().state_hash();
    assert_eq!(sup.seek(before_sender), before_sender);
    assert!(!sup.timeline().live);
    assert!(
        sup.viewed_kernel().process(sender).is_none(),
        "sender is not there before its spawn"
    );
    assert_eq!(
        sup.kernel().state_hash(),
        live_hash,
        "the live kernel is untouched"
    );
    // Step across the spawn one input at a time.
    let spawn = sup
        .markers()
        .find(|m| m.pid == sender.0 && matches!(m.kind, MarkerKind::Spawn { .. }))
        .cloned();
    let spawn = spawn.expect("a spawn marker for sender");
    assert_eq!(spawn.index, before_sender);
    assert_eq!(sup.step_forward(), before_sender + 1);
    assert!(sup.viewed_kernel().process(sender).is_some());
    let stepped = sup.kernel_state_hash();
    sup.seek(before_sender + 1);
    assert_eq!(
        sup.kernel_state_hash(),
        stepped,
        "a step forward equals a seek"
    );
    assert_eq!(sup.step_back(), before_sender);
    assert!(sup.viewed_kernel().process(sender).is_none());
    // Stepping forward through a chunk boundary and to the end goes live.
    let end = sup.recording().end();
    sup.seek(end - 5000.min(end));
    while !sup.timeline().live {
        let k = sup.step_forward();
        if !sup.timeline().live {
            assert_eq!(
                sup.kernel_state_hash(),
                sup.recording().kernel_at(k).unwrap().1.state_hash(),
                "step to {k}"
            );
        }
    }
    assert_eq!(sup.kernel_state_hash(), live_hash);
    sup.seek(3);
    sup.go_live();
    assert!(sup.timeline().live);
    assert_eq!(sup.kernel_state_hash(), live_hash);
    assert!(
        sup.input_at(before_sender)
            .is_some_and(|i| i.text == "register sender")
    );
    let next = sup.next_marker().map(|m| m.index);
    assert_eq!(next, None, "live: no marker ahead");
    assert!(sup.prev_marker().is_some());
}

#[test]
fn export_then_import_into_a_fresh_supervisor_replays_to_the_live_hash() {
    let (sup, hashes) = scripted_run(6_000, 21, RecordingSettings::default());
    let bytes = sup.export_recording();
    let (mut fresh, fresh_guests, _time) = scripted_supervisor();
    fresh.import_recording(&bytes).expect("imports");
    assert!(fresh.is_replay_only());
    assert!(
        fresh_guests.running().is_empty(),
        "no guest runs in a replay"
    );
    let end = fresh.recording().end();
    assert_eq!(end, sup.recording().end());
    fresh.seek(end);
    assert_eq!(fresh.kernel_state_hash(), sup.kernel().state_hash());
    fresh.seek(end / 2);
    assert_eq!(Some(&fresh.kernel_state_hash()), hashes.get(&(end / 2)));
    // Replay-only: nothing changes, no guest starts.
    assert!(fresh.spawn_program("idle").is_err());
    assert_eq!(fresh.recording().end(), end);
    let other = Supervisor::from_recording(&bytes, Clock::manual().0).expect("opens");
    assert_eq!(other.kernel().state_hash(), sup.kernel().state_hash());
}

#[test]
fn truncated_wrong_version_and_random_files_each_get_their_own_error() {
    let (sup, _) = scripted_run(2_000, 9, RecordingSettings::default());
    let bytes = sup.export_recording();
    let mut messages = BTreeSet::new();
    // Truncated anywhere after the magic: Truncated.
    for cut in [
        10,
        11,
        30,
        bytes.len() / 3,
        bytes.len() / 2,
        bytes.len() - 20,
        bytes.len() - 1,
    ] {
        let error = Supervisor::from_recording(&bytes[..cut], Clock::manual().0)
            .err()
            .expect("refused");
        assert!(
            matches!(error, RecordingError::Truncated { .. }),
            "cut at {cut}: {error}"
        );
        assert!(error.to_string().contains("truncated"), "{error}");
    }
    let truncated = Supervisor::from_recording(&bytes[..bytes.len() / 2], Clock::manual().0)
        .err()
        .unwrap();
    messages.insert(truncated.to_string());
    let mut wrong_version = bytes.clone();
    wrong_version[8] = 9;
    let error = Supervisor::from_recording(&wrong_version, Clock::manual().0)
        .err()
        .unwrap();
    assert_eq!(
        error,
        RecordingError::UnsupportedVersion {
            found: 9,
            supported: orbital_supervisor::recording::file::VERSION
        }
    );
    messages.insert(error.to_string());
    let mut rng = orbital_supervisor::testing::workload::Rng::new(42);
    let random: Vec<u8> = (0..5000).map(|_| rng.next_u64() as u8).collect();
    let error = Supervisor::from_recording(&random, Clock::manual().0)
        .err()
        .unwrap();
    assert_eq!(error, RecordingError::NotARecording);
    messages.insert(error.to_string());
    let mut flipped = bytes.clone();
    let at = bytes.len() / 2;
    flipped[at] ^= 0x40;
    let error = Supervisor::from_recording(&flipped, Clock::manual().0)
        .err()
        .unwrap();
    assert!(matches!(error, RecordingError::Corrupt { .. }), "{error}");
    messages.insert(error.to_string());
    assert_eq!(
        messages.len(),
        4,
        "each error reads differently: {messages:#?}"
    );
    // A bad import leaves the live system as it was.
    let (mut live, _guests, _time) = scripted_supervisor();
    live.spawn_program("idle").unwrap();
    let hash = live.kernel().state_hash();
    assert!(live.import_recording(&random).is_err());
    assert!(!live.is_replay_only());
    assert_eq!(live.kernel().state_hash(), hash);
    assert!(live.spawn_program("idle").is_ok());
}

#[test]
fn a_chart_of_a_busy_span_keeps_the_messages_nearest_the_cursor() {
    let (sup, _) = scripted_run(4_000, 13, RecordingSettings::default());
    let end = sup.recording().end();
    let whole = sup.sequence_chart(0, end, usize::MAX);
    let sent: Vec<u64> = whole.messages.iter().filter_map(|m| m.sent_index).collect();
    assert!(sent.len() > 40, "a busy span: {} messages", sent.len());
    assert!(!whole.truncated);
    let chart = sup.sequence_chart(0, end, 20);
    assert!(chart.truncated);
    assert_eq!(chart.messages.len(), 20);
    assert_eq!(chart.to, end, "the chart still ends at the cursor");
    // The last twenty of the whole span, in order; the chart starts at the first of them.
    let tail: Vec<_> = whole.messages[whole.messages.len() - 20..].to_vec();
    let key = |m: &orbital_supervisor::recording::ChartMessage| {
        (m.from, m.to, m.sent_index, m.delivered_index)
    };
    assert_eq!(
        chart.messages.iter().map(key).collect::<Vec<_>>(),
        tail.iter().map(key).collect::<Vec<_>>()
    );
    let first = &chart.messages[0];
    assert_eq!(Some(chart.from), first.sent_index.or(first.delivered_index));
    assert!(chart.denied.iter().all(|d| d.index >= chart.from));
    assert!(
        chart
            .blocked
            .iter()
            .all(|b| b.to_index.is_none_or(|i| i >= chart.from))
    );
}

#[test]
fn the_sequence_chart_and_the_trace_pair_every_delivered_message() {
    let (sup, _) = scripted_run(4_000, 13, RecordingSettings::default());
    let end = sup.recording().end();
    let chart = sup.sequence_chart(end / 2, end, 100_000);
    assert!(!chart.messages.is_empty(), "messages in the chart");
    assert!(
        chart
            .messages
            .iter()
            .any(|m| m.sent_index.is_some() && m.delivered_index.is_some())
    );
    for m in &chart.messages {
        if let (Some(s), Some(d)) = (m.sent_index, m.delivered_index) {
            assert!(s <= d, "delivered before sent: {m:?}");
        }
    }
    assert!(!chart.denied.is_empty(), "denied requests are shown");
    assert!(chart.denied.iter().all(|d| !d.error.is_empty()));
    assert!(!chart.lifelines.is_empty());
    let trace: serde_json::Value =
        serde_json::from_str(&sup.export_trace_json()).expect("valid JSON");
    let events = trace["traceEvents"].as_array().expect("traceEvents");
    let ids = |ph: &str| -> BTreeSet<u64> {
        events
            .iter()
            .filter(|e| e["ph"] == ph)
            .filter_map(|e| e["id"].as_u64())
            .collect()
    };
    let (starts, finishes) = (ids("s"), ids("f"));
    assert!(!finishes.is_empty());
    assert!(
        finishes.is_subset(&starts),
        "every flow finish has its start"
    );
    assert!(
        events
            .iter()
            .any(|e| e["ph"] == "X" && e["dur"].as_f64().is_some())
    );
    assert!(
        events
            .iter()
            .any(|e| e["ph"] == "M" && e["name"] == "thread_name")
    );
}
