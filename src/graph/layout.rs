//! Force-directed layout of the process graph: pure code, no Bevy systems.
//!
//! Determinism: a node's first position comes from a hash of (seed, pid), never from a random
//! sequence, so adding or removing one node does not move where the others start; the simulation
//! runs in fixed steps over nodes in pid order, so the same events and the same elapsed time give
//! the same picture. Stability: existing nodes keep their positions and velocities when the set
//! changes; the "temperature" (a cap on how far a node may move per step) is reheated only a
//! little on each change, so a new process settles in without shaking the rest.

use std::collections::BTreeMap;

use bevy::math::Vec2;

/// Tunables of the force simulation, in world units (1 unit = 1 CSS pixel at zoom 1).
#[derive(Clone, Debug, PartialEq)]
pub struct LayoutSettings {
    pub seed: u64,
    /// Distance two connected nodes settle at.
    pub spring_length: f32,
    pub spring_stiffness: f32,
    /// Strength of the pairwise push (inverse-square).
    pub repulsion: f32,
    /// Pull towards the origin, so disconnected nodes stay on screen.
    pub gravity: f32,
    /// Fraction of velocity kept per step.
    pub damping: f32,
    /// Length of one simulation step.
    pub step_secs: f32,
    /// Most a node may move in one step when the layout is hot.
    pub max_move_per_step: f32,
    /// Temperature added (0..1) when a node comes or goes.
    pub reheat: f32,
    /// Temperature lost per second.
    pub cooling_per_sec: f32,
    /// Smallest temperature: a settled layout still reacts slowly to new edges.
    pub min_temperature: f32,
    /// Radius a node has until [`ForceLayout::set_radius`] says otherwise (world units).
    pub default_radius: f32,
    /// Least clear space between two node discs (room for their state rings), world units.
    pub min_gap: f32,
}

