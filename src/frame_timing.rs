//! How long the app's own update takes per frame, phase by phase, for slow machines and browser
//! tests (`window.supervisor.get_frame_timing_json()` reads [`SharedFrameTiming`] between frames).

use bevy::prelude::*;

use crate::graph::GraphSystems;
use crate::supervisor::SupervisorSystems;

/// How long the app's own update (the main schedule, `First` to `Last`) takes per frame, over the
/// last [`FrameTiming::WINDOW`] frames: the figure to watch on a slow machine (the browser's
/// frame rate is bounded by the software rasteriser instead).
#[derive(Resource, Debug, Default)]
pub struct FrameTiming {
    samples_ms: std::collections::VecDeque<f32>,
    started: Option<bevy::platform::time::Instant>,
    sorted: Vec<f32>,
    since_summary: u32,
    /// This frame's phase marks, in [`FramePhase`] order.
    marks: [Option<bevy::platform::time::Instant>; 5],
    /// Per phase ([`FramePhase::NAMES`]), the last [`FrameTiming::WINDOW`] frames.
    phase_samples: Vec<std::collections::VecDeque<f32>>,
}

fn push_bounded(samples: &mut std::collections::VecDeque<f32>, ms: f32) {
    if samples.len() == FrameTiming::WINDOW {
        samples.pop_front();
    }
    samples.push_back(ms);
}

/// (median, p95, max) of `samples`, sorted in `scratch`.
fn percentiles(
    samples: &std::collections::VecDeque<f32>,
    scratch: &mut Vec<f32>,
) -> Option<(f32, f32, f32)> {
    scratch.clear();
    scratch.extend(samples.iter().copied());
    scratch.sort_unstable_by(f32::total_cmp);
    let n = scratch.len();
    if n == 0 {
        return None;
    }
    let at = |q: f32| scratch[((n as f32 - 1.0) * q).round() as usize];
    Some((at(0.5), at(0.95), scratch[n - 1]))
}

/// Summary of [`FrameTiming`], shared with JavaScript (`get_frame_timing_json`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct FrameTimingSummary {
    pub frames: usize,
    pub median_ms: f32,
    pub p95_ms: f32,
    pub max_ms: f32,
    /// Where the update's time goes, phase by phase (see [`FramePhase`]), over the same frames.
    pub phases: Vec<PhaseSummary>,
}

/// One phase of the update: median and p95 of its time per frame.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct PhaseSummary {
    pub name: &'static str,
    pub median_ms: f32,
    pub p95_ms: f32,
    pub max_ms: f32,
}

/// The update split at points our systems are ordered against (the app is single-threaded on the
/// web, so consecutive marks time what ran between them):
/// - `bevy_pre`: First and PreUpdate (input, egui's begin pass, time);
/// - `supervisor`: intents, in-frame servicing, kernel events to messages, process entities;
/// - `graph`: the rest of Update: the graph model (events, layout, particles), its drawing (meshes,
///   lines, labels), scenarios, classroom shortcuts, rate sampling;
/// - `bevy_post_a`: PostUpdate before the egui pass (camera, visibility, transforms may run here);
/// - `panels`: the egui pass (our panels) and its end;
/// - `bevy_post_b`: the rest of PostUpdate and Last (egui output, text layout, transforms, picking).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FramePhase {
    UpdateStart,
    SupervisorDone,
    UpdateEnd,
    PanelsStart,
    PanelsEnd,
}

impl FramePhase {
    const NAMES: [&'static str; 6] = [
        "bevy_pre",
        "supervisor",
        "graph",
        "bevy_post_a",
        "panels",
        "bevy_post_b",
    ];
}

#[derive(Resource, Debug, Clone, Default)]
pub struct SharedFrameTiming(
    pub std::sync::Arc<std::sync::Mutex<FrameTimingSummary>>,
    /// Set from outside (`reset_frame_timing`) to start a new measurement window.
    pub std::sync::Arc<std::sync::atomic::AtomicBool>,
);

impl SharedFrameTiming {
    /// Forgets the samples so far; the summary then covers only frames after this call.
    pub fn request_reset(&self) {
        self.1.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn to_json(&self) -> String {
        let summary = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        serde_json::to_string(&summary).unwrap_or_default()
    }
}

impl FrameTiming {
    pub const WINDOW: usize = 300;

    pub fn record(&mut self, ms: f32) {
        if self.samples_ms.len() == Self::WINDOW {
            self.samples_ms.pop_front();
        }
        self.samples_ms.push_back(ms);
    }

    /// Records that the frame reached `phase` now.
    pub fn mark(&mut self, phase: FramePhase) {
        self.marks[phase as usize] = Some(bevy::platform::time::Instant::now());
    }

    /// Splits the frame that started at `started` and ends `now` into phases (a phase whose
    /// marks are missing this frame counts as part of the next one).
    fn record_phases(
        &mut self,
        started: bevy::platform::time::Instant,
        now: bevy::platform::time::Instant,
    ) {
        let mut last = started;
        let marks = std::mem::take(&mut self.marks);
        for (i, mark) in marks
            .iter()
            .copied()
            .chain(std::iter::once(Some(now)))
            .enumerate()
        {
            let Some(at) = mark else {
                if let Some(samples) = self.phase_samples.get_mut(i) {
                    push_bounded(samples, 0.0);
                }
                continue;
            };
            let ms = at.saturating_duration_since(last).as_secs_f32() * 1000.0;
            last = last.max(at);
            if self.phase_samples.len() <= i {
                self.phase_samples.resize_with(i + 1, Default::default);
            }
            push_bounded(&mut self.phase_samples[i], ms);
        }
    }

