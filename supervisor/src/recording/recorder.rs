//! [`RecordedKernel`]: the kernel behind the one door every change goes through. It derefs to
//! [`Kernel`] for reading; it does not implement `DerefMut`, so a mutating kernel method the
//! supervisor calls must be one of the wrappers here, each of which appends an [`Input`] and
//! forwards. A new kind of input cannot be missed: the supervisor would not compile.

use std::collections::VecDeque;
use std::ops::Deref;
use std::sync::Arc;

use serde::Serialize;

use crate::abi::{ErrorCode, nr};
use crate::kernel::{
    Dispatch, Effect, EndpointId, ExitReason, Kernel, KernelEvent, ObjectRef, Process, ProcessId,
    Reply, SyscallArgs,
};
use crate::recording::input::{self, Decoder, Input, TimedInput};

/// Inputs kept by default before the oldest are folded into the base snapshot.
pub const DEFAULT_CAPACITY: usize = 1_000_000;
/// Inputs between two snapshots by default (chosen by measurement: `cargo bench -p
/// orbital-supervisor --bench time_travel`, see the module docs).
pub const DEFAULT_SNAPSHOT_EVERY: u32 = 8192;
/// Markers kept (spawns, kills, exits, traps, denied requests); the oldest go first.
pub const MARKER_CAPACITY: usize = 100_000;

/// How the recording behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordingSettings {
    /// Record at all (on by default).
    pub enabled: bool,
    /// Inputs kept; older ones are folded into the base snapshot (Redux DevTools' `maxAge`).
    pub capacity: usize,
    /// A snapshot every this many inputs (seek replays at most this many).
    pub snapshot_every: u32,
}

impl Default for RecordingSettings {
    fn default() -> Self {
        RecordingSettings {
            enabled: true,
            capacity: DEFAULT_CAPACITY,
            snapshot_every: DEFAULT_SNAPSHOT_EVERY,
        }
    }
}

/// What a marker on the timeline stands for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MarkerKind {
    /// A process was registered (`pid` is the new one).
    Spawn { name: String },
    /// Removed by the supervisor (`by: None`) or by a KILL syscall of `by`.
    Kill { by: Option<u32> },
    /// Exited by itself (EXIT, `_start` returned).
    Exit { code: i32 },
    /// Trapped, failed to start, or ran out of memory.
    Trap { message: String },
    /// A refused request (never WOULD_BLOCK), or a host refusal (`syscall` is the import number).
    Denied { syscall: u32, error: &'static str },
}

/// A point worth jumping to: `index` is the input that caused it (seek to `index + 1` to see
/// its effect, to `index` to see the moment before).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Marker {
    pub index: u64,
    pub at_ns: u64,
    pub pid: u32,
    #[serde(flatten)]
    pub kind: MarkerKind,
}

/// Inputs `first..first + count`, encoded, with the kernel as it was before the first of them.
pub(crate) struct Chunk {
    pub(crate) snapshot: Arc<Kernel>,
    pub(crate) first: u64,
    pub(crate) count: u32,
    /// The raw time of the input before this chunk's first one (the delta base).
    pub(crate) prev_ns: u64,
    pub(crate) bytes: Vec<u8>,
}

impl Chunk {
    pub(crate) fn end(&self) -> u64 {
        self.first + u64::from(self.count)
    }
}

/// The recorded history: chunks of encoded inputs, each opened by a snapshot, and the markers.
pub struct Recording {
    pub(crate) settings: RecordingSettings,
    pub(crate) chunks: VecDeque<Chunk>,
    pub(crate) prev_ns: u64,
    pub(crate) markers: VecDeque<Marker>,
    /// Inputs held in `chunks`.
    pub(crate) held: usize,
    /// The byte buffer of the last chunk folded away, kept for the next chunk: once the
    /// recording is at its bound it writes into memory it already touched (a fresh buffer costs
    /// a page fault every 4 KiB, which was most of the recording's cost on the servicing path).
    spare: Vec<u8>,
}

impl Recording {
    pub(crate) fn new(
        kernel: &Kernel,
        settings: RecordingSettings,
        first: u64,
        prev_ns: u64,
    ) -> Recording {
        let mut r = Recording {
            settings,
            chunks: VecDeque::new(),
            prev_ns,
            markers: VecDeque::new(),
            held: 0,
            spare: Vec::new(),
        };
        r.open_chunk(kernel, first);
        r
    }

