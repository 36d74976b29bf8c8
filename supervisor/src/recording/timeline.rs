//! The timeline: seeking into the recording, stepping, markers, and the state the UI draws.

use serde::Serialize;

use crate::abi::Syscall;
use crate::kernel::Kernel;
use crate::recording::input::{Decoder, Input, TimedInput, apply};
use crate::recording::recorder::{Marker, RecordingSettings};
use crate::supervisor::Supervisor;

/// The recording's span and where the view is, for the timeline strip and `get_timeline_json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Timeline {
    /// The oldest input held (earlier ones are folded into the base snapshot).
    pub first: u64,
    /// One past the newest input: the number of inputs recorded since start.
    pub inputs: u64,
    /// The input the view stands before (`inputs` when live).
    pub cursor: u64,
    pub live: bool,
    /// Kernel time at `first` and at `inputs` (nanoseconds since boot).
    pub start_ns: u64,
    pub end_ns: u64,
    /// Kernel time of the viewed kernel.
    pub cursor_ns: u64,
    pub recording: bool,
    /// An imported recording: no guests run, nothing can change.
    pub replay_only: bool,
    pub snapshots: usize,
    pub markers: usize,
    /// Bytes of encoded inputs held.
    pub input_bytes: usize,
}

/// What input `index` was, in words, for the banner and the inspector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InputInfo {
    pub index: u64,
    pub now_ns: u64,
    /// `syscall`, `register_process`, `tick`, ...
    pub kind: &'static str,
    /// The process it concerns, if any.
    pub pid: Option<u32>,
    /// "SEND(3, 1, 4294967295) + 8 bytes", "kill pid 5", ...
    pub text: String,
}

/// The past kernel being shown, and where in the stream it stands (so a step forward applies
/// one input instead of seeking again).
pub(crate) struct PastView {
    pub(crate) index: u64,
    pub(crate) kernel: Kernel,
    /// The chunk (by its first index) and the decoder's position after input `index - 1`.
    chunk_first: u64,
    pos: usize,
    prev_ns: u64,
}

fn describe(timed: &TimedInput<'_>) -> (Option<u32>, String) {
    match &timed.input {
        Input::Syscall {
            pid,
            number,
            args,
            data,
        } => {
            let name = Syscall::from_raw(*number).map_or("UNKNOWN", Syscall::name);
            let mut text = format!("{name}({}, {}, {})", args[0], args[1], args[2]);
            if !data.is_empty() {
                text.push_str(&format!(" + {} bytes", data.len()));
            }
            (Some(pid.0), text)
        }
        Input::RegisterProcess { name } => (None, format!("register {name}")),
        Input::SetProtected { pid, protected } => (Some(pid.0), format!("protected = {protected}")),
        Input::CreateEndpoint { owner } => (Some(owner.0), "create endpoint".into()),
        Input::InstallCapability {
            pid,
            slot,
            object,
            rights,
        } => (
            Some(pid.0),
            format!(
                "install {object} {} in slot {}",
                crate::kernel::rights_label(*rights),
                slot.map_or("(lowest free)".to_string(), |s| s.to_string())
            ),
        ),
        Input::KillProcess { pid, by } => (
            Some(pid.0),
            match by {
                Some(by) => format!("kill pid {pid} (by pid {by})"),
                None => format!("kill pid {pid}"),
            },
        ),
        Input::ExitProcess { pid, reason } => (Some(pid.0), format!("pid {pid} {reason}")),
        Input::ReapProcess { pid } => (Some(pid.0), format!("reap pid {pid}")),
        Input::ReportMemory { pid, bytes } => (Some(pid.0), format!("memory {bytes} bytes")),
        Input::HostRefusal {
            pid,
            import,
            error,
            count,
        } => (
            Some(pid.0),
            format!(
                "{count} host refusal(s) by import {import}: {}",
                error.name()
            ),
        ),
        Input::SendFromKernel {
            endpoint,
            tag,
            data,
        } => (
            Some(0),
            format!(
                "console input to endpoint {endpoint} (tag {tag}, {} bytes)",
                data.len()
            ),
        ),
        Input::Tick => (None, "tick".into()),
        Input::ClearLogs => (None, "clear logs".into()),
    }
}

impl Supervisor {
    /// The kernel the UI draws: the past one while seeking, else the live one.
    pub fn viewed_kernel(&self) -> &Kernel {
        match &self.past {
            Some(view) => &view.kernel,
            None => &self.kernel,
        }
    }

    /// Whether the view shows the live kernel.
    pub fn is_live(&self) -> bool {
        self.past.is_none()
    }

    pub fn recording(&self) -> &crate::recording::Recording {
        self.kernel.recording()
    }

    /// Changes the recording's settings; turning it on (or changing them) starts a new history
    /// at the current state.
    pub fn set_recording(&mut self, settings: RecordingSettings) {
        self.past = None;
        self.kernel.set_recording(settings);
    }

