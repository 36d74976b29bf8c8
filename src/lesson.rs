//! Lessons in the app: `assets/lessons/*.ron` as Bevy assets (a broken file is a notice with
//! line and column, and the lesson that runs keeps running), the lesson card over the canvas
//! (caption, "waiting for: ...", a question with its answer on click, Previous / Next), the
//! canvas toolbar (lesson picker, capability view, Copy link), the keys (→ / Space next, ← back),
//! share links, and `window.supervisor.load_lesson / get_lesson_json / lesson_next / lesson_prev`.
//!
//! The file format, the waits and the player are the engine-free
//! [`orbital_supervisor::lesson`]: waits are fed the kernel's own events
//! ([`KernelEventMessage`]) and state, never a simulation. Steps act only through intents
//! (spawn, kill, speed), [`LoadScenario`] and view state (selection, capability view, spotlight).
//!
//! ```text
//! Update (after the supervisor publishes events):
//!   take requests (JS, keys, buttons) ─▶ load files ─▶ start (scenario ready) ─▶ feed events
//!   ─▶ advance (wait met + hold) ─▶ apply the entered step's actions ─▶ publish the snapshot
//! ```

use std::sync::{Arc, Mutex};

use bevy::asset::{AssetLoadFailedEvent, AssetLoader, LoadContext, LoadState, io::Reader};
use bevy::input::ButtonState;
use bevy::input::keyboard::{Key, KeyboardInput};
use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use orbital_supervisor::lesson::{
    Action, Highlight, Lesson, LessonError, LessonRun, Speed, StepEntry, caption_spans,
    mailbox_words, newest_live, parse_lesson,
};

use crate::capability_view::CapabilityView;
use crate::graph::{CameraRig, GraphModel};
use crate::kernel::ProcessId;
use crate::panels::{BottomTab, PanelState};
use crate::scenario::{LoadScenario, SCENARIO_NAMES, ScenarioState, ScenarioSystems};
use crate::share_link::{self, LinkSpeed, LinkTheme, ShareState};
use crate::supervisor::{
    KernelEventMessage, SupervisorHandle, SupervisorIntent, SupervisorSystems, TimeControl,
};
use crate::theme::{Theme, ThemeMode};
use crate::ui_state::{CanvasArea, CssPerPoint, Selection, Toasts, slow_motion};

/// The lessons offered by the picker, in teaching order. `broken` is deliberately malformed: it
/// shows what a lesson file's parse error looks like (and the tests load it).
pub const LESSON_NAMES: [&str; 5] = ["syscall", "messages", "capabilities", "faults", "broken"];

/// A lesson file as a Bevy asset.
#[derive(Asset, TypePath, Clone, Debug)]
pub struct LessonFile(pub Lesson);

/// Why a lesson file could not be loaded.
#[derive(Debug)]
pub enum LessonLoadError {
    Io(std::io::Error),
    Lesson(LessonError),
}

