//! The supervisor as a Bevy plugin. The supervisor itself (kernel, manifest, hosts, mailboxes,
//! servicing) is the Bevy-free `orbital-supervisor` crate; this module owns it as the
//! [`SupervisorHandle`] resource, turns [`SupervisorIntent`]s into calls on it, republishes kernel
//! events as [`KernelEventMessage`]s and mirrors every process as an entity.
//!
//! ```text
//!  Update: ApplyIntents ─▶ Service (tick, fallback servicing) ─▶ PublishEvents ─▶ SyncEntities
//!          SupervisorIntent                                        KernelEventMessage  ProcessEntity + ProcessView
//! ```
//!
//! Syscalls are serviced outside frames (a native servicer thread, or the web host's
//! `Atomics.waitAsync` callback), so a hidden browser tab or a slow software renderer does not
//! stall the guests; each frame also ticks the kernel (sleepers) and services once if no host
//! servicer has run lately.

#[cfg(not(target_arch = "wasm32"))]
pub use orbital_supervisor::native_host;
pub use orbital_supervisor::{
    CONSOLE_LOG_CAPACITY, Clock, ConnectSpec, ConsoleKind, ConsoleLine, GuestCeiling, GuestExit,
    GuestExitKind, Host, HostError, KillError, Mailbox, MailboxStatus, Manifest, ManifestError,
    ProgramSpec, ServicedCall, SharedSupervisor, SpawnError, SpawnedGuest, Supervisor, TimeControl,
    host, json, mailbox, manifest,
};

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bevy::prelude::*;

use crate::kernel::{KernelConfig, KernelEvent, ProcessId, ProcessMetrics, ProcessState};

/// The supervisor as a resource. Its lock is private: [`SupervisorHandle::lock`] is the only way
/// in, and it recovers from a poisoned lock.
#[derive(Resource, Clone)]
pub struct SupervisorHandle {
    shared: SharedSupervisor,
    /// Refusals of intents applied from outside the ECS, published as [`IntentRefused`] next frame.
    refused_outside: Arc<Mutex<Vec<IntentRefused>>>,
}

impl SupervisorHandle {
    pub fn new(supervisor: Supervisor) -> SupervisorHandle {
        SupervisorHandle {
            shared: SharedSupervisor::new(supervisor),
            refused_outside: Arc::default(),
        }
    }

    /// Locks the supervisor. A panic while holding the lock is a bug; the state is still the
    /// kernel's own (it never panics on guest input), so keep going with it.
    pub fn lock(&self) -> MutexGuard<'_, Supervisor> {
        self.shared.lock()
    }

    /// The shared supervisor, for a servicer that runs outside frames.
    pub fn shared(&self) -> &SharedSupervisor {
        &self.shared
    }

    /// Applies an intent now, for callers outside the ECS (`window.supervisor`), which must answer
    /// between frames. The same code applies every intent whoever sent it, and a refusal reaches
    /// the UI the same way (an [`IntentRefused`] message next frame) as well as the caller.
    pub fn apply_intent(&self, intent: &SupervisorIntent) -> Result<(), String> {
        self.apply_intent_for_pid(intent).map(|_| ())
    }

    /// [`SupervisorHandle::apply_intent`], also giving the pid of a process the intent started
    /// (`LoadProgram`), for callers that return it (`window.supervisor.load_program`).
    pub fn apply_intent_for_pid(
        &self,
        intent: &SupervisorIntent,
    ) -> Result<Option<ProcessId>, String> {
        let outcome = apply_intent(&mut self.lock(), intent);
        if let Err(reason) = &outcome {
            let refusal = IntentRefused {
                intent: format!("{intent:?}"),
                reason: reason.clone(),
            };
            self.refused_outside
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(refusal);
        }
        outcome
    }

    fn take_refused_outside(&self) -> Vec<IntentRefused> {
        std::mem::take(
            &mut *self
                .refused_outside
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        )
    }
}

/// The app's clock for the supervisor: Bevy's platform `Instant`, which works in the browser too.
pub fn app_clock() -> Clock {
    let started = bevy::platform::time::Instant::now();
    Clock::from_fn(move || u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX))
}