    pub fn summary(&mut self) -> FrameTimingSummary {
        let Some((median_ms, p95_ms, max_ms)) = percentiles(&self.samples_ms, &mut self.sorted)
        else {
            return FrameTimingSummary::default();
        };
        let mut phases = Vec::with_capacity(self.phase_samples.len());
        for (i, samples) in self.phase_samples.iter().enumerate() {
            if let Some((median_ms, p95_ms, max_ms)) = percentiles(samples, &mut self.sorted) {
                let name = FramePhase::NAMES.get(i).copied().unwrap_or("other");
                phases.push(PhaseSummary {
                    name,
                    median_ms,
                    p95_ms,
                    max_ms,
                });
            }
        }
        FrameTimingSummary {
            frames: self.samples_ms.len(),
            median_ms,
            p95_ms,
            max_ms,
            phases,
        }
    }
}

pub fn frame_timing_plugin(app: &mut App) {
    use bevy_egui::EguiPostUpdateSet;
    let mark = |phase: FramePhase| move |mut timing: ResMut<FrameTiming>| timing.mark(phase);
    app.init_resource::<FrameTiming>()
        .init_resource::<SharedFrameTiming>()
        .add_systems(First, start_frame_timer)
        .add_systems(
            Update,
            (
                mark(FramePhase::UpdateStart).before(SupervisorSystems::ApplyIntents),
                mark(FramePhase::SupervisorDone)
                    .after(SupervisorSystems::SyncEntities)
                    .before(GraphSystems::Follow),
            ),
        )
        .add_systems(
            PostUpdate,
            (
                mark(FramePhase::UpdateEnd).before(EguiPostUpdateSet::EndPass),
                mark(FramePhase::PanelsStart).before(EguiPostUpdateSet::EndPass),
                mark(FramePhase::PanelsEnd)
                    .after(EguiPostUpdateSet::EndPass)
                    .before(EguiPostUpdateSet::ProcessOutput),
            )
                .chain(),
        )
        .add_systems(Last, stop_frame_timer);
}

fn start_frame_timer(mut timing: ResMut<FrameTiming>) {
    timing.started = Some(bevy::platform::time::Instant::now());
}

fn stop_frame_timer(mut timing: ResMut<FrameTiming>, shared: Res<SharedFrameTiming>) {
    let Some(started) = timing.started.take() else {
        return;
    };
    if shared.1.swap(false, std::sync::atomic::Ordering::Relaxed) {
        timing.samples_ms.clear();
        timing.phase_samples.clear();
        timing.since_summary = 0;
        *shared.0.lock().unwrap_or_else(|p| p.into_inner()) = FrameTimingSummary::default();
    }
    let now = bevy::platform::time::Instant::now();
    timing.record(now.saturating_duration_since(started).as_secs_f32() * 1000.0);
    timing.record_phases(started, now);
    timing.since_summary += 1;
    if timing.since_summary >= 30 {
        timing.since_summary = 0;
        let summary = timing.summary();
        *shared.0.lock().unwrap_or_else(|p| p.into_inner()) = summary;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_frame_timing_system_initialises_without_conflicting_parameters() {
        assert!(crate::schedule_check::initialise_plugin_systems(frame_timing_plugin) >= 7);
    }

    #[test]
    fn the_summary_is_the_median_p95_and_max_of_the_last_window() {
        let mut timing = FrameTiming::default();
        for i in 1..=100 {
            timing.record(i as f32);
        }
        let s = timing.summary();
        assert_eq!(
            (s.frames, s.median_ms, s.p95_ms, s.max_ms),
            (100, 51.0, 95.0, 100.0)
        );
        for _ in 0..FrameTiming::WINDOW {
            timing.record(1.0);
        }
        assert_eq!(timing.summary().max_ms, 1.0, "old samples leave the window");
    }

    #[test]
    fn phase_marks_split_the_frame_into_named_phases() {
        use bevy::platform::time::Instant;
        use std::time::Duration;
        let mut timing = FrameTiming::default();
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        // Marks at 1, 3, 6, 6, 10 ms; the frame ends at 11 ms.
        timing.marks = [
            Some(at(1)),
            Some(at(3)),
            Some(at(6)),
            Some(at(6)),
            Some(at(10)),
        ];
        timing.record(11.0);
        timing.record_phases(start, at(11));
        let phases = timing.summary().phases;
        let got: Vec<(&str, f32)> = phases
            .iter()
            .map(|p| (p.name, (p.median_ms * 10.0).round() / 10.0))
            .collect();
        assert_eq!(
            got,
            [
                ("bevy_pre", 1.0),
                ("supervisor", 2.0),
                ("graph", 3.0),
                ("bevy_post_a", 0.0),
                ("panels", 4.0),
                ("bevy_post_b", 1.0)
            ]
        );
        assert!(
            timing.marks.iter().all(Option::is_none),
            "marks are taken each frame"
        );
    }
}
