//! Per-edge IPC rates and the aggregation rule: pure code, no Bevy systems.
//!
//! Every message is drawn as its own particle while an edge is quiet enough for a person to follow
//! it. Above `aggregate_above_per_sec` messages per second on one edge, that edge switches to
//! "aggregated": no more particles, a thicker edge and a rate label instead. It switches back below
//! 70 % of that rate (hysteresis, so an edge near the threshold does not flicker). A global particle
//! cap bounds the work whatever the load.

use std::collections::BTreeMap;

/// Tunables of the aggregation rule.
#[derive(Clone, Debug, PartialEq)]
pub struct TrafficSettings {
    /// An edge busier than this (messages per second) shows a rate instead of particles.
    pub aggregate_above_per_sec: f32,
    /// Time constant of the rate estimate.
    pub rate_window_secs: f32,
    /// Most particles alive at once, over all edges.
    pub max_particles: usize,
    /// An edge with no message for this long is dropped from the picture.
    pub forget_after_secs: f64,
}

impl Default for TrafficSettings {
    fn default() -> Self {
        Self {
            aggregate_above_per_sec: 20.0,
            rate_window_secs: 1.0,
            max_particles: 192,
            forget_after_secs: 3.0,
        }
    }
}

/// What to draw for one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageDrawing {
    /// Animate this message as its own particle.
    Particle,
    /// The edge is aggregated (or the particle cap is reached): count it in the edge's rate.
    Aggregated,
}

/// Traffic on one directed edge (sender pid → receiver pid).
#[derive(Clone, Debug, PartialEq)]
pub struct EdgeTraffic {
    /// Exponentially decayed message count; `rate_per_sec` derives from it.
    decayed_count: f32,
    /// Last time the decay was applied, in seconds.
    decayed_at_secs: f64,
    pub last_message_secs: f64,
    pub total_messages: u64,
    pub total_bytes: u64,
    pub aggregated: bool,
    /// Last time this edge carried a denied request (a red flash).
    pub denied_at_secs: Option<f64>,
}

impl EdgeTraffic {
    fn new(now_secs: f64) -> Self {
        Self {
            decayed_count: 0.0,
            decayed_at_secs: now_secs,
            last_message_secs: now_secs,
            total_messages: 0,
            total_bytes: 0,
            aggregated: false,
            denied_at_secs: None,
        }
    }

    fn decay_to(&mut self, now_secs: f64, window_secs: f32) {
        let dt = (now_secs - self.decayed_at_secs).max(0.0) as f32;
        if dt > 0.0 {
            self.decayed_count *= (-dt / window_secs).exp();
            self.decayed_at_secs = now_secs;
        }
    }

    /// Messages per second, as of the last `record` or `tick`.
    pub fn rate_per_sec(&self, window_secs: f32) -> f32 {
        self.decayed_count / window_secs
    }
}

/// The rates of all edges, in (from, to) order.
#[derive(Clone, Debug, Default)]
pub struct TrafficModel {
    pub settings: TrafficSettings,
    edges: BTreeMap<(u32, u32), EdgeTraffic>,
}

impl TrafficModel {
    pub fn new(settings: TrafficSettings) -> Self {
        Self {
            settings,
            edges: BTreeMap::new(),
        }
    }

    /// Records one message and decides how to draw it. `live_particles` is the number of particles
    /// currently in flight (for the global cap).
    pub fn record(
        &mut self,
        from: u32,
        to: u32,
        bytes: u32,
        now_secs: f64,
        live_particles: usize,
    ) -> MessageDrawing {
        let window = self.settings.rate_window_secs;
        let threshold = self.settings.aggregate_above_per_sec;
        let edge = self
            .edges
            .entry((from, to))
            .or_insert_with(|| EdgeTraffic::new(now_secs));
        edge.decay_to(now_secs, window);
        edge.decayed_count += 1.0;
        edge.last_message_secs = now_secs;
        edge.total_messages += 1;
        edge.total_bytes += u64::from(bytes);
        update_mode(edge, window, threshold);
        if edge.aggregated || live_particles >= self.settings.max_particles {
            MessageDrawing::Aggregated
        } else {
            MessageDrawing::Particle
        }
    }

    /// Marks a denied request on an edge (or on a process alone when `to` is the same pid).
    pub fn record_denied(&mut self, from: u32, to: u32, now_secs: f64) {
        let edge = self
            .edges
            .entry((from, to))
            .or_insert_with(|| EdgeTraffic::new(now_secs));
        edge.denied_at_secs = Some(now_secs);
        edge.last_message_secs = now_secs;
    }

