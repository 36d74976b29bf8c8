//! Time travel: the supervisor records every input that changes the kernel, so any moment of
//! the recording can be rebuilt exactly (the kernel is deterministic and has no clock), viewed
//! while the live system keeps running, exported to a file, imported into a page that replays
//! it without any guest, and exported as a Chrome trace for Perfetto.
//!
//! ## Recording
//! Every mutating kernel call the supervisor makes goes through [`RecordedKernel`] (the
//! supervisor's `kernel` field): it derefs to [`Kernel`](crate::kernel::Kernel) for reading and
//! has no `DerefMut`, so each change is one of its wrappers, which appends an [`Input`] (syscall
//! with pid, number, arguments, data and the time passed in; register, set_protected, endpoint
//! creation, capability installs; kills, exits and traps, reaps; memory reports; host refusals;
//! console input; ticks; log clears) and forwards. Inputs are encoded into one byte stream per
//! chunk (time as a delta from the previous input): a syscall in 22 bytes of fixed-width fields
//! plus its data (cheaper to write than varints, see `input::encode`), the rest as varints. Every [`RecordingSettings::snapshot_every`] inputs (N, default
//! [`DEFAULT_SNAPSHOT_EVERY`]) a new chunk opens with a [`Kernel::snapshot`](crate::kernel::Kernel::snapshot).
//! At most [`RecordingSettings::capacity`] inputs are kept (default 1,000,000): then the oldest
//! chunks are dropped and the next chunk's snapshot becomes the base (Redux DevTools' `maxAge`).
//!
//! Indices are absolute and stable: input `i` is the `i`-th input since the supervisor started
//! (or since recording was turned on); the recording holds `first..end`; "the kernel at `k`" is
//! the state after inputs `..k` (so `k = end` is the live state, `k = first` the base).
//!
//! ## The API for the UI (all on [`Supervisor`](crate::Supervisor))
//! - [`viewed_kernel`](crate::Supervisor::viewed_kernel): the kernel to draw: the past one while
//!   seeking, else the live one. Draw everything (graph, panels, inspector) from it.
//! - [`timeline`](crate::Supervisor::timeline) → [`Timeline`] `{ first, inputs, cursor, live,
//!   start_ns, end_ns, cursor_ns, ... }` (serde-serialisable: `get_timeline_json`).
//! - [`seek`](crate::Supervisor::seek)`(k)`, [`go_live`](crate::Supervisor::go_live),
//!   [`step_back`](crate::Supervisor::step_back) / [`step_forward`](crate::Supervisor::step_forward)
//!   (one input), [`markers`](crate::Supervisor::markers) and
//!   [`prev_marker`](crate::Supervisor::prev_marker) / [`next_marker`](crate::Supervisor::next_marker)
//!   (spawns, kills, exits, traps, denied requests, each with its input index).
//! - [`input_at`](crate::Supervisor::input_at)`(k)`: what input `k` was, for the banner.
//! - [`kernel_state_hash`](crate::Supervisor::kernel_state_hash): of the viewed kernel.
//! - [`sequence_chart`](crate::Supervisor::sequence_chart)`(from, to, max_messages)` →
//!   [`SequenceChart`]: lifelines, messages (sender, receiver, endpoint, tag, bytes, send and
//!   delivery index and time), blocked spans and denied requests with their error names.
//! - [`export_recording`](crate::Supervisor::export_recording) /
//!   [`import_recording`](crate::Supervisor::import_recording) (the file format is in [`file`]),
//!   [`export_trace_json`](crate::Supervisor::export_trace_json) (Chrome Trace Event JSON).
//!
//! Seeking never touches the live kernel or the guests: they keep running (or stay paused).
//!
//! ## Choosing N
//! Seek cost = one snapshot copy + replay of up to N inputs; memory = one snapshot per N inputs;
//! recording cost on the servicing path = encoding the input + a snapshot amortised over N.
//! Measured by `cargo bench -p orbital-supervisor --bench time_travel` (1,000,000 inputs of the
//! mixed scripted workload, 101 random seeks, this 2-core machine): N = 256: seek median 0.26 ms,
//! max 7.3 ms, snapshots 164 MiB serialised; N = 1024: 0.34 / 9.2 ms, 41 MiB; N = 4096:
//! 0.69 / 6.7 ms, 10.3 MiB; N = 16384: 1.46 / 11.5 ms, 2.6 MiB. N = 8192 halves the snapshots'
//! share of the recording overhead against 4096 (the bench's "where it goes" line: a snapshot
//! cost as much as ~100 ns per input at 4096 on the loaded machine) while every seek stays far
//! under the 50 ms target. Inputs cost about 12.6 bytes each (12 MiB per million).
//!
//! ## Keeping recording cheap
//! A syscall input is encoded from a head built on the stack (one reservation, two copies); a
//! chunk's byte stream is sized from the previous chunk, so it does not grow while recording;
//! a snapshot copies the traffic log without an allocation per entry (previews are held inline,
//! [`Preview`](crate::kernel::Preview)). Once the recording is at its bound, each new chunk
//! writes into the byte buffer of the chunk folded away: a fresh buffer cost a page fault every
//! 4 KiB (1.6 µs of CPU each on the machine that measured it), which was most of what recording
//! cost the servicing path (+12 % at the bound with fresh buffers, +2.5-4 % with reuse; while
//! the recording first grows, +7-9 %). `tests/recording_cost.rs` counts the allocations recording
//! adds to a stream of syscalls, and the large ones at the bound.

pub mod file;
pub mod input;
pub mod recorder;
pub mod timeline;
pub mod trace;

pub use file::RecordingError;
pub use input::{Input, InputKind, TimedInput};
pub use recorder::{
    DEFAULT_CAPACITY, DEFAULT_SNAPSHOT_EVERY, MARKER_CAPACITY, Marker, MarkerKind, RecordedKernel,
    Recording, RecordingSettings,
};
pub use timeline::{InputInfo, Timeline};
pub use trace::{BlockedSpan, ChartDenied, ChartMessage, Lifeline, SequenceChart};
