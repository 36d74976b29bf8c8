//! [`Supervisor`]: the kernel, the program manifest, the host and the mailbox-to-process map in
//! one place, behind the [`SupervisorHandle`](super::SupervisorHandle) lock.
//!
//! Everything that changes processes goes through here: spawning (manifest lookup, kernel
//! registration, capability wiring, host start), killing, console input, and servicing mailboxes
//! (the seven-step flow of docs/ABI.md). The PID of a syscall is the key under which the
//! supervisor stored the mailbox at spawn, never a value read from the mailbox.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::time::Duration;

use bevy::platform::time::Instant;

use super::host::{GuestExitKind, Host, HostError};
use super::mailbox::Mailbox;
use super::manifest::{Manifest, ProgramSpec};
use crate::abi::{self, ErrorCode, Syscall, mailbox as mb, rights};
use crate::kernel::{
    Dispatch, Effect, EndpointId, ExitReason, Kernel, KernelConfig, KernelEvent, ObjectRef, ProcessId, ProcessState,
    Reply, SyscallArgs,
};

/// Console lines kept for the terminal panel.
pub const CONSOLE_LOG_CAPACITY: usize = 2_000;

/// How fast the servicer runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimeControl {
    /// Every pending syscall is serviced as soon as the doorbell rings.
    Running,
    /// Nothing is serviced; pending syscalls stay pending. [`Supervisor::step`] services one.
    Paused,
    /// At most `syscalls_per_sec` syscalls are serviced per second, across all processes.
    Slow { syscalls_per_sec: f32 },
}

impl TimeControl {
    /// "1/4x": slow enough to follow messages by eye.
    pub const QUARTER: TimeControl = TimeControl::Slow { syscalls_per_sec: 16.0 };
    /// "1/16x": one syscall at a time, a few a second.
    pub const SIXTEENTH: TimeControl = TimeControl::Slow { syscalls_per_sec: 4.0 };
    /// What the UI offers, with labels.
    pub const PRESETS: [(&'static str, TimeControl); 4] = [
        ("1x", TimeControl::Running),
        ("1/4x (16 syscalls/s)", TimeControl::QUARTER),
        ("1/16x (4 syscalls/s)", TimeControl::SIXTEENTH),
        ("paused", TimeControl::Paused),
    ];

    pub fn label(&self) -> String {
        match self {
            TimeControl::Running => "running".into(),
            TimeControl::Paused => "paused".into(),
            TimeControl::Slow { syscalls_per_sec } => format!("slow: {syscalls_per_sec} syscalls/s"),
        }
    }
}

/// The mailbox light for the UI: the `STATUS` word of the process's mailbox.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MailboxStatus {
    /// No syscall in progress (or no mailbox: the guest has stopped).
    #[default]
    Idle,
    /// A syscall is waiting to be serviced, or is blocked in the kernel (RECEIVE, SLEEP).
    Pending,
    /// The reply is written; the guest has not picked it up yet.
    Ready,
}

/// The last syscall the supervisor serviced for a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServicedCall {
    pub syscall: u32,
    pub result: i32,
    pub at_ns: u64,
}

impl ServicedCall {
    pub fn name(&self) -> &'static str {
        Syscall::from_raw(self.syscall).map_or("UNKNOWN", Syscall::name)
    }
}

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

/// Why a spawn was refused. `Display` says what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpawnError {
    UnknownProgram { name: String, available: Vec<String> },
    MissingProvider { program: String, service: String, provider: String },
    Kernel { program: String, error: ErrorCode },
    Host { program: String, error: HostError },
}

impl SpawnError {
    /// The code a SPAWN syscall returns for this refusal.
    pub fn code(&self) -> ErrorCode {
        match self {
            SpawnError::UnknownProgram { .. } => ErrorCode::NoSuchProgram,
            SpawnError::MissingProvider { .. } => ErrorCode::PeerGone,
            SpawnError::Kernel { error, .. } => *error,
            SpawnError::Host { .. } => ErrorCode::NoSuchProgram,
        }
    }
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::UnknownProgram { name, available } => {
                write!(f, "no program named {name:?}; available: {}", available.join(", "))
            }
            SpawnError::MissingProvider { program, service, provider } => write!(
                f,
                "{program} needs a running {provider} (service {service}): spawn {provider} first"
            ),
            SpawnError::Kernel { program, error } => {
                write!(f, "cannot spawn {program}: {} ({})", error.describe(), error.name())
            }
            SpawnError::Host { program, error } => write!(f, "cannot spawn {program}: {error}"),
        }
    }
}

