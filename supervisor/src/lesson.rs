//! Lessons: a guided walk through a scenario, one step at a time, as RON files
//! (`assets/lessons/*.ron`; the format is in `docs/LESSONS.md`).
//!
//! This module is the engine-free half: the file format ([`Lesson`], parsed with line and column
//! errors by [`parse_lesson`]), the waits on real kernel conditions ([`Wait`], followed by
//! [`WaitProgress`] from the kernel's own events and state, never simulated) and the player
//! ([`LessonRun`]: which step, whether its wait is met, Next and Previous). The app's lesson
//! plugin turns a step's [`Action`]s into intents and draws the lesson card; tests drive the
//! same player against a real supervisor.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::abi::ErrorCode;
use crate::kernel::{CapAction, EndpointId, ExitReason, KernelEvent, ProcessId, ProcessState};
use crate::recording::MarkerKind;
use crate::servicing::MailboxStatus;
use crate::supervisor::Supervisor;

/// One lesson file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    pub title: String,
    /// The scenario the lesson starts (a name under `assets/scenarios/`).
    pub scenario: String,
    /// One or two sentences for the lesson picker.
    #[serde(default)]
    pub summary: String,
    pub steps: Vec<LessonStep>,
}

/// One step: a caption, what to do on entering it, what to wait for, and an optional question.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LessonStep {
    /// Short text; `**bold**` and `` `code` `` spans are formatted ([`caption_spans`]).
    pub caption: String,
    #[serde(default)]
    pub actions: Vec<Action>,
    /// The kernel condition that ends the step by itself; without one, only Next does.
    #[serde(default)]
    pub wait: Option<Wait>,
    #[serde(default)]
    pub question: Option<Question>,
}

/// A question asked on a step; the answer is revealed on request (or when the wait is met).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub text: String,
    pub choices: Vec<String>,
    /// Index into `choices` of the right one.
    pub answer: usize,
    /// Why, shown with the answer.
    #[serde(default)]
    pub explanation: String,
}

/// The speed a step sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Speed {
    Running,
    Paused,
    /// 1/`divisor` of full speed (4 or 16 in the UI).
    Slow(u32),
}

/// What a step does when it is entered. Programs are named; the newest live process of that
/// program is meant (the one a person would point at).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Action {
    Spawn(String),
    Kill(String),
    LoadScenario(String),
    SetSpeed(Speed),
    Pause,
    Select(String),
    Highlight(Highlight),
    /// Draws every capability as a labelled edge (on) or hides them (off).
    CapabilityView(bool),
}

impl Action {
    /// Whether entering the step again (Previous) may repeat the action: changing the view and
    /// the speed may, starting or ending processes may not (the past is not undone by it).
    pub fn is_view_only(&self) -> bool {
        matches!(
            self,
            Action::SetSpeed(_)
                | Action::Pause
                | Action::Select(_)
                | Action::Highlight(_)
                | Action::CapabilityView(_)
        )
    }
}

/// What a step points at on screen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Highlight {
    /// The newest process of this program.
    Node(String),
    /// The edge from the first program's process to the second's.
    Edge(String, String),
    /// A mailbox word in the inspector (`STATUS`, `SYSCALL`, `ARG0`, `RESULT`, ...).
    MailboxWord(String),
    /// A bottom-panel tab, shown: `terminal`, `traffic`, `capabilities`, `endpoints`.
    Panel(String),
}

/// Mailbox words a step may highlight (docs/ABI.md's mailbox table).
pub const MAILBOX_WORDS: [&str; 16] = [
    "STATUS",
    "SYSCALL",
    "ARG0",
    "ARG1",
    "ARG2",
    "RESULT",
    "DATA_LEN",
    "PID",
    "LAST_SERVICED",
    "GUEST_WAITING",
    "MEMORY_BYTES",
    "SEQ",
    "KILL_FLAG",
    "HOST_REFUSALS",
    "HOST_REFUSAL_CODE",
    "DATA",
];

/// Panels a step may highlight (the bottom panel's tabs: highlighting one shows it).
pub const PANELS: [&str; 5] = [
    "terminal",
    "traffic",
    "capabilities",
    "endpoints",
    "timeline",
];

/// A kernel condition a step waits for. Counts are of events since the step began; states are
/// read from the kernel (or the supervisor's mailboxes) as they are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Wait {
    /// A process of this program is Blocked in RECEIVE.
    BlockedOnReceive(String),
    /// A process of this program is Running (not blocked, not ended).
    Running(String),
    /// A process of this program has its mailbox `STATUS` at `status`.
    Mailbox {
        program: String,
        status: MailboxWord,
    },
    /// The kernel serviced `count` syscalls of this program's processes.
    Syscalls { program: String, count: u64 },
    /// `count` messages were delivered to this program's processes.
    Delivered { to: String, count: u64 },
    /// `count` messages were sent by this program's processes.
    Sent { from: String, count: u64 },
    /// An endpoint owned by this program holds at least `at_least` queued messages.
    QueueDepth { owner: String, at_least: usize },
    /// The kernel refused a request of this program with `error` (`PERMISSION_DENIED`, ...).
    Denied { program: String, error: String },
    /// A capability of this program's process changed by `action`.
    Capability { program: String, action: CapChange },
    /// A process of this program was spawned.
    Spawned(String),
    /// A process of this program ended with a trap.
    Trapped(String),
    /// A process of this program exited by itself (any code).
    Exited(String),
    /// A process of this program was killed.
    Killed(String),
    /// A process of this program wrote console text containing `text`.
    Printed { program: String, text: String },
    /// Every one of these.
    All(Vec<Wait>),
}