    fn open_chunk(&mut self, kernel: &Kernel, first: u64) {
        // The next chunk is sized like the last one plus an eighth, so a steady workload's
        // chunk never grows (no copy of the stream while recording).
        let mut expected = 4096;
        if let Some(last) = self.chunks.back_mut() {
            expected = expected.max(last.bytes.len() + last.bytes.len() / 8);
            // Give back what a quieter chunk did not use (a steady one used nearly all of it).
            if last.bytes.capacity() - last.bytes.len() > last.bytes.len() / 4 {
                last.bytes.shrink_to_fit();
            }
        }
        let mut bytes = std::mem::take(&mut self.spare);
        bytes.clear();
        // Exact: a doubling here would leave slack that the shrink above then gives back,
        // and the next reuse would grow again.
        bytes.reserve_exact(expected);
        self.chunks.push_back(Chunk {
            snapshot: Arc::new(kernel.snapshot()),
            first,
            count: 0,
            prev_ns: self.prev_ns,
            bytes,
        });
        // Fold: drop the oldest chunks while the rest still hold `capacity` inputs; the next
        // chunk's snapshot becomes the base. The largest folded buffer is kept for reuse.
        while self.chunks.len() > 1 {
            let oldest = self.chunks.front().map_or(0, |c| c.count as usize);
            if self.held - oldest < self.settings.capacity {
                break;
            }
            if let Some(folded) = self.chunks.pop_front()
                && folded.bytes.capacity() > self.spare.capacity()
            {
                self.spare = folded.bytes;
            }
            self.held -= oldest;
        }
        let first_kept = self.first();
        while self.markers.front().is_some_and(|m| m.index < first_kept) {
            self.markers.pop_front();
        }
    }

    /// The absolute index of the oldest input held (inputs before it are in the base snapshot).
    pub fn first(&self) -> u64 {
        self.chunks.front().map_or(0, |c| c.first)
    }

    /// The absolute index one past the newest input (inputs recorded since boot).
    pub fn end(&self) -> u64 {
        self.chunks.back().map_or(0, Chunk::end)
    }

    /// The base snapshot: the kernel before input [`Recording::first`].
    pub fn base(&self) -> Option<&Kernel> {
        self.chunks.front().map(|c| &*c.snapshot)
    }

    pub fn markers(&self) -> &VecDeque<Marker> {
        &self.markers
    }

    pub fn settings(&self) -> RecordingSettings {
        self.settings
    }

    /// Bytes of encoded inputs held (snapshots not included).
    pub fn input_bytes(&self) -> usize {
        self.chunks.iter().map(|c| c.bytes.len()).sum()
    }

    /// Heap bytes of the encoded inputs (capacity, what the process pays, with the spare buffer).
    pub fn input_capacity_bytes(&self) -> usize {
        self.spare.capacity()
            + self
                .chunks
                .iter()
                .map(|c| c.bytes.capacity())
                .sum::<usize>()
    }

    pub fn snapshots(&self) -> usize {
        self.chunks.len()
    }

    /// Every snapshot with the index it stands before (the first is the base), oldest first.
    pub fn snapshot_points(&self) -> impl Iterator<Item = (u64, &Kernel)> {
        self.chunks.iter().map(|c| (c.first, &*c.snapshot))
    }

    fn push(&mut self, kernel: &Kernel, timed: &TimedInput<'_>) {
        let full = self
            .chunks
            .back()
            .is_none_or(|c| c.count >= self.settings.snapshot_every);
        if full {
            let end = self.end();
            self.open_chunk(kernel, end);
        }
        if let Some(chunk) = self.chunks.back_mut() {
            input::encode(&mut chunk.bytes, &mut self.prev_ns, timed);
            chunk.count += 1;
            self.held += 1;
        }
    }

    fn mark(&mut self, index: u64, at_ns: u64, pid: ProcessId, kind: MarkerKind) {
        if self.markers.len() >= MARKER_CAPACITY {
            self.markers.pop_front();
        }
        self.markers.push_back(Marker {
            index,
            at_ns,
            pid: pid.0,
            kind,
        });
    }

    /// The chunk holding input `index` (or the last one, for `index == end`).
    pub(crate) fn chunk_for(&self, index: u64) -> Option<usize> {
        if self.chunks.is_empty() || index < self.first() || index > self.end() {
            return None;
        }
        let after = self.chunks.partition_point(|c| c.first <= index);
        Some(after.saturating_sub(1))
    }