impl std::error::Error for SpawnError {}

/// Why a kill was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KillError {
    NoSuchProcess { pid: ProcessId },
    Protected { pid: ProcessId, name: String },
    Kernel { pid: ProcessId, error: ErrorCode },
}

impl fmt::Display for KillError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KillError::NoSuchProcess { pid } => write!(f, "no process with pid {}", pid.0),
            KillError::Protected { pid, name } => {
                write!(f, "{name} (pid {}) is a protected system process and cannot be killed", pid.0)
            }
            KillError::Kernel { pid, error } => {
                write!(f, "cannot kill pid {}: {} ({})", pid.0, error.describe(), error.name())
            }
        }
    }
}

impl std::error::Error for KillError {}

/// A live guest: its mailbox, as the host handed it over at spawn.
struct Guest {
    mailbox: Box<dyn Mailbox>,
    worker_id: u32,
    /// The syscall dispatched and still blocked in the kernel (RECEIVE, SLEEP), if any.
    in_flight: Option<u32>,
    reported_memory_bytes: u32,
    /// The mailbox's `HOST_REFUSALS` count as last reported to the kernel.
    reported_host_refusals: u32,
}

/// An endpoint published under a service name (`receiver.inbox`).
struct Provider {
    service: String,
    pid: ProcessId,
    endpoint: EndpointId,
}

/// The kernel and everything around it. See the module docs.
pub struct Supervisor {
    kernel: Kernel,
    manifest: Manifest,
    host: Box<dyn Host>,
    /// The mailbox → process map: the only source of a syscall's PID.
    guests: BTreeMap<ProcessId, Guest>,
    providers: Vec<Provider>,
    /// Endpoints already wired to a client through an `exclusive` connect.
    exclusive_wired: BTreeSet<EndpointId>,
    last_serviced: BTreeMap<ProcessId, ServicedCall>,
    time: TimeControl,
    step_credits: u32,
    slow_tokens: f64,
    slow_refilled_ns: u64,
    /// Where the next round-robin scan starts, so slow motion is fair.
    scan_from: ProcessId,
    console: VecDeque<ConsoleLine>,
    started: Instant,
    /// When a host's own servicer (the web host's `Atomics.waitAsync` callback) last ran, so the
    /// per-frame fallback can stand aside while it is alive.
    servicer_ran_ns: Option<u64>,
}

impl Supervisor {
    pub fn new(manifest: Manifest, host: Box<dyn Host>, config: KernelConfig) -> Supervisor {
        Supervisor {
            kernel: Kernel::new(config),
            manifest,
            host,
            guests: BTreeMap::new(),
            providers: Vec::new(),
            exclusive_wired: BTreeSet::new(),
            last_serviced: BTreeMap::new(),
            time: TimeControl::Running,
            step_credits: 0,
            slow_tokens: 0.0,
            slow_refilled_ns: 0,
            scan_from: ProcessId(0),
            console: VecDeque::new(),
            started: Instant::now(),
            servicer_ran_ns: None,
        }
    }

    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn host(&self) -> &dyn Host {
        &*self.host
    }

    /// Guest threads or workers still alive.
    pub fn live_guests(&self) -> usize {
        self.host.live_guests()
    }

    /// Nanoseconds since the supervisor was created: the kernel's clock.
    pub fn now_ns(&self) -> u64 {
        self.started.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64
    }

    /// Spawns `init`, which spawns the rest of the default set through SPAWN.
    pub fn boot(&mut self) -> Result<ProcessId, SpawnError> {
        self.spawn_program("init")
    }

