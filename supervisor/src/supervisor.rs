//! [`Supervisor`]: the kernel, the program manifest, the host and the mailbox-to-process map in
//! one place, behind the [`SharedSupervisor`](crate::SharedSupervisor) lock. Its jobs live in
//! their own modules: wiring (spawning), lifecycle (ending), pacing, servicing and console.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::clock::Clock;
use crate::console::ConsoleLine;
use crate::host::Host;
use crate::kernel::{EndpointId, Kernel, KernelConfig, ProcessId};
use crate::mailbox::Mailbox;
use crate::manifest::Manifest;
use crate::pacing::TimeControl;
use crate::programs::RuntimePrograms;
use crate::recording::{RecordedKernel, RecordingSettings, timeline::PastView};
use crate::servicing::ServicedCall;
use crate::transcript::Transcripts;

/// A live guest: its mailbox, as the host handed it over at spawn.
pub(crate) struct Guest {
    pub(crate) mailbox: Box<dyn Mailbox>,
    pub(crate) worker_id: u32,
    /// The syscall dispatched and still blocked in the kernel (RECEIVE, SLEEP), if any.
    pub(crate) in_flight: Option<u32>,
    pub(crate) reported_memory_bytes: u32,
    /// The mailbox's `HOST_REFUSALS` count as last reported to the kernel.
    pub(crate) reported_host_refusals: u32,
}

/// An endpoint published under a service name (`receiver.inbox`).
pub(crate) struct Provider {
    pub(crate) service: String,
    pub(crate) pid: ProcessId,
    pub(crate) endpoint: EndpointId,
}

/// The kernel and everything around it. See the module docs.
pub struct Supervisor {
    /// The kernel behind the recording wrapper: every change is recorded (`recording`).
    pub(crate) kernel: RecordedKernel,
    /// The past kernel shown while seeking (`recording::timeline`); `None` when live.
    pub(crate) past: Option<PastView>,
    pub(crate) manifest: Manifest,
    pub(crate) host: Box<dyn Host>,
    /// The mailbox → process map: the only source of a syscall's PID.
    pub(crate) guests: BTreeMap<ProcessId, Guest>,
    pub(crate) providers: Vec<Provider>,
    /// Endpoints already wired to a client through an `exclusive` connect.
    pub(crate) exclusive_wired: BTreeSet<EndpointId>,
    pub(crate) last_serviced: BTreeMap<ProcessId, ServicedCall>,
    pub(crate) time: TimeControl,
    pub(crate) step_credits: u32,
    pub(crate) slow_tokens: f64,
    pub(crate) slow_refilled_ns: u64,
    /// While running: at most this many syscalls a second (a software renderer's share of the
    /// CPU, `set_syscall_ceiling`), with its token bucket.
    pub(crate) ceiling: Option<f32>,
    pub(crate) ceiling_tokens: f64,
    pub(crate) ceiling_refilled_ns: u64,
    /// Where the next round-robin scan starts, so slow motion is fair.
    pub(crate) scan_from: ProcessId,
    pub(crate) console: VecDeque<ConsoleLine>,
    /// Console lines pushed since the supervisor started (the log keeps the newest
    /// `CONSOLE_LOG_CAPACITY`).
    pub(crate) console_pushed: u64,
    /// Where `now_ns` comes from: the caller's clock, so this crate needs no platform timer.
    pub(crate) clock: Clock,
    /// When a host's own servicer (the web host's `Atomics.waitAsync` callback) last ran, so the
    /// per-frame fallback can stand aside while it is alive.
    pub(crate) servicer_ran_ns: Option<u64>,
    /// Programs loaded at run time, WASI processes' stdin endpoints.
    pub(crate) runtime: RuntimePrograms,
    /// Each process's console transcript, kept after it ended.
    pub(crate) transcripts: Transcripts,
}

impl Supervisor {
    /// A supervisor with no processes. `clock` is the kernel's time source ([`Clock::monotonic`]
    /// natively, the app's timer in the browser, [`Clock::manual`] in tests).
    pub fn new(
        manifest: Manifest,
        host: Box<dyn Host>,
        config: KernelConfig,
        clock: Clock,
    ) -> Supervisor {
        Supervisor {
            kernel: RecordedKernel::new(Kernel::new(config), RecordingSettings::default()),
            past: None,
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
            ceiling: None,
            ceiling_tokens: 0.0,
            ceiling_refilled_ns: 0,
            scan_from: ProcessId(0),
            console: VecDeque::new(),
            console_pushed: 0,
            clock,
            servicer_ran_ns: None,
            runtime: RuntimePrograms::default(),
            transcripts: Transcripts::default(),
        }
    }

    /// The live kernel (while seeking, [`Supervisor::viewed_kernel`] is the one shown).
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

    /// The kernel's time: nanoseconds on the supervisor's clock.
    pub fn now_ns(&self) -> u64 {
        self.clock.now_ns()
    }
}
