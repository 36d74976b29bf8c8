//! Busy edges' bars and where their rate labels go: pure layout, unit-tested; `draw` only
//! applies the plan.
//!
//! [`RateLabelPlanner::plan`] chooses which busy edges get a label (in a crowd, the busiest and
//! those of the selected or hovered process), builds the obstacles (every node disc and ring, the
//! node name labels shown, the overlay drawn over the canvas) and places each label with
//! [`place_rate_label`]: a label may sit beside its bar anywhere along the edge, on either side.
//! Candidates are tried nearest the midpoint first; the first whose rectangle clears its own bar,
//! every node disc and every label (or other obstacle) already placed wins. In a dense graph none
//! may be clear: the edge then goes without a label (its bar still shows how busy it is) rather
//! than cover a node.

use bevy::ecs::resource::Resource;
use bevy::math::{Rect, Vec2};

use super::traffic::{edge_width_for_rate, format_rate};

/// Above this many nodes, only [`CROWD_RATE_LABELS`] busiest edges (and those of the selected or
/// hovered process) keep a rate label.
pub const CROWD_LABEL_LIMIT: usize = 24;

/// In a crowd, how many of the busiest edges keep a rate label.
pub const CROWD_RATE_LABELS: usize = 4;

/// The nodes whose name label is shown (see [`RateLabelPlanner::named`]), sorted by pid, those
/// whose name goes above the disc (no room below), and those written inside their disc instead
/// (see [`RateLabelPlanner::inside`]).
#[derive(Resource, Debug, Default, PartialEq)]
pub struct NamedNodes {
    pub named: Vec<u32>,
    pub above: Vec<u32>,
    pub inside: Vec<(u32, InsideWords)>,
}

impl NamedNodes {
    pub fn contains(&self, pid: u32) -> bool {
        self.named.binary_search(&pid).is_ok()
    }

    pub fn is_above(&self, pid: u32) -> bool {
        self.above.binary_search(&pid).is_ok()
    }

    /// What is written inside `pid`'s disc, if anything, and in what size.
    pub fn inside(&self, pid: u32) -> Option<InsideWords> {
        self.inside
            .binary_search_by_key(&pid, |(p, _)| *p)
            .ok()
            .map(|i| self.inside[i].1)
    }
}

/// What a node with no room for its name beside it shows inside its disc, the most that fits:
/// the whole label, "name (pid)"; the name over the pid, on two lines; or the pid alone (what
/// the process list and the terminal's `kill` go by). A crowd at its fitted zoom shows pids;
/// zoomed in, the names come.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Inside {
    Full,
    NameAndPid,
    Pid,
}

/// The smallest type a pid is written in inside its disc, in CSS pixels (the label font is 13 on
/// the standard theme): a crowd fitted to a small canvas still reads as pids, down to discs about
/// 8 px across the radius for two digits; smaller than that it writes nothing.
pub const INSIDE_MIN_FONT_PX: f32 = 9.0;

/// What a disc has written inside it, and the font size it is written in (CSS pixels): the label
/// font, or for a pid alone in a small disc the largest whole size that fits, down to
/// [`INSIDE_MIN_FONT_PX`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InsideWords {
    pub what: Inside,
    pub font_px: f32,
}

/// A process's name label on the canvas: "name (pid)" (what [`NodeFootprint::name_chars`]
/// counts, and [`Inside::fitting`] takes apart).
pub fn label_text(name: &str, pid: u32) -> String {
    format!("{name} ({pid})")
}

impl Inside {
    /// The lines written, from the node's name and pid.
    pub fn lines(self, name: &str, pid: u32) -> Vec<String> {
        match self {
            Inside::Full => vec![label_text(name, pid)],
            Inside::NameAndPid => vec![name.to_string(), pid.to_string()],
            Inside::Pid => vec![pid.to_string()],
        }
    }