    /// Spawns a program from the manifest: registers it with the kernel, grants the capabilities
    /// its manifest entry declares (docs/ABI.md, "Capabilities"), and starts its guest. A refusal
    /// is also written to the console log, so it reaches a person whoever asked.
    pub fn spawn_program(&mut self, name: &str) -> Result<ProcessId, SpawnError> {
        let result = self.try_spawn(name);
        if let Err(error) = &result {
            bevy::log::warn!("spawn refused: {error}");
            self.notice(ProcessId::KERNEL, format!("supervisor: {error}"));
        }
        result
    }

    fn try_spawn(&mut self, name: &str) -> Result<ProcessId, SpawnError> {
        let spec = self.manifest.program(name).cloned().ok_or_else(|| SpawnError::UnknownProgram {
            name: name.to_string(),
            available: self.manifest.names().iter().map(|s| s.to_string()).collect(),
        })?;
        // Resolve every connect before touching the kernel, so a refusal leaves no trace.
        let mut wiring = Vec::with_capacity(spec.connects.len());
        for connect in &spec.connects {
            let provider = self.find_provider(&connect.service, connect.exclusive);
            if provider.is_none() && connect.required {
                return Err(SpawnError::MissingProvider {
                    program: spec.name.clone(),
                    service: connect.service.clone(),
                    provider: connect.provider_program().to_string(),
                });
            }
            wiring.push(provider.map(|endpoint| (endpoint, connect.rights_bits(), connect.exclusive)));
        }
        let now_ns = self.now_ns();
        let kernel_error = |error| SpawnError::Kernel { program: spec.name.clone(), error };
        let pid = self.kernel.register_process(&spec.name, now_ns).map_err(kernel_error)?;
        if let Err(error) = self.wire(pid, &spec, &wiring, now_ns) {
            self.abandon(pid, format!("wiring failed: {}", error.name()));
            return Err(kernel_error(error));
        }
        match self.host.spawn(pid, &spec) {
            Ok(guest) => {
                self.guests.insert(
                    pid,
                    Guest {
                        mailbox: guest.mailbox,
                        worker_id: guest.worker_id,
                        in_flight: None,
                        reported_memory_bytes: 0,
                        reported_host_refusals: 0,
                    },
                );
                Ok(pid)
            }
            Err(error) => {
                self.abandon(pid, error.to_string());
                Err(SpawnError::Host { program: spec.name.clone(), error })
            }
        }
    }

    fn wire(
        &mut self,
        pid: ProcessId,
        spec: &ProgramSpec,
        wiring: &[Option<(EndpointId, u32, bool)>],
        now_ns: u64,
    ) -> Result<(), ErrorCode> {
        if spec.protected {
            self.kernel.set_protected(pid, true)?;
        }
        for endpoint_name in &spec.provides {
            let (endpoint, _slot) = self.kernel.create_endpoint(pid, now_ns)?;
            self.providers.push(Provider { service: format!("{}.{}", spec.name, endpoint_name), pid, endpoint });
        }
        // Explicit slots: a missing optional connect leaves its slot empty and later ones keep
        // their numbers (the layout in docs/ABI.md, "Capabilities").
        let first_connect = abi::slot::FIRST_MANIFEST + spec.provides.len() as u32;
        for (i, wired) in wiring.iter().enumerate() {
            if let Some((endpoint, rights, exclusive)) = wired {
                let slot = first_connect + i as u32;
                self.kernel.install_capability_at(pid, slot, ObjectRef::Endpoint(*endpoint), *rights, now_ns)?;
                if *exclusive {
                    self.exclusive_wired.insert(*endpoint);
                }
            }
        }
        if spec.may_spawn {
            let slot = first_connect + wiring.len() as u32;
            self.kernel.install_capability_at(pid, slot, ObjectRef::ProcessTable, rights::WRITE, now_ns)?;
        }
        Ok(())
    }

    /// A process that was registered but could not be started: it ends as a Zombie with the reason.
    fn abandon(&mut self, pid: ProcessId, message: String) {
        let now_ns = self.now_ns();
        let _ = self.kernel.exit_process(pid, ExitReason::Trapped { message }, now_ns);
        self.providers.retain(|p| p.pid != pid);
        self.apply_effects(now_ns);
    }

