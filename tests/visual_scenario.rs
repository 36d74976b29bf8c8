//! Scenarios load as Bevy assets and start through supervisor intents; a broken file reports its
//! parse error with line and column and the running scenario keeps running.

use std::time::Duration;

use bevy::asset::AssetPlugin;
use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use orbital_playground::scenario::{LoadScenario, ScenarioPlugin, ScenarioSettings, ScenarioState};
use orbital_playground::supervisor::{SupervisorHandle, SupervisorPlugin, TimeControl};
use orbital_supervisor::testing::ScriptedHost;

fn app(startup: &str) -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins(AssetPlugin {
            file_path: concat!(env!("CARGO_MANIFEST_DIR"), "/assets").into(),
            ..default()
        })
        .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_millis(
            16,
        )))
        .add_plugins(SupervisorPlugin::with_host(|| Box::new(ScriptedHost::new().0)).without_boot())
        .insert_resource(ScenarioSettings {
            startup: Some(startup.into()),
        })
        .add_plugins(ScenarioPlugin);
    app
}

/// Updates until `done` holds (asset loading runs on other threads), at most ~10 s.
fn update_until(app: &mut App, what: &str, done: impl Fn(&World) -> bool) {
    for _ in 0..1000 {
        app.update();
        if done(app.world()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!(
        "timed out waiting for {what}; scenario state: {:?}",
        app.world().resource::<ScenarioState>()
    );
}

fn user_programs(app: &App) -> Vec<String> {
    let supervisor = app.world().resource::<SupervisorHandle>().lock();
    supervisor
        .kernel()
        .processes()
        .values()
        .filter(|p| !p.protected)
        .map(|p| p.name.clone())
        .collect()
}

#[test]
fn default_scenario_starts_its_programs_in_order() {
    let mut app = app("default");
    update_until(&mut app, "default scenario", |w| {
        w.resource::<ScenarioState>().current.as_deref() == Some("default")
    });
    app.update();
    assert_eq!(
        user_programs(&app),
        ["idle", "receiver", "sender", "pingpong", "pingpong"]
    );
    assert_eq!(
        app.world()
            .resource::<SupervisorHandle>()
            .lock()
            .time_control(),
        TimeControl::Running
    );
}

#[test]
fn broken_scenario_shows_line_and_column_and_keeps_the_current_one() {
    let mut app = app("memory");
    update_until(&mut app, "memory scenario", |w| {
        w.resource::<ScenarioState>().current.as_deref() == Some("memory")
    });
    app.update();
    assert_eq!(user_programs(&app), ["idle", "memhog"]);

    app.world_mut().write_message(LoadScenario {
        name: "broken".into(),
    });
    update_until(&mut app, "the parse error", |w| {
        w.resource::<ScenarioState>().error.is_some()
    });
    let state = app.world().resource::<ScenarioState>();
    let error = state.error.clone().unwrap();
    assert!(error.contains("scenarios/broken.ron"), "{error}");
    assert!(
        error.contains("line 5, column"),
        "error should point at the line after the missing comma: {error}"
    );
    assert_eq!(
        state.current.as_deref(),
        Some("memory"),
        "the running scenario stays"
    );
    for _ in 0..5 {
        app.update();
    }
    assert_eq!(
        user_programs(&app),
        ["idle", "memhog"],
        "nothing was reset or spawned"
    );

    // A good scenario afterwards loads and clears the error.
    app.world_mut().write_message(LoadScenario {
        name: "capabilities".into(),
    });
    update_until(&mut app, "capabilities scenario", |w| {
        w.resource::<ScenarioState>().current.as_deref() == Some("capabilities")
    });
    app.update();
    assert!(app.world().resource::<ScenarioState>().error.is_none());
    assert_eq!(user_programs(&app), ["idle", "receiver", "sender", "rogue"]);
    assert_eq!(
        app.world()
            .resource::<SupervisorHandle>()
            .lock()
            .time_control(),
        TimeControl::QUARTER
    );
}

#[test]
fn unknown_scenario_name_is_reported() {
    let mut app = app("default");
    update_until(&mut app, "default scenario", |w| {
        w.resource::<ScenarioState>().current.is_some()
    });
    app.world_mut().write_message(LoadScenario {
        name: "no-such-scenario".into(),
    });
    update_until(&mut app, "the error", |w| {
        w.resource::<ScenarioState>().error.is_some()
    });
    let error = app
        .world()
        .resource::<ScenarioState>()
        .error
        .clone()
        .unwrap();
    assert!(error.contains("no-such-scenario"), "{error}");
    assert_eq!(
        app.world().resource::<ScenarioState>().current.as_deref(),
        Some("default")
    );
}
