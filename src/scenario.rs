//! Scenarios: which programs to boot, in which order, at which speed and where their nodes go,
//! as RON files under `assets/scenarios/`, loaded as Bevy assets.
//!
//! Capability wiring follows from the spawn order and the program manifest (`assets/programs.ron`):
//! a program's `connects` are wired to the newest live provider of that service, so listing a
//! `receiver` before its `sender` wires the sender to that receiver, and two `pingpong`s in a row
//! form a pair. A scenario therefore says "who talks to whom" by the order of `processes`.
//! Each scenario lists everything besides init and terminal. Starting one (once the boot has
//! settled) keeps the boot processes it lists (the seed's idle stays PID 3: init 1, terminal 2,
//! idle 3) and kills every other unprotected process, then spawns the rest.
//!
//! Loading goes through the same path as a person: the scenario becomes `SupervisorIntent`s
//! (reset user processes, spawn each program, set the time control). A file that does not parse
//! leaves the running scenario alone and reports its error with line and column in the UI.
//! `window.supervisor.load_scenario(name)` writes the same [`LoadScenario`] message as the picker.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use bevy::asset::{AssetLoadFailedEvent, AssetLoader, LoadContext, LoadState, io::Reader};
use bevy::prelude::*;
use serde::{Deserialize, Serialize};

use crate::kernel::ProcessId;
use crate::supervisor::{SupervisorHandle, SupervisorIntent, TimeControl};

/// The scenarios offered by the picker, in the order shown. `broken` is deliberately malformed: it
/// shows what a parse error looks like (and the end-to-end test loads it).
pub const SCENARIO_NAMES: [&str; 6] = [
    "default",
    "memory",
    "capabilities",
    "messages",
    "crowd",
    "broken",
];

/// One scenario file.
#[derive(Asset, TypePath, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub title: String,
    pub description: String,
    /// Spawned in order after init has booted terminal and idle.
    #[serde(default)]
    pub processes: Vec<ScenarioProcess>,
    #[serde(default)]
    pub time: ScenarioTime,
}

/// One entry of `processes`: `count` copies of `program`, the first one optionally pinned at
/// `position` (world units, origin at the canvas centre, y up).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioProcess {
    pub program: String,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default)]
    pub position: Option<(f32, f32)>,
}

fn one() -> u32 {
    1
}

/// The speed a scenario starts at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScenarioTime {
    #[default]
    Running,
    Paused,
    /// Slow motion: 1/`divisor` of full speed (4 or 16 in the UI).
    Slow(u32),
}

/// Why a scenario file could not be used.
#[derive(Debug)]
pub enum ScenarioError {
    Io(std::io::Error),
    /// The file is not valid RON for a [`Scenario`]; 1-based line and column of the problem.
    Parse {
        line: usize,
        column: usize,
        message: String,
    },
    Invalid(String),
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "could not read the scenario file: {e}"),
            Self::Parse {
                line,
                column,
                message,
            } => write!(f, "line {line}, column {column}: {message}"),
            Self::Invalid(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for ScenarioError {}

/// Most processes a scenario may start (the kernel's own limit is higher; this keeps a typo such
/// as `count: 6400` from freezing a classroom laptop).
pub const MAX_SCENARIO_PROCESSES: u32 = 256;

/// Parses and checks one scenario file.
pub fn parse_scenario(bytes: &[u8]) -> Result<Scenario, ScenarioError> {
    let scenario: Scenario = ron::de::from_bytes(bytes).map_err(|e| ScenarioError::Parse {
        line: e.span.start.line,
        column: e.span.start.col,
        message: e.code.to_string(),
    })?;
    let total: u32 = scenario.processes.iter().map(|p| p.count).sum();
    if total > MAX_SCENARIO_PROCESSES {
        return Err(ScenarioError::Invalid(format!(
            "the scenario starts {total} processes; at most {MAX_SCENARIO_PROCESSES} are allowed"
        )));
    }
    if let Some(p) = scenario
        .processes
        .iter()
        .find(|p| p.program.trim().is_empty())
    {
        return Err(ScenarioError::Invalid(format!(
            "a process entry has an empty program name: {p:?}"
        )));
    }
    if let ScenarioTime::Slow(0) = scenario.time {
        return Err(ScenarioError::Invalid(
            "time: Slow(0) is not a speed; use Paused, Slow(4) or Slow(16)".into(),
        ));
    }
    Ok(scenario)
}

/// How a scenario starts on a running system: what to keep, what to spawn, where nodes go.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScenarioPlan {
    /// Reset (kill every unprotected process but the kept ones), spawn, set the time control.
    pub intents: Vec<SupervisorIntent>,
    /// Boot processes the scenario lists, kept with their pids instead of being respawned.
    pub kept: Vec<ProcessId>,
    /// Positions for processes still to be spawned: (program, position), in spawn order.
    pub placements: Vec<(String, Vec2)>,
    /// Positions for kept processes.
    pub kept_positions: Vec<(ProcessId, Vec2)>,
}