    /// The kernel after the inputs before `index` (`first..=end`; clamped into that range):
    /// the nearest snapshot at or before it, plus a replay of the rest.
    pub fn kernel_at(&self, index: u64) -> Option<(u64, Kernel)> {
        let index = index.clamp(self.first(), self.end());
        let c = self.chunk_for(index)?;
        let chunk = self.chunks.get(c)?;
        let mut kernel = chunk.snapshot.snapshot();
        let mut d = Decoder::new(&chunk.bytes, chunk.prev_ns);
        for _ in chunk.first..index {
            match d.next_input() {
                Ok(Some(timed)) => input::apply(&mut kernel, &timed),
                _ => break,
            }
        }
        drop(kernel.drain_events());
        Some((index, kernel))
    }

    /// Visits the inputs `from..to` (clamped) in order, each with its absolute index.
    pub fn for_each_input(&self, from: u64, to: u64, mut visit: impl FnMut(u64, &TimedInput<'_>)) {
        let from = from.max(self.first());
        let to = to.min(self.end());
        let Some(start) = self.chunk_for(from) else {
            return;
        };
        for chunk in self.chunks.iter().skip(start) {
            if chunk.first >= to {
                break;
            }
            let mut d = Decoder::new(&chunk.bytes, chunk.prev_ns);
            let mut index = chunk.first;
            while let Ok(Some(timed)) = d.next_input() {
                if index >= to {
                    break;
                }
                if index >= from {
                    visit(index, &timed);
                }
                index += 1;
            }
        }
    }

    /// Every input held as one stream (the chunks' bytes are consecutive: each chunk's delta
    /// base is the previous chunk's last time).
    pub(crate) fn stream(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.input_bytes());
        for c in &self.chunks {
            out.extend_from_slice(&c.bytes);
        }
        out
    }
}

/// The kernel plus its recording. See the module docs.
pub struct RecordedKernel {
    kernel: Kernel,
    recording: Recording,
    /// Replay-only (an imported recording): every change is refused.
    frozen: bool,
}

impl Deref for RecordedKernel {
    type Target = Kernel;

    fn deref(&self) -> &Kernel {
        &self.kernel
    }
}

/// What a frozen (replay-only) kernel answers to a change.
const FROZEN: ErrorCode = ErrorCode::PermissionDenied;

impl RecordedKernel {
    pub fn new(kernel: Kernel, settings: RecordingSettings) -> RecordedKernel {
        let recording = Recording::new(&kernel, settings, 0, kernel.now_ns());
        RecordedKernel {
            kernel,
            recording,
            frozen: false,
        }
    }

    pub(crate) fn from_parts(kernel: Kernel, recording: Recording, frozen: bool) -> RecordedKernel {
        RecordedKernel {
            kernel,
            recording,
            frozen,
        }
    }

    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    pub fn recording(&self) -> &Recording {
        &self.recording
    }

    pub fn is_frozen(&self) -> bool {
        self.frozen
    }

    /// Turns recording on or off. Turning it on starts a new history at the current state.
    pub fn set_recording(&mut self, settings: RecordingSettings) {
        let end = self.recording.end();
        let prev_ns = self.recording.prev_ns;
        self.recording = Recording::new(&self.kernel, settings, end, prev_ns);
    }

    /// The door every mutating wrapper goes through: refused while frozen (an imported
    /// recording is replay only), else recorded. Returns the input's index.
    fn admit(&mut self, now_ns: u64, input: Input<'_>) -> Result<u64, ErrorCode> {
        if self.frozen {
            return Err(FROZEN);
        }
        Ok(self.record(now_ns, input))
    }

    #[inline]
    fn record(&mut self, now_ns: u64, input: Input<'_>) -> u64 {
        let index = self.recording.end();
        if self.recording.settings.enabled {
            self.recording
                .push(&self.kernel, &TimedInput { now_ns, input });
        } else {
            // Not recording: the history stays where it was turned off.
            self.recording.prev_ns = now_ns;
        }
        index
    }

    fn mark(&mut self, index: u64, now_ns: u64, pid: ProcessId, kind: MarkerKind) {
        if self.recording.settings.enabled {
            let at_ns = now_ns.max(self.kernel.now_ns());
            self.recording.mark(index, at_ns, pid, kind);
        }
    }