    /// The most that fits inside a disc of `radius` (world units) for a node whose label
    /// "name (pid)" has `name_chars` characters: the words' ink (a monospace character about 0.6
    /// of the font size wide, a line of digits or lower case under its size tall, lines 1.2
    /// apart as `canvas_text` paints them) must lie within nine tenths of the disc, so its edge
    /// stays clear. In the label font first; failing that, the pid alone in a smaller font, not
    /// under [`INSIDE_MIN_FONT_PX`].
    pub fn fitting(
        pid: u32,
        radius: f32,
        name_chars: usize,
        style: &LabelStyle,
    ) -> Option<InsideWords> {
        let digits = pid.checked_ilog10().unwrap_or(0) as usize + 1;
        // `label_text`: the name is what is left without " (", the digits and ")".
        let name = name_chars.saturating_sub(digits + 3);
        let px = style.world_per_px;
        // Half the ink's diagonal per font pixel, for `chars` characters on `lines` lines.
        let half_per_px = |chars: usize, lines: usize| {
            let tall = 1.0 + 1.2 * (lines as f32 - 1.0);
            (Vec2::new(chars as f32 * 0.6, tall) * 0.5 * px).length()
        };
        let room = radius * 0.9;
        let at_label_size = [
            (Inside::Full, name_chars, 1),
            (Inside::NameAndPid, name.max(digits), 2),
            (Inside::Pid, digits, 1),
        ]
        .into_iter()
        .find(|&(_, chars, lines)| half_per_px(chars, lines) * style.font_px <= room);
        if let Some((what, _, _)) = at_label_size {
            return Some(InsideWords {
                what,
                font_px: style.font_px,
            });
        }
        let largest = (room / half_per_px(digits, 1)).floor();
        (largest >= INSIDE_MIN_FONT_PX).then_some(InsideWords {
            what: Inside::Pid,
            font_px: largest,
        })
    }
}

/// The rate labels drawn this frame (world units), for the canvas layout browser tests read.
#[derive(Resource, Debug, Default)]
pub struct RateLabels(pub Vec<RateLabel>);

#[derive(Debug, Clone, PartialEq)]
pub struct RateLabel {
    pub from: u32,
    pub to: u32,
    pub text: String,
    pub rect: Rect,
}

/// An aggregated (busy) edge from `a` to `b` (world units).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BusyEdge {
    pub from: u32,
    pub to: u32,
    pub a: Vec2,
    pub b: Vec2,
    pub rate_per_sec: f32,
}

/// A node as drawn: where, how big (world units), and how long its name label is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NodeFootprint {
    pub pid: u32,
    pub centre: Vec2,
    pub radius: f32,
    pub name_chars: usize,
}

/// What the plan depends on besides the edges and nodes.
#[derive(Clone, Copy, Debug)]
pub struct PlanInputs {
    pub style: LabelStyle,
    /// Width of the bar of a barely busy edge, and of the busiest (world units).
    pub min_bar_width: f32,
    pub max_bar_width: f32,
    /// The selected and the hovered process: in a crowd their edges keep their labels.
    pub focus: [Option<u32>; 2],
    /// What the panels draw over the canvas, in world units: labels keep clear of it.
    pub overlay: Option<Rect>,
    /// The canvas between the panels, in world units: rate labels stay inside it (the words are
    /// painted clipped to it, so one placed across its edge showed cut, "114/").
    pub canvas: Option<Rect>,
}

/// One busy edge's bar, and its label if it has one.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedBar {
    pub from: u32,
    pub to: u32,
    /// Centre of the bar, beside the line from `a` to `b` (a pair talking both ways gets two bars
    /// side by side).
    pub centre: Vec2,
    /// The bar's direction (radians) and size: length along the edge, width across.
    pub angle: f32,
    pub length: f32,
    pub width: f32,
    /// "123/s".
    pub text: String,
    /// Where the label goes; `None` for an edge that goes without one.
    pub label: Option<Rect>,
}

/// Plans bars and labels, keeping its buffers from frame to frame.
#[derive(Debug, Default)]
pub struct RateLabelPlanner {
    labelled: Vec<(u32, u32)>,
    busiest: Vec<((u32, u32), f32)>,
    obstacles: LabelObstacles,
    bars: Vec<PlannedBar>,
    /// The nodes whose name label is shown, in the order they were given room.
    named: Vec<u32>,
    /// Of those, the ones whose name goes above the disc.
    named_above: Vec<u32>,
    /// The nodes with no room for a name beside them that show it, or their pid, inside.
    inside: Vec<(u32, InsideWords)>,
    order: Vec<usize>,
}

