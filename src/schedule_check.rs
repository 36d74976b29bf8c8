//! For unit tests: build every system a plugin adds, the way a schedule does before its first run.
//!
//! Conflicting parameters in one system (say `Query<&mut T>` beside `Query<&T>`) only show when a
//! schedule initialises the system: a panic at the app's first frame, in the browser as natively.
//! Taking the systems from the plugin's schedules, not from a list, means a new system is checked
//! as soon as the plugin adds it.

use bevy::ecs::schedule::Schedules;
use bevy::prelude::*;

/// Adds `plugin` to an empty app, initialises every schedule, and returns how many systems the
/// schedules hold. Panics naming the schedule if one cannot be built.
pub fn initialise_plugin_systems(plugin: impl Plugin) -> usize {
    let mut app = App::new();
    app.add_plugins(plugin);
    let world = app.world_mut();
    let labels: Vec<_> = world
        .resource::<Schedules>()
        .iter()
        .map(|(_, schedule)| schedule.label())
        .collect();
    let mut systems = 0;
    for label in labels {
        world.schedule_scope(label, |world, schedule| {
            if let Err(e) = schedule.initialize(world) {
                panic!("schedule {label:?} cannot be built: {e:?}");
            }
            systems += schedule.systems_len();
        });
    }
    systems
}