    /// The newest live provider of `service` (skipping endpoints taken by an exclusive connect).
    fn find_provider(&self, service: &str, exclusive: bool) -> Option<EndpointId> {
        let live_endpoints: BTreeSet<EndpointId> = self.kernel.endpoints().iter().map(|e| e.id).collect();
        self.providers
            .iter()
            .rev()
            .filter(|p| p.service == service)
            .filter(|p| live_endpoints.contains(&p.endpoint))
            .filter(|p| {
                self.kernel.process(p.pid).is_some_and(|proc| !matches!(proc.state, ProcessState::Zombie(_)))
            })
            .find(|p| !exclusive || !self.exclusive_wired.contains(&p.endpoint))
            .map(|p| p.endpoint)
    }

    /// Kills a process on behalf of a person (the UI, a test). Protected processes are refused.
    pub fn kill(&mut self, pid: ProcessId) -> Result<(), KillError> {
        let process = self.kernel.process(pid).ok_or(KillError::NoSuchProcess { pid })?;
        if process.protected {
            return Err(KillError::Protected { pid, name: process.name.clone() });
        }
        let now_ns = self.now_ns();
        self.kernel.kill_process(pid, None, now_ns).map_err(|error| KillError::Kernel { pid, error })?;
        self.stop_guest(pid);
        self.forget(pid);
        self.apply_effects(now_ns);
        Ok(())
    }

    /// Removes a Zombie from the process table (the user dismissed it).
    pub fn reap(&mut self, pid: ProcessId) -> Result<(), ErrorCode> {
        let now_ns = self.now_ns();
        self.kernel.reap_process(pid, now_ns)?;
        self.stop_guest(pid);
        self.forget(pid);
        self.apply_effects(now_ns);
        Ok(())
    }

    /// Kills every unprotected process and reaps every Zombie: back to the booted set.
    pub fn reset_user_processes(&mut self) {
        self.reset_user_processes_except(&[]);
    }

    /// Kills every unprotected process except those in `keep` (and reaps every Zombie).
    pub fn reset_user_processes_except(&mut self, keep: &[ProcessId]) {
        let pids: Vec<(ProcessId, bool, bool)> = self
            .kernel
            .processes()
            .values()
            .map(|p| (p.pid, p.protected, matches!(p.state, ProcessState::Zombie(_))))
            .collect();
        for (pid, protected, zombie) in pids {
            if zombie {
                let _ = self.reap(pid);
            } else if !protected && !keep.contains(&pid) {
                let _ = self.kill(pid);
            }
        }
    }

    fn forget(&mut self, pid: ProcessId) {
        self.last_serviced.remove(&pid);
        self.providers.retain(|p| p.pid != pid);
    }

    /// Sends a line typed into the terminal to terminal's stdin endpoint.
    pub fn console_input(&mut self, line: &str) -> Result<(), String> {
        if line.len() > mb::MAX_MESSAGE_BYTES {
            return Err(format!("the line is {} bytes; at most {} fit in a message", line.len(), mb::MAX_MESSAGE_BYTES));
        }
        let endpoint = self
            .find_provider("terminal.stdin", false)
            .ok_or("no terminal is running to read the line (is init booted?)")?;
        let now_ns = self.now_ns();
        self.kernel
            .send_from_kernel(endpoint, 0, line.as_bytes(), now_ns)
            .map_err(|e| format!("terminal did not take the line: {} ({})", e.describe(), e.name()))?;
        self.push_console(ConsoleLine { pid: ProcessId::KERNEL, kind: ConsoleKind::Input, text: line.to_string(), at_ns: now_ns });
        self.apply_effects(now_ns);
        Ok(())
    }

    pub fn time_control(&self) -> TimeControl {
        self.time
    }

    pub fn set_time_control(&mut self, time: TimeControl) {
        self.time = time;
        self.step_credits = 0;
        self.slow_tokens = 0.0;
        self.slow_refilled_ns = self.now_ns();
        self.host.ring_doorbell();
    }