impl RateLabelPlanner {
    /// One bar per busy edge, in `edges`' order, each with a label clear of every node (its disc
    /// and ring, and its name label where shown), the overlay and the labels placed before it, or
    /// none.
    pub fn plan(
        &mut self,
        edges: &[BusyEdge],
        nodes: &[NodeFootprint],
        inputs: &PlanInputs,
    ) -> &[PlannedBar] {
        let style = &inputs.style;
        // In a crowd, rate labels would pile up (and re-laying out dozens of changing texts every
        // frame costs update time): label the busiest edges and those of the selected or hovered
        // process; the bars still show every busy edge. Node labels are hidden there, so no room
        // is kept for them.
        let crowded = nodes.len() > CROWD_LABEL_LIMIT;
        self.labelled.clear();
        if crowded {
            let focus = inputs.focus;
            self.busiest.clear();
            self.busiest
                .extend(edges.iter().map(|e| ((e.from, e.to), e.rate_per_sec)));
            self.busiest
                .sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            self.labelled.extend(
                self.busiest
                    .iter()
                    .take(CROWD_RATE_LABELS)
                    .map(|(key, _)| *key),
            );
            self.labelled.extend(
                self.busiest
                    .iter()
                    .map(|(key, _)| *key)
                    .filter(|(a, b)| focus.contains(&Some(*a)) || focus.contains(&Some(*b))),
            );
        }
        self.obstacles.clear();
        for node in nodes {
            self.obstacles
                .add_node(node.centre, node.radius, None, style);
        }
        if let Some(overlay) = inputs.overlay {
            self.obstacles.rects.push(overlay);
        }
        self.name_nodes_with_room(nodes, inputs);
        self.bars.clear();
        for edge in edges {
            let (a, b) = (edge.a, edge.b);
            let width = edge_width_for_rate(
                edge.rate_per_sec,
                inputs.min_bar_width,
                inputs.max_bar_width,
            );
            let dir = (b - a).normalize_or_zero();
            let side = dir.perp() * (width * 0.5 + 1.0);
            let text = format_rate(edge.rate_per_sec);
            let wanted = !crowded || self.labelled.contains(&(edge.from, edge.to));
            let label = wanted
                .then(|| {
                    let half = style.rate_half(&text);
                    place_rate_label(
                        a,
                        b,
                        width,
                        inputs.max_bar_width,
                        half,
                        style.margin(),
                        &self.obstacles,
                        inputs.canvas,
                    )
                })
                .flatten();
            if let Some(rect) = label {
                self.obstacles.rects.push(rect);
            }
            self.bars.push(PlannedBar {
                from: edge.from,
                to: edge.to,
                centre: (a + b) * 0.5 + side,
                angle: dir.to_angle(),
                length: a.distance(b),
                width,
                text,
                label,
            });
        }
        &self.bars
    }
}

/// Fractions along the edge tried for the label's centre, nearest the midpoint first.
const ALONG: [f32; 7] = [0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8];

/// What a rate label must stay clear of (world units).
#[derive(Clone, Debug, Default)]
pub struct LabelObstacles {
    /// Node discs: centre and radius (rings included).
    pub nodes: Vec<(Vec2, f32)>,
    /// Rectangles already taken: labels placed before this one, node name labels.
    pub rects: Vec<Rect>,
}

/// Sizes that decide a label's box and a node's footprint (world units unless named `_px`).
#[derive(Clone, Copy, Debug)]
pub struct LabelStyle {
    /// Node name font size, in CSS pixels; rate labels use 0.9 of it.
    pub font_px: f32,
    /// Width of the ring drawn around a node, in world units.
    pub ring_width: f32,
    /// World units per CSS pixel (labels keep their size on screen whatever the zoom).
    pub world_per_px: f32,
}

impl RateLabelPlanner {
    /// The nodes named in the last plan: every node whose name label fits below it clear of
    /// every node disc, every other name and the overlay, given room in order (the selected and
    /// hovered process first, always named; then by pid, so init, terminal and the first
    /// processes keep theirs). In a small graph that is every node; in a crowd, those with room.
    pub fn named(&self) -> &[u32] {
        &self.named
    }

    /// The named nodes whose name goes above the disc (there was no room below).
    pub fn named_above(&self) -> &[u32] {
        &self.named_above
    }

    /// The nodes of the last plan with no room for their name beside the disc, and what of it
    /// fits inside ([`Inside::fitting`]): so every node of a crowd reads as its pid at least,
    /// once its disc is a few characters wide on screen.
    pub fn inside(&self) -> &[(u32, InsideWords)] {
        &self.inside
    }

    /// The bars of the last plan.
    pub fn bars(&self) -> &[PlannedBar] {
        &self.bars
    }

