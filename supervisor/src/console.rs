//! The console log: what processes wrote, lines typed into the terminal, and the supervisor's
//! notices, in order, bounded.

use std::collections::VecDeque;

use crate::abi::mailbox as mb;
use crate::kernel::{KernelEvent, ProcessId};
use crate::supervisor::Supervisor;

/// Console lines kept for the terminal panel.
pub const CONSOLE_LOG_CAPACITY: usize = 2_000;

/// Where a console line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsoleKind {
    /// CONSOLE_WRITE by a process.
    Output,
    /// A line typed into the terminal (sent to terminal's stdin).
    Input,
    /// The supervisor explaining something (a refused spawn, a trap).
    Notice,
}

/// One entry of the console log. `text` is exactly what was written (it may hold several lines,
/// or none; `"\x0c"` means clear-screen).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleLine {
    pub pid: ProcessId,
    pub kind: ConsoleKind,
    pub text: String,
    pub at_ns: u64,
}

/// The program of a terminal `spawn <program> [args]` line, if `line` is one.
fn spawn_command_program(line: &str) -> Option<&str> {
    let mut words = line.split_whitespace();
    (words.next() == Some("spawn"))
        .then(|| words.next())
        .flatten()
}

impl Supervisor {
    /// Sends a line typed into the terminal to terminal's stdin endpoint.
    pub fn console_input(&mut self, line: &str) -> Result<(), String> {
        if line.len() > mb::MAX_MESSAGE_BYTES {
            return Err(format!(
                "the line is {} bytes; at most {} fit in a message",
                line.len(),
                mb::MAX_MESSAGE_BYTES
            ));
        }
        let endpoint = self
            .find_provider("terminal.stdin", false)
            .ok_or("no terminal is running to read the line (is init booted?)")?;
        let now_ns = self.now_ns();
        // A `spawn` the host has no room for is refused here, to the caller (the terminal panel,
        // `window.supervisor.send_input`), as well as by SPAWN when the terminal asks.
        if let Some(program) = spawn_command_program(line)
            && let Err(error) = self.admit_spawn()
        {
            let why = format!("cannot spawn {program}: {error}");
            self.push_console(ConsoleLine {
                pid: ProcessId::KERNEL,
                kind: ConsoleKind::Input,
                text: line.to_string(),
                at_ns: now_ns,
            });
            self.notice(ProcessId::KERNEL, format!("supervisor: {why}"));
            return Err(why);
        }
        self.kernel
            .send_from_kernel(endpoint, 0, line.as_bytes(), now_ns)
            .map_err(|e| {
                format!(
                    "terminal did not take the line: {} ({})",
                    e.describe(),
                    e.name()
                )
            })?;
        self.push_console(ConsoleLine {
            pid: ProcessId::KERNEL,
            kind: ConsoleKind::Input,
            text: line.to_string(),
            at_ns: now_ns,
        });
        self.apply_effects(now_ns);
        Ok(())
    }

    /// Empties the kernel's traffic, capability and ended-process logs. Until then, what ended
    /// processes did stays viewable (Zombies stay in the table until reaped).
    pub fn clear_logs(&mut self) {
        self.kernel.clear_logs();
    }

    pub fn console_log(&self) -> &VecDeque<ConsoleLine> {
        &self.console
    }

    /// Everything logged for `pid` (or by the supervisor, for `KERNEL`), joined: its transcript,
    /// kept after it ended (see [`Supervisor::console_lines_of`]).
    pub fn console_text_of(&self, pid: ProcessId) -> String {
        self.console_lines_of(pid)
            .iter()
            .map(|l| l.text.as_str())
            .collect()
    }

    /// Drains the kernel's events (for the ECS). Console output is already in the console log:
    /// it is logged when the CONSOLE_WRITE is serviced, so an event queue that overflowed
    /// between two drains loses no program output.
    pub fn drain_events(&mut self) -> Vec<KernelEvent> {
        self.kernel.drain_events()
    }

    pub(crate) fn notice(&mut self, pid: ProcessId, text: String) {
        let at_ns = self.now_ns();
        self.push_console(ConsoleLine {
            pid,
            kind: ConsoleKind::Notice,
            text: format!("{text}\n"),
            at_ns,
        });
    }

    pub(crate) fn push_console(&mut self, line: ConsoleLine) {
        self.record_transcript(&line);
        if self.console.len() == CONSOLE_LOG_CAPACITY {
            self.console.pop_front();
        }
        self.console.push_back(line);
        self.console_pushed += 1;
    }

    /// Console lines pushed since the supervisor started: a mark for [`Supervisor::console_since`].
    pub fn console_pushed(&self) -> u64 {
        self.console_pushed
    }

    /// The lines pushed after `mark` (a [`Supervisor::console_pushed`] value), oldest first, as
    /// far as the log still holds them.
    pub fn console_since(&self, mark: u64) -> impl Iterator<Item = &ConsoleLine> {
        let new = self.console_pushed.saturating_sub(mark);
        let skip = self.console.len().saturating_sub(new as usize);
        self.console.iter().skip(skip)
    }
}