impl Scenario {
    /// The intents that start this scenario on a system with no boot processes to keep.
    pub fn intents(&self) -> Vec<SupervisorIntent> {
        self.plan(&[]).intents
    }

    /// Plans the start given the live boot processes (pid, program) a scenario may keep: each
    /// listed program takes a boot process of that program if one is left, else is spawned.
    pub fn plan(&self, boot: &[(ProcessId, String)]) -> ScenarioPlan {
        let mut plan = ScenarioPlan::default();
        let mut spawns = Vec::new();
        for p in &self.processes {
            for copy in 0..p.count {
                let position = p
                    .position
                    .filter(|_| copy == 0)
                    .map(|(x, y)| Vec2::new(x, y));
                let boot_process = boot
                    .iter()
                    .find(|(pid, name)| *name == p.program && !plan.kept.contains(pid))
                    .map(|(pid, _)| *pid);
                match boot_process {
                    Some(pid) => {
                        plan.kept.push(pid);
                        plan.kept_positions.extend(position.map(|at| (pid, at)));
                    }
                    None => {
                        spawns.push(SupervisorIntent::Spawn {
                            program: p.program.clone(),
                        });
                        plan.placements
                            .extend(position.map(|at| (p.program.clone(), at)));
                    }
                }
            }
        }
        plan.intents.push(if plan.kept.is_empty() {
            SupervisorIntent::ResetUserProcesses
        } else {
            SupervisorIntent::ResetUserProcessesExcept {
                keep: plan.kept.clone(),
            }
        });
        plan.intents.extend(spawns);
        plan.intents
            .push(SupervisorIntent::SetTime(self.time.time_control()));
        plan
    }

    /// (program, position) for each process entry with a position, in spawn order.
    pub fn placements(&self) -> impl Iterator<Item = (String, Vec2)> + '_ {
        self.processes.iter().filter_map(|p| {
            p.position
                .map(|(x, y)| (p.program.clone(), Vec2::new(x, y)))
        })
    }
}

impl ScenarioTime {
    pub fn time_control(self) -> TimeControl {
        match self {
            Self::Running => TimeControl::Running,
            Self::Paused => TimeControl::Paused,
            Self::Slow(divisor) => crate::ui_state::slow_motion(divisor),
        }
    }
}

/// Loads `*.ron` files as [`Scenario`]s.
#[derive(Default, TypePath)]
pub struct ScenarioLoader;

impl AssetLoader for ScenarioLoader {
    type Asset = Scenario;
    type Settings = ();
    type Error = ScenarioError;

    async fn load(
        &self,
        reader: &mut dyn Reader,
        _settings: &(),
        _load_context: &mut LoadContext<'_>,
    ) -> Result<Scenario, ScenarioError> {
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .await
            .map_err(ScenarioError::Io)?;
        parse_scenario(&bytes)
    }

    fn extensions(&self) -> &[&str] {
        &["scenario.ron", "ron"]
    }
}

/// Ask to switch scenario (the picker, a test or `window.supervisor` writes this).
#[derive(Message, Clone, Debug, PartialEq, Eq)]
pub struct LoadScenario {
    pub name: String,
}

/// Scenario names asked for from outside the ECS (`window.supervisor.load_scenario`), turned
/// into [`LoadScenario`] messages at the start of the next frame.
#[derive(Resource, Clone, Debug, Default)]
pub struct ScenarioRequests(Arc<Mutex<Vec<String>>>);