    pub fn timeline(&self) -> Timeline {
        let rec = self.kernel.recording();
        let (first, inputs) = (rec.first(), rec.end());
        let cursor = self.past.as_ref().map_or(inputs, |v| v.index);
        Timeline {
            first,
            inputs,
            cursor,
            live: self.past.is_none(),
            start_ns: rec.base().map_or(0, Kernel::now_ns),
            end_ns: self.kernel.now_ns(),
            cursor_ns: self.viewed_kernel().now_ns(),
            recording: rec.settings().enabled,
            replay_only: self.kernel.is_frozen(),
            snapshots: rec.snapshots(),
            markers: rec.markers().len(),
            input_bytes: rec.input_bytes(),
        }
    }

    /// Shows the kernel as it was before input `index` (clamped to `first..=inputs`); returns
    /// the index shown. The live kernel and the guests are not touched.
    pub fn seek(&mut self, index: u64) -> u64 {
        let rec = self.kernel.recording();
        let index = index.clamp(rec.first(), rec.end());
        let Some(c) = rec.chunk_for(index) else {
            return index;
        };
        let Some(chunk) = rec.chunks.get(c) else {
            return index;
        };
        let mut kernel = chunk.snapshot.snapshot();
        let mut d = Decoder::new(&chunk.bytes, chunk.prev_ns);
        for _ in chunk.first..index {
            match d.next_input() {
                Ok(Some(timed)) => apply(&mut kernel, &timed),
                _ => break,
            }
        }
        drop(kernel.drain_events());
        self.past = Some(PastView {
            index,
            kernel,
            chunk_first: chunk.first,
            pos: d.position(),
            prev_ns: d.prev_ns(),
        });
        index
    }

    /// Back to the live kernel.
    pub fn go_live(&mut self) {
        self.past = None;
    }

    /// One input back (from live: to the last input). Returns the cursor.
    pub fn step_back(&mut self) -> u64 {
        let cursor = self.timeline().cursor;
        self.seek(cursor.saturating_sub(1))
    }

    /// One input forward; stepping past the newest input goes live. Returns the cursor.
    pub fn step_forward(&mut self) -> u64 {
        let end = self.kernel.recording().end();
        let Some(view) = self.past.as_mut() else {
            return end;
        };
        if view.index + 1 >= end {
            self.past = None;
            return end;
        }
        let rec = self.kernel.recording();
        // Apply the next input in place when its chunk is the one the view stands in.
        let next = rec
            .chunk_for(view.index)
            .and_then(|c| rec.chunks.get(c))
            .filter(|chunk| chunk.first == view.chunk_first && view.index < chunk.end());
        match next {
            Some(chunk) => {
                let tail = chunk.bytes.get(view.pos..).unwrap_or(&[]);
                let mut d = Decoder::new(tail, view.prev_ns);
                if let Ok(Some(timed)) = d.next_input() {
                    apply(&mut view.kernel, &timed);
                    drop(view.kernel.drain_events());
                    view.index += 1;
                    view.pos += d.position();
                    view.prev_ns = d.prev_ns();
                    return view.index;
                }
                let target = view.index + 1;
                self.seek(target)
            }
            None => {
                let target = view.index + 1;
                self.seek(target)
            }
        }
    }

    /// Spawns, kills, exits, traps and denied requests, oldest first.
    pub fn markers(&self) -> impl DoubleEndedIterator<Item = &Marker> + ExactSizeIterator {
        self.kernel.recording().markers().iter()
    }

    /// The newest marker whose effect lies before the view's (jump with
    /// `seek(marker.index + 1)` to see its effect, `seek(marker.index)` for the moment before).
    pub fn prev_marker(&self) -> Option<&Marker> {
        let cursor = self.timeline().cursor;
        self.markers().rev().find(|m| m.index + 1 < cursor)
    }

    /// The oldest marker not yet applied in the view (`index >= cursor`).
    pub fn next_marker(&self) -> Option<&Marker> {
        let cursor = self.timeline().cursor;
        self.markers().find(|m| m.index >= cursor)
    }

    /// What input `index` was.
    pub fn input_at(&self, index: u64) -> Option<InputInfo> {
        let mut info = None;
        self.kernel
            .recording()
            .for_each_input(index, index + 1, |i, timed| {
                let (pid, text) = describe(timed);
                info = Some(InputInfo {
                    index: i,
                    now_ns: timed.now_ns,
                    kind: timed.input.kind().name(),
                    pid,
                    text,
                });
            });
        info
    }

    /// [`Kernel::state_hash`] of the viewed kernel (live, or at the cursor).
    pub fn kernel_state_hash(&self) -> u64 {
        self.viewed_kernel().state_hash()
    }
}
