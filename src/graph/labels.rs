//! Where a busy edge's rate label goes: pure code, unit-tested.
//!
//! A label may sit beside its bar anywhere along the edge, on either side. Candidates are tried
//! nearest the midpoint first; the first whose rectangle clears its own bar, every node disc and
//! every label (or other obstacle) already placed wins. In a dense graph none may be clear: the
//! edge then goes without a label (its bar still shows how busy it is) rather than cover a node.

use bevy::math::{Rect, Vec2};

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
    pub fn add_node(&mut self, centre: Vec2, radius: f32, name_chars: Option<usize>, style: &LabelStyle) {
        let px = style.world_per_px;
        self.nodes.push((centre, radius + style.ring_width * 2.0 * px));
        if let Some(chars) = name_chars {
            let half = Vec2::new(chars as f32 * style.font_px * 0.32, style.font_px * 0.65) * px;
            let top = centre.y - radius - style.ring_width - 4.0 * px;
            self.rects.push(Rect::from_center_half_size(Vec2::new(centre.x, top - half.y), half));
        }
    }

    /// True if `rect`, grown by `margin`, touches no node disc and no taken rectangle.
    pub fn is_clear(&self, rect: Rect, margin: f32) -> bool {
        let grown = Rect::from_center_half_size(rect.center(), rect.half_size() + Vec2::splat(margin));
        self.nodes.iter().all(|&(centre, r)| !disc_touches_rect(centre, r, grown))
            && self.rects.iter().all(|taken| taken.intersect(grown).is_empty())
    }
}

/// True if the disc (`centre`, `r`) and `rect` overlap.
pub fn disc_touches_rect(centre: Vec2, r: f32, rect: Rect) -> bool {
    centre.clamp(rect.min, rect.max).distance_squared(centre) < r * r
}

/// The rectangle (half size `half`, axis-aligned) for the rate label of the edge `a` -> `b`, whose
/// bar of `width` is drawn on the edge's left side (`(b - a).perp()`); the right side may hold the
/// reverse edge's bar, up to `max_width`. `None` if no candidate is clear of `obstacles`.
pub fn place_rate_label(
    a: Vec2,
    b: Vec2,
    width: f32,
    max_width: f32,
    half: Vec2,
    margin: f32,
    obstacles: &LabelObstacles,
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
            if obstacles.is_clear(rect, margin) {
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
    fn label_clears_its_bar_and_end_nodes() {
        let half = Vec2::new(22.0, 9.0);
        for angle in [0.0f32, 0.4, 1.2, std::f32::consts::FRAC_PI_2, 2.5, 3.9] {
            for length in [110.0f32, 300.0] {
                let dir = Vec2::from_angle(angle);
                let (a, b, width, node_r) = (Vec2::ZERO, dir * length, 10.0, 24.0);
                let obstacles = LabelObstacles { nodes: vec![(a, node_r), (b, node_r)], rects: vec![] };
                let label = place_rate_label(a, b, width, 14.0, half, 4.0, &obstacles)
                    .unwrap_or_else(|| panic!("angle {angle} length {length}: no place"));
                for p in bar_points(a, b, width) {
                    assert!(!label.contains(p), "angle {angle} length {length}: label {label:?} covers bar point {p}");
                }
                for (node, r) in &obstacles.nodes {
                    assert!(!disc_touches_rect(*node, *r, label), "angle {angle} length {length}: label {label:?} on node {node}");
                }
            }
        }
    }

    /// A third node beside the midpoint (where the label would go) pushes the label elsewhere; a
    /// label already placed there does too; boxed in on every side, the edge gets no label.
    #[test]
    fn label_avoids_other_nodes_and_labels_or_is_dropped() {
        let (a, b, half, width) = (Vec2::ZERO, Vec2::new(300.0, 0.0), Vec2::new(22.0, 9.0), 10.0);
        let mut obstacles = LabelObstacles { nodes: vec![(a, 26.0), (b, 26.0)], rects: vec![] };
        let free = place_rate_label(a, b, width, 14.0, half, 4.0, &obstacles).unwrap();
        let squatter = (free.center(), 26.0);
        obstacles.nodes.push(squatter);
        let moved = place_rate_label(a, b, width, 14.0, half, 4.0, &obstacles).unwrap();
        assert!(!disc_touches_rect(squatter.0, squatter.1, moved), "{moved:?} still on the node at {}", squatter.0);
        obstacles.rects.push(moved);
        let third = place_rate_label(a, b, width, 14.0, half, 4.0, &obstacles).unwrap();
        assert!(third.intersect(moved).is_empty(), "{third:?} on the label {moved:?}");
        // Nodes all along both sides of the edge: nowhere to go.
        for x in (0..=300).step_by(20) {
            for y in [-60.0, -30.0, 30.0, 60.0] {
                obstacles.nodes.push((Vec2::new(x as f32, y), 26.0));
            }
        }
        assert_eq!(place_rate_label(a, b, width, 14.0, half, 4.0, &obstacles), None);
    }
}