/// Something a person (or a test, or `window.supervisor`) wants done. The UI never touches the
/// kernel directly; it writes these.
#[derive(Message, Clone, Debug, PartialEq)]
pub enum SupervisorIntent {
    Spawn {
        program: String,
    },
    Kill {
        pid: ProcessId,
    },
    ConsoleInput {
        line: String,
    },
    SetTime(TimeControl),
    Step,
    Reap {
        pid: ProcessId,
    },
    ResetUserProcesses,
    /// Like `ResetUserProcesses`, but the listed processes stay (a scenario keeping the boot's idle).
    ResetUserProcessesExcept {
        keep: Vec<ProcessId>,
    },
    /// Empties the kernel's traffic, capability and ended-process logs (the user's "clear").
    ClearLogs,
    /// Show the kernel as it was before input `k` of the recording (the live system keeps going).
    Seek(u64),
    /// Show the live kernel again.
    GoLive,
    /// One recorded input back (from live: to the moment before the newest input).
    StepBack,
    /// One recorded input forward; past the newest input the view is live.
    StepForward,
    /// Jump to just after the previous marker (spawn, kill, exit, trap, denied request).
    PrevMarker,
    /// Jump to just after the next marker.
    NextMarker,
    /// Replace the system with an imported recording (replay only, no guest starts). A bad
    /// file changes nothing and is refused with what is wrong.
    ImportRecording(RecordingBytes),
    /// Turn recording on (a new history from now) or off (the benchmark's baseline).
    SetRecording(bool),
    /// Checks a module handed over at run time (dropped on the canvas, picked, or from
    /// `window.supervisor.load_program`), registers it as program `name` and spawns it with `args`.
    LoadProgram {
        name: String,
        bytes: ProgramBytes,
        args: Vec<String>,
    },
    /// A line for a process's console input: a WASI program's stdin, or the terminal's.
    ConsoleInputTo {
        pid: ProcessId,
        line: String,
    },
    /// Ends a WASI process's console input (Ctrl-D).
    CloseConsoleInput {
        pid: ProcessId,
    },
}

/// The bytes of a recording file inside an intent: shared (intents are cloned) and shown by
/// size in logs, not byte by byte.
#[derive(Clone, PartialEq, Eq)]
pub struct RecordingBytes(pub Arc<[u8]>);

impl std::fmt::Debug for RecordingBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bytes", self.0.len())
    }
}

impl From<Vec<u8>> for RecordingBytes {
    fn from(bytes: Vec<u8>) -> Self {
        RecordingBytes(bytes.into())
    }
}

/// A module's bytes in an intent: shared, and shown by its size (an intent's `Debug` text
/// reaches refusal toasts).
#[derive(Clone, PartialEq, Eq)]
pub struct ProgramBytes(pub Arc<[u8]>);

impl std::fmt::Debug for ProgramBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{} bytes>", self.0.len())
    }
}

impl From<Vec<u8>> for ProgramBytes {
    fn from(bytes: Vec<u8>) -> Self {
        ProgramBytes(bytes.into())
    }
}

/// Where the view stands in the recording, refreshed every frame before the entities are
/// synced, for views that must know whether they show the past (the graph stops its traffic
/// animation, the timeline strip, the banner).
#[derive(Resource, Clone, Debug, Default, PartialEq, Eq)]
pub struct TimeView {
    /// The view shows the live kernel.
    pub live: bool,
    /// The input the view stands before (`inputs` when live).
    pub cursor: u64,
    /// Inputs recorded since start.
    pub inputs: u64,
    /// An imported recording: nothing runs.
    pub replay_only: bool,
    /// Changes whenever the viewed moment changes (seek, step, go live, import), so views that
    /// cache what they read from the kernel know to read again.
    pub generation: u64,
}

/// A kernel event, republished as a Bevy message each frame, in kernel order.
#[derive(Message, Clone, Debug)]
pub struct KernelEventMessage(pub KernelEvent);

/// A refused intent, with what to do about it (also written to the console log).
#[derive(Message, Clone, Debug, PartialEq, Eq)]
pub struct IntentRefused {
    pub intent: String,
    pub reason: String,
}

/// One entity per process in the kernel's table (Zombies included), spawned when the process
/// appears and despawned when it is killed or reaped.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessEntity {
    pub pid: ProcessId,
}

/// A copy of the process as the kernel and supervisor see it, refreshed every frame.
#[derive(Component, Clone, Debug)]
pub struct ProcessView {
    pub name: String,
    pub state: ProcessState,
    pub metrics: ProcessMetrics,
    pub mailbox: MailboxStatus,
    pub worker_id: Option<u32>,
    pub protected: bool,
    pub last_serviced: Option<ServicedCall>,
}