impl ScenarioRequests {
    /// Queues a scenario by name; an unknown name is refused with the list of known ones.
    pub fn request(&self, name: &str) -> Result<(), String> {
        let name = name.trim();
        if !SCENARIO_NAMES.contains(&name) {
            return Err(format!(
                "unknown scenario {name:?}: choose one of {}",
                SCENARIO_NAMES.join(", ")
            ));
        }
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(name.to_string());
        Ok(())
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Which scenario runs, which one is loading, and the last load error.
#[derive(Resource, Debug, Default)]
pub struct ScenarioState {
    /// Name of the scenario whose intents were last sent.
    pub current: Option<String>,
    pub current_title: Option<String>,
    pub current_description: Option<String>,
    loading: Option<(String, Handle<Scenario>)>,
    /// When the loading scenario's file was ready (it then waits for the boot to settle).
    loaded_at_secs: Option<f64>,
    /// "scenarios/broken.ron: line 4, column 12: Expected ..." until the next successful load.
    pub error: Option<String>,
    /// The processes alive when the boot first settled (init, terminal, idle): a scenario keeps
    /// those it lists, so the seed's pids stay (idle is PID 3).
    boot_pids: Option<Vec<ProcessId>>,
}

impl ScenarioState {
    pub fn loading_name(&self) -> Option<&str> {
        self.loading.as_ref().map(|(name, _)| name.as_str())
    }
}

/// Node positions a scenario asked for, claimed by the graph as matching processes appear
/// (`.0`), and positions for processes the scenario kept (`.1`, taken by the graph next frame).
#[derive(Resource, Debug, Default)]
pub struct PendingPlacements(pub VecDeque<(String, Vec2)>, pub Vec<(ProcessId, Vec2)>);

impl PendingPlacements {
    /// The first waiting position for a process of `program`, if any.
    pub fn claim(&mut self, program: &str) -> Option<Vec2> {
        let index = self.0.iter().position(|(p, _)| p == program)?;
        self.0.remove(index).map(|(_, pos)| pos)
    }
}

/// Which scenario the app starts with.
#[derive(Resource, Debug, Clone)]
pub struct ScenarioSettings {
    pub startup: Option<String>,
}

impl Default for ScenarioSettings {
    fn default() -> Self {
        Self {
            startup: Some("default".into()),
        }
    }
}

#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum ScenarioSystems {
    Load,
    Apply,
}

pub struct ScenarioPlugin;

impl Plugin for ScenarioPlugin {
    fn build(&self, app: &mut App) {
        app.init_asset::<Scenario>()
            .register_asset_loader(ScenarioLoader)
            .add_message::<LoadScenario>()
            .init_resource::<ScenarioState>()
            .init_resource::<PendingPlacements>()
            .init_resource::<ScenarioSettings>()
            .init_resource::<ScenarioRequests>()
            .configure_sets(
                Update,
                (ScenarioSystems::Load, ScenarioSystems::Apply).chain(),
            )
            .add_systems(Startup, (request_startup_scenario, expose_load_scenario))
            .add_systems(
                Update,
                (forward_requests, start_scenario_loads)
                    .chain()
                    .in_set(ScenarioSystems::Load),
            )
            .add_systems(Update, apply_loaded_scenario.in_set(ScenarioSystems::Apply));
    }
}

fn request_startup_scenario(
    settings: Res<ScenarioSettings>,
    mut requests: MessageWriter<LoadScenario>,
) {
    if let Some(name) = &settings.startup {
        requests.write(LoadScenario { name: name.clone() });
    }
}

/// `window.supervisor.load_scenario(name)` (a no-op natively).
fn expose_load_scenario(requests: Res<ScenarioRequests>) {
    let requests = requests.clone();
    let run = move |name: String| {
        requests
            .request(&name)
            .map(|()| format!("loading scenario {}", name.trim()))
    };
    if let Err(e) = crate::web::expose_command("load_scenario", run) {
        error!("cannot expose load_scenario: {e:?}");
    }
}

fn forward_requests(requests: Res<ScenarioRequests>, mut out: MessageWriter<LoadScenario>) {
    for name in requests.take() {
        out.write(LoadScenario { name });
    }
}

fn start_scenario_loads(
    mut requests: MessageReader<LoadScenario>,
    asset_server: Res<AssetServer>,
    mut state: ResMut<ScenarioState>,
) {
    for request in requests.read() {
        let name = request.name.trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            state.error = Some(format!(
                "{name:?} is not a scenario name (letters, digits, - and _ only)"
            ));
            continue;
        }
        let path = format!("scenarios/{name}.ron");
        let handle = asset_server.load::<Scenario>(path.clone());
        // Picking a scenario again restarts it: read the file again (an edited or once-failed
        // file is then up to date too).
        if matches!(
            asset_server.load_state(&handle),
            LoadState::Loaded | LoadState::Failed(_)
        ) {
            asset_server.reload(path);
        }
        state.loading = Some((name.to_string(), handle));
        state.loaded_at_secs = None;
    }
}