    /// Decays every rate to `now_secs` and forgets edges that went quiet.
    pub fn tick(&mut self, now_secs: f64) {
        let window = self.settings.rate_window_secs;
        let threshold = self.settings.aggregate_above_per_sec;
        let forget = self.settings.forget_after_secs;
        self.edges.retain(|_, edge| {
            edge.decay_to(now_secs, window);
            update_mode(edge, window, threshold);
            now_secs - edge.last_message_secs < forget
        });
    }

    /// Drops every edge that touches `pid` (the process is gone).
    pub fn remove_process(&mut self, pid: u32) {
        self.edges
            .retain(|(from, to), _| *from != pid && *to != pid);
    }

    pub fn edge(&self, from: u32, to: u32) -> Option<&EdgeTraffic> {
        self.edges.get(&(from, to))
    }

    pub fn edges(&self) -> impl Iterator<Item = ((u32, u32), &EdgeTraffic)> {
        self.edges.iter().map(|(k, v)| (*k, v))
    }

    pub fn rate_per_sec(&self, from: u32, to: u32) -> f32 {
        self.edge(from, to)
            .map_or(0.0, |e| e.rate_per_sec(self.settings.rate_window_secs))
    }

    pub fn clear(&mut self) {
        self.edges.clear();
    }
}

fn update_mode(edge: &mut EdgeTraffic, window: f32, threshold: f32) {
    let rate = edge.rate_per_sec(window);
    if !edge.aggregated && rate > threshold {
        edge.aggregated = true;
    } else if edge.aggregated && rate < threshold * 0.7 {
        edge.aggregated = false;
    }
}

/// Line width of an edge carrying `rate_per_sec` messages per second: grows with the logarithm so
/// 10/s and 10,000/s are both visible and neither hides the nodes.
pub fn edge_width_for_rate(rate_per_sec: f32, base_width: f32, max_width: f32) -> f32 {
    (base_width + (1.0 + rate_per_sec.max(0.0)).log10() * base_width * 2.0).min(max_width)
}

/// "12/s", "3.4k/s": short enough to sit on an edge.
pub fn format_rate(rate_per_sec: f32) -> String {
    if rate_per_sec >= 1_000_000.0 {
        format!("{:.1}M/s", rate_per_sec / 1_000_000.0)
    } else if rate_per_sec >= 1_000.0 {
        format!("{:.1}k/s", rate_per_sec / 1_000.0)
    } else {
        format!("{rate_per_sec:.0}/s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_traffic_is_drawn_message_by_message() {
        let mut model = TrafficModel::default();
        for i in 0..20 {
            let drawing = model.record(1, 2, 8, f64::from(i) * 0.5, 0);
            assert_eq!(drawing, MessageDrawing::Particle, "message {i}");
        }
    }

    #[test]
    fn busy_edge_aggregates_and_recovers_with_hysteresis() {
        let mut model = TrafficModel::default();
        let mut drawings = Vec::new();
        for i in 0..100 {
            drawings.push(model.record(1, 2, 8, f64::from(i) * 0.01, 0));
        }
        let first_aggregated = drawings
            .iter()
            .position(|d| *d == MessageDrawing::Aggregated)
            .unwrap();
        assert!(
            (20..=22).contains(&first_aggregated),
            "switched at {first_aggregated}"
        );
        assert!(
            drawings[first_aggregated..]
                .iter()
                .all(|d| *d == MessageDrawing::Aggregated)
        );
        assert!(model.edge(1, 2).unwrap().aggregated);
        // Another edge is unaffected.
        assert_eq!(model.record(3, 4, 8, 1.0, 0), MessageDrawing::Particle);
        // Quiet for a while: the rate decays below 70 % of the threshold and particles return.
        model.tick(4.0);
        assert!(model.edge(1, 2).is_none(), "quiet edge forgotten");
        model.record(1, 2, 8, 4.5, 0);
        assert_eq!(model.record(1, 2, 8, 5.5, 0), MessageDrawing::Particle);
    }

    #[test]
    fn global_cap_limits_particles() {
        let mut model = TrafficModel::default();
        let cap = model.settings.max_particles;
        assert_eq!(model.record(1, 2, 8, 0.0, cap), MessageDrawing::Aggregated);
        assert_eq!(
            model.record(1, 2, 8, 1.0, cap - 1),
            MessageDrawing::Particle
        );
    }

    #[test]
    fn width_grows_and_saturates() {
        assert!(edge_width_for_rate(1000.0, 2.0, 14.0) > edge_width_for_rate(10.0, 2.0, 14.0));
        assert_eq!(edge_width_for_rate(1e12, 2.0, 14.0), 14.0);
        assert_eq!(format_rate(2500.0), "2.5k/s");
        assert_eq!(format_rate(12.0), "12/s");
    }
}