/// Which entity stands for which pid.
#[derive(Resource, Default, Debug)]
pub struct ProcessEntities(pub BTreeMap<ProcessId, Entity>);

/// The plugin's systems, in this order, in `Update`.
#[derive(SystemSet, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SupervisorSystems {
    ApplyIntents,
    Service,
    PublishEvents,
    SyncEntities,
}

type HostFactory = Box<dyn FnOnce() -> Box<dyn Host> + Send + Sync>;

/// The supervisor feature. `SupervisorPlugin::default()` runs guests on the native host (and
/// starts its doorbell thread); the browser build passes its host with [`SupervisorPlugin::with_host`]
/// and drives servicing itself.
pub struct SupervisorPlugin {
    host: Mutex<Option<HostFactory>>,
    manifest: Option<Manifest>,
    config: KernelConfig,
    boot: bool,
}

impl Default for SupervisorPlugin {
    fn default() -> Self {
        SupervisorPlugin {
            host: Mutex::new(None),
            manifest: None,
            config: KernelConfig::default(),
            boot: true,
        }
    }
}

impl SupervisorPlugin {
    /// Use this host instead of the native one. Nothing services between frames unless the
    /// caller arranges it (the web host's `Atomics.waitAsync` callback does).
    pub fn with_host(make_host: impl FnOnce() -> Box<dyn Host> + Send + Sync + 'static) -> Self {
        SupervisorPlugin {
            host: Mutex::new(Some(Box::new(make_host))),
            ..default()
        }
    }

    pub fn with_manifest(mut self, manifest: Manifest) -> Self {
        self.manifest = Some(manifest);
        self
    }

    pub fn with_kernel_config(mut self, config: KernelConfig) -> Self {
        self.config = config;
        self
    }

    /// Do not spawn `init` at start-up (for tests that want an empty system).
    pub fn without_boot(mut self) -> Self {
        self.boot = false;
        self
    }
}