impl std::fmt::Display for LessonLoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "could not read the lesson file: {e}"),
            Self::Lesson(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for LessonLoadError {}

/// Loads `lessons/*.ron` as [`LessonFile`]s.
#[derive(Default, TypePath)]
pub struct LessonLoader;

impl AssetLoader for LessonLoader {
    type Asset = LessonFile;
    type Settings = ();
    type Error = LessonLoadError;

    async fn load(
        &self,
        reader: &mut dyn Reader,
        _settings: &(),
        _load_context: &mut LoadContext<'_>,
    ) -> Result<LessonFile, LessonLoadError> {
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .await
            .map_err(LessonLoadError::Io)?;
        parse_lesson(&bytes)
            .map(LessonFile)
            .map_err(LessonLoadError::Lesson)
    }

    fn extensions(&self) -> &[&str] {
        &["lesson.ron", "ron"]
    }
}

/// What a person, a key, a test or `window.supervisor` asks of the lesson player.
#[derive(Message, Clone, Debug, PartialEq, Eq)]
pub enum LessonCommand {
    /// Open `name` at `step` (0-based).
    Load {
        name: String,
        step: usize,
    },
    Next,
    Previous,
    RevealAnswer,
    Close,
}

/// Commands from outside the ECS (`window.supervisor`), written as [`LessonCommand`]s next frame.
#[derive(Resource, Clone, Debug, Default)]
pub struct LessonRequests(Arc<Mutex<Vec<LessonCommand>>>);

impl LessonRequests {
    /// Queues a command; an unknown lesson is refused with the list of lessons.
    pub fn request(&self, command: LessonCommand) -> Result<(), String> {
        if let LessonCommand::Load { name, .. } = &command
            && !LESSON_NAMES.contains(&name.as_str())
        {
            return Err(format!(
                "unknown lesson {name:?}: choose one of {}",
                LESSON_NAMES.join(", ")
            ));
        }
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(command);
        Ok(())
    }

    fn take(&self) -> Vec<LessonCommand> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// What a step points at, by program (resolved to the newest live process when drawn).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Spotlight {
    pub node: Option<String>,
    pub edge: Option<(String, String)>,
    pub mailbox_word: Option<String>,
    pub panel: Option<String>,
}

/// The lesson being played, the one loading, and the last error.
#[derive(Resource, Debug, Default)]
pub struct LessonState {
    pub run: Option<LessonRun>,
    loading: Option<(String, Handle<LessonFile>, usize)>,
    /// A lesson whose scenario is being started: it begins once the scenario runs.
    starting: Option<Starting>,
    /// "lessons/broken.ron: line 4, column 5: ..." until the next successful load.
    pub error: Option<String>,
    pub spotlight: Spotlight,
    /// A program to select once a process of it exists (a step selected one it just spawned).
    pending_select: Option<String>,
    /// The recorded input at which each step was last entered: where "Previous" seeks the view.
    pub step_entered_at: Vec<Option<u64>>,
}

#[derive(Debug)]
struct Starting {
    run: LessonRun,
    seen_loading: bool,
    since_secs: f64,
}

impl LessonState {
    pub fn loading_name(&self) -> Option<&str> {
        self.loading
            .as_ref()
            .map(|(name, _, _)| name.as_str())
            .or(self.starting.as_ref().map(|s| s.run.name.as_str()))
    }
}

/// Tunables: how long a met step stays before the next (tests set 0).
#[derive(Resource, Debug, Clone)]
pub struct LessonSettings {
    pub hold_secs: f64,
}

impl Default for LessonSettings {
    fn default() -> Self {
        Self { hold_secs: 2.5 }
    }
}

/// The lesson as `get_lesson_json` returns it, written every frame (read between frames).
#[derive(Resource, Debug, Clone, Default)]
pub struct SharedLessonSnapshot(Arc<Mutex<String>>);

impl SharedLessonSnapshot {
    pub fn to_json(&self) -> String {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A share link read at start, applied once its lesson or scenario runs.
#[derive(Resource, Debug, Default)]
struct PendingLink {
    state: Option<ShareState>,
    since_secs: f64,
}

/// Rectangles of the card's controls (CSS pixels), for browser tests.
#[derive(Resource, Debug, Default, Clone)]
struct CardControls(Vec<(String, egui::Rect)>);

#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum LessonSystems {
    Control,
    Follow,
}

pub struct LessonPlugin;

impl Plugin for LessonPlugin {
    fn build(&self, app: &mut App) {
        crate::ui_state::ensure_ui_state(app);
        app.add_message::<KeyboardInput>()
            .init_asset::<LessonFile>()
            .register_asset_loader(LessonLoader)
            .add_message::<LessonCommand>()
            .init_resource::<LessonState>()
            .init_resource::<LessonSettings>()
            .init_resource::<LessonRequests>()
            .init_resource::<SharedLessonSnapshot>()
            .init_resource::<PendingLink>()
            .init_resource::<CardControls>()
            .init_resource::<Theme>()
            .init_resource::<CapabilityView>()
            .init_resource::<PanelState>()
            .configure_sets(
                Update,
                (LessonSystems::Control, LessonSystems::Follow)
                    .chain()
                    .after(SupervisorSystems::PublishEvents)
                    .after(ScenarioSystems::Apply),
            )
            .add_systems(PreStartup, read_share_link)
            .add_systems(Startup, expose_lesson_api)
            .add_systems(
                Update,
                (
                    forward_lesson_requests,
                    read_lesson_keys.run_if(crate::ui_state::keys_free),
                    start_lesson_loads,
                    apply_loaded_lesson,
                    begin_started_lesson,
                )
                    .chain()
                    .in_set(LessonSystems::Control),
            )
            .add_systems(
                Update,
                (
                    follow_kernel_events,
                    control_lesson,
                    apply_share_link,
                    publish_lesson_snapshot,
                )
                    .chain()
                    .in_set(LessonSystems::Follow),
            )
            .add_systems(EguiPrimaryContextPass, draw_lesson_card);
    }
}

/// Whether a lesson is shown (classroom's Space then means Next, not pause).
pub fn lesson_active(state: &LessonState) -> bool {
    state.run.is_some()
}

/// `window.supervisor.load_lesson(name)`, `lesson_next()`, `lesson_prev()`, `get_lesson_json()`.
fn expose_lesson_api(requests: Res<LessonRequests>, snapshot: Res<SharedLessonSnapshot>) {
    let r = requests.clone();
    let load = move |name: String| {
        let name = name.trim().to_string();
        r.request(LessonCommand::Load {
            name: name.clone(),
            step: 0,
        })
        .map(|()| format!("loading lesson {name}"))
    };
    let mut failures = Vec::new();
    failures.extend(crate::web::expose_command("load_lesson", load).err());
    for (name, command) in [
        ("lesson_next", LessonCommand::Next),
        ("lesson_prev", LessonCommand::Previous),
        ("lesson_reveal_answer", LessonCommand::RevealAnswer),
    ] {
        let r = requests.clone();
        let run = move || {
            r.request(command.clone())
                .map_or_else(|e| e, |()| format!("{{\"queued\":\"{name}\"}}"))
        };
        failures.extend(crate::web::expose_json(name, run).err());
    }
    let s = snapshot.clone();
    failures.extend(crate::web::expose_json("get_lesson_json", move || s.to_json()).err());
    for e in failures {
        error!("cannot expose the lesson API: {e:?}");
    }
}

/// Reads the page's link before the scenario plugin picks its start-up scenario.
fn read_share_link(
    mut pending: ResMut<PendingLink>,
    mut toasts: ResMut<Toasts>,
    mut settings: Option<ResMut<crate::scenario::ScenarioSettings>>,
    requests: Res<LessonRequests>,
    mut theme: ResMut<Theme>,
) {
    let query = share_link::page_query();
    if query.is_empty() || query == "?" {
        return;
    }
    match share_link::parse_share_query(&query, &LESSON_NAMES, &SCENARIO_NAMES) {
        Ok(link) => {
            info!("opening the share link {query}");
            if let Some(theme_choice) = link.theme {
                *theme = Theme::for_mode(match theme_choice {
                    LinkTheme::Standard => ThemeMode::Standard,
                    LinkTheme::Projector => ThemeMode::Projector,
                });
            }
            if let Some(lesson) = &link.lesson {
                requests
                    .request(LessonCommand::Load {
                        name: lesson.clone(),
                        step: link.step.unwrap_or(1) - 1,
                    })
                    .ok();
            } else if let (Some(scenario), Some(settings)) = (&link.scenario, settings.as_mut()) {
                settings.startup = Some(scenario.clone());
            }
            pending.state = Some(link);
        }
        Err(e) => {
            warn!("{e}");
            toasts.push(e.to_string(), true);
        }
    }
}

fn forward_lesson_requests(requests: Res<LessonRequests>, mut out: MessageWriter<LessonCommand>) {
    out.write_batch(requests.take());
}

/// → and Space: next step; ←: previous step (only while a lesson is shown).
fn read_lesson_keys(
    mut keys: MessageReader<KeyboardInput>,
    state: Res<LessonState>,
    mut out: MessageWriter<LessonCommand>,
) {
    for key in keys.read() {
        if key.state != ButtonState::Pressed || key.repeat || !lesson_active(&state) {
            continue;
        }
        match &key.logical_key {
            Key::ArrowRight | Key::Space => {
                out.write(LessonCommand::Next);
            }
            Key::Character(c) if c.as_str() == " " => {
                out.write(LessonCommand::Next);
            }
            Key::ArrowLeft => {
                out.write(LessonCommand::Previous);
            }
            _ => {}
        }
    }
}

fn start_lesson_loads(
    mut commands: MessageReader<LessonCommand>,
    asset_server: Res<AssetServer>,
    mut state: ResMut<LessonState>,
) {
    for command in commands.read() {
        let LessonCommand::Load { name, step } = command else {
            continue;
        };
        let path = format!("lessons/{name}.ron");
        let handle = asset_server.load::<LessonFile>(path.clone());
        // Opening a lesson again reads the file again (an edited or once-failed file too).
        if matches!(
            asset_server.load_state(&handle),
            LoadState::Loaded | LoadState::Failed(_)
        ) {
            asset_server.reload(path);
        }
        state.loading = Some((name.clone(), handle, *step));
    }
}

#[allow(clippy::too_many_arguments)]
fn apply_loaded_lesson(
    mut state: ResMut<LessonState>,
    files: Res<Assets<LessonFile>>,
    mut failures: MessageReader<AssetLoadFailedEvent<LessonFile>>,
    mut asset_events: MessageReader<AssetEvent<LessonFile>>,
    mut scenario_out: MessageWriter<LoadScenario>,
    settings: Res<LessonSettings>,
    mut toasts: ResMut<Toasts>,
    time: Res<Time<Real>>,
) {
    let Some((name, handle, step)) = state.loading.clone() else {
        failures.clear();
        asset_events.clear();
        return;
    };
    for failure in failures.read() {
        if failure.id == handle.id() {
            let error = format!(
                "lessons/{name}.ron: {}",
                describe_load_error(&failure.error)
            );
            warn!("lesson not loaded: {error}");
            toasts.push(error.clone(), true);
            state.error = Some(error);
            state.loading = None;
            return;
        }
    }
    let loaded = asset_events.read().any(|e| match e {
        AssetEvent::LoadedWithDependencies { id } | AssetEvent::Modified { id } => {
            *id == handle.id()
        }
        _ => false,
    }) || (files.get(&handle).is_some() && state.loading.is_some());
    let Some(file) = files.get(&handle).filter(|_| loaded) else {
        return;
    };
    let lesson = file.0.clone();
    if step >= lesson.steps.len() {
        toasts.push(
            format!(
                "link parameter `step`: lesson {name} has {} steps; opened at step 1",
                lesson.steps.len()
            ),
            true,
        );
    }
    let step = if step < lesson.steps.len() { step } else { 0 };
    scenario_out.write(LoadScenario {
        name: lesson.scenario.clone(),
    });
    state.starting = Some(Starting {
        run: LessonRun::new(&name, lesson, step, settings.hold_secs),
        seen_loading: false,
        since_secs: time.elapsed_secs_f64(),
    });
    state.error = None;
    state.loading = None;
}

/// How long a lesson waits for its scenario before it starts anyway (the scenario's error, if
/// any, is on screen).
const SCENARIO_WAIT_SECS: f64 = 20.0;

/// Begins a started lesson once its scenario runs: applies the actions of every step up to the
/// one opened (a link at step 3 has the processes steps 1 and 2 spawned), then enters it.
#[allow(clippy::too_many_arguments)]
fn begin_started_lesson(
    mut state: ResMut<LessonState>,
    scenario: Res<ScenarioState>,
    supervisor: Res<SupervisorHandle>,
    time: Res<Time<Real>>,
    mut out: StepOutputs,
) {
    let Some(starting) = state.starting.as_mut() else {
        return;
    };
    let wanted = starting.run.lesson.scenario.clone();
    if scenario.loading_name() == Some(wanted.as_str()) {
        starting.seen_loading = true;
        return;
    }
    let ready = starting.seen_loading && scenario.current.as_deref() == Some(wanted.as_str());
    let waited = time.elapsed_secs_f64() - starting.since_secs;
    if !ready && waited < SCENARIO_WAIT_SECS {
        return;
    }
    if !ready {
        out.toasts.push(
            format!("lesson: the scenario {wanted} did not start; the lesson runs without it"),
            true,
        );
    }
    let Some(Starting { mut run, .. }) = state.starting.take() else {
        return;
    };
    let sup = supervisor.lock();
    let earlier: Vec<Action> = run.lesson.steps[..run.step()]
        .iter()
        .flat_map(|s| s.actions.clone())
        .collect();
    let mut entry = run.enter(&sup, false);
    entry.actions.splice(0..0, earlier);
    info!("lesson {} started at step {}", run.name, run.step() + 1);
    state.step_entered_at = vec![None; run.steps()];
    state.spotlight = Spotlight::default();
    state.run = Some(run);
    apply_step(&entry, &sup, &mut state, &mut out);
}

/// Everything a step's actions may write.
#[derive(bevy::ecs::system::SystemParam)]
struct StepOutputs<'w> {
    intents: MessageWriter<'w, SupervisorIntent>,
    scenario: MessageWriter<'w, LoadScenario>,
    selection: ResMut<'w, Selection>,
    capability_view: ResMut<'w, CapabilityView>,
    panels: ResMut<'w, PanelState>,
    toasts: ResMut<'w, Toasts>,
}

/// Applies an entered step: intents for processes and speed, view state for the rest.
fn apply_step(
    entry: &StepEntry,
    supervisor: &crate::supervisor::Supervisor,
    state: &mut LessonState,
    out: &mut StepOutputs,
) {
    if entry.backwards {
        rewind_view_to_step(entry, state, out);
    } else {
        // Forwards the lesson goes on with the live system.
        if !supervisor.is_live() {
            out.intents.write(SupervisorIntent::GoLive);
        }
        if let Some(slot) = state.step_entered_at.get_mut(entry.step) {
            *slot = Some(supervisor.timeline().inputs);
        }
    }
    // Two Kill("sender") in one step end two senders: the newest not already asked for.
    let mut killed: Vec<ProcessId> = Vec::new();
    for action in &entry.actions {
        match action {
            Action::Spawn(program) => {
                out.intents.write(SupervisorIntent::Spawn {
                    program: program.clone(),
                });
            }
            Action::Kill(program) => match supervisor
                .kernel()
                .processes()
                .values()
                .filter(|p| &p.name == program && !p.state.is_zombie() && !killed.contains(&p.pid))
                .map(|p| p.pid)
                .max()
            {
                Some(pid) => {
                    killed.push(pid);
                    out.intents.write(SupervisorIntent::Kill { pid });
                }
                None => out
                    .toasts
                    .push(format!("lesson: no {program} is running to kill"), true),
            },
            Action::LoadScenario(name) => {
                out.scenario.write(LoadScenario { name: name.clone() });
            }
            Action::SetSpeed(speed) => {
                out.intents.write(SupervisorIntent::SetTime(match speed {
                    Speed::Running => TimeControl::Running,
                    Speed::Paused => TimeControl::Paused,
                    Speed::Slow(divisor) => slow_motion(*divisor),
                }));
            }
            Action::Pause => {
                out.intents
                    .write(SupervisorIntent::SetTime(TimeControl::Paused));
            }
            Action::Select(program) => match newest_live(supervisor, program) {
                Some(pid) => {
                    out.selection.0 = Some(pid);
                    state.pending_select = None;
                }
                None => state.pending_select = Some(program.clone()),
            },
            Action::Highlight(Highlight::Node(p)) => state.spotlight.node = Some(p.clone()),
            Action::Highlight(Highlight::Edge(a, b)) => {
                state.spotlight.edge = Some((a.clone(), b.clone()));
            }
            Action::Highlight(Highlight::MailboxWord(w)) => {
                state.spotlight.mailbox_word = Some(w.clone());
            }
            Action::Highlight(Highlight::Panel(p)) => {
                state.spotlight.panel = Some(p.clone());
                let tab = match p.as_str() {
                    "terminal" => Some(BottomTab::Terminal),
                    "traffic" => Some(BottomTab::Traffic),
                    "capabilities" => Some(BottomTab::Capabilities),
                    "endpoints" => Some(BottomTab::Endpoints),
                    "timeline" => Some(BottomTab::Timeline),
                    _ => None,
                };
                if let Some(tab) = tab {
                    out.panels.bottom_tab = tab;
                }
            }
            Action::CapabilityView(on) => out.capability_view.shown = *on,
        }
    }
}

/// Going back a step: the one place where "previous" meets time travel. The spotlight of the
/// step left behind is cleared here and the step's view actions re-applied by the caller, and
/// the view seeks to the recorded input at which the step was entered
/// (`state.step_entered_at[entry.step]`), so the class sees the system as it was when the step
/// began (the live system keeps running; Next or Esc returns to it).
fn rewind_view_to_step(entry: &StepEntry, state: &mut LessonState, out: &mut StepOutputs) {
    state.spotlight = Spotlight::default();
    let at = state.step_entered_at.get(entry.step).copied().flatten();
    debug!(
        "lesson back to step {}; entered at input {at:?}",
        entry.step + 1
    );
    if let Some(index) = at {
        out.intents.write(SupervisorIntent::Seek(index));
    }
}

fn follow_kernel_events(
    mut events: MessageReader<KernelEventMessage>,
    mut state: ResMut<LessonState>,
    supervisor: Res<SupervisorHandle>,
) {
    let Some(run) = state.run.as_mut() else {
        events.clear();
        return;
    };
    let sup = supervisor.lock();
    for event in events.read() {
        run.observe(&event.0, &sup);
    }
}

/// Next, Previous, Reveal, Close, and the kernel's own progress (a met wait moves on by itself
/// after the hold).
fn control_lesson(
    mut commands: MessageReader<LessonCommand>,
    mut state: ResMut<LessonState>,
    supervisor: Res<SupervisorHandle>,
    time: Res<Time<Real>>,
    mut out: StepOutputs,
) {
    let sup = supervisor.lock();
    let mut entries = Vec::new();
    for command in commands.read() {
        let Some(run) = state.run.as_mut() else {
            continue;
        };
        match command {
            LessonCommand::Next => entries.extend(run.next(&sup)),
            LessonCommand::Previous => entries.extend(run.previous(&sup)),
            LessonCommand::RevealAnswer => run.answer_revealed = true,
            LessonCommand::Close => {
                state.run = None;
                state.spotlight = Spotlight::default();
            }
            LessonCommand::Load { .. } => {}
        }
    }
    if let Some(run) = state.run.as_mut() {
        entries.extend(run.update(&sup, time.elapsed_secs_f64()));
    }
    for entry in entries {
        apply_step(&entry, &sup, &mut state, &mut out);
    }
    if let Some(program) = state.pending_select.clone()
        && let Some(pid) = newest_live(&sup, &program)
    {
        out.selection.0 = Some(pid);
        state.pending_select = None;
    }
}

/// How long a link's selection waits for its process to appear.
const LINK_SELECT_WAIT_SECS: f64 = 15.0;

/// Applies the rest of a share link once its lesson or scenario runs (their own speed and
/// processes come first).
#[allow(clippy::too_many_arguments)]
fn apply_share_link(
    mut pending: ResMut<PendingLink>,
    state: Res<LessonState>,
    scenario: Res<ScenarioState>,
    supervisor: Res<SupervisorHandle>,
    mut intents: MessageWriter<SupervisorIntent>,
    mut selection: ResMut<Selection>,
    mut capability_view: ResMut<CapabilityView>,
    mut panels: ResMut<PanelState>,
    mut toasts: ResMut<Toasts>,
    time: Res<Time<Real>>,
) {
    let Some(link) = pending.state.clone() else {
        return;
    };
    let ready = if link.lesson.is_some() {
        state.run.is_some() && state.loading_name().is_none() || state.error.is_some()
    } else {
        scenario.current.is_some() && scenario.loading_name().is_none()
    };
    if !ready {
        pending.since_secs = time.elapsed_secs_f64();
        return;
    }
    if let Some(speed) = link.speed {
        intents.write(SupervisorIntent::SetTime(match speed {
            LinkSpeed::Full => TimeControl::Running,
            LinkSpeed::Quarter => TimeControl::QUARTER,
            LinkSpeed::Sixteenth => TimeControl::SIXTEENTH,
            LinkSpeed::Paused => TimeControl::Paused,
        }));
    }
    if let Some(on) = link.capview {
        capability_view.shown = on;
    }
    if let Some(tab) = &link.tab {
        panels.bottom_tab = match tab.as_str() {
            "traffic" => BottomTab::Traffic,
            "capabilities" => BottomTab::Capabilities,
            "endpoints" => BottomTab::Endpoints,
            "timeline" => BottomTab::Timeline,
            _ => BottomTab::Terminal,
        };
    }
    if let Some(pid) = link.select {
        let alive = supervisor.lock().kernel().process(ProcessId(pid)).is_some();
        if alive {
            selection.0 = Some(ProcessId(pid));
        } else if time.elapsed_secs_f64() - pending.since_secs < LINK_SELECT_WAIT_SECS {
            // Speed and view are applied again next frame: harmless, and the link stays whole.
            return;
        } else {
            toasts.push(
                format!("link parameter `select`: no process has pid {pid}"),
                true,
            );
        }
    }
    pending.state = None;
}

/// The current share link's query, from the live state.
fn current_link(
    state: &LessonState,
    scenario: &ScenarioState,
    time: TimeControl,
    theme: &Theme,
    selection: &Selection,
    capability_view: &CapabilityView,
    panels: &PanelState,
) -> ShareState {
    ShareState {
        scenario: scenario.current.clone(),
        lesson: state.run.as_ref().map(|r| r.name.clone()),
        step: state.run.as_ref().map(|r| r.step() + 1),
        speed: Some(match time {
            TimeControl::Running => LinkSpeed::Full,
            TimeControl::Paused => LinkSpeed::Paused,
            t if t == TimeControl::QUARTER => LinkSpeed::Quarter,
            _ => LinkSpeed::Sixteenth,
        }),
        theme: (theme.mode == ThemeMode::Projector).then_some(LinkTheme::Projector),
        select: selection.0.map(|p| p.0),
        capview: capability_view.shown.then_some(true),
        tab: Some(
            match panels.bottom_tab {
                BottomTab::Terminal => "terminal",
                BottomTab::Traffic => "traffic",
                BottomTab::Capabilities => "capabilities",
                BottomTab::Endpoints => "endpoints",
                BottomTab::Timeline => "timeline",
            }
            .to_string(),
        )
        .filter(|t| t != "terminal"),
    }
}

#[allow(clippy::too_many_arguments)]
fn publish_lesson_snapshot(
    state: Res<LessonState>,
    scenario: Res<ScenarioState>,
    supervisor: Res<SupervisorHandle>,
    theme: Res<Theme>,
    selection: Res<Selection>,
    capability_view: Res<CapabilityView>,
    panels: Res<PanelState>,
    controls: Res<CardControls>,
    snapshot: Res<SharedLessonSnapshot>,
) {
    let time = supervisor.lock().time_control();
    let link = current_link(
        &state,
        &scenario,
        time,
        &theme,
        &selection,
        &capability_view,
        &panels,
    );
    let run = state.run.as_ref();
    let step = run.map(|r| r.current());
    let question = step.and_then(|s| s.question.as_ref()).map(|q| {
        let revealed = run.is_some_and(|r| r.answer_revealed);
        serde_json::json!({
            "text": q.text,
            "choices": q.choices,
            "answer_revealed": revealed,
            "answer": revealed.then_some(q.answer),
        })
    });
    let controls: serde_json::Map<String, serde_json::Value> = controls
        .0
        .iter()
        .map(|(name, r)| {
            (
                name.clone(),
                serde_json::json!({"x": r.min.x, "y": r.min.y, "width": r.width(), "height": r.height()}),
            )
        })
        .collect();
    let json = serde_json::json!({
        "name": run.map(|r| r.name.clone()),
        "title": run.map(|r| r.lesson.title.clone()),
        "step": run.map(|r| r.step() + 1),
        "steps": run.map(|r| r.steps()),
        "caption": step.map(|s| s.caption.clone()),
        "waiting_for": run.and_then(LessonRun::waiting_for),
        "done": run.is_some_and(LessonRun::done),
        "question": question,
        "loading": state.loading_name(),
        "error": state.error,
        "lessons": LESSON_NAMES,
        "link": link.to_query(),
        "controls": controls,
    })
    .to_string();
    *snapshot.0.lock().unwrap_or_else(|p| p.into_inner()) = json;
}

/// The lesson card, the canvas toolbar and the spotlight, over the canvas.
#[allow(clippy::too_many_arguments)]
fn draw_lesson_card(
    mut contexts: EguiContexts,
    state: Res<LessonState>,
    supervisor: Res<SupervisorHandle>,
    scenario: Res<ScenarioState>,
    theme: Res<Theme>,
    mut area: ResMut<CanvasArea>,
    model: Res<GraphModel>,
    rig: Res<CameraRig>,
    window: Query<&Window, With<PrimaryWindow>>,
    mut capability_view: ResMut<CapabilityView>,
    mut commands: MessageWriter<LessonCommand>,
    mut out: (
        ResMut<Toasts>,
        Res<Selection>,
        Res<PanelState>,
        ResMut<CardControls>,
    ),
    time: Res<Time<Real>>,
    mut collapsed: Local<bool>,
) -> Result {
    let ctx = contexts.ctx_mut()?.clone();
    let css = CssPerPoint::of(&ctx, window.single().ok());
    let scale = css.0;
    let to_points = |p: Vec2| css.to_points(p);
    let canvas = css.rect_to_points(area.rect);
    let (toasts, selection, panels, card_controls) = (&mut out.0, &out.1, &out.2, &mut out.3);
    let mut controls: Vec<(String, egui::Rect)> = Vec::new();
    let sup = supervisor.lock();
    let big = theme.caption_font_size;

    // The toolbar: top-right corner of the canvas.
    let toolbar = egui::Area::new(egui::Id::new("lesson_toolbar"))
        .pivot(egui::Align2::RIGHT_TOP)
        .fixed_pos(canvas.right_top() + egui::vec2(-10.0, 8.0))
        .order(egui::Order::Foreground)
        .show(&ctx, |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                ui.horizontal(|ui| {
                    let current = state
                        .run
                        .as_ref()
                        .map_or("Lessons…".to_string(), |r| format!("Lesson: {}", r.name));
                    let combo = egui::ComboBox::from_id_salt("lesson_picker")
                        .selected_text(current)
                        .show_ui(ui, |ui| {
                            for name in LESSON_NAMES {
                                let r = ui.selectable_label(false, name);
                                controls.push((format!("lesson:{name}"), r.rect));
                                if r.clicked() {
                                    commands.write(LessonCommand::Load {
                                        name: name.to_string(),
                                        step: 0,
                                    });
                                }
                            }
                        });
                    controls.push(("lesson_picker".into(), combo.response.rect));
                    let r = ui.checkbox(&mut capability_view.shown, "Capability view");
                    controls.push(("capability_view".into(), r.rect));
                    let r = ui.button("Copy link");
                    controls.push(("copy_link".into(), r.rect));
                    if r.clicked() {
                        let link = current_link(
                            &state,
                            &scenario,
                            sup.time_control(),
                            &theme,
                            selection,
                            &capability_view,
                            panels,
                        );
                        let query = link.to_query();
                        let url = share_link::page_link(&query);
                        share_link::copy_to_clipboard(&url);
                        share_link::replace_page_query(&query);
                        toasts.push(format!("Link copied: {url}"), false);
                    }
                });
            });
        });
    let toolbar_bottom = toolbar.response.rect.max.y;

    if let Some(error) = &state.error {
        egui::Area::new(egui::Id::new("lesson_error"))
            .pivot(egui::Align2::RIGHT_TOP)
            .fixed_pos(egui::pos2(canvas.max.x - 10.0, toolbar_bottom + 6.0))
            .order(egui::Order::Foreground)
            .interactable(false)
            .show(&ctx, |ui| {
                ui.set_max_width((canvas.width() * 0.45).clamp(200.0, 460.0));
                egui::Frame::popup(ui.style())
                    .stroke(egui::Stroke::new(2.0, theme.error.egui()))
                    .show(ui, |ui| {
                        ui.label(
                            egui::RichText::new(format!("Lesson not loaded: {error}"))
                                .color(theme.error.egui()),
                        );
                        ui.small(
                            "Fix the file and pick the lesson again; the running lesson goes on.",
                        );
                    });
            });
    }

    let mut card_rect = None;
    if let Some(run) = &state.run {
        let card_top = toolbar_bottom + if state.error.is_some() { 90.0 } else { 6.0 };
        // At most about two fifths of the canvas, so the graph stays in view beside it.
        let width = (canvas.width() * 0.42).clamp(220.0, 520.0);
        let card = egui::Area::new(egui::Id::new("lesson_card"))
            .pivot(egui::Align2::RIGHT_TOP)
            .fixed_pos(egui::pos2(canvas.max.x - 10.0, card_top))
            .order(egui::Order::Foreground)
            .show(&ctx, |ui| {
                ui.set_max_width(width);
                egui::Frame::popup(ui.style())
                    .stroke(egui::Stroke::new(2.0, theme.accent.egui()))
                    .inner_margin(12.0)
                    .show(ui, |ui| {
                        ui.set_width(width);
                        ui.horizontal(|ui| {
                            ui.label(format!("step {} of {}", run.step() + 1, run.steps()));
                            ui.with_layout(
                                egui::Layout::right_to_left(egui::Align::Center),
                                |ui| {
                                    let r = ui.small_button("Close");
                                    controls.push(("lesson_close".into(), r.rect));
                                    if r.on_hover_text("close the lesson").clicked() {
                                        commands.write(LessonCommand::Close);
                                    }
                                    let r =
                                        ui.small_button(if *collapsed { "Show" } else { "Hide" });
                                    controls.push(("lesson_hide".into(), r.rect));
                                    if r.on_hover_text(
                                        "fold the card to this line (the graph behind it shows)",
                                    )
                                    .clicked()
                                    {
                                        *collapsed = !*collapsed;
                                    }
                                },
                            );
                        });
                        ui.label(
                            egui::RichText::new(&run.lesson.title)
                                .strong()
                                .color(theme.accent.egui()),
                        );
                        if !*collapsed {
                            ui.add_space(4.0);
                            caption_ui(ui, &run.current().caption, big, &theme);
                            if let Some(word) = &state.spotlight.mailbox_word {
                                let pid = selection.0.or_else(|| {
                                    state
                                        .spotlight
                                        .node
                                        .as_deref()
                                        .and_then(|p| newest_live(&sup, p))
                                });
                                if let Some(pid) = pid {
                                    mailbox_strip_ui(ui, &sup, pid, word, &theme);
                                }
                            }
                            if let Some(q) = &run.current().question {
                                ui.add_space(6.0);
                                ui.label(egui::RichText::new(&q.text).size(big * 0.85).strong());
                                for (i, choice) in q.choices.iter().enumerate() {
                                    let mut text = egui::RichText::new(format!(
                                        "{}  {choice}",
                                        (b'A' + i as u8) as char
                                    ))
                                    .size(big * 0.8);
                                    if run.answer_revealed {
                                        text = if i == q.answer {
                                            text.strong().color(theme.ok.egui())
                                        } else {
                                            text.color(theme.text_weak.egui())
                                        };
                                    }
                                    ui.label(text);
                                }
                                if run.answer_revealed {
                                    if !q.explanation.is_empty() {
                                        ui.label(
                                            egui::RichText::new(&q.explanation)
                                                .size(big * 0.75)
                                                .color(theme.ok.egui()),
                                        );
                                    }
                                } else {
                                    let r = ui.button("Show the answer");
                                    controls.push(("lesson_reveal".into(), r.rect));
                                    if r.clicked() {
                                        commands.write(LessonCommand::RevealAnswer);
                                    }
                                }
                            }
                        }
                        ui.add_space(6.0);
                        match run.waiting_for() {
                            Some(waiting) => {
                                let dots = ".".repeat(1 + (time.elapsed_secs() * 2.0) as usize % 3);
                                ui.label(
                                    egui::RichText::new(format!("waiting for: {waiting}{dots}"))
                                        .size(big * 0.7)
                                        .color(theme.warning.egui()),
                                );
                            }
                            None if run.done() => {
                                ui.label(
                                    egui::RichText::new("Done: the end of the lesson")
                                        .size(big * 0.7)
                                        .color(theme.ok.egui()),
                                );
                            }
                            None if run.current().wait.is_some() => {
                                ui.label(
                                    egui::RichText::new("Reached: the kernel got there")
                                        .size(big * 0.7)
                                        .color(theme.ok.egui()),
                                );
                            }
                            None => {}
                        }
                        ui.horizontal(|ui| {
                            let r = ui.add_enabled(run.step() > 0, egui::Button::new("◀ Previous"));
                            controls.push(("lesson_prev".into(), r.rect));
                            if r.clicked() {
                                commands.write(LessonCommand::Previous);
                            }
                            let r = ui.add_enabled(
                                run.step() + 1 < run.steps(),
                                egui::Button::new("Next ▶"),
                            );
                            controls.push(("lesson_next".into(), r.rect));
                            if r.clicked() {
                                commands.write(LessonCommand::Next);
                            }
                            ui.small("Right arrow or Space: next · Left arrow: back");
                        });
                    });
            });
        card_rect = Some(card.response.rect);
    } else if let Some(name) = state.loading_name() {
        egui::Area::new(egui::Id::new("lesson_loading"))
            .pivot(egui::Align2::RIGHT_TOP)
            .fixed_pos(egui::pos2(canvas.max.x - 10.0, toolbar_bottom + 6.0))
            .interactable(false)
            .show(&ctx, |ui| {
                ui.label(format!("starting lesson {name}…"));
            });
    }

    // The camera fits the graph beside the card (CSS pixels, like the rest of CanvasArea).
    let card_css = card_rect.map(|r| css.rect_to_css(r));
    if area.card != card_css {
        area.card = card_css;
    }

    // The spotlight: a ring round the node, a thick line along the edge.
    let painter = ctx
        .layer_painter(egui::LayerId::new(
            egui::Order::Middle,
            egui::Id::new("lesson_spotlight"),
        ))
        .with_clip_rect(canvas);
    let pulse = 0.6 + 0.4 * (time.elapsed_secs() * 4.0).sin().abs();
    let color = theme.selection.egui().gamma_multiply(pulse);
    let at = |program: &str| {
        newest_live(&sup, program)
            .and_then(|pid| model.position(pid))
            .map(|w| to_points(rig.world_to_px(&area, w)))
    };
    let radius = theme.node_radius / rig.world_per_px / scale;
    if let Some(p) = state.spotlight.node.as_deref().and_then(at) {
        painter.circle_stroke(p, radius + 14.0, egui::Stroke::new(4.0, color));
    }
    if let Some((a, b)) = &state.spotlight.edge
        && let (Some(a), Some(b)) = (at(a), at(b))
    {
        painter.line_segment([a, b], egui::Stroke::new(6.0, color.gamma_multiply(0.7)));
    }
    drop(sup);
    card_controls.0 = controls
        .into_iter()
        .map(|(name, r)| {
            (
                name,
                egui::Rect::from_min_max(
                    egui::pos2(r.min.x * scale, r.min.y * scale),
                    egui::pos2(r.max.x * scale, r.max.y * scale),
                ),
            )
        })
        .collect();
    Ok(())
}