    fn name_nodes_with_room(&mut self, nodes: &[NodeFootprint], inputs: &PlanInputs) {
        let style = &inputs.style;
        self.named.clear();
        self.named_above.clear();
        self.inside.clear();
        self.order.clear();
        self.order.extend(0..nodes.len());
        let focused = |pid: u32| inputs.focus.contains(&Some(pid));
        self.order
            .sort_unstable_by_key(|&i| (!focused(nodes[i].pid), nodes[i].pid));
        for &i in &self.order {
            let node = &nodes[i];
            let below = name_rect(node.centre, node.radius, node.name_chars, style);
            let above = name_rect_above(node.centre, node.radius, node.name_chars, style);
            let clear = |rect| self.obstacles.is_clear_but(rect, style.margin(), i);
            let place = if clear(below) || focused(node.pid) && !clear(above) {
                Some((below, false))
            } else if clear(above) {
                Some((above, true))
            } else {
                None
            };
            if let Some((rect, is_above)) = place {
                self.obstacles.rects.push(rect);
                self.named.push(node.pid);
                if is_above {
                    self.named_above.push(node.pid);
                }
            } else if let Some(inside) =
                Inside::fitting(node.pid, node.radius, node.name_chars, style)
            {
                self.inside.push((node.pid, inside));
            }
        }
    }
}

/// The box of a node's name label placed above its disc and ring, where there is no room below
/// (where `canvas_text` paints it).
pub fn name_rect_above(centre: Vec2, radius: f32, name_chars: usize, style: &LabelStyle) -> Rect {
    let below = name_rect(centre, radius, name_chars, style);
    let offset = 2.0 * (centre.y - below.max.y) + below.height();
    Rect::from_center_half_size(below.center() + Vec2::new(0.0, offset), below.half_size())
}

/// The box of a node's name label of `name_chars` characters, hanging below its disc and ring
/// (where `canvas_text` paints it).
pub fn name_rect(centre: Vec2, radius: f32, name_chars: usize, style: &LabelStyle) -> Rect {
    let px = style.world_per_px;
    let half = Vec2::new(
        name_chars as f32 * style.font_px * 0.32,
        style.font_px * 0.65,
    ) * px;
    let top = centre.y - radius - style.ring_width - 4.0 * px;
    Rect::from_center_half_size(Vec2::new(centre.x, top - half.y), half)
}

impl LabelStyle {
    /// Half size of the box of a rate label reading `text`.
    pub fn rate_half(&self, text: &str) -> Vec2 {
        let font_px = self.font_px * 0.9;
        Vec2::new(text.len() as f32 * font_px * 0.32, font_px * 0.65) * self.world_per_px
    }

    /// Room kept around labels and nodes.
    pub fn margin(&self) -> f32 {
        4.0 * self.world_per_px
    }
}

impl LabelObstacles {
    pub fn clear(&mut self) {
        self.nodes.clear();
        self.rects.clear();
    }

    /// A node at `centre` drawn with `radius`, with its ring, and, if shown, its name label of
    /// `name_chars` characters hanging below it (as `draw::update_node_visuals` places it).
    pub fn add_node(
        &mut self,
        centre: Vec2,
        radius: f32,
        name_chars: Option<usize>,
        style: &LabelStyle,
    ) {
        let px = style.world_per_px;
        self.nodes
            .push((centre, radius + style.ring_width * 2.0 * px));
        if let Some(chars) = name_chars {
            self.rects.push(name_rect(centre, radius, chars, style));
        }
    }

    /// Like [`LabelObstacles::is_clear`], ignoring node disc `skip` (a node's own name hangs
    /// just below its disc).
    pub fn is_clear_but(&self, rect: Rect, margin: f32, skip: usize) -> bool {
        let grown =
            Rect::from_center_half_size(rect.center(), rect.half_size() + Vec2::splat(margin));
        self.nodes
            .iter()
            .enumerate()
            .all(|(i, &(centre, r))| i == skip || !disc_touches_rect(centre, r, grown))
            && self
                .rects
                .iter()
                .all(|taken| taken.intersect(grown).is_empty())
    }

    /// True if `rect`, grown by `margin`, touches no node disc and no taken rectangle.
    pub fn is_clear(&self, rect: Rect, margin: f32) -> bool {
        let grown =
            Rect::from_center_half_size(rect.center(), rect.half_size() + Vec2::splat(margin));
        self.nodes
            .iter()
            .all(|&(centre, r)| !disc_touches_rect(centre, r, grown))
            && self
                .rects
                .iter()
                .all(|taken| taken.intersect(grown).is_empty())
    }
}