impl Plugin for SupervisorPlugin {
    fn build(&self, app: &mut App) {
        let manifest = match &self.manifest {
            Some(manifest) => manifest.clone(),
            // Compiled in and unit-tested: failing here is a bug, not a user error.
            None => Manifest::builtin()
                .unwrap_or_else(|e| panic!("the built-in program manifest is broken: {e}")),
        };
        let custom_host = self.host.lock().unwrap_or_else(|p| p.into_inner()).take();
        let handle = match custom_host {
            Some(make_host) => SupervisorHandle::new(Supervisor::new(
                manifest,
                make_host(),
                self.config.clone(),
                app_clock(),
            )),
            None => native_supervisor(app, manifest, self.config.clone()),
        };
        app.insert_resource(handle)
            .init_resource::<ProcessEntities>()
            .init_resource::<TimeView>()
            .add_message::<SupervisorIntent>()
            .add_message::<KernelEventMessage>()
            .add_message::<IntentRefused>()
            .configure_sets(
                Update,
                (
                    SupervisorSystems::ApplyIntents,
                    SupervisorSystems::Service,
                    SupervisorSystems::PublishEvents,
                    SupervisorSystems::SyncEntities,
                )
                    .chain(),
            )
            .add_systems(
                Update,
                (
                    apply_intents.in_set(SupervisorSystems::ApplyIntents),
                    service_mailboxes.in_set(SupervisorSystems::Service),
                    publish_kernel_events.in_set(SupervisorSystems::PublishEvents),
                    sync_process_entities.in_set(SupervisorSystems::SyncEntities),
                ),
            );
        if self.boot {
            app.add_systems(Startup, boot_init);
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn native_supervisor(app: &mut App, manifest: Manifest, config: KernelConfig) -> SupervisorHandle {
    let host = native_host::NativeHost::new();
    let doorbell = host.doorbell();
    let handle = SupervisorHandle::new(Supervisor::new(
        manifest,
        Box::new(host),
        config,
        app_clock(),
    ));
    app.insert_resource(NativeServicer(native_host::Servicer::start(
        handle.shared(),
        doorbell,
    )));
    handle
}

#[cfg(target_arch = "wasm32")]
fn native_supervisor(
    _app: &mut App,
    _manifest: Manifest,
    _config: KernelConfig,
) -> SupervisorHandle {
    panic!(
        "there is no native host in the browser: add the plugin with SupervisorPlugin::with_host(web host)"
    )
}

/// Keeps the native doorbell thread alive as long as the app; dropping it stops the thread.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Resource)]
pub struct NativeServicer(pub native_host::Servicer);

fn boot_init(handle: Res<SupervisorHandle>) {
    // A refusal is already in the console log and the log; the app keeps running so it shows.
    if let Err(error) = handle.lock().boot() {
        error!("could not boot init: {error}");
    }
}

fn apply_intents(
    handle: Res<SupervisorHandle>,
    mut intents: MessageReader<SupervisorIntent>,
    mut refused: MessageWriter<IntentRefused>,
) {
    refused.write_batch(handle.take_refused_outside());
    let mut supervisor = handle.lock();
    for intent in intents.read() {
        if let Err(reason) = apply_intent(&mut supervisor, intent) {
            refused.write(IntentRefused {
                intent: format!("{intent:?}"),
                reason,
            });
        }
    }
}

/// What each intent does: the one place intents are applied, from the ECS or from outside it.
/// `Ok(Some(pid))` names the process the intent started, where the caller may want it.
fn apply_intent(
    supervisor: &mut Supervisor,
    intent: &SupervisorIntent,
) -> Result<Option<ProcessId>, String> {
    let mut started = None;
    let outcome = match intent {
        SupervisorIntent::Spawn { program } => supervisor
            .spawn_program(program)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        SupervisorIntent::Kill { pid } => supervisor.kill(*pid).map_err(|e| e.to_string()),
        SupervisorIntent::ConsoleInput { line } => supervisor.console_input(line),
        SupervisorIntent::SetTime(time) => {
            supervisor.set_time_control(*time);
            Ok(())
        }
        SupervisorIntent::Step => {
            supervisor.step();
            Ok(())
        }
        SupervisorIntent::Reap { pid } => supervisor
            .reap(*pid)
            .map_err(|e| format!("cannot reap pid {}: {}", pid.0, e.describe())),
        SupervisorIntent::ResetUserProcesses => {
            supervisor.reset_user_processes();
            Ok(())
        }
        SupervisorIntent::ResetUserProcessesExcept { keep } => {
            supervisor.reset_user_processes_except(keep);
            Ok(())
        }
        SupervisorIntent::ClearLogs => {
            supervisor.clear_logs();
            Ok(())
        }
        SupervisorIntent::Seek(index) => {
            supervisor.seek(*index);
            Ok(())
        }
        SupervisorIntent::GoLive => {
            supervisor.go_live();
            Ok(())
        }
        SupervisorIntent::StepBack => {
            supervisor.step_back();
            Ok(())
        }
        SupervisorIntent::StepForward => {
            supervisor.step_forward();
            Ok(())
        }
        SupervisorIntent::PrevMarker => match supervisor.prev_marker().map(|m| m.index + 1) {
            Some(index) => {
                supervisor.seek(index);
                Ok(())
            }
            None => Err("there is no earlier marker (spawn, kill, exit, trap or denied request) in the recording".into()),
        },
        SupervisorIntent::NextMarker => match supervisor.next_marker().map(|m| m.index + 1) {
            Some(index) => {
                supervisor.seek(index);
                Ok(())
            }
            None => Err("there is no later marker in the recording: press Live (Esc) for the present".into()),
        },
        SupervisorIntent::ImportRecording(bytes) => supervisor
            .import_recording(&bytes.0)
            .map_err(|e| format!("cannot open the recording, the live system keeps running: {e}")),
        SupervisorIntent::SetRecording(enabled) => {
            let settings = orbital_supervisor::recording::RecordingSettings { enabled: *enabled, ..supervisor.recording().settings() };
            supervisor.set_recording(settings);
            Ok(())
        }
        SupervisorIntent::LoadProgram { name, bytes, args } => supervisor
            .load_program_with_args(name, &bytes.0, args)
            .map(|pid| started = Some(pid))
            .map_err(|e| e.to_string()),
        SupervisorIntent::ConsoleInputTo { pid, line } => supervisor.console_input_to(*pid, line),
        SupervisorIntent::CloseConsoleInput { pid } => supervisor.close_console_input_of(*pid),
    };
    // Spawn and load refusals were logged by the supervisor itself.
    if let Err(reason) = &outcome
        && !matches!(
            intent,
            SupervisorIntent::Spawn { .. } | SupervisorIntent::LoadProgram { .. }
        )
    {
        warn!("{intent:?} refused: {reason}");
    }
    outcome.map(|()| started)
}

fn service_mailboxes(handle: Res<SupervisorHandle>) {
    let mut supervisor = handle.lock();
    let now_ns = supervisor.now_ns();
    supervisor.tick(now_ns);
    // A host servicer (the web host's waitAsync callback and its 4 ms tick) services everything
    // between frames; servicing again inside the frame only lengthens the frame (measured: the
    // largest part of the crowd's "supervisor" phase). This keeps a host without one, or with a
    // stalled callback, moving once per frame.
    if !supervisor.servicer_alive(now_ns, SERVICER_STALL_NS) {
        supervisor.service_pending(now_ns);
    }
}

/// How long a host servicer may stay silent before the frame services mailboxes itself. Its
/// tick runs every 4 ms, so 50 ms means it has stalled (or the tab was in the background).
const SERVICER_STALL_NS: u64 = 50_000_000;

fn publish_kernel_events(
    handle: Res<SupervisorHandle>,
    mut messages: MessageWriter<KernelEventMessage>,
) {
    let events = handle.lock().drain_events();
    messages.write_batch(events.into_iter().map(KernelEventMessage));
}

/// Keeps exactly one entity per process in the viewed kernel's table (the live one, or the past
/// one while the timeline's cursor is in the past) and refreshes its view.
///
/// Worker ids, mailbox lights and the last serviced call are host facts that are not recorded:
/// in the past there is no worker to name (`worker_id: None`), the mailbox light is derived from
/// the kernel state at the cursor ([`past_mailbox_status`]) and there is no last serviced call.
fn sync_process_entities(
    mut commands: Commands,
    handle: Res<SupervisorHandle>,
    mut entities: ResMut<ProcessEntities>,
    mut views: Query<&mut ProcessView>,
    mut time_view: ResMut<TimeView>,
) {
    let supervisor = handle.lock();
    let timeline = supervisor.timeline();
    // The viewed moment: while live the cursor is the recording's end, which moves with every
    // input and is not a new moment (a new generation every frame made the graph re-read its
    // edges every frame, with recording on only: the crowd's update cost 4-7 % more).
    let moment =
        |live: bool, cursor: u64, replay_only: bool| (live, (!live).then_some(cursor), replay_only);
    let moved = moment(time_view.live, time_view.cursor, time_view.replay_only)
        != moment(timeline.live, timeline.cursor, timeline.replay_only);
    let now = TimeView {
        live: timeline.live,
        cursor: timeline.cursor,
        inputs: timeline.inputs,
        replay_only: timeline.replay_only,
        generation: time_view.generation + u64::from(moved),
    };
    if *time_view != now {
        *time_view = now;
    }
    let live = timeline.live;
    let processes = supervisor.viewed_kernel().processes();
    entities.0.retain(|pid, entity| {
        let alive = processes.contains_key(pid);
        if !alive {
            commands.entity(*entity).despawn();
        }
        alive
    });
    for (pid, process) in processes {
        let view = ProcessView {
            name: process.name.clone(),
            state: process.state.clone(),
            metrics: process.metrics.clone(),
            mailbox: if live {
                supervisor.mailbox_status(*pid).unwrap_or_default()
            } else {
                past_mailbox_status(&process.state)
            },
            worker_id: if live {
                supervisor.worker_id(*pid)
            } else {
                None
            },
            protected: process.protected,
            last_serviced: if live {
                supervisor.last_serviced(*pid)
            } else {
                None
            },
        };
        match entities.0.get(pid).and_then(|e| views.get_mut(*e).ok()) {
            Some(mut existing) => *existing = view,
            None if entities.0.contains_key(pid) => {
                // Spawned last frame; its components are being inserted by commands.
                commands.entity(entities.0[pid]).insert(view);
            }
            None => {
                let entity = commands
                    .spawn((
                        ProcessEntity { pid: *pid },
                        view,
                        Name::new(process.name.clone()),
                    ))
                    .id();
                entities.0.insert(*pid, entity);
            }
        }
    }
}

/// The mailbox light of a process in the past, from the kernel state alone (the host's mailbox
/// is not recorded): a blocked process has a call waiting in its mailbox (pending), any other
/// is idle.
pub fn past_mailbox_status(state: &ProcessState) -> MailboxStatus {
    if state.is_blocked() {
        MailboxStatus::Pending
    } else {
        MailboxStatus::Idle
    }
}