    /// Pauses (if running) and services exactly one pending syscall, now or as soon as one is pending.
    pub fn step(&mut self) {
        if self.time != TimeControl::Paused {
            self.set_time_control(TimeControl::Paused);
        }
        self.step_credits = 1;
        self.host.ring_doorbell();
    }

    pub fn mailbox_status(&self, pid: ProcessId) -> Option<MailboxStatus> {
        let guest = self.guests.get(&pid)?;
        Some(match guest.mailbox.status() {
            mb::STATUS_PENDING => MailboxStatus::Pending,
            mb::STATUS_READY => MailboxStatus::Ready,
            _ => MailboxStatus::Idle,
        })
    }

    pub fn worker_id(&self, pid: ProcessId) -> Option<u32> {
        self.guests.get(&pid).map(|g| g.worker_id)
    }

    pub fn last_serviced(&self, pid: ProcessId) -> Option<ServicedCall> {
        self.last_serviced.get(&pid).copied()
    }

    /// Empties the kernel's traffic, capability and ended-process logs. Until then, what ended
    /// processes did stays viewable (Zombies stay in the table until reaped).
    pub fn clear_logs(&mut self) {
        self.kernel.clear_logs();
    }

    pub fn console_log(&self) -> &VecDeque<ConsoleLine> {
        &self.console
    }

    /// Everything in the console log written by `pid` (or by the supervisor, for `KERNEL`), joined.
    pub fn console_text_of(&self, pid: ProcessId) -> String {
        self.console.iter().filter(|l| l.pid == pid).map(|l| l.text.as_str()).collect()
    }

    /// Drains the kernel's events (for the ECS), keeping console output in the console log.
    pub fn drain_events(&mut self) -> Vec<KernelEvent> {
        let events = self.kernel.drain_events();
        for event in &events {
            if let KernelEvent::ConsoleOutput { pid, text, at_ns } = event {
                self.push_console(ConsoleLine { pid: *pid, kind: ConsoleKind::Output, text: text.clone(), at_ns: *at_ns });
            }
        }
        events
    }

    /// When the next sleeper is due (kernel time), so a servicer without frames knows when to `tick`.
    pub fn next_wake_ns(&self) -> Option<u64> {
        self.kernel.next_wake_ns()
    }

    /// Advances the kernel's clock (waking sleepers). Nothing moves while paused.
    pub fn tick(&mut self, now_ns: u64) {
        // Host refusals already happened in the guest: shown even while paused.
        self.report_host_refusals(now_ns);
        self.collect_exits(now_ns);
        if self.time == TimeControl::Paused {
            return;
        }
        self.kernel.tick(now_ns);
        self.apply_effects(now_ns);
    }

    /// A host's servicer calls this each time it has serviced the mailboxes (and ticked).
    pub fn note_servicer_ran(&mut self, now_ns: u64) {
        self.servicer_ran_ns = Some(now_ns);
    }

    /// Whether a host's servicer ran within `window_ns` of `now_ns`: then the per-frame
    /// servicing is redundant (the servicer takes every syscall between frames, slow motion and
    /// steps included) and only costs frame time.
    pub fn servicer_alive(&self, now_ns: u64, window_ns: u64) -> bool {
        self.servicer_ran_ns.is_some_and(|t| now_ns.saturating_sub(t) <= window_ns)
    }

    /// Services pending mailboxes, as many as the time control allows, and returns how many.
    /// Also turns guests that ended by themselves (traps, `_start` returning) into Zombies.
    pub fn service_pending(&mut self, now_ns: u64) -> usize {
        self.collect_exits(now_ns);
        let budget = self.budget(now_ns);
        if budget == 0 {
            return 0;
        }
        let pending = self.pending_pids();
        let mut serviced = 0;
        for pid in pending {
            if serviced >= budget {
                break;
            }
            if self.service_one(pid, now_ns) {
                serviced += 1;
                self.scan_from = ProcessId(pid.0.wrapping_add(1));
            }
        }
        match self.time {
            TimeControl::Paused => self.step_credits = self.step_credits.saturating_sub(serviced as u32),
            TimeControl::Slow { .. } => self.slow_tokens = (self.slow_tokens - serviced as f64).max(0.0),
            TimeControl::Running => {}
        }
        serviced
    }