    pub fn dispatch(
        &mut self,
        pid: ProcessId,
        call: SyscallArgs,
        data: &[u8],
        now_ns: u64,
    ) -> Dispatch {
        if self.frozen {
            return Dispatch::Complete(Reply::error(FROZEN));
        }
        let index = self.record(
            now_ns,
            Input::Syscall {
                pid,
                number: call.number,
                args: call.args,
                data,
            },
        );
        let dispatch = self.kernel.dispatch(pid, call, data, now_ns);
        match &dispatch {
            Dispatch::Complete(reply) if reply.result < 0 => {
                if let Some(error) = reply.error_code().filter(|e| *e != ErrorCode::WouldBlock) {
                    self.mark(
                        index,
                        now_ns,
                        pid,
                        MarkerKind::Denied {
                            syscall: call.number,
                            error: error.name(),
                        },
                    );
                }
            }
            Dispatch::Complete(_) if call.number == nr::KILL => {
                let target = ProcessId(call.args[1]);
                self.mark(index, now_ns, target, MarkerKind::Kill { by: Some(pid.0) });
            }
            Dispatch::Exited if call.number == nr::KILL => {
                self.mark(index, now_ns, pid, MarkerKind::Kill { by: Some(pid.0) });
            }
            Dispatch::Exited => {
                let code = call.args[0] as i32;
                self.mark(index, now_ns, pid, MarkerKind::Exit { code });
            }
            _ => {}
        }
        dispatch
    }

    pub fn register_process(&mut self, name: &str, now_ns: u64) -> Result<ProcessId, ErrorCode> {
        let index = self.admit(now_ns, Input::RegisterProcess { name })?;
        let pid = self.kernel.register_process(name, now_ns)?;
        self.mark(
            index,
            now_ns,
            pid,
            MarkerKind::Spawn {
                name: name.to_string(),
            },
        );
        Ok(pid)
    }

    pub fn set_protected(&mut self, pid: ProcessId, protected: bool) -> Result<(), ErrorCode> {
        let now_ns = self.recording.prev_ns;
        self.admit(now_ns, Input::SetProtected { pid, protected })?;
        self.kernel.set_protected(pid, protected)
    }

    pub fn create_endpoint(
        &mut self,
        owner: ProcessId,
        now_ns: u64,
    ) -> Result<(EndpointId, u32), ErrorCode> {
        self.admit(now_ns, Input::CreateEndpoint { owner })?;
        self.kernel.create_endpoint(owner, now_ns)
    }

    pub fn install_capability(
        &mut self,
        pid: ProcessId,
        object: ObjectRef,
        rights: u32,
        now_ns: u64,
    ) -> Result<u32, ErrorCode> {
        self.admit(
            now_ns,
            Input::InstallCapability {
                pid,
                slot: None,
                object,
                rights,
            },
        )?;
        self.kernel.install_capability(pid, object, rights, now_ns)
    }

    pub fn install_capability_at(
        &mut self,
        pid: ProcessId,
        slot: u32,
        object: ObjectRef,
        rights: u32,
        now_ns: u64,
    ) -> Result<(), ErrorCode> {
        self.admit(
            now_ns,
            Input::InstallCapability {
                pid,
                slot: Some(slot),
                object,
                rights,
            },
        )?;
        self.kernel
            .install_capability_at(pid, slot, object, rights, now_ns)
    }

    pub fn kill_process(
        &mut self,
        pid: ProcessId,
        by: Option<ProcessId>,
        now_ns: u64,
    ) -> Result<(), ErrorCode> {
        let index = self.admit(now_ns, Input::KillProcess { pid, by })?;
        self.kernel.kill_process(pid, by, now_ns)?;
        self.mark(
            index,
            now_ns,
            pid,
            MarkerKind::Kill {
                by: by.map(|p| p.0),
            },
        );
        Ok(())
    }

    pub fn exit_process(
        &mut self,
        pid: ProcessId,
        reason: ExitReason,
        now_ns: u64,
    ) -> Result<(), ErrorCode> {
        let index = self.admit(
            now_ns,
            Input::ExitProcess {
                pid,
                reason: reason.clone(),
            },
        )?;
        let kind = match &reason {
            ExitReason::Exited { code } => MarkerKind::Exit { code: *code },
            ExitReason::Killed { by } => MarkerKind::Kill {
                by: by.map(|p| p.0),
            },
            other => MarkerKind::Trap {
                message: other.to_string(),
            },
        };
        self.kernel.exit_process(pid, reason, now_ns)?;
        self.mark(index, now_ns, pid, kind);
        Ok(())
    }

    pub fn reap_process(&mut self, pid: ProcessId, now_ns: u64) -> Result<Process, ErrorCode> {
        self.admit(now_ns, Input::ReapProcess { pid })?;
        self.kernel.reap_process(pid, now_ns)
    }

    pub fn report_memory(
        &mut self,
        pid: ProcessId,
        bytes: u64,
        now_ns: u64,
    ) -> Result<(), ErrorCode> {
        self.admit(now_ns, Input::ReportMemory { pid, bytes })?;
        self.kernel.report_memory(pid, bytes, now_ns)
    }

