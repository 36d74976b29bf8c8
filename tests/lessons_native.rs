//! The lesson plugin, headless, on the native host with the real guest programs: every shipped
//! lesson plays to its end with each wait met by the kernel (nothing presses Next) within a time
//! limit; a lesson whose wait can never be met is caught; Next and Previous move between steps;
//! a broken lesson file reports line and column while the running lesson keeps running.
//!
//! Needs the guest modules (`cargo xtask guests`). The tests share one lock: each boots its own
//! native host, and two at once on a 2-core machine would only slow each other down.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bevy::asset::AssetPlugin;
use bevy::prelude::*;
use orbital_playground::lesson::{
    LESSON_NAMES, LessonCommand, LessonPlugin, LessonSettings, LessonState,
};
use orbital_playground::scenario::{ScenarioPlugin, ScenarioSettings};
use orbital_playground::supervisor::{SupervisorHandle, SupervisorPlugin, TimeControl};
use orbital_playground::ui_state::Selection;
use orbital_supervisor::testing::require_guest_modules;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Longest a shipped lesson may take to play through on this host.
const LESSON_LIMIT: Duration = Duration::from_secs(120);

fn app(assets: &str) -> App {
    require_guest_modules();
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins(AssetPlugin {
            file_path: assets.into(),
            ..default()
        })
        .add_plugins(SupervisorPlugin::default())
        .insert_resource(ScenarioSettings { startup: None })
        .add_plugins(ScenarioPlugin)
        .add_plugins(LessonPlugin)
        // Move on as soon as the kernel meets a wait (a class gets a few seconds to read).
        .insert_resource(LessonSettings { hold_secs: 0.0 });
    app
}

fn shipped_assets() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/assets").to_string()
}

fn load(app: &mut App, name: &str, step: usize) {
    app.world_mut().write_message(LessonCommand::Load {
        name: name.into(),
        step,
    });
}

/// (lesson, step 1-based, waiting for, done, error)
fn status(app: &App) -> (Option<String>, usize, Option<String>, bool, Option<String>) {
    let state = app.world().resource::<LessonState>();
    let run = state.run.as_ref();
    (
        run.map(|r| r.name.clone()),
        run.map_or(0, |r| r.step() + 1),
        run.and_then(|r| r.waiting_for()),
        run.is_some_and(|r| r.done()),
        state.error.clone(),
    )
}

/// Updates (frames of ~5 ms) until `done` or `limit`; the status at the end either way.
fn update_until(
    app: &mut App,
    limit: Duration,
    done: impl Fn(&App) -> bool,
) -> Result<Duration, String> {
    let started = Instant::now();
    while started.elapsed() < limit {
        app.update();
        if done(app) {
            return Ok(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Err(format!(
        "not reached within {limit:?}; lesson status (name, step, waiting for, done, error): {:?}",
        status(app)
    ))
}

/// Plays `name` from its first step with nobody pressing Next: the kernel meets every wait.
fn play(app: &mut App, name: &str, limit: Duration) -> Result<Duration, String> {
    load(app, name, 0);
    update_until(app, limit, |app| {
        let (lesson, _, _, done, _) = status(app);
        lesson.as_deref() == Some(name) && done
    })
}

#[test]
fn every_lesson_plays_to_its_end_with_waits_met_by_the_kernel() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let mut app = app(&shipped_assets());
    // Nothing in this test writes Next: each step ends because the kernel met its wait.
    for name in LESSON_NAMES.iter().filter(|n| **n != "broken") {
        let took =
            play(&mut app, name, LESSON_LIMIT).unwrap_or_else(|e| panic!("lesson {name}: {e}"));
        let run = app.world().resource::<LessonState>().run.as_ref().unwrap();
        assert_eq!(
            run.step() + 1,
            run.steps(),
            "lesson {name} ended on its last step"
        );
        println!(
            "lesson {name}: {} steps played by the kernel in {:.1} s",
            run.steps(),
            took.as_secs_f64()
        );
    }
}

#[test]
fn a_wait_that_can_never_be_met_is_caught() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    // A copy of the assets with one more lesson, whose second step waits for text idle never
    // prints.
    let dir = std::env::temp_dir().join(format!("orbital-lessons-{}", std::process::id()));
    let scenarios = dir.join("scenarios");
    std::fs::create_dir_all(&scenarios).unwrap();
    std::fs::create_dir_all(dir.join("lessons")).unwrap();
    for entry in std::fs::read_dir(format!("{}/scenarios", shipped_assets())).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), scenarios.join(entry.file_name())).unwrap();
    }
    std::fs::write(
        dir.join("lessons/never.ron"),
        r#"(
    title: "Never",
    scenario: "memory",
    steps: [
        (caption: "memhog starts", wait: Some(Spawned("memhog"))),
        (caption: "idle never prints this", wait: Some(Printed(program: "idle", text: "this text is never printed"))),
    ],
)"#,
    )
    .unwrap();
    let mut app = app(dir.to_str().unwrap());
    let outcome = play(&mut app, "never", Duration::from_secs(20));
    std::fs::remove_dir_all(&dir).ok();
    let error = outcome.expect_err("a wait nobody meets must not pass");
    assert!(
        error.contains("idle to print \\\"this text is never printed\\\"")
            || error.contains("idle to print"),
        "the failure names the wait: {error}"
    );
    let (_, step, waiting, done, _) = status(&app);
    assert_eq!(
        step, 2,
        "the first wait was met by the kernel, the second never"
    );
    assert!(waiting.is_some() && !done);
}