    /// In slow motion with a syscall waiting: how long until the next one may be serviced.
    pub fn next_service_delay(&mut self, now_ns: u64) -> Option<Duration> {
        let TimeControl::Slow { syscalls_per_sec } = self.time else { return None };
        if self.pending_pids().is_empty() {
            return None;
        }
        self.refill(now_ns);
        let missing = (1.0 - self.slow_tokens).max(0.0);
        let rate = f64::from(syscalls_per_sec.max(0.01));
        Some(Duration::from_secs_f64(missing / rate).max(Duration::from_millis(1)))
    }

    fn refill(&mut self, now_ns: u64) {
        if let TimeControl::Slow { syscalls_per_sec } = self.time {
            let elapsed_secs = now_ns.saturating_sub(self.slow_refilled_ns) as f64 / 1e9;
            // At most one token banked: slow motion never bursts.
            self.slow_tokens = (self.slow_tokens + elapsed_secs * f64::from(syscalls_per_sec)).min(1.0);
            self.slow_refilled_ns = now_ns;
        }
    }

    fn budget(&mut self, now_ns: u64) -> usize {
        match self.time {
            TimeControl::Running => usize::MAX,
            TimeControl::Paused => self.step_credits as usize,
            TimeControl::Slow { .. } => {
                self.refill(now_ns);
                self.slow_tokens.floor() as usize
            }
        }
    }

    /// Processes whose mailbox holds a new request, round-robin from `scan_from`.
    fn pending_pids(&self) -> Vec<ProcessId> {
        let is_new_request = |(_, g): &(&ProcessId, &Guest)| g.in_flight.is_none() && g.mailbox.status() == mb::STATUS_PENDING;
        let after = self.guests.range(self.scan_from..).filter(is_new_request);
        let before = self.guests.range(..self.scan_from).filter(is_new_request);
        after.chain(before).map(|(pid, _)| *pid).collect()
    }

    /// Steps 4-6 of the syscall flow for one mailbox. `false` if there was nothing to service.
    fn service_one(&mut self, pid: ProcessId, now_ns: u64) -> bool {
        let Some(guest) = self.guests.get_mut(&pid) else { return false };
        if guest.in_flight.is_some() || guest.mailbox.status() != mb::STATUS_PENDING {
            return false;
        }
        let request = guest.mailbox.read_request();
        // Refusals the host made since the last syscall come first, in the order they happened.
        self.report_host_refusals_of(pid, now_ns);
        let Some(guest) = self.guests.get_mut(&pid) else { return false };
        if request.memory_bytes != guest.reported_memory_bytes {
            guest.reported_memory_bytes = request.memory_bytes;
            let _ = self.kernel.report_memory(pid, u64::from(request.memory_bytes), now_ns);
        }
        let call = SyscallArgs { number: request.number, args: request.args };
        match self.kernel.dispatch(pid, call, &request.data, now_ns) {
            Dispatch::Complete(reply) => self.reply(pid, request.number, reply, now_ns),
            Dispatch::Pending => {
                if let Some(guest) = self.guests.get_mut(&pid) {
                    guest.in_flight = Some(request.number);
                }
            }
            Dispatch::Exited => {
                self.record(pid, request.number, 0, now_ns);
                self.stop_guest(pid);
            }
            Dispatch::Spawn { program } => {
                // A refusal carries its explanation as reply data, for the caller to print.
                let reply = match self.spawn_program(&program) {
                    Ok(child) => Reply { result: child.0 as i32, data: Vec::new() },
                    Err(error) => Reply { result: error.code().to_result(), data: error.to_string().into_bytes() },
                };
                self.reply(pid, request.number, reply, now_ns);
            }
        }
        self.apply_effects(now_ns);
        true
    }

    fn reply(&mut self, pid: ProcessId, syscall: u32, reply: Reply, now_ns: u64) {
        if let Some(guest) = self.guests.get_mut(&pid) {
            guest.in_flight = None;
            guest.mailbox.complete(pid.0, syscall, reply.result, &reply.data);
        }
        self.record(pid, syscall, reply.result, now_ns);
    }