/// The caption in large type, `**bold**` and `` `code` `` formatted.
fn caption_ui(ui: &mut egui::Ui, caption: &str, size: f32, theme: &Theme) {
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 0.0;
        for (text, bold, code) in caption_spans(caption) {
            let mut rich = egui::RichText::new(text)
                .size(size)
                .color(theme.text.egui());
            if bold {
                rich = rich.strong().color(theme.accent.egui());
            }
            if code {
                rich = rich.monospace();
            }
            ui.label(rich);
        }
    });
}

/// The syscall-flow words of a process's mailbox with their values now; `word` is lit.
fn mailbox_strip_ui(
    ui: &mut egui::Ui,
    sup: &crate::supervisor::Supervisor,
    pid: ProcessId,
    word: &str,
    theme: &Theme,
) {
    let Some(words) = mailbox_words(sup, pid) else {
        return;
    };
    let name = sup
        .kernel()
        .process(pid)
        .map_or("?".to_string(), |p| p.name.clone());
    ui.add_space(4.0);
    ui.label(
        egui::RichText::new(format!("mailbox of {name} (pid {})", pid.0))
            .small()
            .color(theme.text_weak.egui()),
    );
    ui.horizontal_wrapped(|ui| {
        for (label, value) in words {
            let shown = match label {
                "STATUS" => match value {
                    0 => "IDLE".to_string(),
                    1 => "PENDING".to_string(),
                    2 => "READY".to_string(),
                    v => v.to_string(),
                },
                "SYSCALL" | "LAST_SERVICED" => crate::abi::Syscall::from_raw(value as u32)
                    .map_or(value.to_string(), |s| s.name().to_string()),
                _ => value.to_string(),
            };
            let text = egui::RichText::new(format!("{label} {shown}")).monospace();
            if label == word {
                ui.label(
                    text.strong()
                        .background_color(theme.accent.egui())
                        .color(egui::Color32::BLACK),
                );
            } else {
                ui.label(text.color(theme.text.egui()));
            }
        }
    });
}