#[test]
fn next_previous_and_a_broken_file_keep_the_running_lesson() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let mut app = app(&shipped_assets());
    // Open at step 2 (0-based 1), as a share link does: the receiver is selected by step 1's
    // actions, which ran first, and step 2's sender is spawned.
    load(&mut app, "messages", 1);
    update_until(&mut app, Duration::from_secs(30), |app| {
        status(app).0.as_deref() == Some("messages")
    })
    .unwrap();
    assert_eq!(status(&app).1, 2);
    // Hold on each step (nobody waits for the kernel here) and move by hand.
    app.world_mut()
        .resource_mut::<LessonState>()
        .run
        .as_mut()
        .unwrap()
        .hold_secs = 1e9;
    update_until(&mut app, Duration::from_secs(30), |app| {
        let supervisor = app.world().resource::<SupervisorHandle>().lock();
        let names: Vec<_> = supervisor
            .kernel()
            .processes()
            .values()
            .map(|p| p.name.clone())
            .collect();
        names.contains(&"sender".to_string()) && names.contains(&"receiver".to_string())
    })
    .unwrap();
    let selected = app.world().resource::<Selection>().0;
    let receiver = {
        let supervisor = app.world().resource::<SupervisorHandle>().lock();
        orbital_supervisor::lesson::newest_live(&supervisor, "receiver")
    };
    assert_eq!(selected, receiver, "step 1's Select(receiver) ran");

    app.world_mut().write_message(LessonCommand::Next);
    update_until(&mut app, Duration::from_secs(5), |app| status(app).1 == 3).unwrap();
    app.world_mut().write_message(LessonCommand::Next);
    update_until(&mut app, Duration::from_secs(5), |app| status(app).1 == 4).unwrap();
    // Step 4 set full speed and started a second sender; going back to step 3 keeps the speed
    // (speed is not part of step 3) and spawns nothing new.
    let senders = |app: &App| {
        let supervisor = app.world().resource::<SupervisorHandle>().lock();
        supervisor
            .kernel()
            .processes()
            .values()
            .filter(|p| p.name == "sender" && !p.state.is_zombie())
            .count()
    };
    update_until(&mut app, Duration::from_secs(10), |app| senders(app) == 2).unwrap();
    let before = senders(&app);
    app.world_mut().write_message(LessonCommand::Previous);
    update_until(&mut app, Duration::from_secs(5), |app| status(app).1 == 3).unwrap();
    app.world_mut().write_message(LessonCommand::Previous);
    update_until(&mut app, Duration::from_secs(5), |app| status(app).1 == 2).unwrap();
    for _ in 0..20 {
        app.update();
    }
    assert_eq!(senders(&app), before, "going back repeats no spawn");
    assert_eq!(
        app.world()
            .resource::<SupervisorHandle>()
            .lock()
            .time_control(),
        TimeControl::Running
    );

    // A broken lesson file: the error names line and column, the lesson that ran goes on.
    load(&mut app, "broken", 0);
    update_until(&mut app, Duration::from_secs(10), |app| {
        status(app).4.is_some()
    })
    .unwrap();
    let (lesson, step, _, _, error) = status(&app);
    let error = error.unwrap();
    assert!(
        error.contains("lessons/broken.ron: line 6, column"),
        "line and column: {error}"
    );
    assert_eq!((lesson.as_deref(), step), (Some("messages"), 2));
    app.world_mut().write_message(LessonCommand::Next);
    update_until(&mut app, Duration::from_secs(5), |app| status(app).1 == 3).unwrap();
}