    fn record(&mut self, pid: ProcessId, syscall: u32, result: i32, at_ns: u64) {
        self.last_serviced.insert(pid, ServicedCall { syscall, result, at_ns });
    }

    /// Applies what the kernel asks of the outside world, until it asks nothing more.
    fn apply_effects(&mut self, now_ns: u64) {
        loop {
            let effects = self.kernel.take_effects();
            if effects.is_empty() {
                return;
            }
            for effect in effects {
                match effect {
                    Effect::Complete { pid, reply } => {
                        let syscall = self.guests.get(&pid).and_then(|g| g.in_flight).unwrap_or(u32::MAX);
                        self.reply(pid, syscall, reply, now_ns);
                    }
                    Effect::StopGuest { pid } => self.stop_guest(pid),
                }
            }
        }
    }

    fn stop_guest(&mut self, pid: ProcessId) {
        if self.guests.remove(&pid).is_some() {
            self.host.stop(pid);
        }
    }

    /// Every guest whose host refused a byte copy since the last look (see `report_host_refusals_of`).
    /// Called once per frame (`tick`), so a guest that stops making syscalls is still seen.
    pub fn report_host_refusals(&mut self, now_ns: u64) {
        let pids: Vec<ProcessId> = self.guests.keys().copied().collect();
        for pid in pids {
            self.report_host_refusals_of(pid, now_ns);
        }
    }

    /// Refusals by the guest's byte-copy imports never reach `dispatch`; the host counts them in
    /// the mailbox (`HOST_REFUSALS`, `HOST_REFUSAL_CODE`), and a changed count is passed on to
    /// the kernel, which counts it and emits `RequestDenied` like for any refused request.
    fn report_host_refusals_of(&mut self, pid: ProcessId, now_ns: u64) {
        let Some(guest) = self.guests.get_mut(&pid) else { return };
        // The host writes the code before it bumps the count, so the code read after the count
        // is the one that goes with it (or a newer one).
        let count = guest.mailbox.load(mb::HOST_REFUSALS) as u32;
        let new = count.wrapping_sub(guest.reported_host_refusals);
        if new == 0 {
            return;
        }
        guest.reported_host_refusals = count;
        let (import, error) = abi::host_import::unpack(guest.mailbox.load(mb::HOST_REFUSAL_CODE));
        let error = error.unwrap_or(ErrorCode::BadPointer);
        let _ = self.kernel.record_host_refusal(pid, import, error, new, now_ns);
    }

    /// Guests that ended on their own become Zombies with the reason.
    fn collect_exits(&mut self, now_ns: u64) {
        for exit in self.host.take_exits() {
            // A refusal just before a trap is still shown.
            self.report_host_refusals_of(exit.pid, now_ns);
            if self.guests.remove(&exit.pid).is_none() {
                continue; // already stopped by the supervisor
            }
            let name = self.kernel.process(exit.pid).map_or_else(|| "?".to_string(), |p| p.name.clone());
            let reason = match exit.kind {
                GuestExitKind::Returned => ExitReason::Exited { code: 0 },
                GuestExitKind::Trapped(message) => {
                    self.notice(exit.pid, format!("supervisor: {name} (pid {}) trapped: {message}", exit.pid.0));
                    ExitReason::Trapped { message }
                }
                GuestExitKind::LoadFailed(message) => {
                    let message = format!("failed to start: {message}");
                    self.notice(exit.pid, format!("supervisor: {name} (pid {}) {message}", exit.pid.0));
                    ExitReason::Trapped { message }
                }
            };
            let _ = self.kernel.exit_process(exit.pid, reason, now_ns);
            self.apply_effects(now_ns);
        }
    }

    fn notice(&mut self, pid: ProcessId, text: String) {
        let at_ns = self.now_ns();
        self.push_console(ConsoleLine { pid, kind: ConsoleKind::Notice, text: format!("{text}\n"), at_ns });
    }

    fn push_console(&mut self, line: ConsoleLine) {
        if self.console.len() == CONSOLE_LOG_CAPACITY {
            self.console.pop_front();
        }
        self.console.push_back(line);
    }
}