/// True if the disc (`centre`, `r`) and `rect` overlap.
pub fn disc_touches_rect(centre: Vec2, r: f32, rect: Rect) -> bool {
    centre.clamp(rect.min, rect.max).distance_squared(centre) < r * r
}

/// The rectangle (half size `half`, axis-aligned) for the rate label of the edge `a` -> `b`, whose
/// bar of `width` is drawn on the edge's left side (`(b - a).perp()`); the right side may hold the
/// reverse edge's bar, up to `max_width`. `None` if no candidate is clear of `obstacles` (and,
/// given `within`, wholly inside it).
#[allow(clippy::too_many_arguments)]
pub fn place_rate_label(
    a: Vec2,
    b: Vec2,
    width: f32,
    max_width: f32,
    half: Vec2,
    margin: f32,
    obstacles: &LabelObstacles,
    within: Option<Rect>,
) -> Option<Rect> {
    let dir = (b - a).normalize_or_zero();
    if dir == Vec2::ZERO {
        return None;
    }
    let normal = dir.perp();
    // The label's extent across the edge.
    let across = normal.x.abs() * half.x + normal.y.abs() * half.y;
    let left = width + 1.0 + margin + across;
    let right = -(max_width + 1.0 + margin + across);
    let step = 2.0 * across + margin;
    let sides = [left, right, left + step, right - step];
    for t in ALONG {
        let on_edge = a.lerp(b, t);
        for offset in sides {
            let rect = Rect::from_center_half_size(on_edge + normal * offset, half);
            let inside = within.is_none_or(|w| w.contains(rect.min) && w.contains(rect.max));
            if inside && obstacles.is_clear(rect, margin) {
                return Some(rect);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar_points(a: Vec2, b: Vec2, width: f32) -> impl Iterator<Item = Vec2> {
        let dir = (b - a).normalize();
        (0..=20).flat_map(move |t| {
            let on_line = a + (b - a) * (t as f32 / 20.0);
            (0..=4).map(move |w| on_line + dir.perp() * (1.0 + width * w as f32 / 4.0))
        })
    }

    /// Without other nodes the label sits at the midpoint beside its bar, clear of both ends.
    #[test]
    fn a_label_clears_its_bar_and_both_end_nodes() {
        let half = Vec2::new(22.0, 9.0);
        for angle in [0.0f32, 0.4, 1.2, std::f32::consts::FRAC_PI_2, 2.5, 3.9] {
            for length in [110.0f32, 300.0] {
                let dir = Vec2::from_angle(angle);
                let (a, b, width, node_r) = (Vec2::ZERO, dir * length, 10.0, 24.0);
                let obstacles = LabelObstacles {
                    nodes: vec![(a, node_r), (b, node_r)],
                    rects: vec![],
                };
                let label = place_rate_label(a, b, width, 14.0, half, 4.0, &obstacles, None)
                    .unwrap_or_else(|| panic!("angle {angle} length {length}: no place"));
                for p in bar_points(a, b, width) {
                    assert!(
                        !label.contains(p),
                        "angle {angle} length {length}: label {label:?} covers bar point {p}"
                    );
                }
                for (node, r) in &obstacles.nodes {
                    assert!(
                        !disc_touches_rect(*node, *r, label),
                        "angle {angle} length {length}: label {label:?} on node {node}"
                    );
                }
            }
        }
    }

    /// A third node beside the midpoint (where the label would go) pushes the label elsewhere; a
    /// label already placed there does too; boxed in on every side, the edge gets no label.
    #[test]
    fn a_label_avoids_other_nodes_and_labels_or_is_dropped() {
        let (a, b, half, width) = (
            Vec2::ZERO,
            Vec2::new(300.0, 0.0),
            Vec2::new(22.0, 9.0),
            10.0,
        );
        let mut obstacles = LabelObstacles {
            nodes: vec![(a, 26.0), (b, 26.0)],
            rects: vec![],
        };
        let free = place_rate_label(a, b, width, 14.0, half, 4.0, &obstacles, None).unwrap();
        let squatter = (free.center(), 26.0);
        obstacles.nodes.push(squatter);
        let moved = place_rate_label(a, b, width, 14.0, half, 4.0, &obstacles, None).unwrap();
        assert!(
            !disc_touches_rect(squatter.0, squatter.1, moved),
            "{moved:?} still on the node at {}",
            squatter.0
        );
        obstacles.rects.push(moved);
        let third = place_rate_label(a, b, width, 14.0, half, 4.0, &obstacles, None).unwrap();
        assert!(
            third.intersect(moved).is_empty(),
            "{third:?} on the label {moved:?}"
        );
        // Nodes all along both sides of the edge: nowhere to go.
        for x in (0..=300).step_by(20) {
            for y in [-60.0, -30.0, 30.0, 60.0] {
                obstacles.nodes.push((Vec2::new(x as f32, y), 26.0));
            }
        }
        assert_eq!(
            place_rate_label(a, b, width, 14.0, half, 4.0, &obstacles, None),
            None
        );
    }

    /// An edge along the canvas's right edge: the label's first places would stick out of the
    /// canvas (where the panels cut the words); it goes on the inside, or nowhere.
    #[test]
    fn a_rate_label_stays_inside_the_canvas() {
        let half = Vec2::new(22.0, 9.0);
        let canvas = Rect::new(0.0, 0.0, 400.0, 300.0);
        let mut first_place_outside = 0;
        // Vertical, 10 units from the right edge, in both directions (so the bar's side faces
        // out once and in once): only a place inside may be taken.
        for (a, b) in [
            (Vec2::new(390.0, 40.0), Vec2::new(390.0, 260.0)),
            (Vec2::new(390.0, 260.0), Vec2::new(390.0, 40.0)),
        ] {
            let obstacles = LabelObstacles {
                nodes: vec![(a, 20.0), (b, 20.0)],
                rects: vec![],
            };
            let free = place_rate_label(a, b, 10.0, 14.0, half, 4.0, &obstacles, None).unwrap();
            let inside =
                place_rate_label(a, b, 10.0, 14.0, half, 4.0, &obstacles, Some(canvas)).unwrap();
            assert!(
                canvas.contains(inside.min) && canvas.contains(inside.max),
                "{a} -> {b}: {inside:?} outside {canvas:?}"
            );
            if !(canvas.contains(free.min) && canvas.contains(free.max)) {
                first_place_outside += 1;
            }
        }
        assert!(first_place_outside >= 1, "the case where it matters");
        // No room inside at all: no label.
        let tiny = Rect::new(380.0, 0.0, 400.0, 300.0);
        let (a, b) = (Vec2::new(390.0, 40.0), Vec2::new(390.0, 260.0));
        let obstacles = LabelObstacles {
            nodes: vec![(a, 20.0), (b, 20.0)],
            rects: vec![],
        };
        assert_eq!(
            place_rate_label(a, b, 10.0, 14.0, half, 4.0, &obstacles, Some(tiny)),
            None
        );
    }

    fn inputs(focus: [Option<u32>; 2], overlay: Option<Rect>) -> PlanInputs {
        PlanInputs {
            style: LabelStyle {
                font_px: 14.0,
                ring_width: 3.0,
                world_per_px: 1.0,
            },
            min_bar_width: 3.0,
            max_bar_width: 14.0,
            focus,
            overlay,
            canvas: None,
        }
    }

    fn node(pid: u32, x: f32, y: f32) -> NodeFootprint {
        NodeFootprint {
            pid,
            centre: Vec2::new(x, y),
            radius: 20.0,
            name_chars: 9,
        }
    }

    fn edge(nodes: &[NodeFootprint], from: u32, to: u32, rate_per_sec: f32) -> BusyEdge {
        let at = |pid: u32| nodes.iter().find(|n| n.pid == pid).unwrap().centre;
        BusyEdge {
            from,
            to,
            a: at(from),
            b: at(to),
            rate_per_sec,
        }
    }

    /// A few nodes: every busy edge gets a bar, in order, and a label clear of every node, of the
    /// overlay and of the other labels; a bar lies beside its edge.
    #[test]
    fn the_plan_gives_every_busy_edge_a_bar_and_a_label_clear_of_nodes_overlay_and_labels() {
        let nodes = [
            node(1, 0.0, 0.0),
            node(2, 300.0, 0.0),
            node(3, 150.0, 220.0),
            node(4, 150.0, 40.0),
        ];
        let edges = [
            edge(&nodes, 1, 2, 120.0),
            edge(&nodes, 2, 1, 80.0),
            edge(&nodes, 3, 1, 40.0),
        ];
        let overlay = Rect::new(120.0, 60.0, 260.0, 140.0);
        let mut planner = RateLabelPlanner::default();
        let plan = planner
            .plan(&edges, &nodes, &inputs([None, None], Some(overlay)))
            .to_vec();
        assert_eq!(
            plan.iter().map(|b| (b.from, b.to)).collect::<Vec<_>>(),
            [(1, 2), (2, 1), (3, 1)]
        );
        assert_eq!(plan[0].text, "120/s");
        assert!(
            (plan[0].length - 300.0).abs() < 1e-3 && plan[0].centre.y > 0.0,
            "{:?}",
            plan[0]
        );
        assert!(
            plan[1].centre.y < 0.0,
            "the reverse edge's bar is on the other side: {:?}",
            plan[1]
        );
        let labels: Vec<Rect> = plan.iter().filter_map(|b| b.label).collect();
        assert_eq!(labels.len(), 3, "{plan:?}");
        for (i, label) in labels.iter().enumerate() {
            for n in &nodes {
                assert!(
                    !disc_touches_rect(n.centre, n.radius, *label),
                    "{label:?} on node {}",
                    n.pid
                );
            }
            assert!(
                label.intersect(overlay).is_empty(),
                "{label:?} under the overlay"
            );
            for other in &labels[i + 1..] {
                assert!(label.intersect(*other).is_empty(), "{label:?} on {other:?}");
            }
        }
    }

    /// In a crowd, only the busiest edges and those of the selected or hovered process are
    /// labelled; every busy edge still gets its bar.
    #[test]
    fn in_a_crowd_only_the_busiest_edges_and_the_focused_process_edges_are_labelled() {
        let nodes: Vec<NodeFootprint> = (0..30)
            .map(|i| node(i, (i % 6) as f32 * 400.0, (i / 6) as f32 * 400.0))
            .collect();
        // Edges i -> i+1 along each row, busier further on.
        let edges: Vec<BusyEdge> = (0..30)
            .filter(|i| i % 6 != 5)
            .map(|i| edge(&nodes, i, i + 1, 10.0 + i as f32))
            .collect();
        let mut planner = RateLabelPlanner::default();
        let plan = planner
            .plan(&edges, &nodes, &inputs([Some(0), None], None))
            .to_vec();
        assert_eq!(plan.len(), edges.len());
        let labelled: Vec<(u32, u32)> = plan
            .iter()
            .filter(|b| b.label.is_some())
            .map(|b| (b.from, b.to))
            .collect();
        assert_eq!(labelled, [(0, 1), (25, 26), (26, 27), (27, 28), (28, 29)]);
        assert!(planner.named().contains(&0), "the selected node is named");
    }

    /// Names where there is room: spread out, every node of a crowd is named; packed, the names
    /// that are shown cover no node and no other name, the selected one is always among them,
    /// and the lowest pids (init first) come first; a name with no room below goes above.
    #[test]
    fn nodes_are_named_where_their_name_fits() {
        let style = LabelStyle {
            font_px: 13.0,
            ring_width: 4.0,
            world_per_px: 1.0,
        };
        let inputs = |focus| PlanInputs {
            style,
            min_bar_width: 2.0,
            max_bar_width: 12.0,
            focus,
            overlay: None,
            canvas: None,
        };
        let grid = |dx: f32, dy: f32| -> Vec<NodeFootprint> {
            (0..64)
                .map(|i| node(i + 1, (i % 8) as f32 * dx, (i / 8) as f32 * dy))
                .collect()
        };
        let mut planner = RateLabelPlanner::default();
        planner.plan(&[], &grid(300.0, 300.0), &inputs([None, None]));
        assert_eq!(planner.named().len(), 64, "room for every name");
        // 75 apart: a name is wider than that, and there is no room for one between two rows, so
        // neighbours cannot all have theirs.
        let packed = grid(75.0, 75.0);
        planner.plan(&[], &packed, &inputs([Some(40), None]));
        let named = planner.named().to_vec();
        let named_above = planner.named_above().to_vec();
        assert!(named.contains(&40) && named.contains(&1), "{named:?}");
        assert!(
            named.len() < 64 && named.len() >= 8,
            "{} named",
            named.len()
        );
        // Every node without a name beside it writes its pid inside (radius 20, 13 px font: two
        // digits fit, "name (pid)" does not).
        assert_eq!(named.len() + planner.inside().len(), 64);
        for (pid, inside) in planner.inside() {
            assert!(!named.contains(pid), "{pid} is named and written inside");
            assert_eq!(inside.what, Inside::Pid, "{pid}");
            assert_eq!(inside.font_px, 13.0, "{pid}");
        }
        // Closer in (a third of the world units per pixel: the discs three times as wide on
        // screen), the name comes inside too, above the pid ("receiver (11)": 13 characters).
        let zoomed = LabelStyle {
            world_per_px: 1.0 / 3.0,
            ..style
        };
        let what = |pid, radius, chars, style: &LabelStyle| {
            Inside::fitting(pid, radius, chars, style).map(|w| w.what)
        };
        assert_eq!(what(11, 18.0, 13, &zoomed), Some(Inside::NameAndPid));
        assert_eq!(what(11, 20.0, 13, &zoomed), Some(Inside::Full));
        // And far out, a disc a few pixels wide writes nothing.
        let far = LabelStyle {
            world_per_px: 10.0,
            ..style
        };
        assert_eq!(Inside::fitting(40, 20.0, 13, &far), None);
        assert_eq!(what(40, 20.0, 13, &style), Some(Inside::Pid));
        assert_eq!(what(7, 60.0, 12, &style), Some(Inside::Full));
        assert_eq!(Inside::NameAndPid.lines("receiver", 52), ["receiver", "52"]);
        // A node right above another: its name has no room below, so it goes above.
        let stacked = [node(1, 0.0, 60.0), node(2, 0.0, 0.0)];
        planner.plan(&[], &stacked, &inputs([None, None]));
        assert_eq!(planner.named(), [1, 2]);
        assert_eq!(planner.named_above(), [1]);
        let above = name_rect_above(stacked[0].centre, 20.0, 9, &style);
        assert!(above.min.y > 60.0 + 20.0 && !disc_touches_rect(stacked[1].centre, 20.0, above));
        let rects: Vec<(u32, Rect)> = named
            .iter()
            .map(|pid| {
                let n = packed.iter().find(|n| n.pid == *pid).unwrap();
                let place = if named_above.contains(pid) {
                    name_rect_above
                } else {
                    name_rect
                };
                (*pid, place(n.centre, n.radius, n.name_chars, &style))
            })
            .collect();
        for (i, (pid, rect)) in rects.iter().enumerate() {
            for n in packed.iter().filter(|n| n.pid != *pid) {
                assert!(
                    !disc_touches_rect(n.centre, n.radius, *rect),
                    "{pid}'s name covers node {}",
                    n.pid
                );
            }
            for (other, r) in &rects[i + 1..] {
                assert!(
                    rect.intersect(*r).is_empty(),
                    "names {pid} and {other} overlap"
                );
            }
        }
    }
}

#[cfg(test)]
mod inside_tests {
    use super::*;

    fn style(world_per_px: f32) -> LabelStyle {
        LabelStyle {
            font_px: 13.0,
            ring_width: 3.0,
            world_per_px,
        }
    }

    #[test]
    fn a_small_disc_writes_its_pid_smaller_down_to_a_floor() {
        // Two digits in the 13 px label font need a disc of about 11.3 px: at 11 px the pid
        // comes at 12 px; at 8 px at 9; at 7 px not at all (8 px type would be under the floor).
        let pid = |pid, radius_px: f32| Inside::fitting(pid, radius_px * 2.0, 13, &style(2.0));
        let words = |what, font_px| Some(InsideWords { what, font_px });
        assert_eq!(pid(62, 12.0), words(Inside::Pid, 13.0));
        assert_eq!(pid(62, 11.0), words(Inside::Pid, 12.0));
        assert_eq!(pid(62, 8.0), words(Inside::Pid, 9.0));
        assert_eq!(pid(62, 7.0), None);
        // One digit fits smaller discs; three need larger ones.
        assert_eq!(pid(8, 7.0), words(Inside::Pid, 10.0));
        assert_eq!(pid(108, 10.0), None);
        assert_eq!(pid(108, 11.0), words(Inside::Pid, 9.0));
        // Every size that comes out keeps the ink within nine tenths of the disc.
        for radius in 1..40 {
            for p in [3, 62, 108] {
                if let Some(w) = pid(p, radius as f32) {
                    let digits = p.to_string().len() as f32;
                    let half = Vec2::new(digits * 0.6, 1.0) * 0.5 * w.font_px;
                    assert!(
                        half.length() <= radius as f32 * 0.9 + 1e-3,
                        "{p} in {radius}"
                    );
                    assert!(w.font_px >= INSIDE_MIN_FONT_PX && w.font_px <= 13.0);
                }
            }
        }
    }
}
