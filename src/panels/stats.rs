//! Rates for the top bar and the inspector's sparkline, sampled twice a second from counters the
//! kernel already keeps (so dropped events never skew them, and pausing freezes them).

use std::collections::{BTreeMap, VecDeque};

use bevy::prelude::*;

use crate::supervisor::{ProcessEntity, ProcessView, SupervisorHandle};

/// Samples kept per process (60 samples at 2 per second: the last 30 seconds).
pub const SPARKLINE_SAMPLES: usize = 60;
pub const SAMPLE_SECS: f32 = 0.5;

#[derive(Resource, Debug, Default)]
pub struct RateStats {
    pub syscalls_per_sec: f32,
    pub ipc_per_sec: f32,
    /// Per process: syscalls per second, oldest first.
    pub per_process: BTreeMap<u32, VecDeque<f32>>,
    last_counts: BTreeMap<u32, u64>,
    last_system: Option<(u64, u64)>,
    since_sample_secs: f32,
}

impl RateStats {
    pub fn sparkline(&self, pid: u32) -> Option<&VecDeque<f32>> {
        self.per_process.get(&pid)
    }
}

pub(super) fn sample_rates(
    mut stats: ResMut<RateStats>,
    supervisor: Option<Res<SupervisorHandle>>,
    processes: Query<(&ProcessEntity, &ProcessView)>,
    time: Res<Time<Real>>,
) {
    stats.since_sample_secs += time.delta_secs();
    if stats.since_sample_secs < SAMPLE_SECS {
        return;
    }
    let elapsed = std::mem::take(&mut stats.since_sample_secs);
    let stats = &mut *stats;
    for (process, view) in &processes {
        let pid = process.pid.0;
        let count = view.metrics.syscall_count;
        let rate = stats
            .last_counts
            .get(&pid)
            .map_or(0.0, |last| count.saturating_sub(*last) as f32 / elapsed);
        stats.last_counts.insert(pid, count);
        let line = stats.per_process.entry(pid).or_default();
        if line.len() == SPARKLINE_SAMPLES {
            line.pop_front();
        }
        line.push_back(rate);
    }
    if stats.per_process.len() > processes.iter().len() {
        let alive: Vec<u32> = processes.iter().map(|(p, _)| p.pid.0).collect();
        stats.per_process.retain(|pid, _| alive.contains(pid));
        stats.last_counts.retain(|pid, _| alive.contains(pid));
    }
    if let Some(supervisor) = supervisor {
        let supervisor = supervisor.lock();
        let metrics = supervisor.kernel().system_metrics(supervisor.now_ns());
        if let Some((syscalls, messages)) = stats.last_system {
            stats.syscalls_per_sec = metrics.syscalls.saturating_sub(syscalls) as f32 / elapsed;
            stats.ipc_per_sec = metrics.ipc_messages.saturating_sub(messages) as f32 / elapsed;
        }
        stats.last_system = Some((metrics.syscalls, metrics.ipc_messages));
    }
}