/// `MailboxStatus` as written in a lesson file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailboxWord {
    Idle,
    Pending,
    Ready,
}

/// `CapAction` as written in a lesson file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CapChange {
    Create,
    Grant,
    Derive,
    Transfer,
    Revoke,
    Delete,
}

impl CapChange {
    fn matches(self, action: &CapAction) -> bool {
        matches!(
            (self, action),
            (CapChange::Create, CapAction::Create)
                | (CapChange::Grant, CapAction::Grant { .. })
                | (CapChange::Derive, CapAction::Derive)
                | (CapChange::Transfer, CapAction::Transfer { .. })
                | (CapChange::Revoke, CapAction::Revoke)
                | (CapChange::Delete, CapAction::Delete)
        )
    }
}

/// Why a lesson file could not be used.
#[derive(Debug, Clone, PartialEq)]
pub enum LessonError {
    /// Not valid RON for a [`Lesson`]; 1-based line and column of the problem.
    Parse {
        line: usize,
        column: usize,
        message: String,
    },
    /// Valid RON that says something impossible (which step, what is wrong).
    Invalid(String),
}

impl std::fmt::Display for LessonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Parse {
                line,
                column,
                message,
            } => write!(f, "line {line}, column {column}: {message}"),
            Self::Invalid(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for LessonError {}

/// Parses and checks one lesson file.
pub fn parse_lesson(bytes: &[u8]) -> Result<Lesson, LessonError> {
    let lesson: Lesson = ron::de::from_bytes(bytes).map_err(|e| LessonError::Parse {
        line: e.span.start.line,
        column: e.span.start.col,
        message: e.code.to_string().trim_end().to_string(),
    })?;
    lesson.check()?;
    Ok(lesson)
}

/// A name the file gives for an error code, or what the known ones are.
pub fn error_code_named(name: &str) -> Result<ErrorCode, String> {
    ErrorCode::ALL
        .into_iter()
        .find(|c| c.name() == name)
        .ok_or_else(|| {
            let known: Vec<_> = ErrorCode::ALL.iter().map(|c| c.name()).collect();
            format!(
                "{name:?} is not an error code; use one of {}",
                known.join(", ")
            )
        })
}

impl Lesson {
    fn check(&self) -> Result<(), LessonError> {
        let invalid = |step: usize, why: String| {
            Err(LessonError::Invalid(format!("step {}: {why}", step + 1)))
        };
        if self.steps.is_empty() {
            return Err(LessonError::Invalid(
                "the lesson has no steps: add at least one to `steps`".into(),
            ));
        }
        if self.scenario.trim().is_empty() {
            return Err(LessonError::Invalid(
                "`scenario` is empty: name one of assets/scenarios (default, memory, ...)".into(),
            ));
        }
        for (i, step) in self.steps.iter().enumerate() {
            if step.caption.trim().is_empty() {
                return invalid(i, "the caption is empty".into());
            }
            if let Some(q) = &step.question {
                if q.choices.len() < 2 {
                    return invalid(i, "a question needs at least two choices".into());
                }
                if q.answer >= q.choices.len() {
                    return invalid(
                        i,
                        format!(
                            "answer: {} is not a choice (choices are numbered from 0 to {})",
                            q.answer,
                            q.choices.len() - 1
                        ),
                    );
                }
            }
            for action in &step.actions {
                if let Err(why) = check_action(action) {
                    return invalid(i, why);
                }
            }
            if let Some(wait) = &step.wait
                && let Err(why) = check_wait(wait)
            {
                return invalid(i, why);
            }
        }
        Ok(())
    }

    /// Every program the lesson names (in actions and waits), for a check against the manifest.
    pub fn programs(&self) -> Vec<&str> {
        let mut out = Vec::new();
        for step in &self.steps {
            for action in &step.actions {
                match action {
                    Action::Spawn(p) | Action::Kill(p) | Action::Select(p) => out.push(p.as_str()),
                    Action::Highlight(Highlight::Node(p)) => out.push(p.as_str()),
                    Action::Highlight(Highlight::Edge(a, b)) => {
                        out.push(a.as_str());
                        out.push(b.as_str());
                    }
                    _ => {}
                }
            }
            if let Some(wait) = &step.wait {
                wait.programs(&mut out);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

fn check_action(action: &Action) -> Result<(), String> {
    match action {
        Action::Spawn(p) | Action::Kill(p) | Action::Select(p) if p.trim().is_empty() => {
            Err(format!("{action:?} names no program"))
        }
        Action::SetSpeed(Speed::Slow(0)) => {
            Err("SetSpeed(Slow(0)) is not a speed; use Paused, Slow(4) or Slow(16)".into())
        }
        Action::Highlight(Highlight::MailboxWord(w)) if !MAILBOX_WORDS.contains(&w.as_str()) => {
            Err(format!(
                "MailboxWord({w:?}) is not a mailbox word; use one of {}",
                MAILBOX_WORDS.join(", ")
            ))
        }
        Action::Highlight(Highlight::Panel(p)) if !PANELS.contains(&p.as_str()) => Err(format!(
            "Panel({p:?}) is not a panel; use one of {}",
            PANELS.join(", ")
        )),
        _ => Ok(()),
    }
}

fn check_wait(wait: &Wait) -> Result<(), String> {
    match wait {
        Wait::Denied { error, .. } => error_code_named(error).map(|_| ()),
        Wait::Syscalls { count: 0, .. }
        | Wait::Delivered { count: 0, .. }
        | Wait::Sent { count: 0, .. } => Err(format!(
            "{wait:?} waits for nothing (a count of 0): use 1 or more"
        )),
        Wait::All(list) if list.is_empty() => Err("All([]) waits for nothing".into()),
        Wait::All(list) => list.iter().try_for_each(check_wait),
        _ => Ok(()),
    }
}

impl Wait {
    fn programs<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Wait::BlockedOnReceive(p)
            | Wait::Running(p)
            | Wait::Spawned(p)
            | Wait::Trapped(p)
            | Wait::Exited(p)
            | Wait::Killed(p)
            | Wait::Mailbox { program: p, .. }
            | Wait::Syscalls { program: p, .. }
            | Wait::Delivered { to: p, .. }
            | Wait::Sent { from: p, .. }
            | Wait::QueueDepth { owner: p, .. }
            | Wait::Denied { program: p, .. }
            | Wait::Capability { program: p, .. }
            | Wait::Printed { program: p, .. } => out.push(p),
            Wait::All(list) => list.iter().for_each(|w| w.programs(out)),
        }
    }

    /// What the card shows after "waiting for: ".
    pub fn describe(&self) -> String {
        match self {
            Wait::BlockedOnReceive(p) => format!("{p} to block on RECEIVE"),
            Wait::Running(p) => format!("{p} to be running"),
            Wait::Mailbox { program, status } => {
                format!("{program}'s mailbox STATUS to be {}", status.name())
            }
            Wait::Syscalls { program, count } => format!("{count} syscalls of {program}"),
            Wait::Delivered { to, count } => format!("{count} messages delivered to {to}"),
            Wait::Sent { from, count } => format!("{count} messages sent by {from}"),
            Wait::QueueDepth { owner, at_least } => {
                format!("{at_least} messages queued on {owner}'s endpoint")
            }
            Wait::Denied { program, error } => format!("the kernel to refuse {program}: {error}"),
            Wait::Capability { program, action } => {
                format!("a capability of {program}: {action:?}")
            }
            Wait::Spawned(p) => format!("{p} to start"),
            Wait::Trapped(p) => format!("{p} to trap"),
            Wait::Exited(p) => format!("{p} to exit"),
            Wait::Killed(p) => format!("{p} to be killed"),
            Wait::Printed { program, text } => format!("{program} to print {text:?}"),
            Wait::All(list) => list
                .iter()
                .map(Wait::describe)
                .collect::<Vec<_>>()
                .join(" and "),
        }
    }
}

impl MailboxWord {
    fn name(self) -> &'static str {
        match self {
            MailboxWord::Idle => "IDLE",
            MailboxWord::Pending => "PENDING",
            MailboxWord::Ready => "READY",
        }
    }

    fn matches(self, status: MailboxStatus) -> bool {
        matches!(
            (self, status),
            (MailboxWord::Idle, MailboxStatus::Idle)
                | (MailboxWord::Pending, MailboxStatus::Pending)
                | (MailboxWord::Ready, MailboxStatus::Ready)
        )
    }
}

/// The newest live (not ended) process of `program`.
pub fn newest_live(supervisor: &Supervisor, program: &str) -> Option<ProcessId> {
    supervisor
        .kernel()
        .processes()
        .values()
        .filter(|p| p.name == program && !p.state.is_zombie())
        .map(|p| p.pid)
        .max()
}

/// The mailbox header words of the syscall flow as they are now (name, value), for the lesson
/// card's mailbox strip: read-only loads of the shared words, `None` once the guest is gone.
pub fn mailbox_words(supervisor: &Supervisor, pid: ProcessId) -> Option<Vec<(&'static str, i32)>> {
    use crate::abi::mailbox as mb;
    let guest = supervisor.guests.get(&pid)?;
    let words = [
        ("STATUS", mb::STATUS),
        ("SYSCALL", mb::SYSCALL),
        ("ARG0", mb::ARG0),
        ("ARG1", mb::ARG1),
        ("ARG2", mb::ARG2),
        ("RESULT", mb::RESULT),
        ("DATA_LEN", mb::DATA_LEN),
        ("LAST_SERVICED", mb::LAST_SERVICED),
        ("GUEST_WAITING", mb::GUEST_WAITING),
        ("SEQ", mb::SEQ),
    ];
    Some(
        words
            .into_iter()
            .map(|(name, offset)| (name, guest.mailbox.load(offset)))
            .collect(),
    )
}

/// How far a [`Wait`] is: event counts since the step began, and whether it is met.
#[derive(Clone, Debug)]
pub struct WaitProgress {
    wait: Wait,
    /// Per leaf of the wait (one, or one per `All` member): events counted, met.
    leaves: Vec<(u64, bool)>,
    /// Program of every pid seen, so events about processes already gone still match.
    names: BTreeMap<ProcessId, String>,
    /// Queue depth of every endpoint, followed message by message (sent +1, delivered -1) from
    /// the depth at the start, so a queue that fills and drains between two frames still counts.
    depths: BTreeMap<EndpointId, i64>,
    /// What the kernel and the console held when the step began.
    start: StepStart,
}

/// The kernel's state when a step began, for the state checks behind the event counts.
///
/// The kernel's event queue is bounded (65,536 events) and drops its oldest events when a frame
/// comes late: under a pingpong pair on a busy machine that is about a second of traffic, and a
/// trap, a kill or a line of output among it would be lost. So each wait is also read from what
/// the kernel keeps (its process table, its ended-process log, the per-process counters) and
/// from the console log, against this start.
#[derive(Clone, Debug)]
struct StepStart {
    /// Processes with this pid or above were spawned after the step began.
    next_pid: ProcessId,
    /// Zombies in the table, and processes in the ended log, at the start.
    ended: BTreeSet<ProcessId>,
    /// [`Supervisor::console_pushed`] at the start, then at the last poll (the lines before it
    /// were read).
    console_mark: u64,
    /// Per process at the start: syscalls serviced, messages sent, messages received.
    counters: BTreeMap<ProcessId, [u64; 3]>,
    /// Capability-log entries ever written (kept plus dropped) at the start.
    cap_log_mark: u64,
    /// The recording's next input index at the start (its markers name refused requests).
    input_mark: u64,
}

/// Capability-log entries the kernel ever wrote: those it keeps plus those that fell off.
fn cap_log_written(kernel: &crate::kernel::Kernel) -> u64 {
    kernel.capability_log().len() as u64 + kernel.logs_dropped().1
}

impl StepStart {
    fn of(supervisor: &Supervisor) -> StepStart {
        let kernel = supervisor.kernel();
        let processes = kernel.processes().values();
        StepStart {
            next_pid: kernel.next_pid(),
            ended: processes
                .clone()
                .filter(|p| p.state.is_zombie())
                .map(|p| p.pid)
                .chain(kernel.ended_processes().iter().map(|e| e.pid))
                .collect(),
            console_mark: supervisor.console_pushed(),
            counters: processes.map(|p| (p.pid, counters(&p.metrics))).collect(),
            cap_log_mark: cap_log_written(kernel),
            input_mark: supervisor.recording().end(),
        }
    }
}

/// Syscalls serviced, messages sent, messages received.
fn counters(m: &crate::kernel::ProcessMetrics) -> [u64; 3] {
    [m.syscall_count, m.ipc_sent, m.ipc_received]
}

impl WaitProgress {
    pub fn new(wait: Wait, supervisor: &Supervisor) -> WaitProgress {
        let leaves = match &wait {
            Wait::All(list) => vec![(0, false); list.len()],
            _ => vec![(0, false)],
        };
        let depths = supervisor
            .kernel()
            .endpoints()
            .iter()
            .map(|e| (e.id, e.queue_len as i64))
            .collect();
        let mut progress = WaitProgress {
            wait,
            leaves,
            names: BTreeMap::new(),
            depths,
            start: StepStart::of(supervisor),
        };
        progress.poll(supervisor);
        progress
    }

    pub fn wait(&self) -> &Wait {
        &self.wait
    }

    pub fn met(&self) -> bool {
        self.leaves.iter().all(|(_, met)| *met)
    }

    /// "3/10 messages delivered to receiver", for the card.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .leaf_waits()
            .iter()
            .zip(&self.leaves)
            .map(|(w, (count, met))| match (w, met) {
                (_, true) => format!("{} (done)", w.describe()),
                (
                    Wait::Syscalls { count: n, .. }
                    | Wait::Delivered { count: n, .. }
                    | Wait::Sent { count: n, .. },
                    false,
                ) => format!("{} ({count}/{n})", w.describe()),
                _ => w.describe(),
            })
            .collect();
        parts.join(" and ")
    }

    fn leaf_waits(&self) -> Vec<Wait> {
        match &self.wait {
            Wait::All(list) => list.clone(),
            other => vec![other.clone()],
        }
    }

    fn program_of(&self, pid: ProcessId, supervisor: &Supervisor) -> Option<String> {
        if let Some(p) = supervisor.kernel().process(pid) {
            return Some(p.name.clone());
        }
        if let Some(name) = self.names.get(&pid) {
            return Some(name.clone());
        }
        supervisor
            .kernel()
            .ended_processes()
            .iter()
            .find(|e| e.pid == pid)
            .map(|e| e.name.clone())
    }

    /// Takes one kernel event (in kernel order, as published after the step began).
    pub fn observe(&mut self, event: &KernelEvent, supervisor: &Supervisor) {
        match event {
            KernelEvent::ProcessSpawned { pid, name, .. } => {
                self.names.insert(*pid, name.clone());
            }
            KernelEvent::MessageSent { endpoint, .. } => {
                *self.depths.entry(*endpoint).or_default() += 1;
            }
            KernelEvent::MessageDelivered { endpoint, .. } => {
                *self.depths.entry(*endpoint).or_default() -= 1;
            }
            _ => {}
        }
        for (index, wait) in self.leaf_waits().iter().enumerate() {
            if self.leaves[index].1 || !self.counts(wait, event, supervisor) {
                continue;
            }
            let (count, met) = &mut self.leaves[index];
            *count += 1;
            *met = match wait {
                Wait::Syscalls { count: n, .. }
                | Wait::Delivered { count: n, .. }
                | Wait::Sent { count: n, .. } => *count >= *n,
                _ => true,
            };
        }
    }

    /// Whether `event` is one that `wait` counts.
    fn counts(&self, wait: &Wait, event: &KernelEvent, supervisor: &Supervisor) -> bool {
        let is = |pid: &ProcessId, program: &str| {
            self.program_of(*pid, supervisor).as_deref() == Some(program)
        };
        match (wait, event) {
            (Wait::Syscalls { program, .. }, KernelEvent::SyscallServiced { pid, .. }) => {
                is(pid, program)
            }
            (Wait::Delivered { to, .. }, KernelEvent::MessageDelivered { to: pid, .. }) => {
                is(pid, to)
            }
            (Wait::Sent { from, .. }, KernelEvent::MessageSent { from: pid, .. }) => is(pid, from),
            (
                Wait::Denied { program, error },
                KernelEvent::RequestDenied {
                    pid, error: code, ..
                },
            ) => code.name() == error && is(pid, program),
            (
                Wait::Capability { program, action },
                KernelEvent::CapabilityChanged {
                    pid, action: got, ..
                },
            ) => action.matches(got) && is(pid, program),
            (
                Wait::QueueDepth { owner, at_least },
                KernelEvent::MessageSent { to, endpoint, .. },
            ) => {
                self.depths.get(endpoint).copied().unwrap_or(0) >= *at_least as i64 && is(to, owner)
            }
            (Wait::Spawned(program), KernelEvent::ProcessSpawned { name, .. }) => name == program,
            (
                Wait::Trapped(program),
                KernelEvent::ProcessExited {
                    pid,
                    reason: ExitReason::Trapped { .. },
                    ..
                },
            ) => is(pid, program),
            (
                Wait::Exited(program),
                KernelEvent::ProcessExited {
                    pid,
                    reason: ExitReason::Exited { .. },
                    ..
                },
            ) => is(pid, program),
            (Wait::Killed(program), KernelEvent::ProcessKilled { pid, .. }) => is(pid, program),
            (Wait::Printed { program, text }, KernelEvent::ConsoleOutput { pid, text: t, .. }) => {
                t.contains(text.as_str()) && is(pid, program)
            }
            _ => false,
        }
    }

    /// Reads the state conditions from the kernel and the mailboxes as they are now, and what
    /// the kernel and the console log kept since the step began (see [`StepStart`]).
    pub fn poll(&mut self, supervisor: &Supervisor) {
        let kernel = supervisor.kernel();
        for (index, wait) in self.leaf_waits().iter().enumerate() {
            if self.leaves[index].1 {
                continue;
            }
            if let Some(n) = self.count_since_start(wait, supervisor) {
                let count = &mut self.leaves[index].0;
                *count = (*count).max(n);
            }
            let of = |program: &str| {
                kernel
                    .processes()
                    .values()
                    .filter(move |p| p.name == program)
                    .collect::<Vec<_>>()
            };
            let met = match wait {
                Wait::BlockedOnReceive(program) => of(program).iter().any(|p| {
                    matches!(
                        p.state,
                        ProcessState::Blocked(crate::kernel::BlockReason::Receive { .. })
                    )
                }),
                Wait::Running(program) => {
                    of(program).iter().any(|p| p.state == ProcessState::Running)
                }
                Wait::Mailbox { program, status } => of(program).iter().any(|p| {
                    supervisor
                        .mailbox_status(p.pid)
                        .is_some_and(|s| status.matches(s))
                }),
                Wait::QueueDepth { owner, at_least } => of(owner).iter().any(|p| {
                    kernel
                        .endpoints_of(p.pid)
                        .iter()
                        .any(|e| e.queue_len >= *at_least)
                }),
                Wait::Syscalls { count: n, .. }
                | Wait::Delivered { count: n, .. }
                | Wait::Sent { count: n, .. } => self.leaves[index].0 >= *n,
                Wait::Spawned(_)
                | Wait::Trapped(_)
                | Wait::Exited(_)
                | Wait::Killed(_)
                | Wait::Printed { .. }
                | Wait::Denied { .. }
                | Wait::Capability { .. } => self.happened_since_start(wait, supervisor),
                _ => false,
            };
            if met {
                self.leaves[index].1 = true;
            }
        }
        // Every unmet Printed wait has read the new console lines: the next poll starts after them.
        self.start.console_mark = supervisor.console_pushed();
    }

    /// For the counting waits: how many the kernel's per-process counters grew since the step
    /// began, over the program's processes (live, Zombie, or killed and in the ended log).
    fn count_since_start(&self, wait: &Wait, supervisor: &Supervisor) -> Option<u64> {
        let (program, which) = match wait {
            Wait::Syscalls { program, .. } => (program, 0),
            Wait::Sent { from, .. } => (from, 1),
            Wait::Delivered { to, .. } => (to, 2),
            _ => return None,
        };
        let kernel = supervisor.kernel();
        let now = kernel
            .processes()
            .values()
            .map(|p| (p.pid, &p.name, &p.metrics))
            .chain(
                kernel
                    .ended_processes()
                    .iter()
                    .filter(|e| !self.start.ended.contains(&e.pid))
                    .map(|e| (e.pid, &e.name, &e.metrics)),
            );
        Some(
            now.filter(|(_, name, _)| *name == program)
                .map(|(pid, _, metrics)| {
                    let before = self.start.counters.get(&pid).map_or(0, |c| c[which]);
                    counters(metrics)[which].saturating_sub(before)
                })
                .sum(),
        )
    }

    /// For the waits on one thing happening: whether the kernel's table, its ended log or the
    /// console log shows it happened since the step began.
    fn happened_since_start(&self, wait: &Wait, supervisor: &Supervisor) -> bool {
        let kernel = supervisor.kernel();
        let start = &self.start;
        // A process of `program` that ended after the step began, for a reason `why` accepts:
        // a Zombie in the table, or a killed process in the ended log.
        let ended_since = |program: &str, why: fn(&ExitReason) -> bool| {
            let zombies = kernel.processes().values().filter_map(|p| match &p.state {
                ProcessState::Zombie(reason) => Some((p.pid, &p.name, reason)),
                _ => None,
            });
            let killed = kernel
                .ended_processes()
                .iter()
                .map(|e| (e.pid, &e.name, &e.reason));
            zombies.chain(killed).any(|(pid, name, reason)| {
                name == program && !start.ended.contains(&pid) && why(reason)
            })
        };
        match wait {
            Wait::Spawned(program) => {
                let kept = kernel.processes().values().map(|p| (p.pid, &p.name));
                let gone = kernel.ended_processes().iter().map(|e| (e.pid, &e.name));
                kept.chain(gone)
                    .any(|(pid, name)| name == program && pid >= start.next_pid)
            }
            Wait::Trapped(program) => {
                ended_since(program, |r| matches!(r, ExitReason::Trapped { .. }))
            }
            Wait::Exited(program) => {
                ended_since(program, |r| matches!(r, ExitReason::Exited { .. }))
            }
            Wait::Killed(program) => {
                ended_since(program, |r| matches!(r, ExitReason::Killed { .. }))
            }
            Wait::Denied { program, error } => supervisor.markers().any(|m| {
                m.index >= start.input_mark
                    && matches!(&m.kind, MarkerKind::Denied { error: e, .. } if e == error)
                    && self.program_of(ProcessId(m.pid), supervisor).as_deref() == Some(program)
            }),
            Wait::Capability { program, action } => {
                let log = kernel.capability_log();
                let new = cap_log_written(kernel).saturating_sub(start.cap_log_mark);
                log.iter()
                    .skip(log.len().saturating_sub(new as usize))
                    .any(|e| {
                        action.matches(&e.action)
                            && self.program_of(e.pid, supervisor).as_deref() == Some(program)
                    })
            }
            Wait::Printed { program, text } => supervisor
                .console_since(start.console_mark)
                .filter(|l| l.kind == crate::console::ConsoleKind::Output)
                .any(|l| {
                    l.text.contains(text.as_str())
                        && self.program_of(l.pid, supervisor).as_deref() == Some(program)
                }),
            _ => false,
        }
    }
}

/// Splits a caption into (text, bold, code) spans: `**bold**` and `` `code` ``. An unclosed
/// marker is kept as text.
pub fn caption_spans(caption: &str) -> Vec<(String, bool, bool)> {
    let mut spans = Vec::new();
    let mut rest = caption;
    let (mut bold, mut code) = (false, false);
    let mut text = String::new();
    while !rest.is_empty() {
        if !code && rest.starts_with("**") && (bold || rest[2..].contains("**")) {
            if !text.is_empty() {
                spans.push((std::mem::take(&mut text), bold, code));
            }
            bold = !bold;
            rest = &rest[2..];
        } else if rest.starts_with('`') && (code || rest[1..].contains('`')) {
            if !text.is_empty() {
                spans.push((std::mem::take(&mut text), bold, code));
            }
            code = !code;
            rest = &rest[1..];
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            text.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    if !text.is_empty() {
        spans.push((text, bold, code));
    }
    spans
}

/// A lesson being played: the step shown, its wait, the answer revealed or not.
#[derive(Clone, Debug)]
pub struct LessonRun {
    pub name: String,
    pub lesson: Lesson,
    step: usize,
    progress: Option<WaitProgress>,
    /// When the current step's wait was met (seconds on the caller's clock).
    met_at_secs: Option<f64>,
    pub answer_revealed: bool,
    /// How long a met step stays on screen before the next one (seconds).
    pub hold_secs: f64,
}

/// What entering a step asks the app to do.
#[derive(Clone, Debug, PartialEq)]
pub struct StepEntry {
    pub step: usize,
    pub actions: Vec<Action>,
    /// Entered going back (Previous): the app also rewinds the view there, when it can.
    pub backwards: bool,
}

impl LessonRun {
    /// Starts at step `step` (0-based; clamped to the last step).
    pub fn new(name: &str, lesson: Lesson, step: usize, hold_secs: f64) -> LessonRun {
        let step = step.min(lesson.steps.len().saturating_sub(1));
        LessonRun {
            name: name.to_string(),
            lesson,
            step,
            progress: None,
            met_at_secs: None,
            answer_revealed: false,
            hold_secs,
        }
    }

    pub fn step(&self) -> usize {
        self.step
    }

    pub fn steps(&self) -> usize {
        self.lesson.steps.len()
    }

    pub fn current(&self) -> &LessonStep {
        &self.lesson.steps[self.step]
    }

    /// The current step's wait is met (or it has none).
    pub fn step_met(&self) -> bool {
        self.progress.as_ref().is_none_or(WaitProgress::met)
    }

    /// The last step is shown and its wait (if any) is met.
    pub fn done(&self) -> bool {
        self.step + 1 == self.steps() && self.step_met()
    }

    /// "waiting for: ..." text, while the wait is not met.
    pub fn waiting_for(&self) -> Option<String> {
        self.progress
            .as_ref()
            .filter(|p| !p.met())
            .map(WaitProgress::describe)
    }

    /// Enters the current step: starts its wait and returns its actions (all of them, or only
    /// the view-only ones when going back).
    pub fn enter(&mut self, supervisor: &Supervisor, backwards: bool) -> StepEntry {
        let step = self.current().clone();
        self.answer_revealed = false;
        self.met_at_secs = None;
        self.progress = step.wait.map(|w| WaitProgress::new(w, supervisor));
        let actions = step
            .actions
            .into_iter()
            .filter(|a| !backwards || a.is_view_only())
            .collect();
        StepEntry {
            step: self.step,
            actions,
            backwards,
        }
    }

    /// The teacher's Next: the following step (none after the last).
    pub fn next(&mut self, supervisor: &Supervisor) -> Option<StepEntry> {
        if self.step + 1 >= self.steps() {
            return None;
        }
        self.step += 1;
        Some(self.enter(supervisor, false))
    }

    /// The teacher's Previous: the step before (none before the first).
    pub fn previous(&mut self, supervisor: &Supervisor) -> Option<StepEntry> {
        if self.step == 0 {
            return None;
        }
        self.step -= 1;
        Some(self.enter(supervisor, true))
    }

    /// Feeds one kernel event to the current wait.
    pub fn observe(&mut self, event: &KernelEvent, supervisor: &Supervisor) {
        if let Some(progress) = &mut self.progress {
            progress.observe(event, supervisor);
        }
    }

    /// Once per frame after the events: polls state waits and, when the wait has been met for
    /// `hold_secs`, moves on by itself (revealing the answer to a question first).
    pub fn update(&mut self, supervisor: &Supervisor, now_secs: f64) -> Option<StepEntry> {
        let progress = self.progress.as_mut()?;
        progress.poll(supervisor);
        if !progress.met() {
            return None;
        }
        let met_at = *self.met_at_secs.get_or_insert(now_secs);
        if self.current().question.is_some() {
            self.answer_revealed = true;
        }
        if now_secs - met_at < self.hold_secs {
            return None;
        }
        self.next(supervisor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::scripted_supervisor;

    const SMALL: &str = r#"(
    title: "t",
    scenario: "default",
    steps: [
        (caption: "one", wait: Some(Spawned("idle"))),
        (caption: "two", actions: [SetSpeed(Slow(16)), Spawn("idle")], wait: Some(Delivered(to: "receiver", count: 2))),
        (caption: "three", question: Some((text: "q", choices: ["a", "b"], answer: 1))),
    ],
)"#;

    /// The lesson examples a teacher copies from the docs parse (comments and all).
    #[test]
    fn the_lesson_examples_in_the_docs_parse() {
        for (doc, text) in [
            ("docs/TEACHING.md", include_str!("../../docs/TEACHING.md")),
            ("docs/LESSONS.md", include_str!("../../docs/LESSONS.md")),
        ] {
            let start = text
                .find("```ron\n")
                .unwrap_or_else(|| panic!("{doc} has no ```ron example"))
                + "```ron\n".len();
            let end = start + text[start..].find("```").expect("the example ends");
            let lesson = parse_lesson(&text.as_bytes()[start..end])
                .unwrap_or_else(|e| panic!("the example in {doc} does not parse: {e}"));
            assert!(!lesson.steps.is_empty(), "{doc}");
        }
    }

    #[test]
    fn parse_errors_carry_line_and_column() {
        let broken = "(\n    title: \"t\"\n    scenario: \"default\",\n    steps: [],\n)";
        match parse_lesson(broken.as_bytes()) {
            Err(LessonError::Parse { line, column, .. }) => {
                assert_eq!(line, 3);
                assert!(column > 0);
            }
            other => panic!("{other:?}"),
        }
        let unknown_error = SMALL.replace(
            "Spawned(\"idle\")",
            "Denied(program: \"rogue\", error: \"NOPE\")",
        );
        let e = parse_lesson(unknown_error.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("step 1") && e.contains("NOPE") && e.contains("PERMISSION_DENIED"),
            "{e}"
        );
        let bad_answer = SMALL.replace("answer: 1", "answer: 5");
        let e = parse_lesson(bad_answer.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("step 3") && e.contains("answer: 5"), "{e}");
    }

    #[test]
    fn next_previous_and_done() {
        let (sup, _guests, _time) = scripted_supervisor();
        let lesson = parse_lesson(SMALL.as_bytes()).unwrap();
        assert_eq!(lesson.programs(), ["idle", "receiver"]);
        let mut run = LessonRun::new("small", lesson, 0, 0.0);
        run.enter(&sup, false);
        assert_eq!(run.waiting_for().as_deref(), Some("idle to start"));
        let entry = run.next(&sup).unwrap();
        assert_eq!(entry.actions.len(), 2);
        let back = run.previous(&sup).unwrap();
        assert!(back.backwards && back.step == 0);
        run.next(&sup).unwrap();
        let back = run.previous(&sup).unwrap();
        assert!(back.actions.is_empty());
        run.next(&sup);
        // Going back from step 2 repeats only the speed, not the spawn.
        run.next(&sup);
        assert_eq!(run.step(), 2);
        assert!(run.done(), "a last step without a wait is done when shown");
        let back = run.previous(&sup).unwrap();
        assert_eq!(back.actions, [Action::SetSpeed(Speed::Slow(16))]);
        assert!(!run.done());
        assert!(run.previous(&sup).is_some());
        assert!(run.previous(&sup).is_none());
    }

    #[test]
    fn waits_count_kernel_events_of_the_named_program() {
        let (mut sup, _guests, _time) = scripted_supervisor();
        sup.boot().unwrap();
        let receiver = sup.spawn_program("receiver").unwrap();
        let wait = Wait::Delivered {
            to: "receiver".into(),
            count: 2,
        };
        let mut progress = WaitProgress::new(wait, &sup);
        let delivered = |to| KernelEvent::MessageDelivered {
            from: ProcessId(1),
            to,
            endpoint: crate::kernel::EndpointId(1),
            tag: 0,
            bytes: 4,
            at_ns: 0,
        };
        progress.observe(&delivered(ProcessId(1)), &sup);
        progress.observe(&delivered(receiver), &sup);
        assert!(!progress.met());
        assert_eq!(
            progress.describe(),
            "2 messages delivered to receiver (1/2)"
        );
        progress.observe(&delivered(receiver), &sup);
        assert!(progress.met());
    }

    /// A late frame: the kernel's bounded event queue dropped the events (simulated here by
    /// draining them unread). The waits still end, from the process table, the ended log, the
    /// per-process counters and the console log; and nothing from before the step counts.
    #[test]
    fn waits_end_from_kernel_state_when_the_events_were_dropped() {
        use crate::abi::{mailbox as mb, nr};
        use std::sync::atomic::Ordering;
        let (mut sup, guests, _time) = scripted_supervisor();
        sup.boot().unwrap();
        // Before the step: a crasher that already trapped, and a spinner still running.
        let old = sup.spawn_program("crasher").unwrap();
        guests.exit(old, crate::GuestExitKind::Trapped("unreachable".into()));
        let spinner = sup.spawn_program("spinner").unwrap();
        sup.service_pending(sup.now_ns());
        drop(sup.drain_events());

        let wait = Wait::All(vec![
            Wait::Spawned("crasher".into()),
            Wait::Printed {
                program: "crasher".into(),
                text: "boom".into(),
            },
            Wait::Syscalls {
                program: "crasher".into(),
                count: 2,
            },
            Wait::Denied {
                program: "crasher".into(),
                error: "BAD_SLOT".into(),
            },
            Wait::Capability {
                program: "crasher".into(),
                action: CapChange::Create,
            },
            Wait::Trapped("crasher".into()),
            Wait::Killed("spinner".into()),
        ]);
        let mut progress = WaitProgress::new(wait, &sup);
        progress.poll(&sup);
        assert!(!progress.met(), "{}", progress.describe());

        let crasher = sup.spawn_program("crasher").unwrap();
        let w = guests.mailbox(crasher).unwrap();
        let set = |offset: usize, value: i32| w.word(offset).store(value as u32, Ordering::SeqCst);
        // Slot 0 is the console capability; slot 99 holds nothing.
        for (number, slot, data) in [
            (nr::CONSOLE_WRITE, 0, &b"crasher: boom"[..]),
            (nr::GET_PID, 0, &[]),
            (nr::CONSOLE_WRITE, 99, &b"nobody reads this"[..]),
            (nr::ENDPOINT_CREATE, 0, &[]),
        ] {
            set(mb::SYSCALL, number as i32);
            set(mb::ARG0, slot);
            w.write_bytes(data);
            set(mb::DATA_LEN, data.len() as i32);
            set(mb::STATUS, mb::STATUS_PENDING);
            sup.service_pending(sup.now_ns());
            set(mb::STATUS, mb::STATUS_IDLE);
        }
        drop(sup.drain_events());
        progress.poll(&sup);
        assert_eq!(
            progress.describe(),
            "crasher to start (done) and crasher to print \"boom\" (done) and 2 syscalls of \
             crasher (done) and the kernel to refuse crasher: BAD_SLOT (done) and a capability of \
             crasher: Create (done) and crasher to trap and spinner to be killed"
        );

        guests.exit(crasher, crate::GuestExitKind::Trapped("unreachable".into()));
        sup.service_pending(sup.now_ns());
        sup.kill(spinner).unwrap();
        drop(sup.drain_events());
        progress.poll(&sup);
        assert!(progress.met(), "{}", progress.describe());
    }

    #[test]
    fn queue_depth_follows_messages_between_frames() {
        let (mut sup, _guests, _time) = scripted_supervisor();
        sup.boot().unwrap();
        let receiver = sup.spawn_program("receiver").unwrap();
        let endpoint = sup.kernel().endpoints_of(receiver)[0].id;
        let wait = Wait::QueueDepth {
            owner: "receiver".into(),
            at_least: 2,
        };
        let mut progress = WaitProgress::new(wait, &sup);
        let sent = KernelEvent::MessageSent {
            from: ProcessId(1),
            to: receiver,
            endpoint,
            tag: 0,
            bytes: 4,
            at_ns: 0,
        };
        let delivered = KernelEvent::MessageDelivered {
            from: ProcessId(1),
            to: receiver,
            endpoint,
            tag: 0,
            bytes: 4,
            at_ns: 0,
        };
        // Handed straight to a waiting receiver: never two queued.
        for event in [&sent, &delivered, &sent, &delivered] {
            progress.observe(event, &sup);
        }
        assert!(!progress.met());
        // Two sends before the receiver takes one: two were queued, even if nobody looked.
        for event in [&sent, &sent, &delivered, &delivered] {
            progress.observe(event, &sup);
        }
        assert!(progress.met());
    }

    #[test]
    fn captions_format_bold_and_code() {
        assert_eq!(
            caption_spans("a **b** `c` d*"),
            [
                ("a ".to_string(), false, false),
                ("b".to_string(), true, false),
                (" ".to_string(), false, false),
                ("c".to_string(), false, true),
                (" d*".to_string(), false, false),
            ]
        );
    }
}