#[allow(clippy::too_many_arguments)]
fn apply_loaded_scenario(
    mut state: ResMut<ScenarioState>,
    scenarios: Res<Assets<Scenario>>,
    mut failures: MessageReader<AssetLoadFailedEvent<Scenario>>,
    mut asset_events: MessageReader<AssetEvent<Scenario>>,
    mut intents: MessageWriter<SupervisorIntent>,
    mut placements: ResMut<PendingPlacements>,
    supervisor: Res<SupervisorHandle>,
    time: Res<Time<Real>>,
) {
    let Some((name, handle)) = state.loading.clone() else {
        failures.clear();
        asset_events.clear();
        return;
    };
    for failure in failures.read() {
        if failure.id == handle.id() {
            warn!("scenario {name} not loaded: {}", failure.error);
            state.error = Some(format!(
                "scenarios/{name}.ron: {}",
                describe_load_error(&failure.error)
            ));
            state.loading = None;
            return;
        }
    }
    let loaded_now = asset_events.read().any(|e| match e {
        AssetEvent::LoadedWithDependencies { id } | AssetEvent::Modified { id } => {
            *id == handle.id()
        }
        _ => false,
    });
    if loaded_now {
        state.loaded_at_secs = Some(time.elapsed_secs_f64());
    }
    let Some(loaded_at) = state.loaded_at_secs else {
        return;
    };
    // Wait for the boot to finish (init has started terminal and idle and sleeps, terminal waits
    // for input), or the reset would race init's own spawns; give up waiting after a while.
    let waited = time.elapsed_secs_f64() - loaded_at;
    if !boot_settled(&supervisor) && waited < BOOT_WAIT_SECS {
        return;
    }
    let Some(scenario) = scenarios.get(&handle) else {
        return;
    };
    let boot = {
        let supervisor = supervisor.lock();
        let processes = supervisor.kernel().processes();
        let boot_pids = state.boot_pids.get_or_insert_with(|| {
            processes
                .values()
                .filter(|p| !p.state.is_zombie())
                .map(|p| p.pid)
                .collect()
        });
        boot_pids
            .iter()
            .filter_map(|pid| processes.get(pid))
            .filter(|p| !p.protected && !p.state.is_zombie())
            .map(|p| (p.pid, p.name.clone()))
            .collect::<Vec<_>>()
    };
    let plan = scenario.plan(&boot);
    intents.write_batch(plan.intents);
    placements.0 = plan.placements.into();
    placements.1 = plan.kept_positions;
    info!("scenario {name} started: {}", scenario.title);
    state.current = Some(name);
    state.current_title = Some(scenario.title.clone());
    state.current_description = Some(scenario.description.clone());
    state.error = None;
    state.loading = None;
    state.loaded_at_secs = None;
}

/// Longest wait for the boot to settle before a scenario starts anyway.
const BOOT_WAIT_SECS: f64 = 10.0;

/// Every protected process (init, terminal) is blocked: the boot is done.
fn boot_settled(supervisor: &SupervisorHandle) -> bool {
    let supervisor = supervisor.lock();
    supervisor
        .kernel()
        .processes()
        .values()
        .filter(|p| p.protected)
        .all(|p| p.state.is_blocked())
}

