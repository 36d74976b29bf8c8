//! Each process's own console transcript: what it wrote, what it was sent as console input and
//! the supervisor's notices about it, kept after it ended (for `get_console_json(pid)` and the
//! inspector), bounded per process and in how many processes are kept. The shared console log
//! (`console.rs`) is bounded as a whole, so a noisy process would otherwise push a quiet one's
//! output out.

use std::collections::{BTreeMap, VecDeque};

use crate::console::ConsoleLine;
use crate::kernel::ProcessId;
use crate::supervisor::Supervisor;

/// Bytes of console text kept per process (the oldest entries go first).
pub const TRANSCRIPT_BYTES: usize = 64 * 1024;
/// Processes whose transcript is kept; past that, ended processes' go first, oldest first.
pub const TRANSCRIPTS_KEPT: usize = 256;

#[derive(Default)]
pub(crate) struct Transcripts {
    by_pid: BTreeMap<ProcessId, Transcript>,
}

#[derive(Default)]
struct Transcript {
    entries: VecDeque<ConsoleLine>,
    bytes: usize,
    /// Bytes dropped from the front to stay within `TRANSCRIPT_BYTES`.
    dropped_bytes: u64,
}

impl Transcripts {
    fn push(&mut self, line: &ConsoleLine) {
        let transcript = self.by_pid.entry(line.pid).or_default();
        transcript.bytes += line.text.len();
        transcript.entries.push_back(line.clone());
        while transcript.bytes > TRANSCRIPT_BYTES && transcript.entries.len() > 1 {
            if let Some(old) = transcript.entries.pop_front() {
                transcript.bytes -= old.text.len();
                transcript.dropped_bytes += old.text.len() as u64;
            }
        }
    }
}

impl Supervisor {
    pub(crate) fn record_transcript(&mut self, line: &ConsoleLine) {
        self.transcripts.push(line);
        if self.transcripts.by_pid.len() <= TRANSCRIPTS_KEPT {
            return;
        }
        let ended =
            |pid: &ProcessId| *pid != ProcessId::KERNEL && self.kernel.process(*pid).is_none();
        let victim = self
            .transcripts
            .by_pid
            .keys()
            .copied()
            .find(ended)
            .or_else(|| {
                self.transcripts
                    .by_pid
                    .keys()
                    .copied()
                    .find(|pid| *pid != ProcessId::KERNEL && *pid != line.pid)
            });
        if let Some(victim) = victim {
            self.transcripts.by_pid.remove(&victim);
        }
    }

    /// Everything logged for `pid` (its output, its console input, notices about it; for
    /// `KERNEL` the supervisor's own notices), in order, also after it ended.
    pub fn console_lines_of(&self, pid: ProcessId) -> Vec<ConsoleLine> {
        self.transcripts
            .by_pid
            .get(&pid)
            .map_or_else(Vec::new, |t| t.entries.iter().cloned().collect())
    }

    /// Bytes of `pid`'s transcript dropped to keep it within [`TRANSCRIPT_BYTES`].
    pub fn console_dropped_bytes_of(&self, pid: ProcessId) -> u64 {
        self.transcripts
            .by_pid
            .get(&pid)
            .map_or(0, |t| t.dropped_bytes)
    }
}
