//! What recording costs on the servicing path, counted (not timed, so the test cannot flake on a
//! loaded machine): the heap allocations recording adds to a steady stream of syscalls. Inputs
//! go into one byte stream per chunk (sized from the previous chunk, so it does not grow), and a
//! snapshot copies the kernel's logs without an allocation per entry (traffic previews are held
//! inline). Measured as recording on minus recording off, on this thread only.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use orbital_supervisor::abi::{mailbox as mb, nr};
use orbital_supervisor::kernel::ProcessId;
use orbital_supervisor::mailbox::MailboxWords;
use orbital_supervisor::recording::{DEFAULT_SNAPSHOT_EVERY, RecordingSettings};
use orbital_supervisor::testing::scripted_supervisor;
use orbital_supervisor::{ManualTime, Supervisor};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    static LARGE: Cell<u64> = const { Cell::new(0) };
}

/// An allocation at least this big: a chunk's byte buffer (about 30 bytes an input here, 8,192
/// inputs: 240 KiB), not a snapshot's largest table (the traffic log, 64 KiB here).
const LARGE_BYTES: usize = 128 * 1024;

fn count(size: usize) {
    ALLOCATIONS.with(|c| c.set(c.get() + 1));
    if size >= LARGE_BYTES {
        LARGE.with(|c| c.set(c.get() + 1));
    }
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

fn large_allocations() -> u64 {
    LARGE.with(Cell::get)
}

fn call(sup: &mut Supervisor, w: &MailboxWords, number: u32, args: [u32; 3], data: &[u8]) {
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

struct Rig {
    sup: Supervisor,
    receiver: Arc<MailboxWords>,
    sender: Arc<MailboxWords>,
    time: ManualTime,
}

fn rig(enabled: bool) -> Rig {
    rig_with(RecordingSettings {
        enabled,
        ..RecordingSettings::default()
    })
}

fn rig_with(settings: RecordingSettings) -> Rig {
    let (mut sup, guests, time) = scripted_supervisor();
    sup.set_recording(settings);
    let receiver = sup.spawn_program("receiver").unwrap_or(ProcessId(0));
    let sender = sup.spawn_program("sender").unwrap_or(ProcessId(0));
    Rig {
        receiver: guests.mailbox(receiver).expect("receiver"),
        sender: guests.mailbox(sender).expect("sender"),
        sup,
        time,
    }
}

/// Allocations made by `rounds` rounds of SEND (16 bytes) + TRY_RECEIVE.
fn allocations_for(rig: &mut Rig, rounds: u32) -> u64 {
    let before = allocations();
    for _ in 0..rounds {
        rig.time.advance(1_000);
        call(
            &mut rig.sup,
            &rig.sender,
            nr::SEND,
            [1, 0, u32::MAX],
            &[7u8; 16],
        );
        call(&mut rig.sup, &rig.receiver, nr::TRY_RECEIVE, [1, 0, 0], &[]);
        drop(rig.sup.drain_events());
    }
    allocations() - before
}

#[test]
fn recording_adds_almost_no_allocations_to_a_stream_of_syscalls() {
    let (mut off, mut on) = (rig(false), rig(true));
    // Warm up: fill the traffic log (1,024 entries) and let the first chunks open.
    let warm = 2 * DEFAULT_SNAPSHOT_EVERY;
    allocations_for(&mut off, warm);
    allocations_for(&mut on, warm);
    // 8 * N syscalls: eight snapshots.
    let rounds = 4 * DEFAULT_SNAPSHOT_EVERY;
    let (a, b) = (
        allocations_for(&mut off, rounds),
        allocations_for(&mut on, rounds),
    );
    let added = b.saturating_sub(a);
    let snapshots = u64::from(2 * rounds / DEFAULT_SNAPSHOT_EVERY);
    // A snapshot allocates its tables (processes, endpoints, capabilities, queues): tens of
    // allocations, not one per traffic log entry (1,024) or per input.
    assert!(
        added <= snapshots * 50,
        "recording added {added} allocations over {} syscalls and {snapshots} snapshots (off: {a}, on: {b})",
        2 * rounds
    );
    assert!(on.sup.recording().end() >= u64::from(warm + rounds) * 2);
}

#[test]
fn at_its_bound_the_recording_writes_into_the_buffers_it_folded_away() {
    // A bound of four chunks: the warm-up fills it, then every chunk opened folds the oldest.
    let n = DEFAULT_SNAPSHOT_EVERY;
    let mut on = rig_with(RecordingSettings {
        capacity: 4 * n as usize,
        ..RecordingSettings::default()
    });
    allocations_for(&mut on, 4 * n);
    assert!(on.sup.recording().first() > 0, "the warm-up folded nothing");
    let before = large_allocations();
    // 16 * N syscalls: sixteen chunks opened, each folding one away.
    allocations_for(&mut on, 8 * n);
    let large = large_allocations() - before;
    // A fresh buffer for each chunk (what it was) is a large allocation each, and a page fault
    // every 4 KiB as it fills: most of recording's cost on the servicing path.
    assert!(
        large <= 1,
        "{large} allocations of {LARGE_BYTES} bytes or more for 16 chunks at the bound: the folded buffers were not reused"
    );
}