/// The loader's own message without Bevy's wrapping, when there is one.
fn describe_load_error(error: &bevy::asset::AssetLoadError) -> String {
    use bevy::asset::AssetLoadError;
    match error {
        // "Failed to load asset '..' with asset loader '..': line 5, column 5: ..." -> our part.
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
    fn shipped_scenarios_parse_and_broken_one_reports_line_and_column() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/scenarios");
        for name in SCENARIO_NAMES {
            let bytes = std::fs::read(dir.join(format!("{name}.ron"))).unwrap();
            match (name, parse_scenario(&bytes)) {
                ("broken", Err(ScenarioError::Parse { line, column, .. })) => {
                    assert!(line > 1 && column > 0)
                }
                ("broken", other) => panic!("broken.ron should fail to parse, got {other:?}"),
                (_, Ok(s)) => assert!(!s.title.is_empty()),
                (_, Err(e)) => panic!("{name}.ron: {e}"),
            }
        }
        let crowd = parse_scenario(&std::fs::read(dir.join("crowd.ron")).unwrap()).unwrap();
        let user: u32 = crowd.processes.iter().map(|p| p.count).sum();
        assert_eq!(user + 2, 64, "crowd = init + terminal + 62 user processes");
        let crowd_256 = parse_scenario(&std::fs::read(dir.join("crowd-256.ron")).unwrap()).unwrap();
        let user: u32 = crowd_256.processes.iter().map(|p| p.count).sum();
        assert_eq!(
            user + 2,
            256,
            "crowd-256 = init + terminal + 254 user processes"
        );
    }

    #[test]
    fn intents_reset_then_spawn_in_order() {
        let s = parse_scenario(
            br#"(title: "t", description: "d", processes: [(program: "receiver", position: Some((1.0, 2.0))), (program: "sender", count: 2)], time: Slow(4))"#,
        )
        .unwrap();
        let intents = s.intents();
        assert!(matches!(intents[0], SupervisorIntent::ResetUserProcesses));
        let spawned: Vec<_> = intents
            .iter()
            .filter_map(|i| match i {
                SupervisorIntent::Spawn { program } => Some(program.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(spawned, ["receiver", "sender", "sender"]);
        assert_eq!(
            s.placements().collect::<Vec<_>>(),
            [("receiver".to_string(), Vec2::new(1.0, 2.0))]
        );
    }

    #[test]
    fn plan_keeps_listed_boot_processes_and_spawns_the_rest() {
        let s = parse_scenario(
            br#"(title: "t", description: "d", processes: [(program: "idle", position: Some((5.0, 6.0))), (program: "receiver"), (program: "idle", count: 2)])"#,
        )
        .unwrap();
        let boot = [(ProcessId(3), "idle".to_string())];
        let plan = s.plan(&boot);
        assert_eq!(plan.kept, [ProcessId(3)]);
        assert_eq!(plan.kept_positions, [(ProcessId(3), Vec2::new(5.0, 6.0))]);
        assert!(
            plan.placements.is_empty(),
            "the kept idle takes the position: {:?}",
            plan.placements
        );
        assert_eq!(
            plan.intents[0],
            SupervisorIntent::ResetUserProcessesExcept {
                keep: vec![ProcessId(3)]
            }
        );
        let spawned: Vec<_> = plan
            .intents
            .iter()
            .filter_map(|i| match i {
                SupervisorIntent::Spawn { program } => Some(program.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            spawned,
            ["receiver", "idle", "idle"],
            "one idle kept, the other two spawned"
        );
        // Nothing to keep: a plain reset and every process spawned.
        let plan = s.plan(&[]);
        assert_eq!(plan.intents[0], SupervisorIntent::ResetUserProcesses);
        assert_eq!(plan.placements, [("idle".to_string(), Vec2::new(5.0, 6.0))]);
    }

    #[test]
    fn requests_refuse_unknown_names() {
        let requests = ScenarioRequests::default();
        let error = requests.request("nope").unwrap_err();
        assert!(
            error.contains("\"nope\"") && error.contains("crowd"),
            "{error}"
        );
        requests.request(" crowd ").unwrap();
        assert_eq!(requests.take(), ["crowd"]);
        assert!(requests.take().is_empty());
    }

    #[test]
    fn limits_are_checked() {
        let too_many =
            br#"(title: "t", description: "d", processes: [(program: "idle", count: 1000)])"#;
        assert!(matches!(
            parse_scenario(too_many),
            Err(ScenarioError::Invalid(_))
        ));
        let unknown_field = b"(title: \"t\",\n description: \"d\",\n colour: 3)";
        match parse_scenario(unknown_field) {
            Err(ScenarioError::Parse { line, .. }) => assert_eq!(line, 3),
            other => panic!("{other:?}"),
        }
    }
}