/// The loader's own message without Bevy's wrapping, when there is one.
fn describe_load_error(error: &bevy::asset::AssetLoadError) -> String {
    use bevy::asset::AssetLoadError;
    match error {
        AssetLoadError::AssetLoaderError(e) => {
            let text = e.to_string();
            text.rsplit_once("': ")
                .map_or(text.clone(), |(_, ours)| ours.to_string())
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_lessons_parse_and_broken_one_reports_line_and_column() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/lessons");
        let manifest = crate::supervisor::Manifest::builtin().unwrap();
        for name in LESSON_NAMES {
            let bytes = std::fs::read(dir.join(format!("{name}.ron"))).unwrap();
            match (name, parse_lesson(&bytes)) {
                ("broken", Err(LessonError::Parse { line, column, .. })) => {
                    assert!(line > 1 && column > 0)
                }
                ("broken", other) => panic!("broken.ron should fail to parse, got {other:?}"),
                (_, Ok(lesson)) => {
                    assert!(
                        SCENARIO_NAMES.contains(&lesson.scenario.as_str()),
                        "{name}: scenario {}",
                        lesson.scenario
                    );
                    for program in lesson.programs() {
                        assert!(
                            manifest.program(program).is_some(),
                            "{name}.ron names {program}, which is not in programs.ron"
                        );
                    }
                }
                (_, Err(e)) => panic!("{name}.ron: {e}"),
            }
        }
    }

    #[test]
    fn requests_refuse_unknown_lessons_with_the_list() {
        let requests = LessonRequests::default();
        let e = requests
            .request(LessonCommand::Load {
                name: "nope".into(),
                step: 0,
            })
            .unwrap_err();
        assert!(e.contains("\"nope\"") && e.contains("capabilities"), "{e}");
        requests.request(LessonCommand::Next).unwrap();
        assert_eq!(requests.take(), [LessonCommand::Next]);
    }
}