impl Default for LayoutSettings {
    fn default() -> Self {
        Self {
            seed: 0x000b_17a1,
            spring_length: 110.0,
            spring_stiffness: 2.0,
            repulsion: 250_000.0,
            gravity: 0.4,
            damping: 0.85,
            step_secs: 1.0 / 60.0,
            max_move_per_step: 12.0,
            reheat: 0.35,
            cooling_per_sec: 0.35,
            min_temperature: 0.08,
            default_radius: 22.0,
            min_gap: 14.0,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
struct LayoutNode {
    pos: Vec2,
    vel: Vec2,
    /// Pinned nodes (being dragged, or placed by a scenario) feel no force.
    pinned: bool,
    /// Drawn radius (world units): the separation pass keeps discs this far apart plus the gap.
    radius: f32,
}

/// Positions of the graph's nodes, keyed by pid.
#[derive(Clone, Debug)]
pub struct ForceLayout {
    settings: LayoutSettings,
    nodes: BTreeMap<u32, LayoutNode>,
    temperature: f32,
    /// Unsimulated time carried to the next frame (fixed steps).
    pending_secs: f32,
    /// Scratch buffers reused every step (no per-frame allocation), in pid order.
    forces: Vec<Vec2>,
    pids: Vec<u32>,
    pos: Vec<Vec2>,
}

/// Most steps run in one frame: a long frame (tab in background) does not stall the app.
const MAX_STEPS_PER_ADVANCE: u32 = 8;

/// Most passes of the separation per advance; each resolves every overlapping pair it finds, so a
/// few suffice even for a dense crowd (the test packs 256 nodes).
const MAX_SEPARATION_PASSES: u32 = 128;

/// Rings of candidate spots tried around the wanted place of a new node before giving up on
/// finding free space there (the separation pass then makes room).
const PLACEMENT_RINGS: u32 = 24;

impl ForceLayout {
    pub fn new(settings: LayoutSettings) -> Self {
        Self {
            settings,
            nodes: BTreeMap::new(),
            temperature: 1.0,
            pending_secs: 0.0,
            forces: Vec::new(),
            pids: Vec::new(),
            pos: Vec::new(),
        }
    }

    pub fn settings(&self) -> &LayoutSettings {
        &self.settings
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn contains(&self, pid: u32) -> bool {
        self.nodes.contains_key(&pid)
    }

    pub fn temperature(&self) -> f32 {
        self.temperature
    }

    /// Adds a node. It is wanted at `at` if given (a scenario position), else near `near` (a parent
    /// or peer already on the canvas), else at a spot derived from the seed and the pid; a node not
    /// placed by a scenario starts at the free spot nearest the wanted one, so it never lands on
    /// another node.
    pub fn insert(&mut self, pid: u32, at: Option<Vec2>, near: Option<u32>) {
        if self.nodes.contains_key(&pid) {
            return;
        }
        let jitter = hash_unit_vec(self.settings.seed, pid);
        let wanted = match (at, near.and_then(|n| self.position(n))) {
            (Some(at), _) => at,
            (None, Some(anchor)) => anchor + jitter * self.settings.spring_length,
            (None, None) => {
                // Within about the disc the nodes would fill packed (a cell per node, the count's
                // square root across), plus a margin for a small graph: a crowd starts near the
                // size it settles at. Gravity pulls an overdamped layout in slowly (a time
                // constant of about 26 s), and the camera fits what it sees, so a crowd started
                // wider was drawn with discs too small to write a pid in for its first 20 s.
                let cell = self.settings.default_radius + self.settings.min_gap * 0.5;
                let spread = cell * (3.0 + 1.2 * (self.nodes.len() as f32).sqrt());
                jitter * spread
            }
        };
        let radius = self.settings.default_radius;
        let pos = if at.is_some() {
            wanted
        } else {
            self.free_spot_near(wanted, radius, jitter)
        };
        self.nodes.insert(
            pid,
            LayoutNode {
                pos,
                vel: Vec2::ZERO,
                pinned: at.is_some(),
                radius,
            },
        );
        self.temperature = (self.temperature + self.settings.reheat).min(1.0);
    }

    /// The first spot, searching outwards from `wanted` in rings (each ring's start turned by the
    /// node's own direction, so the search is deterministic per pid), where a disc of `radius`
    /// touches no node; `wanted` itself if nothing is free within the searched rings.
    fn free_spot_near(&self, wanted: Vec2, radius: f32, direction: Vec2) -> Vec2 {
        let is_free = |p: Vec2| {
            self.nodes
                .values()
                .all(|n| n.pos.distance(p) >= n.radius + radius + self.settings.min_gap)
        };
        if is_free(wanted) {
            return wanted;
        }
        let step = radius * 2.0 + self.settings.min_gap;
        let start_angle = direction.to_angle();
        for ring in 1..=PLACEMENT_RINGS {
            let distance = step * ring as f32;
            // About one candidate per disc width along the ring.
            let candidates = ((std::f32::consts::TAU * distance / step).ceil() as u32).max(6);
            for k in 0..candidates {
                let angle = start_angle + std::f32::consts::TAU * k as f32 / candidates as f32;
                let p = wanted + Vec2::from_angle(angle) * distance;
                if is_free(p) {
                    return p;
                }
            }
        }
        wanted
    }

    /// Sets the radius a node is drawn with (it grows with memory), for the separation pass.
    pub fn set_radius(&mut self, pid: u32, radius: f32) {
        if let Some(node) = self.nodes.get_mut(&pid) {
            node.radius = radius.max(0.0);
        }
    }

    /// The pairs of nodes whose discs (plus the minimum gap) overlap, in pid order; empty after
    /// every [`ForceLayout::advance`] unless two pinned nodes were placed on each other.
    pub fn overlapping_pairs(&self) -> Vec<(u32, u32)> {
        let nodes: Vec<(u32, &LayoutNode)> = self.nodes.iter().map(|(p, n)| (*p, n)).collect();
        let mut pairs = Vec::new();
        for (i, (pa, a)) in nodes.iter().enumerate() {
            for (pb, b) in &nodes[i + 1..] {
                // A hair of tolerance: the separation pass places touching discs exactly at
                // the limit, where float rounding may land either side.
                if a.pos.distance(b.pos) < a.radius + b.radius + self.settings.min_gap - 0.01 {
                    pairs.push((*pa, *pb));
                }
            }
        }
        pairs
    }

    pub fn remove(&mut self, pid: u32) {
        if self.nodes.remove(&pid).is_some() {
            self.temperature = (self.temperature + self.settings.reheat * 0.5).min(1.0);
        }
    }

    pub fn position(&self, pid: u32) -> Option<Vec2> {
        self.nodes.get(&pid).map(|n| n.pos)
    }

    /// Moves a node by hand and holds it there until `unpin`.
    pub fn pin(&mut self, pid: u32, pos: Vec2) {
        if let Some(node) = self.nodes.get_mut(&pid) {
            node.pos = pos;
            node.vel = Vec2::ZERO;
            node.pinned = true;
        }
    }

    pub fn unpin(&mut self, pid: u32) {
        if let Some(node) = self.nodes.get_mut(&pid) {
            node.pinned = false;
            self.temperature = self.temperature.max(self.settings.reheat);
        }
    }

    pub fn is_pinned(&self, pid: u32) -> bool {
        self.nodes.get(&pid).is_some_and(|n| n.pinned)
    }

    /// Iterates (pid, position) in pid order.
    pub fn positions(&self) -> impl Iterator<Item = (u32, Vec2)> + '_ {
        self.nodes.iter().map(|(pid, n)| (*pid, n.pos))
    }

    /// Advances the simulation by `elapsed_secs` in fixed steps. `edges` are (from, to) pid pairs;
    /// edges naming unknown pids are ignored.
    pub fn advance(&mut self, elapsed_secs: f32, edges: &[(u32, u32)]) {
        self.pending_secs += elapsed_secs.max(0.0);
        let mut steps = 0;
        while self.pending_secs >= self.settings.step_secs {
            self.pending_secs -= self.settings.step_secs;
            if steps < MAX_STEPS_PER_ADVANCE {
                self.step(edges);
                steps += 1;
            }
        }
        if steps > 0 {
            self.separate();
        }
    }

    /// The hard separation pass: pushes apart every pair of discs closer than their radii plus
    /// the gap, whatever the forces and the temperature did (a pinned node stays; the other one
    /// moves the whole way). Repeats until no pair overlaps or the pass limit is reached.
    pub fn separate(&mut self) {
        let n = self.nodes.len();
        if n < 2 {
            return;
        }
        let gap = self.settings.min_gap;
        let mut nodes: Vec<&mut LayoutNode> = self.nodes.values_mut().collect();
        for _ in 0..MAX_SEPARATION_PASSES {
            let mut moved = false;
            for i in 0..n {
                for j in (i + 1)..n {
                    let (head, tail) = nodes.split_at_mut(j);
                    let (a, b) = (&mut *head[i], &mut *tail[0]);
                    let need = a.radius + b.radius + gap;
                    let delta = b.pos - a.pos;
                    let dist = delta.length();
                    if dist >= need || (a.pinned && b.pinned) {
                        continue;
                    }
                    let dir = if dist < 1e-3 {
                        // Coincident: a direction fixed by the pair's indices.
                        Vec2::from_angle(1.0 + i as f32 * 0.7 + j as f32 * 1.3)
                    } else {
                        delta / dist
                    };
                    // A little past the limit (a tenth of the gap), so a packed crowd does not
                    // settle back into touching on the next pass.
                    let push = need - dist + gap * 0.1;
                    match (a.pinned, b.pinned) {
                        (true, _) => b.pos += dir * push,
                        (_, true) => a.pos -= dir * push,
                        _ => {
                            a.pos -= dir * push * 0.5;
                            b.pos += dir * push * 0.5;
                        }
                    }
                    moved = true;
                }
            }
            if !moved {
                break;
            }
        }
    }

    /// One fixed simulation step.
    pub fn step(&mut self, edges: &[(u32, u32)]) {
        let n = self.nodes.len();
        if n == 0 {
            return;
        }
        let s = &self.settings;
        self.forces.clear();
        self.forces.resize(n, Vec2::ZERO);
        self.pids.clear();
        self.pos.clear();
        for (pid, node) in &self.nodes {
            self.pids.push(*pid);
            self.pos.push(node.pos);
        }
        // Repulsion between every pair (n <= a few hundred: O(n^2) is cheap here). Weaker per
        // pair in a crowd, whose total push grows with n: the separation pass keeps its nodes
        // apart, and a compact crowd is fitted at a zoom where its nodes are big enough to see.
        let repulsion = s.repulsion * (12.0 / n as f32).min(1.0);
        for i in 0..n {
            for j in (i + 1)..n {
                let mut delta = self.pos[i] - self.pos[j];
                let mut dist_sq = delta.length_squared();
                if dist_sq < 1.0 {
                    // Coincident nodes: push apart along a direction fixed by their indices.
                    delta = Vec2::new(1.0 + i as f32, 1.0 + j as f32).normalize();
                    dist_sq = 1.0;
                }
                let push = delta / dist_sq.sqrt() * (repulsion / dist_sq.max(100.0));
                self.forces[i] += push;
                self.forces[j] -= push;
            }
        }
        // Springs along edges.
        for &(a, b) in edges {
            if a == b {
                continue;
            }
            let (Ok(ia), Ok(ib)) = (self.pids.binary_search(&a), self.pids.binary_search(&b))
            else {
                continue;
            };
            let (pa, pb) = (self.pos[ia], self.pos[ib]);
            let delta = pb - pa;
            let dist = delta.length().max(1.0);
            let pull = delta / dist * ((dist - s.spring_length) * s.spring_stiffness);
            self.forces[ia] += pull;
            self.forces[ib] -= pull;
        }
        let max_move = s.max_move_per_step * self.temperature;
        // The same pull for a crowd (see the repulsion above).
        let gravity = s.gravity;
        for (i, node) in self.nodes.values_mut().enumerate() {
            if node.pinned {
                continue;
            }
            let force = self.forces[i] - node.pos * gravity;
            node.vel = (node.vel + force * s.step_secs) * s.damping;
            let step = node.vel * s.step_secs;
            let len = step.length();
            let step = if len > max_move {
                step * (max_move / len)
            } else {
                step
            };
            node.pos += step;
        }
        self.temperature =
            (self.temperature - s.cooling_per_sec * s.step_secs).max(s.min_temperature);
    }
}

/// A unit-length direction scaled by a magnitude in 0.35..1, derived from (seed, pid) only.
fn hash_unit_vec(seed: u64, pid: u32) -> Vec2 {
    let h = splitmix64(seed ^ (u64::from(pid)).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let x = ((h & 0xffff) as f32 / 65535.0) * 2.0 - 1.0;
    let y = (((h >> 16) & 0xffff) as f32 / 65535.0) * 2.0 - 1.0;
    let r = 0.35 + 0.65 * (((h >> 32) & 0xffff) as f32 / 65535.0);
    let dir = Vec2::new(x, y);
    let dir = if dir.length_squared() < 1e-4 {
        Vec2::X
    } else {
        dir.normalize()
    };
    dir * r
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seed: u64) -> Vec<(u32, Vec2)> {
        let mut layout = ForceLayout::new(LayoutSettings {
            seed,
            ..Default::default()
        });
        for pid in 1..=12 {
            layout.insert(pid, None, (pid > 1).then_some(1));
        }
        let edges = [(4, 5), (6, 7), (7, 6), (1, 2)];
        for _ in 0..120 {
            layout.advance(1.0 / 30.0, &edges);
        }
        layout.positions().collect()
    }

    #[test]
    fn same_seed_same_layout() {
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn nodes_spread_out_and_springs_pull_together() {
        let layout_positions = run(3);
        let pos = |pid: u32| layout_positions.iter().find(|(p, _)| *p == pid).unwrap().1;
        for (i, (_, a)) in layout_positions.iter().enumerate() {
            for (_, b) in &layout_positions[i + 1..] {
                assert!(a.distance(*b) > 20.0, "nodes overlap: {a} {b}");
            }
        }
        // Connected pairs sit closer than unconnected pairs do on average.
        let linked = [(4, 5), (6, 7), (1, 2)];
        let mut unlinked_sum = 0.0;
        let mut unlinked_count = 0.0;
        for a in 1..=12u32 {
            for b in (a + 1)..=12 {
                if !linked.contains(&(a, b)) {
                    unlinked_sum += pos(a).distance(pos(b));
                    unlinked_count += 1.0;
                }
            }
        }
        let unlinked_mean = unlinked_sum / unlinked_count;
        for (a, b) in linked {
            let d = pos(a).distance(pos(b));
            assert!(
                d < unlinked_mean,
                "linked {a}-{b} at {d}, unlinked mean {unlinked_mean}"
            );
        }
    }

    #[test]
    fn adding_a_node_barely_moves_a_settled_layout() {
        let mut layout = ForceLayout::new(LayoutSettings::default());
        for pid in 1..=8 {
            layout.insert(pid, None, None);
        }
        for _ in 0..600 {
            layout.step(&[]);
        }
        let before: Vec<_> = layout.positions().collect();
        layout.insert(9, None, Some(1));
        layout.step(&[]);
        for (pid, old) in before {
            let new = layout.position(pid).unwrap();
            assert!(old.distance(new) <= layout.settings().max_move_per_step + 0.01);
        }
    }

    #[test]
    fn pinned_nodes_stay_put_and_removed_nodes_are_gone() {
        let mut layout = ForceLayout::new(LayoutSettings::default());
        layout.insert(1, Some(Vec2::new(10.0, 20.0)), None);
        layout.insert(2, None, Some(1));
        for _ in 0..50 {
            layout.step(&[(1, 2)]);
        }
        assert_eq!(layout.position(1), Some(Vec2::new(10.0, 20.0)));
        layout.remove(2);
        assert!(!layout.contains(2));
        assert_eq!(layout.len(), 1);
    }

    /// Many spawns near the same parent (as `spawn` at the terminal does) and a crowd with no
    /// parent: a new node never lands on another, and after every advance no two discs overlap.
    #[test]
    fn spawned_nodes_never_overlap_at_any_frame() {
        for count in [64u32, 256] {
            let mut layout = ForceLayout::new(LayoutSettings::default());
            let mut edges = Vec::new();
            for pid in 1..=count {
                let near = match pid % 3 {
                    0 => Some(2),
                    1 if pid > 1 => Some(pid - 1),
                    _ => None,
                };
                layout.insert(pid, None, near);
                let on_new: Vec<_> = layout
                    .overlapping_pairs()
                    .into_iter()
                    .filter(|&(a, b)| a == pid || b == pid)
                    .collect();
                assert!(on_new.is_empty(), "{count}: pid {pid} placed on {on_new:?}");
                // Memory makes some nodes bigger (as a memhog's grows): the next advance makes room.
                layout.set_radius(pid, 22.0 + (pid % 5) as f32 * 3.0);
                if pid % 2 == 0 {
                    edges.push((pid, pid - 1));
                }
                if pid % 4 == 0 {
                    layout.advance(1.0 / 6.0, &edges);
                    let overlaps = layout.overlapping_pairs();
                    assert!(
                        overlaps.is_empty(),
                        "{count}: after spawning {pid}: {overlaps:?}"
                    );
                }
            }
            for frame in 0..120 {
                layout.advance(1.0 / 6.0, &edges);
                let overlaps = layout.overlapping_pairs();
                assert!(overlaps.is_empty(), "{count}: frame {frame}: {overlaps:?}");
            }
        }
    }

    /// A node dragged (pinned) onto another pushes the other one out of the way.
    #[test]
    fn a_node_pinned_onto_another_pushes_it_aside() {
        let mut layout = ForceLayout::new(LayoutSettings::default());
        layout.insert(1, None, None);
        layout.insert(2, None, Some(1));
        let target = layout.position(2).unwrap();
        layout.pin(1, target);
        layout.advance(1.0 / 60.0, &[]);
        assert_eq!(layout.position(1), Some(target));
        assert!(layout.overlapping_pairs().is_empty());
    }

    /// The free spot search: a node wanted exactly where another sits starts clear of it.
    #[test]
    fn a_new_node_starts_in_free_space() {
        let mut layout = ForceLayout::new(LayoutSettings::default());
        for pid in 1..=30 {
            layout.insert(pid, None, Some(1));
        }
        assert!(layout.overlapping_pairs().is_empty());
        let min = (1..=30u32)
            .flat_map(|a| (a + 1..=30).map(move |b| (a, b)))
            .map(|(a, b)| {
                layout
                    .position(a)
                    .unwrap()
                    .distance(layout.position(b).unwrap())
            })
            .fold(f32::MAX, f32::min);
        let s = layout.settings();
        assert!(
            min >= 2.0 * s.default_radius + s.min_gap - 0.01,
            "closest pair {min}"
        );
    }
}

#[cfg(test)]
mod crowd_tests {
    use super::*;

    /// How far the farthest node is from the nodes' centre.
    fn extent(layout: &ForceLayout) -> f32 {
        let n = layout.len() as f32;
        let centre = layout.positions().map(|(_, p)| p / n).sum::<Vec2>();
        layout
            .positions()
            .map(|(_, p)| p.distance(centre))
            .fold(0.0, f32::max)
    }

    #[test]
    fn a_crowd_arriving_at_once_starts_near_its_settled_size() {
        // The crowd scenario: init and terminal, then 64 processes (senders wired to receivers)
        // spawned a few milliseconds apart, at 11 frames a second. The camera fits what it
        // sees, so a crowd that starts spread wide is drawn small until it has pulled together:
        // with the old start (spread over the spring length times the square root of the count)
        // it was still 2.9 times its settled size two seconds in, and took half a minute.
        let mut layout = ForceLayout::new(LayoutSettings::default());
        layout.insert(1, None, None);
        layout.insert(2, None, None);
        let mut edges = vec![];
        let dt = 1.0 / 11.0;
        let mut extents = vec![];
        let mut pid = 3;
        for frame in 0..(40 * 11) {
            let t = frame as f32 * dt;
            while pid <= 66 && (pid - 3) as f32 * 0.016 <= t {
                layout.insert(pid, None, None);
                if pid % 2 == 0 {
                    edges.push((pid - 1, pid));
                }
                pid += 1;
            }
            layout.advance(dt, &edges);
            extents.push(extent(&layout));
        }
        let settled = *extents.last().unwrap();
        let at = |secs: usize| extents[secs * 11];
        assert!(
            at(2) < settled * 1.6 && at(5) < settled * 1.4,
            "2 s: {}, 5 s: {}, settled: {settled}",
            at(2),
            at(5)
        );
        assert!(layout.overlapping_pairs().is_empty());
    }
}