    pub fn record_host_refusal(
        &mut self,
        pid: ProcessId,
        import: u32,
        error: ErrorCode,
        count: u32,
        now_ns: u64,
    ) -> Result<(), ErrorCode> {
        let index = self.admit(
            now_ns,
            Input::HostRefusal {
                pid,
                import,
                error,
                count,
            },
        )?;
        self.kernel
            .record_host_refusal(pid, import, error, count, now_ns)?;
        if count > 0 {
            self.mark(
                index,
                now_ns,
                pid,
                MarkerKind::Denied {
                    syscall: import,
                    error: error.name(),
                },
            );
        }
        Ok(())
    }

    pub fn send_from_kernel(
        &mut self,
        endpoint: EndpointId,
        tag: u32,
        data: &[u8],
        now_ns: u64,
    ) -> Result<(), ErrorCode> {
        self.admit(
            now_ns,
            Input::SendFromKernel {
                endpoint,
                tag,
                data,
            },
        )?;
        self.kernel.send_from_kernel(endpoint, tag, data, now_ns)
    }

    pub fn tick(&mut self, now_ns: u64) {
        if self.frozen {
            return;
        }
        // A tick that wakes nobody and does not move time changes nothing: not worth an input.
        if self.kernel.next_wake_ns().is_none_or(|t| t > now_ns) && now_ns <= self.kernel.now_ns() {
            return;
        }
        self.record(now_ns, Input::Tick);
        self.kernel.tick(now_ns);
    }

    pub fn clear_logs(&mut self) {
        if self.frozen {
            return;
        }
        let now_ns = self.recording.prev_ns;
        self.record(now_ns, Input::ClearLogs);
        self.kernel.clear_logs();
    }

    /// Not an input: effects are the kernel's mail to the supervisor.
    #[must_use]
    pub fn take_effects(&mut self) -> Vec<Effect> {
        self.kernel.take_effects()
    }

    /// Not an input: events are the kernel's mail to the app.
    pub fn drain_events(&mut self) -> Vec<KernelEvent> {
        self.kernel.drain_events()
    }
}

impl RecordedKernel {
    /// Applies a decoded input through the same wrapper the live call went through (so the
    /// recording, its snapshots and its markers come out as they did live). For imports.
    pub(crate) fn apply_input(&mut self, timed: &TimedInput<'_>) {
        let now_ns = timed.now_ns;
        match &timed.input {
            Input::Syscall {
                pid,
                number,
                args,
                data,
            } => {
                let _dispatch = self.dispatch(*pid, SyscallArgs::new(*number, *args), data, now_ns);
            }
            Input::RegisterProcess { name } => {
                self.register_process(name, now_ns).ok();
            }
            Input::SetProtected { pid, protected } => {
                self.recording.prev_ns = now_ns;
                self.set_protected(*pid, *protected).ok();
            }
            Input::CreateEndpoint { owner } => {
                self.create_endpoint(*owner, now_ns).ok();
            }
            Input::InstallCapability {
                pid,
                slot: None,
                object,
                rights,
            } => {
                self.install_capability(*pid, *object, *rights, now_ns).ok();
            }
            Input::InstallCapability {
                pid,
                slot: Some(slot),
                object,
                rights,
            } => {
                self.install_capability_at(*pid, *slot, *object, *rights, now_ns)
                    .ok();
            }
            Input::KillProcess { pid, by } => {
                self.kill_process(*pid, *by, now_ns).ok();
            }
            Input::ExitProcess { pid, reason } => {
                self.exit_process(*pid, reason.clone(), now_ns).ok();
            }
            Input::ReapProcess { pid } => {
                self.reap_process(*pid, now_ns).ok();
            }
            Input::ReportMemory { pid, bytes } => {
                self.report_memory(*pid, *bytes, now_ns).ok();
            }
            Input::HostRefusal {
                pid,
                import,
                error,
                count,
            } => {
                self.record_host_refusal(*pid, *import, *error, *count, now_ns)
                    .ok();
            }
            Input::SendFromKernel {
                endpoint,
                tag,
                data,
            } => {
                self.send_from_kernel(*endpoint, *tag, data, now_ns).ok();
            }
            Input::Tick => {
                // Recorded ticks always changed something, so the wrapper records them again.
                self.record(now_ns, Input::Tick);
                self.kernel.tick(now_ns);
            }
            Input::ClearLogs => {
                self.recording.prev_ns = now_ns;
                self.clear_logs();
            }
        }
        drop(self.kernel.take_effects());
        drop(self.kernel.drain_events());
    }

    /// Replay-only from now on (an imported recording): every change is refused.
    pub(crate) fn freeze(&mut self) {
        self.frozen = true;
    }
}
